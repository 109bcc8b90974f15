"""The sweep agent: claim the next parameters, run them, repeat.

There is no controller: each agent claims its next trial from the store
(:meth:`SweepIndex.claim`), so agents in several processes or on several machines
share a sweep. A trial runs either

* in this process (``function=``): the agent starts the run with the parameters as
  its config and calls ``function()``; the function's own ``labtrack.init()`` returns
  that run (``LABTRACK_RUN_ID`` is set while it runs), and the sweep's parameters win
  over the defaults it passes as ``config=``; or
* as a command (the config's ``program``/``command``), one child process per run,
  ``workers`` at a time (see :mod:`labtrack.sweeps._process`).

With ``early_terminate`` (hyperband), a thread checks the active run every few seconds;
a run outside the top 1/eta at a band gets ``run.should_stop = True`` and an
:class:`EarlyTerminationWarning` (in-process) or SIGTERM (child process), and ends in
state ``early_terminated``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtrack._config import Config
from labtrack.errors import UsageError
from labtrack.settings import Settings
from labtrack.sweeps.config import SweepConfig, load_sweep_config

#: consecutive failed runs at the start after which the agent gives up (as wandb does)
MAX_INITIAL_FAILURES = 5


class EarlyTerminationWarning(UserWarning):
    """Hyperband stopped the current sweep run: ``run.should_stop`` is now True."""


@dataclass
class AgentReport:
    """What an agent did: the runs it started and why it stopped.

    ``reason`` is one of: ``count`` (it ran ``count`` runs), ``finished`` (the search
    has nothing left), ``stopped`` (the sweep was stopped), ``failing`` (the first runs
    all failed), ``interrupted`` (Ctrl-C).
    """

    sweep_id: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    message: str = ""


class Agent:
    """Runs trials of one sweep until ``count`` runs, or the sweep ends.

    Args:
        sweep_id: id (or ``project/id``, unique name, id prefix) of the sweep.
        function: run trials in this process by calling it; None runs the sweep's
            program as a command.
        count: the most runs this agent starts (None: until the sweep ends).
        project: the project to look the sweep up in.
        dir: store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).
        workers: parallel child processes (program sweeps only).
        check_interval: seconds between hyperband checks of an active run.
        poll_interval: seconds between checks of a paused sweep.
        cwd: where the program is found and run (default: the current directory).
        quiet: print nothing (default ``LABTRACK_SILENT``).
    """

    def __init__(
        self,
        sweep_id: str,
        function: Callable[[], Any] | None = None,
        *,
        count: int | None = None,
        project: str | None = None,
        dir: str | os.PathLike[str] | None = None,
        workers: int = 1,
        check_interval: float = 2.0,
        poll_interval: float = 5.0,
        cwd: str | os.PathLike[str] | None = None,
        quiet: bool | None = None,
    ) -> None:
        from labtrack.sweeps.remote import open_index

        if count is not None and count < 1:
            raise UsageError(f"count must be >= 1 (got {count})")
        if workers < 1:
            raise UsageError(f"workers must be >= 1 (got {workers})")
        if function is not None and workers > 1:
            raise UsageError("workers > 1 needs a program sweep; in-process functions run one "
                             "at a time (start several agent processes instead)")
        settings = Settings()
        self.store_dir = Path(dir).expanduser().resolve() if dir is not None else settings.dir
        self.index = open_index(self.store_dir)  # the team server when LABTRACK_URL is set
        self.sweep_id = self.index.resolve(sweep_id, project)
        sweep = self.index.get(self.sweep_id)
        self.project: str = sweep["project"]
        self.config: SweepConfig = load_sweep_config(sweep["config"])
        self.function = function
        self.count = count
        self.workers = workers
        self.check_interval = check_interval
        self.poll_interval = poll_interval
        self.cwd = Path(cwd) if cwd is not None else Path.cwd()
        self.quiet = settings.silent if quiet is None else quiet
        self.report = AgentReport(self.sweep_id)
        self._lock = threading.RLock()
        self._reserved = 0
        self._failures = 0  # failed runs before the first one that did not fail
        self._succeeded = False
        self._interrupt = threading.Event()
        if function is None:
            from labtrack.sweeps.config import check_program

            if not self.config.program and "${program}" in self.config.effective_command:
                raise UsageError(
                    f"sweep {self.sweep_id} has no program to run; give it a 'program' (and "
                    "run `labtrack agent`), or run it from Python: "
                    "labtrack.agent(sweep_id, function=train)")
            check_program(self.config, self.cwd)

    # -- the loop ------------------------------------------------------------------
    def run(self) -> AgentReport:
        """Run trials until done; returns the report (also printed unless quiet)."""
        if self.function is not None:
            self._loop(self._run_in_process)
        else:
            threads = [threading.Thread(target=self._loop, args=(self._run_child,), daemon=True,
                                        name=f"labtrack-agent-{i}")
                       for i in range(self.workers)]
            for t in threads:
                t.start()
            try:
                while any(t.is_alive() for t in threads):
                    for t in threads:
                        t.join(timeout=0.2)
            except KeyboardInterrupt:
                self._interrupt.set()
                self._end("interrupted", "interrupted: the running commands were sent SIGTERM")
                for t in threads:
                    t.join()
                raise
        if not self.report.reason:
            self._end("finished", "the sweep has nothing left to run")
        self._say(f"agent done after {len(self.report.runs)} run(s): {self.report.message}")
        return self.report

    def _loop(self, run_one: Callable[[dict[str, Any]], str]) -> None:
        waiting = False
        while not self._interrupt.is_set() and not self.report.reason:
            with self._lock:
                if self.count is not None and len(self.report.runs) + self._reserved \
                        >= self.count:
                    self._end("count", f"ran the {self.count} run(s) asked for")
                    return
                self._reserved += 1
            try:
                claim = self.index.claim(self.sweep_id)
            finally:
                with self._lock:
                    self._reserved -= 1
            if claim is None:
                state = self.index.get(self.sweep_id)["state"]
                if state == "paused":
                    if not waiting:
                        self._say(f"sweep {self.sweep_id} is paused; waiting for "
                                  "`labtrack sweep resume` (Ctrl-C to quit)")
                    waiting = True
                    self._interrupt.wait(self.poll_interval)
                    continue
                if state == "running":  # resumed between the claim and this look: claim again
                    continue
                self._end(state if state in ("stopped", "finished") else "finished",
                          _end_message(self.sweep_id, state))
                return
            waiting = False
            entry = {"run_id": claim["run_id"], "number": claim["number"],
                     "params": claim["params"], "state": "running"}
            with self._lock:
                self.report.runs.append(entry)
            self._say(f"run {claim['number']} of sweep {self.sweep_id} ({claim['run_id']}): "
                      + _describe(claim["params"]))
            entry["state"] = run_one(claim)
            with self._lock:
                if entry["state"] != "failed":
                    self._succeeded = True
                elif not self._succeeded:
                    self._failures += 1
                if self._failures >= MAX_INITIAL_FAILURES:
                    self._end("failing", f"the first {self._failures} runs all failed; fix the "
                              "training code and start the agent again")

    def _end(self, reason: str, message: str) -> None:
        with self._lock:
            if not self.report.reason:
                self.report.reason, self.report.message = reason, message

    def _say(self, message: str) -> None:
        if not self.quiet:
            print(f"labtrack agent: {message}", file=sys.stderr, flush=True)

    # -- one trial in this process ---------------------------------------------------
    def _run_in_process(self, claim: dict[str, Any]) -> str:
        from labtrack._init import init

        assert self.function is not None
        run_id, params = claim["run_id"], claim["params"]
        env = {"LABTRACK_RUN_ID": run_id, "LABTRACK_SWEEP_ID": self.sweep_id,
               "LABTRACK_DIR": str(self.store_dir)}
        with _environ(env):
            run = init(id=run_id, project=self.project, dir=self.store_dir, config=params)
            lock_sweep_params(run, params)
            watch = self._watch(run_id, lambda message: _stop_in_process(run, message))
            try:
                self.function()
            except Exception as exc:  # noqa: BLE001 - a failing run must not end the sweep
                print(f"labtrack agent: run {run_id} failed:\n"
                      + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                      file=sys.stderr, flush=True)
                if not run.finished:
                    run.__exit__(type(exc), exc, exc.__traceback__)
                return "failed"
            except BaseException as exc:  # Ctrl-C, SystemExit: record it, then stop
                if not run.finished:
                    run.__exit__(type(exc), exc, exc.__traceback__)
                self._end("interrupted", f"interrupted by {type(exc).__name__}")
                raise
            finally:
                if watch is not None:
                    watch.close()
            stopped = bool(run.should_stop)
            if not run.finished:
                run.finish()
        return "early_terminated" if stopped else "finished"

    def _watch(self, run_id: str, on_stop: Callable[[str], None]) -> Any:
        if self.config.early_terminate is None:
            return None
        from labtrack.sweeps._watch import StopWatch

        return StopWatch(self.index, self.sweep_id, self.config, run_id, on_stop,
                         self.check_interval).start()

    # -- one trial as a child process --------------------------------------------------
    def _run_child(self, claim: dict[str, Any]) -> str:
        from labtrack.sweeps import _process
        from labtrack.sweeps._watch import check

        job = _process.ChildRun(self.index, self.store_dir, self.sweep_id, self.project,
                                self.config, claim, self.cwd)
        watch = None
        if self.config.early_terminate is not None:
            def watch() -> str | None:
                return check(self.index, self.sweep_id, self.config, job.run_id)
        state = _process.run_child(job, self._interrupt, watch, self.check_interval, self._say)
        if state != "finished":
            self._say(f"run {claim['number']} ({job.run_id}) ended {state}")
        return state


class _SweepConfig(Config):
    """A run config whose sweep parameters cannot be overwritten by the training code."""

    def __init__(self, base: Config, locked: Mapping[str, Any]) -> None:
        super().__init__(on_change=base._on_change)
        object.__setattr__(self, "_sweep_keys", frozenset(locked))
        self._data.update(base._data)
        self._data.update(locked)

    def _set(self, key: Any, value: Any, allow_val_change: bool) -> None:
        if key in self._sweep_keys:
            return  # the sweep's value wins over defaults, as in wandb
        super()._set(key, value, allow_val_change)


def lock_sweep_params(run: Any, params: Mapping[str, Any] | None = None) -> None:
    """Make ``run.config`` hold the sweep's parameters and keep them against later updates.

    ``init(config=defaults)`` in training code then fills in other keys but leaves the
    sweep's values alone (wandb's behaviour). Without ``params``, they are read from
    ``LABTRACK_SWEEP_PARAMS`` (set by the agent for child processes) when
    ``LABTRACK_RUN_ID`` names this run; otherwise nothing happens.
    """
    if params is None:
        raw = os.environ.get("LABTRACK_SWEEP_PARAMS")
        if not raw or os.environ.get("LABTRACK_RUN_ID") != getattr(run, "id", None):
            return
        params = json.loads(raw)
    if isinstance(run.config, Config):
        run.config = _SweepConfig(run.config, params)
        run.config._changed()


def _stop_in_process(run: Any, message: str) -> None:
    run.should_stop = True
    warnings.warn(f"labtrack sweep: {message}. run.should_stop is now True: end the training "
                  "loop; the run will be marked early_terminated.",
                  EarlyTerminationWarning, stacklevel=2)


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _describe(params: Mapping[str, Any]) -> str:
    from labtrack.sweeps.command import flatten_params

    return ", ".join(f"{k}={v!r}" for k, v in flatten_params(params).items())


def _end_message(sweep_id: str, state: str) -> str:
    if state == "stopped":
        return f"sweep {sweep_id} is stopped; no new runs (`labtrack sweep resume` restarts it)"
    return f"sweep {sweep_id} is finished: its search has nothing left to run"
