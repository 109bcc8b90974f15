"""Chart data: N runs x K metric keys as downsampled lines against a chosen x axis.

x axes:

* ``step``: the step each point was logged at;
* ``wall``: wall-clock time (milliseconds since the epoch, for a date axis);
* ``relative``: seconds since the run was created;
* ``metric``: another metric (``x_key``), joined to the line by step;
* ``default``: the metric's ``define_metric(step_metric=...)`` when it has one, else step.

Each prepared line is cached under (run, key, x, point counts, max_points), so
a finished run is decoded once, and a live run is re-read only when it grew.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from typing import Any

# at server start, not in the first chart request: the store's chunk codec imports
# numpy lazily (run writers avoid it), so the server imports it here
import numpy as np

from .cache import ChartCache

X_MODES = ("default", "step", "wall", "relative", "metric")


def step_metric_for(metric_defs: dict[str, Any], key: str) -> str | None:
    """The step_metric that ``define_metric`` gave ``key`` (exact name first, then globs)."""
    rule = metric_defs.get(key)
    if rule is None:
        for name, candidate in metric_defs.items():
            if any(c in name for c in "*?[") and fnmatch.fnmatchcase(key, name):
                rule = candidate
                break
    if isinstance(rule, dict):
        value = rule.get("step_metric")
        return str(value) if value and value != key else None
    return None


class ChartBuilder:
    """Prepares chart lines from a store, with a cache of finished work."""

    def __init__(self, store: Any, cache: ChartCache) -> None:
        self.store = store
        self.cache = cache

    def lines(self, run_ids: Sequence[str], keys: Sequence[str], x: str = "step",
              x_key: str | None = None, max_points: int = 2000, encoding: str = "json"
              ) -> dict[str, Any]:
        """Every (run, key) line that has points, in run then key order."""
        from ..errors import UsageError

        if x not in X_MODES:
            raise UsageError(f"x must be one of {', '.join(X_MODES)}, not {x!r}")
        if x == "metric" and not x_key:
            raise UsageError("x='metric' needs x_key, the metric to use as the x axis")
        if encoding not in ("json", "base64"):
            raise UsageError(f"encoding must be 'json' or 'base64', not {encoding!r}")
        runs = {r["id"]: r for r in self._run_rows(run_ids, with_defs=x == "default")}
        counts = {rid: {s["key"]: int(s["count"] or 0) for s in self.store.series(rid)}
                  for rid in run_ids if rid in runs}
        plan: list[tuple[str, str, str | None]] = []  # (run, key, x metric or None)
        for rid in run_ids:
            if rid not in runs:
                continue
            defs = runs[rid].get("metric_defs") or {}
            for key in keys:
                if not counts[rid].get(key):
                    continue
                xm = x_key if x == "metric" else (
                    step_metric_for(defs, key) if x == "default" else None)
                if xm is not None and not counts[rid].get(xm):
                    if x == "metric":
                        continue
                    xm = None
                plan.append((rid, key, xm))
        out: list[dict[str, Any]] = []
        missing: dict[tuple[str, str, str | None], tuple[Any, ...]] = {}
        for item in plan:
            rid, key, xm = item
            mode = "metric" if xm is not None else ("step" if x == "default" else x)
            ckey = (rid, key, mode, xm, counts[rid][key],
                    counts[rid].get(xm or "", 0), max_points, encoding,
                    runs[rid]["created_at"] if x == "relative" else 0)
            cached = self.cache.get(ckey)
            if cached is None:
                missing[item] = ckey
            out.append({"run_id": rid, "key": key, "x_key": xm, "_ckey": ckey,
                        "_data": cached})
        computed = self._fill(missing, runs, x, max_points, encoding) if missing else {}
        for line in out:
            data = line.pop("_data") or computed[line.pop("_ckey")]
            line.pop("_ckey", None)
            line.update(data)
        return {"x": x, "x_key": x_key, "encoding": encoding, "lines": out,
                "runs": {rid: {"name": runs[rid]["name"], "state": runs[rid]["state"]}
                         for rid in run_ids if rid in runs}}

    def _run_rows(self, run_ids: Sequence[str], with_defs: bool) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.store.runs(ids=list(run_ids)) if run_ids else []
        if with_defs:
            for row in rows:
                if "metric_defs" not in row:
                    # the definitions change only with the run: cache them per update time
                    key = ("defs", row["id"], row.get("updated_at"))
                    defs = self.cache.get(key)
                    if defs is None:
                        defs = self._metric_defs(row["id"])
                        self.cache.put(key, defs, 1)
                    row["metric_defs"] = defs
        return rows

    def _metric_defs(self, run_id: str) -> dict[str, Any]:
        try:
            return self.store.get_run(run_id).get("metric_defs") or {}
        except Exception:  # noqa: BLE001 - deleted meanwhile: chart it without defs
            return {}

    def _fill(self, missing: dict[tuple[str, str, str | None], tuple[Any, ...]],
              runs: dict[str, dict[str, Any]], x: str, max_points: int, encoding: str
              ) -> dict[tuple[Any, ...], dict[str, Any]]:
        from .downsample import join_by_step, line_payload

        run_ids = sorted({rid for rid, _, _ in missing})
        keys = sorted({k for _, k, _ in missing} | {xm for _, _, xm in missing if xm})
        points = self.store.read_many(run_ids, keys)
        computed: dict[tuple[Any, ...], dict[str, Any]] = {}
        for (rid, key, xm), ckey in missing.items():
            p = points.get((rid, key))
            if p is None or len(p) == 0:
                empty = '""' if encoding == "base64" else "[]"
                data: dict[str, Any] = {"x": empty, "y": empty, "points": 0, "sampled": False,
                                        "total": 0}
            else:
                p = _by_step(p)
                steps, y = p.steps, p.values
                if xm is not None:
                    xp = points.get((rid, xm))
                    xs = xp.values if xp is not None else y[:0]
                    xsteps = xp.steps if xp is not None else steps[:0]
                    xv, y, _ = join_by_step(xsteps, xs, steps, y)
                elif x == "wall":
                    xv = p.times * 1000.0
                elif x == "relative":
                    xv = p.times - float(runs[rid]["created_at"])
                else:
                    xv = steps
                data = line_payload(xv, y, max_points, encoding)
                data["total"] = int(len(p))
            computed[ckey] = data
            self.cache.put(ckey, data, data["points"] or 1)
        return computed


def _by_step(points: Any) -> Any:
    """Points ordered by step (stable), so a line never jumps back across the chart."""
    steps = points.steps
    if len(steps) < 2 or bool(np.all(steps[1:] >= steps[:-1])):
        return points
    order = np.argsort(steps, kind="stable")
    return type(points)(steps[order], points.values[order], points.times[order])


def lines_json(result: dict[str, Any]) -> str:
    """Serialise :meth:`ChartBuilder.lines` output; arrays are pre-encoded JSON fragments."""
    import json

    parts = []
    for line in result["lines"]:
        head = json.dumps({k: v for k, v in line.items() if k not in ("x", "y")})
        parts.append(head[:-1] + f',"x":{line["x"]},"y":{line["y"]}}}')
    meta = json.dumps({k: result[k] for k in ("x", "x_key", "encoding", "runs")})
    return meta[:-1] + ',"lines":[' + ",".join(parts) + "]}"
