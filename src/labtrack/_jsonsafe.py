"""Strict-JSON conversions shared by the run, the writer and the store.

Strict JSON has no NaN or infinity, but users log them and must see them
again. Non-finite floats travel as the strings ``"NaN"``, ``"Infinity"`` and
``"-Infinity"`` (the spelling of JavaScript and of most JSON tools) and are
turned back into floats where a number is expected (summaries, series stats).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any

NONFINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def float_out(value: float) -> float | str:
    """A float as strict JSON allows it."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def float_in(value: Any) -> Any:
    """Undo :func:`float_out` (other values pass through)."""
    if isinstance(value, str) and value in NONFINITE:
        return NONFINITE[value]
    return value


def to_jsonable(obj: Any, _depth: int = 0) -> Any:
    """Convert config-like values to strict-JSON-safe Python values.

    dicts (keys made str), lists/tuples/sets, numpy scalars and arrays, dataclasses,
    argparse Namespaces and paths are converted; other objects become ``str(obj)``.
    """
    if _depth > 64:
        raise ValueError("value is nested more than 64 levels deep")
    if obj is None or isinstance(obj, (bool, str, int)):
        return obj
    if isinstance(obj, float):
        return float_out(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = sorted(obj, key=repr) if isinstance(obj, (set, frozenset)) else obj
        return [to_jsonable(v, _depth + 1) for v in items]
    module = type(obj).__module__
    if module == "numpy" or module.startswith("numpy."):
        if hasattr(obj, "tolist"):
            return to_jsonable(obj.tolist(), _depth + 1)
    if module.startswith("torch") and hasattr(obj, "tolist"):
        return to_jsonable(obj.tolist(), _depth + 1)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return to_jsonable(dataclasses.asdict(obj), _depth + 1)
    if type(obj).__name__ == "Namespace" and hasattr(obj, "__dict__"):
        return to_jsonable(vars(obj), _depth + 1)
    if isinstance(obj, PurePath):
        return str(obj)
    return str(obj)


def summary_in(summary: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a stored summary: non-finite strings back to floats."""
    return {k: float_in(v) for k, v in summary.items()}
