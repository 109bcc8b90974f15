"""wandb-style MongoDB filter dicts, translated to the labtrack filter language.

Supports ``{"config.lr": 0.1}``, ``{"config.lr": {"$lt": 0.1}}``, ``$gt/$gte/$lt/$lte/
$eq/$ne/$in/$nin/$regex``, ``{"$and": [...]}``, ``{"$or": [...]}``, ``{"tags": "x"}``
and ``{"state": "finished"}``. ``summary_metrics.x`` maps to ``summary.x``.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import FilterError

_OPS = {"$lt": "<", "$lte": "<=", "$gt": ">", "$gte": ">=", "$eq": "==", "$ne": "!="}


def _field(name: str) -> str:
    if name.startswith("summary_metrics."):
        name = "summary." + name[len("summary_metrics."):]
    if name == "display_name":
        name = "name"
    parts = name.split(".")
    return ".".join([parts[0], *(json.dumps(p) if not p.isidentifier() else p
                                 for p in parts[1:])])


def _value(v: Any) -> str:
    return json.dumps(v)


def mongo_to_expression(query: dict[str, Any]) -> str:
    """Translate a Mongo-style filter dict; raises FilterError for what it cannot express."""
    parts = []
    for key, cond in query.items():
        if key in ("$and", "$or"):
            joined = f" {key[1:]} ".join(f"({mongo_to_expression(q)})" for q in cond)
            parts.append(f"({joined})")
        elif key == "tags":
            if isinstance(cond, dict) and "$in" in cond:
                parts.append("(" + " or ".join(f"{_value(t)} in tags" for t in cond["$in"]) + ")")
            else:
                parts.append(f"{_value(cond)} in tags")
        elif isinstance(cond, dict):
            for op, value in cond.items():
                field = _field(key)
                if op in _OPS:
                    parts.append(f"{field} {_OPS[op]} {_value(value)}")
                elif op in ("$in", "$nin"):
                    neg = "not " if op == "$nin" else ""
                    parts.append(f"{field} {neg}in [{', '.join(_value(v) for v in value)}]")
                elif op == "$regex":
                    parts.append(f"{field} ~ {_value(str(value).replace('.*', '*'))}")
                else:
                    raise FilterError(f"unsupported filter operator {op!r}")
        else:
            parts.append(f"{_field(key)} == {_value(cond)}")
    return " and ".join(parts) if parts else ""
