"""The run blocks: ``labtrack-chart``, ``labtrack-runs``, ``labtrack-compare`` and
``labtrack-parcoords``, each turned into JSON data that the page draws.

Every function takes a :class:`BlockContext` and the block's parsed YAML and
returns a dict (strict JSON: NaN and infinities never appear), or raises
:class:`~labtrack.reports._spec.BlockError` with a message for the reader.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

from ..server.columns import available_columns, column_value, flatten_keys, json_value
from ._spec import (
    RUN_KEYS,
    BlockError,
    check_keys,
    flag,
    integer,
    number,
    run_ref,
    select_runs,
    str_list,
    text,
)

X_MODES = ("default", "step", "wall", "relative")
LOWER_IS_BETTER = re.compile(
    r"(loss|err|error|mse|mae|rmse|perplexity|ppl|wer|cer|time|duration|latency|regret)", re.I)
METRIC_HINT = re.compile(r"(acc|loss|err|score|f1|auc|bleu|rouge|reward|return|map|iou|ppl)", re.I)


@dataclass
class BlockContext:
    """What a block renders from: the store, the report's project and a chart cache."""

    store: Any
    project: str
    cache: Any = None

    def chart_cache(self) -> Any:
        if self.cache is None:
            from ..server.cache import ChartCache

            self.cache = ChartCache()
        return self.cache


def _no_runs(spec: dict[str, Any]) -> BlockError:
    what = spec.get("runs") or spec.get("filter")
    return BlockError(f"no runs match {what!r}" if what else "this project has no runs yet")


def _metric_keys(store: Any, run_ids: list[str]) -> list[str]:
    """The metric keys the runs logged, user metrics first, then ``_*`` and ``system/*``."""
    seen: dict[str, None] = {}
    for rid in run_ids:
        for s in store.series(rid):
            if s.get("count"):
                seen.setdefault(s["key"], None)
    return sorted(seen, key=lambda k: (k.startswith("system/"), k.startswith("_"), k))


def _expand(patterns: list[str], keys: list[str], what: str) -> list[str]:
    """Names and glob patterns (``train/*``) matched against ``keys``, in pattern order."""
    out: dict[str, None] = {}
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            hits = [k for k in keys if fnmatch.fnmatchcase(k, pattern)]
        else:
            hits = [pattern] if pattern in keys else []
        if not hits:
            close = [k for k in keys if not k.startswith("system/")][:8]
            hint = f"; they have: {', '.join(close)}" if close else ""
            raise BlockError(f"none of these runs has {what} {pattern!r}{hint}")
        for key in hits:
            out.setdefault(key, None)
    return list(out)


def _summary_key(name: str) -> str:
    return name[len("summary."):] if name.startswith("summary.") else name


def _config_key(name: str) -> str:
    return name[len("config."):] if name.startswith("config.") else name


def _numeric(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numeric_summary(rows: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for row in rows:
        for key, value in (row.get("summary") or {}).items():
            if not str(key).startswith("_") and _numeric(json_value(value)):
                keys.setdefault(str(key), None)
    ranked = sorted(keys, key=lambda k: (not METRIC_HINT.search(k), k))
    return ranked


# -- labtrack-chart ----------------------------------------------------------------------
CHART_KEYS = RUN_KEYS + ("metrics", "x", "smoothing", "log_y", "log_x", "title", "max_points")


def chart_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """Line charts of metrics of some runs, one plot per metric, downsampled on the server."""
    from ..server.charts import ChartBuilder

    check_keys(spec, CHART_KEYS)
    rows = select_runs(ctx.store, ctx.project, spec, default_limit=10, max_limit=100)
    if not rows:
        raise _no_runs(spec)
    ids = [r["id"] for r in rows]
    keys = _metric_keys(ctx.store, ids)
    wanted = str_list(spec, "metrics")
    if wanted:
        metrics = _expand(wanted, keys, "a metric")
    else:
        metrics = [k for k in keys if not k.startswith(("system/", "_"))][:4]
        if not metrics:
            raise BlockError("these runs have logged no metrics yet")
    x = text(spec, "x", "default") or "default"
    x_key = None
    if x not in X_MODES:
        x_key, x = _expand([x], keys, "an x metric")[0], "metric"
    smoothing = number(spec, "smoothing", 0.0, 0.0, 0.999)
    max_points = integer(spec, "max_points", 1000, 10, 5000)
    result = ChartBuilder(ctx.store, ctx.chart_cache()).lines(
        ids, metrics, x=x, x_key=x_key, max_points=max_points)
    lines = [{"run_id": ln["run_id"], "key": ln["key"], "x_key": ln["x_key"],
              "x": json.loads(ln["x"]), "y": json.loads(ln["y"]), "sampled": ln["sampled"],
              "total": ln["total"]} for ln in result["lines"]]
    return {"metrics": metrics, "x": x, "x_key": x_key, "smoothing": smoothing,
            "log_y": flag(spec, "log_y"), "log_x": flag(spec, "log_x"),
            "runs": [run_ref(r) for r in rows], "lines": lines}


# -- labtrack-runs -----------------------------------------------------------------------
RUNS_KEYS = RUN_KEYS + ("columns", "title")


def default_columns(rows: list[dict[str, Any]], config: int = 4, summary: int = 4) -> list[str]:
    """name, state, created, the config keys that vary and the main summary metrics."""
    found = available_columns(rows)
    varying = found["varying"] or found["config"]
    return (["name", "state", "created_at"] + [f"config.{k}" for k in varying[:config]]
            + [f"summary.{k}" for k in _numeric_summary(rows)[:summary]])


def runs_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """A table of runs with chosen columns (run fields, ``config.*``, ``summary.*``)."""
    check_keys(spec, RUNS_KEYS)
    rows = select_runs(ctx.store, ctx.project, spec, default_limit=20, max_limit=500)
    if not rows:
        raise _no_runs(spec)
    columns = str_list(spec, "columns") or default_columns(rows)
    return {"columns": columns, "runs": [
        {**run_ref(r), "values": [column_value(r, c) for c in columns]} for r in rows]}


# -- labtrack-compare --------------------------------------------------------------------
COMPARE_KEYS = RUN_KEYS + ("metrics", "all_config", "title")


def _config_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys: dict[str, None] = {}
    for row in rows:
        for key in flatten_keys(row.get("config") or {}):
            keys.setdefault(key, None)
    table = []
    for key in sorted(keys):
        values = [column_value(r, f"config.{key}") for r in rows]
        dumped = {json.dumps(v, sort_keys=True, default=str) for v in values}
        table.append({"key": key, "values": values, "differs": len(dumped) > 1})
    return table


def _best(values: list[Any], goal: str) -> list[int]:
    nums = [v for v in values if _numeric(v)]
    if len(nums) < 2 or min(nums) == max(nums):
        return []
    target = min(nums) if goal == "min" else max(nums)
    return [i for i, v in enumerate(values) if _numeric(v) and v == target]


def compare_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """Config differences and summary metrics of a few runs side by side (best marked)."""
    check_keys(spec, COMPARE_KEYS)
    rows = select_runs(ctx.store, ctx.project, spec, default_limit=6, max_limit=20)
    if not rows:
        raise _no_runs(spec)
    config = _config_table(rows)
    shown = config if flag(spec, "all_config") else [c for c in config if c["differs"]]
    metrics = [_summary_key(m) for m in str_list(spec, "metrics")] or _numeric_summary(rows)[:12]
    summary = []
    for key in metrics:
        values = [json_value((r.get("summary") or {}).get(key)) for r in rows]
        goal = "min" if LOWER_IS_BETTER.search(key) else "max"
        summary.append({"key": key, "values": values, "goal": goal, "best": _best(values, goal)})
    return {"runs": [run_ref(r) for r in rows], "config": shown, "config_keys": len(config),
            "config_differing": sum(1 for c in config if c["differs"]), "summary": summary}


# -- labtrack-parcoords ------------------------------------------------------------------
PARCOORDS_KEYS = RUN_KEYS + ("params", "metric", "title")


def dimension(label: str, values: list[Any]) -> dict[str, Any]:
    """A parallel-coordinates axis: numbers as they are, anything else as categories."""
    if all(v is None or _numeric(v) for v in values):
        return {"label": label, "values": values}
    cats = sorted({json.dumps(v, default=str) if not isinstance(v, str) else v
                   for v in values if v is not None})
    index = {c: i for i, c in enumerate(cats)}
    coded = [None if v is None else index[json.dumps(v, default=str)
                                          if not isinstance(v, str) else v] for v in values]
    return {"label": label, "values": coded, "tickvals": list(range(len(cats))),
            "ticktext": cats}


def parcoords_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """Parallel coordinates: config parameters of many runs against one summary metric."""
    check_keys(spec, PARCOORDS_KEYS)
    rows = select_runs(ctx.store, ctx.project, spec, default_limit=100, max_limit=1000)
    if not rows:
        raise _no_runs(spec)
    params = [_config_key(p) for p in str_list(spec, "params")]
    if not params:
        scalar = [c["key"] for c in _config_table(rows) if c["differs"] and all(
            v is None or isinstance(v, (str, int, float, bool)) for v in c["values"])]
        params = scalar[:8]
    if not params:
        raise BlockError("these runs share one config; name the 'params' to show")
    metrics = _numeric_summary(rows)
    metric = _summary_key(text(spec, "metric") or (metrics[0] if metrics else ""))
    if not metric:
        raise BlockError("these runs have no numeric summary metric; name one in 'metric'")
    dims = [dimension(p, [column_value(r, f"config.{p}") for r in rows]) for p in params]
    values = [json_value((r.get("summary") or {}).get(metric)) for r in rows]
    values = [v if _numeric(v) else None for v in values]
    if all(v is None for v in values):
        raise BlockError(f"none of these runs has the summary metric {metric!r}")
    dims.append(dimension(metric, values))
    return {"runs": [run_ref(r) for r in rows], "metric": metric, "dimensions": dims}
