"""Background work started by ``init()``: environment capture and the system monitor."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._run import Run
    from .settings import Settings


def start(run: Run, settings: Settings) -> None:
    """Start environment capture (one shot), the system monitor thread and, against a
    team server, the upload of earlier runs the server has not acknowledged."""
    if settings.url and settings.mode == "online":
        threading.Thread(target=_upload_earlier, args=(run.id, settings), daemon=True,
                         name="labtrack-upload").start()
    if not (settings.disable_env and settings.disable_git):
        if _warm and settings.disable_git:
            _capture(run, settings)  # every scan is memoised by now: ~0.3 ms, less than a thread
        else:
            thread = threading.Thread(target=_capture, args=(run, settings), daemon=True,
                                      name=f"labtrack-capture-{run.id}")
            run._capture_thread = thread  # type: ignore[attr-defined]
            thread.start()
    if not settings.disable_stats:
        try:
            from .system.monitor import SystemMonitor
        except ImportError:
            return
        import os

        monitor = SystemMonitor(run._log_system, interval=settings.stats_interval,
                                pid=run._monitor_pid, cwd=os.getcwd())
        run._monitors = [monitor]  # type: ignore[attr-defined]
        monitor.start()


_warm = False  # a capture has completed in this process: its scans are memoised


def _capture(run: Run, settings: Settings) -> None:
    global _warm
    try:
        from .capture import collect, collect_json_safe
    except ImportError:
        return
    try:
        if settings.disable_git:  # nothing in the snapshot changes unseen: reusable
            run.set_environment(collect_json_safe(settings), json_safe=True)
            _warm = True
            return
        environment, diff = collect(settings)
        if diff:
            run._add_file_bytes("code/uncommitted.diff", diff)
            environment.setdefault("git", {})["diff_file"] = "code/uncommitted.diff"
        run.set_environment(environment)
        _warm = True
    except Exception as err:  # noqa: BLE001 - capture must never break a run
        run.set_environment({"error": f"{type(err).__name__}: {err}"})


def _upload_earlier(current: str, settings: Settings) -> None:
    from .sync import sync, unacknowledged

    try:
        pending = [r for r in unacknowledged(settings.dir) if r != current]
        if pending:
            sync(settings.dir, pending, url=settings.url, api_key=settings.api_key)
    except Exception as err:  # noqa: BLE001 - a later `labtrack sync` does the same
        import sys

        print(f"labtrack: could not upload earlier runs yet ({err})", file=sys.stderr)
