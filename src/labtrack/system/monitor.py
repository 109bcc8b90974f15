"""The system metrics thread of a run.

:class:`SystemMonitor` samples the host (CPU, memory, disk, network), the
run's process tree and the NVIDIA GPUs every ``interval`` seconds and hands
each sample to ``emit(values, timestamp)``, with keys under ``system/``::

    system/cpu_percent          system/proc_cpu_percent   (100 = one core)
    system/memory_used_mb       system/memory_available_mb   system/memory_percent
    system/proc_rss_mb          system/disk_free_gb
    system/disk_read_mbps       system/disk_write_mbps
    system/net_sent_mbps        system/net_recv_mbps
    system/gpu.{i}.utilization  system/gpu.{i}.memory_used_mb  system/gpu.{i}.memory_total_mb
    system/gpu.{i}.temperature  system/gpu.{i}.power_w

A failing ``emit`` or reader never stops the thread: failures are counted and
logged once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

PREFIX = "system/"

logger = logging.getLogger("labtrack.system")

Emit = Callable[[dict[str, float], float], None]


class SystemMonitor:
    """Background sampler of system metrics; ``start()`` it, ``stop()`` it.

    Args:
        emit: called from the monitor thread with ``(values, unix_timestamp)``.
        interval: seconds between samples.
        pid: root of the process tree to measure (default: this process).
        cwd: folder whose file system's free space is reported (default: cwd).
        gpu: read NVIDIA GPUs when NVML is available.

    Attributes:
        samples: samples emitted so far.
        errors: failed emits and readings so far.
        cpu_seconds: CPU time the monitor thread itself has used.
        setup_cpu_seconds: the part of it spent starting (imports, NVML init).
    """

    def __init__(
        self,
        emit: Emit,
        interval: float = 2.0,
        pid: int | None = None,
        cwd: str | None = None,
        gpu: bool = True,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be > 0")
        self.emit = emit
        self.interval = float(interval)
        self.pid = pid
        self.cwd = cwd
        self.gpu = gpu
        self.samples = 0
        self.errors = 0
        self.cpu_seconds = 0.0
        self.setup_cpu_seconds = 0.0
        self._host: Any = None
        self._gpu: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reported: set[str] = set()

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> SystemMonitor:
        """Start the daemon thread (a no-op when already running)."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name="labtrack-system-monitor", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 5.0) -> bool:
        """Ask the thread to stop and wait up to ``timeout`` seconds.

        Returns True when the thread has ended.
        """
        self._stop.set()
        thread = self._thread
        if thread is None:
            return True
        if thread is not threading.current_thread():
            thread.join(timeout)
        return not thread.is_alive()

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def native_id(self) -> int | None:
        """The operating system's id of the monitor thread (None before start)."""
        return self._thread.native_id if self._thread is not None else None

    def __enter__(self) -> SystemMonitor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- sampling ----------------------------------------------------------
    def _open(self) -> None:
        try:
            from .cpu import HostSampler

            self._host = HostSampler(pid=self.pid, cwd=self.cwd)
        except Exception as exc:
            self._report("host", exc)
        if self.gpu:
            try:
                from .gpu import GpuSampler

                self._gpu = GpuSampler.open()
            except Exception as exc:
                self._report("gpu", exc)

    def _close(self) -> None:
        if self._gpu is not None:
            self._gpu.close()
            self._gpu = None

    def read(self) -> dict[str, float]:
        """Take one reading now (keys with the ``system/`` prefix); never raises."""
        values: dict[str, float] = {}
        for name, sampler in (("host", self._host), ("gpu", self._gpu)):
            if sampler is None:
                continue
            try:
                values.update(sampler.sample())
            except Exception as exc:
                self._report(name, exc)
        return {PREFIX + key: value for key, value in values.items()}

    def _run(self) -> None:
        start_cpu = time.thread_time()
        try:
            self._open()
            self.setup_cpu_seconds = time.thread_time() - start_cpu
            next_at = time.monotonic() + self.interval
            while not self._stop.wait(max(0.0, next_at - time.monotonic())):
                values = self.read()
                if values:
                    try:
                        self.emit(values, time.time())
                        self.samples += 1
                    except Exception as exc:
                        self._report("emit", exc)
                self.cpu_seconds = time.thread_time() - start_cpu
                # keep a steady cadence; after a long stall, skip missed ticks
                next_at += self.interval
                now = time.monotonic()
                if next_at < now:
                    next_at = now + self.interval
        finally:
            self._close()
            self.cpu_seconds = time.thread_time() - start_cpu

    def _report(self, what: str, exc: BaseException) -> None:
        self.errors += 1
        if what not in self._reported:
            self._reported.add(what)
            logger.warning(
                "labtrack system monitor: %s failed (%s: %s); "
                "further failures are counted silently",
                what,
                type(exc).__name__,
                exc,
            )
