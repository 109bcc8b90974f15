"""``run.config``: the hyperparameters of a run, with attribute and item access."""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from ._jsonsafe import to_jsonable

_SCALARS = frozenset({str, int, float, bool, type(None)})  # immutable: a copy shares them


def _as_mapping(value: Any) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return value
    argparse = sys.modules.get("argparse")  # a Namespace means the caller imported it
    if argparse is not None and isinstance(value, argparse.Namespace):
        return vars(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "to_dict") and callable(value.to_dict):  # e.g. omegaconf, HF args
        return value.to_dict()
    raise TypeError(
        f"config must be a dict, argparse.Namespace or dataclass, not {type(value).__name__}"
    )


class Config(MutableMapping[str, Any]):
    """Hyperparameters: ``config.lr``, ``config["lr"]``, ``config.update({...})``.

    Values are stored as strict JSON (numpy values, tuples, paths, dataclasses and
    Namespaces are converted; other objects become their ``str``). Changing a key
    that is already set warns unless ``allow_val_change=True`` is passed to
    :meth:`update` or :meth:`setdefaults`.
    """

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        object.__setattr__(self, "_data", {})
        object.__setattr__(self, "_on_change", on_change)
        object.__setattr__(self, "_locked", False)

    # mapping protocol
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._set(key, value, allow_val_change=False)

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self._changed()

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    # attribute access
    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        try:
            return self._data[key]
        except KeyError:
            raise AttributeError(f"config has no key {key!r}") from None

    def __setattr__(self, key: str, value: Any) -> None:
        self._set(key, value, allow_val_change=False)

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __repr__(self) -> str:
        return f"Config({self._data!r})"

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _set(self, key: Any, value: Any, allow_val_change: bool) -> None:
        if not isinstance(key, str):
            raise TypeError(f"config keys must be strings, not {type(key).__name__} ({key!r})")
        if self._locked:
            raise TypeError("this config is read-only")
        new = to_jsonable(value)
        if key in self._data and self._data[key] != new and not allow_val_change:
            warnings.warn(
                f"config[{key!r}] changed from {self._data[key]!r} to {new!r}; pass "
                "allow_val_change=True to config.update() to change values on purpose",
                UserWarning,
                stacklevel=3,
            )
        self._data[key] = new
        self._changed()

    def update(  # type: ignore[override]
        self, values: Any = None, allow_val_change: bool = False, **kwargs: Any
    ) -> None:
        """Set many keys from a dict, Namespace or dataclass (plus keyword arguments)."""
        for key, value in {**_as_mapping(values), **kwargs}.items():
            self._set(key, value, allow_val_change)

    def setdefaults(self, values: Any) -> None:
        """Set only the keys that are not set yet."""
        for key, value in _as_mapping(values).items():
            if key not in self._data:
                self._set(key, value, True)

    def as_dict(self) -> dict[str, Any]:
        """A deep copy of the values as plain JSON-safe data."""
        data = self._data
        if _SCALARS.issuperset(map(type, data.values())):
            return dict(data)  # flat (the usual hyperparameters): ~15x cheaper than deepcopy
        import copy

        return copy.deepcopy(data)

    def _load(self, data: Mapping[str, Any]) -> None:
        """Replace the contents without callbacks or warnings (resume, read back)."""
        self._data.clear()
        self._data.update(data)

    def _lock(self) -> None:
        object.__setattr__(self, "_locked", True)
