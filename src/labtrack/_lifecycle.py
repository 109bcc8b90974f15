"""Process exit handling: finish active runs at exit, record uncaught exceptions and SIGTERM.

Installed once, on the first ``init()`` (never at import). Previous hooks and
handlers are chained, not replaced.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from types import TracebackType
from typing import Any

from . import _current

_installed = False
_exit_code: int | None = None


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True
    atexit.register(_at_exit)
    previous_hook = sys.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException,
                   tb: TracebackType | None) -> None:
        state = "killed" if issubclass(exc_type, KeyboardInterrupt) else "failed"
        for run in _current.all_active():
            run._mark_failed(exc, state)
        global _exit_code
        _exit_code = 1
        previous_hook(exc_type, exc, tb)

    sys.excepthook = excepthook
    _wrap_sys_exit()
    if threading.current_thread() is threading.main_thread():
        _install_sigterm()


def _wrap_sys_exit() -> None:
    """Remember the code of ``sys.exit(code)`` so runs finished at exit record it.

    (A bare ``raise SystemExit(code)`` is not seen: Python gives atexit hooks no
    exit status.)
    """
    original = sys.exit

    def exit(code: Any = None) -> None:  # noqa: A001 - same name as what it wraps
        global _exit_code
        if code is None or code == 0:
            _exit_code = _exit_code or 0
        else:
            _exit_code = code if isinstance(code, int) else 1
        original(code)

    sys.exit = exit  # type: ignore[assignment]


def _install_sigterm() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None) and not callable(previous):
        return

    def on_sigterm(signum: int, frame: Any) -> None:
        for run in _current.all_active():
            run._mark_failed(None, "killed")
            run._error = "terminated by SIGTERM"
            try:
                run.finish(exit_code=128 + signum)
            except Exception:  # noqa: BLE001 - we are going down anyway
                pass
        if callable(previous):
            previous(signum, frame)
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


def _at_exit() -> None:
    for run in reversed(_current.all_active()):
        try:
            run.finish(exit_code=_exit_code)
        except Exception as err:  # noqa: BLE001
            print(f"labtrack: could not finish run {run.id} at exit: {err}", file=sys.stderr)
    try:
        from .store import close_shared

        close_shared()
    except Exception:  # noqa: BLE001 - closing at exit must not raise
        pass
