"""A starting report for some runs: the blocks the runs table or compare page had on screen."""

from __future__ import annotations

import json
import time
from typing import Any

from .blocks import _metric_keys, _numeric_summary, default_columns


def _flow(items: list[str]) -> str:
    """A YAML flow list; names are quoted only when YAML would misread them."""
    import yaml

    return "[" + ", ".join(
        item if yaml.safe_load(f"[{item}]") == [item] and "#" not in item else json.dumps(item)
        for item in items) + "]"


def starter_body(store: Any, project: str, run_ids: list[str], source: str = "runs") -> str:
    """Markdown for a new report about ``run_ids``, with live blocks pre-filled.

    Args:
        source: ``"runs"`` (the runs table: a table and charts) or ``"compare"``
            (also the config diff and parallel coordinates).
    """
    rows = store.runs(ids=list(run_ids)) if run_ids else store.runs(project, limit=10)
    by_id = {r["id"]: r for r in rows}
    rows = [by_id[i] for i in run_ids if i in by_id] if run_ids else rows
    ids = [r["id"] for r in rows]
    names = ", ".join(" ".join(str(r["name"]).split()) for r in rows[:8])
    names += " ..." if len(rows) > 8 else ""
    runs_line = f"runs: {_flow(ids)}  # {names}" if ids else "runs: ''"
    metrics = [k for k in _metric_keys(store, ids) if not k.startswith(("system/", "_"))][:4]
    day = time.strftime("%Y-%m-%d")
    parts = [
        "## What we tried\n",
        f"{len(rows)} runs of **{project}**, {day}. Describe the question and the setup here.\n",
    ]
    if rows:
        columns = default_columns(rows)
        parts += ["```labtrack-runs", runs_line, f"columns: {_flow(columns)}"]
        summary = _numeric_summary(rows)
        if summary:
            parts.append(f"sort: {_flow(['-summary.' + summary[0]])[1:-1]}")
        parts.append("```\n")
    if source == "compare" and len(rows) > 1:
        parts += ["## How they differ\n", "```labtrack-compare", runs_line, "```\n"]
    if metrics:
        parts += ["## Curves\n", "```labtrack-chart", runs_line, f"metrics: {_flow(metrics)}",
                  "smoothing: 0", "```\n"]
    if source == "compare" and len(rows) > 2:
        parts += ["```labtrack-parcoords", runs_line, "```\n"]
    parts += ["## What we found\n", "Write the conclusion here.\n"]
    return "\n".join(parts)
