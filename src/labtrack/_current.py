"""The active run of this process: a convenience over explicit ``Run`` objects.

``labtrack.log(...)`` delegates to the most recently started run that has not
finished. Several runs may be active at once (``reinit="create_new"``); each
is still usable through its own ``Run`` object.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._run import Run

_lock = threading.Lock()
_active: list[Run] = []


def get() -> Run | None:
    """The current run, or None."""
    return _active[-1] if _active else None


def push(run: Run) -> None:
    with _lock:
        _active.append(run)


def forget(run: Run) -> None:
    with _lock:
        if run in _active:
            _active.remove(run)


def all_active() -> list[Run]:
    return list(_active)
