"""What the framework integrations share: finding or starting the run, and plain numbers.

Only the public API is used (``labtrack.init``, ``labtrack.run``, ``Run.log``,
``Run.config``, ``Run.summary``, ``Run.log_model``), so an integration works
with any run a user made, and with ``import labtrack as wandb`` scripts.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any


def active_run(run: Any = None, **init_kwargs: Any) -> tuple[Any, bool]:
    """``(run, started)``: the given run, else the active one, else a new one.

    ``started`` is True when this call started the run, so the integration
    that asked also finishes it.
    """
    import labtrack

    if run is not None:
        return run, False
    current = labtrack.run
    if current is not None:
        return current, False
    kwargs = {k: v for k, v in init_kwargs.items() if v is not None}
    return labtrack.init(**kwargs), True


def as_number(value: Any) -> float | int | bool | None:
    """A Python number from a number, a numpy scalar or a one-element tensor; else None."""
    if isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, numbers.Number):
        try:
            return float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    item = getattr(value, "item", None)
    size = getattr(value, "size", None)
    numel = getattr(value, "numel", None)
    count = numel() if callable(numel) else (size if isinstance(size, int) else None)
    if callable(item) and count == 1:
        try:
            out = item()
        except (TypeError, ValueError, RuntimeError):
            return None
        return out if isinstance(out, (bool, int, float)) else None
    return None


def numbers_only(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """The entries of ``values`` that are numbers, as Python numbers, keys prefixed."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        number = as_number(value)
        if number is not None:
            out[f"{prefix}{key}"] = number
    return out


def plain_config(values: Mapping[str, Any]) -> dict[str, Any]:
    """Config values a run can store: JSON-like values kept, anything else as its repr."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        out[str(key)] = _plain(value)
    return out


def _plain(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    number = as_number(value)
    if number is not None:
        return number
    if depth < 8 and isinstance(value, Mapping):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if depth < 8 and isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, type):
        return value.__name__
    name = getattr(value, "__name__", None)
    if callable(value) and isinstance(name, str):
        return name
    return repr(value)


def importance_table(names: list[str], scores: list[float], title: str) -> dict[str, Any]:
    """A feature importance table and bar chart, most important first, ready for ``log``."""
    import labtrack

    pairs = sorted(zip(names, scores, strict=True), key=lambda p: -p[1])
    table = labtrack.Table(columns=["feature", "importance"],
                           data=[[str(n), float(s)] for n, s in pairs])
    return {"table": table, "chart": labtrack.plot.bar(table, "feature", "importance",
                                                       title=title)}
