"""One background thread per process that flushes every active run's writer.

A run's :class:`~labtrack.writer.Writer` registers here when the run starts and
leaves when it finishes. The thread opens the writer's sink (the first run of
a process imports the codec and opens the index here, beside the training
loop), then flushes each writer every ``flush_interval`` seconds, or sooner
when :meth:`Flusher.wake` asks for it. ``finish()`` does its run's last flush
on its own thread (:meth:`Writer.stop`).

Why one thread for all runs and not one per run: a run's own thread cost a
short run more than its data did. Starting it, waking it for the last flush
and waiting for it took about a millisecond per run on an idle 2-core machine
and several under load, and while it warmed up beside the training loop the
two threads traded the GIL at the interpreter's 5 ms switch interval. Scripts
with many short runs (sweeps, notebooks, ``bench/peers.py`` workload B) paid
that on every run.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Flushable(Protocol):
    """What the flusher needs of a writer."""

    flush_interval: float

    def warm_up(self) -> None: ...
    def flush_safely(self) -> None: ...


class Flusher:
    """Flushes registered writers periodically, or when woken, on one daemon thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._due: dict[Flushable, float] = {}  # writer -> when its next flush is due
        self._fresh: list[Flushable] = []  # registered, not yet warmed up
        self._woken: set[Flushable] = set()
        self._thread: threading.Thread | None = None
        self._wait_until = 0.0  # when the sleeping thread wakes up by itself (monotonic)
        self._tasks: list[tuple[Callable[[], object], threading.Event]] = []
        self._busy = False  # warming up or flushing writers, or running tasks

    def register(self, writer: Flushable, warm: bool = True) -> None:
        """Flush ``writer`` from now on (its first flush one interval from now); ``warm``:
        call its ``warm_up`` first, at once."""
        with self._cond:
            due = self._due[writer] = time.monotonic() + writer.flush_interval
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="labtrack-flusher",
                                                daemon=True)
                self._thread.start()
            if warm:
                self._fresh.append(writer)
                self._cond.notify()
            elif due < self._wait_until:
                # the thread sleeps past this writer's first flush. Otherwise it is left
                # asleep: waking it for every short run cost more than the run's data
                self._cond.notify()

    def forget(self, writer: Flushable) -> None:
        """Stop flushing ``writer`` (a flush already under way completes)."""
        with self._cond:
            self._due.pop(writer, None)
            self._woken.discard(writer)
            if writer in self._fresh:
                self._fresh.remove(writer)

    def wake(self, writer: Flushable) -> None:
        """Flush ``writer`` as soon as the thread is free."""
        with self._cond:
            if writer in self._due:
                self._woken.add(writer)
                self._cond.notify()

    def call_soon(self, task: Callable[[], object]) -> threading.Event | None:
        """Run ``task`` on the thread now, beside the caller; the event is set once it
        has run. None when the thread is busy (with writers or another task) or not
        running: the caller runs ``task`` itself. (A run's last flush fsyncs its log
        this way while it updates the index.)"""
        with self._cond:
            return None if self._busy else self._queue(task)

    def later(self, task: Callable[[], object]) -> bool:
        """Run ``task`` on the thread when it is free; nobody waits for it. False when
        the thread is not running."""
        with self._cond:
            return self._queue(task) is not None

    def _queue(self, task: Callable[[], object]) -> threading.Event | None:
        """Queue ``task`` for the thread (the caller holds the condition); None when the
        thread is not running."""
        if self._thread is None or not self._thread.is_alive():
            return None
        done = threading.Event()
        self._tasks.append((task, done))
        self._cond.notify()
        return done

    def _next(self) -> tuple[list[Flushable], list[Flushable]]:
        """Wait until some writer needs warming up or flushing; return (warm, flush).
        Tasks (:meth:`call_soon`) run meanwhile, as they come."""
        with self._cond:
            self._busy = False
            while True:
                if self._tasks:
                    tasks, self._tasks = self._tasks, []
                    self._busy = True  # call_soon's callers run their task themselves
                    self._cond.release()
                    try:
                        for task, done in tasks:
                            try:
                                task()
                            except Exception:  # noqa: BLE001 - a task must not stop flushing
                                pass
                            finally:
                                done.set()
                    finally:
                        self._cond.acquire()
                        self._busy = False
                    continue
                now = time.monotonic()
                due = [w for w, when in self._due.items() if when <= now or w in self._woken]
                if self._fresh or due:
                    fresh, self._fresh = self._fresh, []
                    for w in due:
                        self._due[w] = now + w.flush_interval
                    self._woken.clear()
                    self._busy = True
                    return fresh, due
                self._wait_until = min(self._due.values(), default=now + 60.0)
                self._cond.wait(max(0.001, self._wait_until - now))
                self._wait_until = 0.0

    def _loop(self) -> None:
        while True:
            warm, due = self._next()
            for writer in warm:
                writer.warm_up()
            for writer in due:
                writer.flush_safely()


_flusher = Flusher()


def flusher() -> Flusher:
    """The process's flusher."""
    return _flusher


def _reset_after_fork() -> None:
    # a forked child has only the thread that forked: its writers start a new flusher
    global _flusher
    _flusher = Flusher()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
