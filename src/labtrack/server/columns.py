"""Columns of the runs table: reading a dotted column from a run, listing the choices.

A column is a run field (``name``, ``state``, ``duration`` ...), a config path
(``config.optimizer.name``) or a summary key (``summary.val/loss``; summary
keys are flat, so everything after ``summary.`` is one key).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

FIELDS = ["name", "state", "created_at", "duration", "tags", "group", "job_type", "host",
          "owner", "sweep_id", "step", "exit_code", "favorite", "notes", "id"]
DEFAULT_COLUMNS = ["name", "state", "created_at", "duration", "tags"]


def parse_columns(text: str | None) -> list[str]:
    """``"a, b,,c"`` -> ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    out: list[str] = []
    for part in (text or "").split(","):
        part = part.strip()
        if part and part not in out:
            out.append(part)
    return out


def json_value(value: Any) -> Any:
    """``value`` made strict-JSON safe: NaN and infinities become strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def column_value(run: dict[str, Any], column: str) -> Any:
    """The value of ``column`` for a run row (None when missing)."""
    root, _, rest = column.partition(".")
    if root == "summary" and rest:
        return json_value((run.get("summary") or {}).get(rest))
    if root == "config" and rest:
        value: Any = run.get("config") or {}
        for part in rest.split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return json_value(value)
    return json_value(run.get(column))


def flatten_keys(data: Any, prefix: str = "", depth: int = 0) -> Iterable[str]:
    """Dotted paths of the leaves of a nested config dict."""
    if not isinstance(data, dict) or not data:
        if prefix:
            yield prefix
        return
    if depth > 8:
        yield prefix
        return
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield from flatten_keys(value, path, depth + 1)


def available_columns(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Column choices seen in ``rows``: run fields, config paths and summary keys.

    ``varying`` lists the config paths whose values differ between the rows (what a
    table most likely wants to show).
    """
    import json

    config: dict[str, set[str]] = {}
    summary: dict[str, None] = {}
    for row in rows:
        cfg = row.get("config") or {}
        for key in flatten_keys(cfg):
            value = column_value({"config": cfg}, f"config.{key}")
            config.setdefault(key, set()).add(json.dumps(value, sort_keys=True, default=str))
        for key in (row.get("summary") or {}):
            summary.setdefault(str(key), None)
    return {
        "fields": list(FIELDS),
        "config": sorted(config),
        "varying": sorted(k for k, values in config.items() if len(values) > 1),
        "summary": sorted(summary, key=lambda k: (k.startswith("_"), k)),
    }
