"""Program sweeps: run one claimed trial as a child process, like the wandb agent.

Before the child starts, the agent writes the first record of the run's log (run
metadata with the sweep id, and the parameters as config) and indexes it. The child's
``labtrack.init()`` finds ``LABTRACK_RUN_ID`` in its environment and continues that
run, so even a bare ``init()`` sees the parameters in ``run.config``; they are also on
the command line (``${args}``). After the child exits, the agent appends the final
state when the child could not (it never called ``init``, it was killed) or when
hyperband stopped it (``early_terminated``), and indexes what is missing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labtrack._hostinfo import user
from labtrack._names import new_run_name
from labtrack.runlog import RunLogWriter, iter_records
from labtrack.sweeps.command import build_command
from labtrack.sweeps.config import SweepConfig
from labtrack.sweeps.store import SweepIndex

FINAL_STATES = ("finished", "failed", "killed", "crashed", "early_terminated")
HEARTBEAT_EVERY = 10.0


@dataclass
class ChildRun:
    """What the agent needs to run one trial as a command."""

    index: SweepIndex
    store_dir: Path
    sweep_id: str
    project: str
    config: SweepConfig
    claim: dict[str, Any]
    cwd: Path
    python: str = sys.executable
    grace: float = 10.0  # seconds between SIGTERM and SIGKILL

    @property
    def run_id(self) -> str:
        return str(self.claim["run_id"])

    @property
    def run_dir(self) -> Path:
        return self.store_dir / "runs" / self.run_id


def child_env(job: ChildRun) -> dict[str, str]:
    """The child's environment: ours plus the run and sweep it belongs to."""
    env = dict(os.environ)
    env.update(
        LABTRACK_RUN_ID=job.run_id,
        LABTRACK_SWEEP_ID=job.sweep_id,
        LABTRACK_DIR=str(job.store_dir),
        LABTRACK_PROJECT=job.project,
        LABTRACK_SWEEP_PARAMS=json.dumps(job.claim["params"]),
    )
    return env


def prepare(job: ChildRun) -> None:
    """Write and index the run's first record: metadata and the parameters as config."""
    now = time.time()
    meta = {
        "project": job.project, "name": new_run_name(), "created_at": now,
        "sweep_id": job.sweep_id, "host": socket.gethostname(), "pid": None,
        "owner": user(),
    }
    log = RunLogWriter(job.run_dir / "run.log")
    try:
        log.append({"run": meta, "config": job.claim["params"], "time": now}, [])
    finally:
        log.close()
    _index(job)


def run_child(job: ChildRun, stop_requested: threading.Event,
              watch: Callable[[], str | None] | None, check_interval: float,
              say: Callable[[str], None]) -> str:
    """Run the trial's command to the end; returns the run's final state.

    Args:
        stop_requested: set by the agent on Ctrl-C: the child gets SIGTERM.
        watch: returns a message when hyperband stops the run (checked every
            ``check_interval`` seconds), else None.
    """
    prepare(job)
    command = build_command(job.config, job.claim["params"], job.cwd, job.python,
                            json_dir=job.run_dir)
    try:
        child = subprocess.Popen(command, cwd=job.cwd, env=child_env(job))  # noqa: S603
    except OSError as err:
        return finish(job, None, error=f"cannot start {command[0]!r}: {err}")
    stopped: str | None = None
    killed_at: float | None = None
    next_check = time.monotonic() + check_interval
    next_beat = time.monotonic() + HEARTBEAT_EVERY
    while True:
        try:
            child.wait(timeout=0.1)
            break
        except subprocess.TimeoutExpired:
            pass
        now = time.monotonic()
        if stop_requested.is_set() and killed_at is None:
            child.send_signal(signal.SIGTERM)
            killed_at = now
        if watch is not None and stopped is None and now >= next_check:
            next_check = now + check_interval
            stopped = _safe(watch)
            if stopped is not None:
                say(stopped + "; sending it SIGTERM")
                child.send_signal(signal.SIGTERM)
                killed_at = now
        if killed_at is not None and now - killed_at > job.grace:
            child.kill()
        if now >= next_beat:
            next_beat = now + HEARTBEAT_EVERY
            _safe(lambda: job.index.store.heartbeat(job.run_id, time.time()))
    return finish(job, child.returncode, stopped=stopped is not None)


def finish(job: ChildRun, returncode: int | None, *, stopped: bool = False,
           error: str | None = None) -> str:
    """Record the final state the child could not, or corrected; returns it.

    early_terminated when hyperband stopped it; failed when the command exited with a
    non-zero code (even if its run was marked finished, as after ``sys.exit(2)``);
    otherwise the state the child recorded, or finished.
    """
    state = _last_state(job.run_dir / "run.log")
    if stopped:
        final = "early_terminated"
    elif state in FINAL_STATES and not (state == "finished" and returncode):
        _index(job)
        return state
    elif returncode == 0:
        final = "finished"
    else:
        final = "failed"
        if error is None:
            error = (f"the command exited with code {returncode}"
                     if returncode is not None and returncode > 0 else
                     f"the command was killed by signal {-(returncode or 0)}")
    record = {"state": {"state": final, "exit_code": returncode, "error": error,
                        "finished_at": time.time()}, "time": time.time()}
    try:
        log = RunLogWriter(job.run_dir / "run.log")
    except Exception as err:  # noqa: BLE001 - e.g. a grandchild still holds the log
        print(f"labtrack agent: cannot record the end of run {job.run_id}: {err}",
              file=sys.stderr)
        return final
    try:
        log.append(record, [])
    finally:
        log.close()
    _index(job)
    return final


def _last_state(log_path: Path) -> str | None:
    state = None
    if log_path.exists():
        for record in iter_records(log_path, with_blobs=False):
            if "state" in record.header:
                state = record.header["state"].get("state")
            elif "run" in record.header:
                state = None  # a later resume started the run again
    return state


def _index(job: ChildRun) -> None:
    from labtrack.sync import SyncReport, sync_run

    try:
        sync_run(job.index.store, job.run_id, job.run_dir, SyncReport())
    except Exception as err:  # noqa: BLE001 - the log holds it; `labtrack sync` retries
        print(f"labtrack agent: run {job.run_id} is not fully indexed ({err}); "
              "`labtrack sync` applies it later", file=sys.stderr)


def _safe(func: Callable[[], Any]) -> Any:
    try:
        return func()
    except Exception:  # noqa: BLE001 - a busy store only delays a check or a heartbeat
        return None
