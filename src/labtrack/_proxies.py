"""Module-level ``labtrack.config``, ``labtrack.summary`` and ``labtrack.run``.

They are fixed objects (never rebound at ``init``) that forward to the current
run. ``labtrack.config`` also works before ``init()``: values set then are
merged into the next run's config, as wandb does.
"""

from __future__ import annotations

from typing import Any

from . import _current
from ._config import Config
from .errors import UsageError

_pending = Config()


def take_pending_config() -> dict[str, Any]:
    values = _pending.as_dict()
    _pending._load({})
    return values


class _Forward:
    _what = ""

    def _target(self) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)

    def __getitem__(self, key: str) -> Any:
        return self._target()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._target()[key] = value

    def __delitem__(self, key: str) -> None:
        del self._target()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._target()

    def __iter__(self) -> Any:
        return iter(self._target())

    def __len__(self) -> int:
        return len(self._target())

    def __repr__(self) -> str:
        return repr(self._target())

    def __eq__(self, other: object) -> bool:
        return bool(self._target() == other)

    def keys(self) -> Any:
        return self._target().keys()

    def items(self) -> Any:
        return self._target().items()

    def values(self) -> Any:
        return self._target().values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._target().get(key, default)


class ConfigProxy(_Forward):
    """``labtrack.config``: the current run's config, or a holder before ``init``."""

    def _target(self) -> Any:
        run = _current.get()
        return run.config if run is not None else _pending

    def __bool__(self) -> bool:
        return True


class SummaryProxy(_Forward):
    """``labtrack.summary``: the current run's summary."""

    def _target(self) -> Any:
        run = _current.get()
        if run is None:
            raise UsageError("labtrack.summary needs an active run: call labtrack.init() first")
        return run.summary


def current_run() -> Any:
    return _current.get()
