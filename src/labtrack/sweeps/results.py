"""A sweep's results as JSON-able data, for ``labtrack sweep show`` and the UI sweep page.

Every function takes the store (what ``open_store()`` returns) and a sweep id, and
returns plain dicts and lists (NaN and infinities never appear: a missing metric is
None). :func:`sweep_page` returns everything the UI page needs in one call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from labtrack.errors import ConfigError
from labtrack.sweeps.command import flatten_params
from labtrack.sweeps.config import SweepConfig, load_sweep_config
from labtrack.sweeps.remote import index_for
from labtrack.sweeps.search import count_grid

if TYPE_CHECKING:
    from labtrack.store.sql import SQLStore


def sweep_summary(store: SQLStore, sweep_id: str) -> dict[str, Any]:
    """The sweep with its progress and best run.

    Returns the sweep's fields (``id, project, name, description, method, config, state,
    created_at, updated_at, run_count, runs_by_state``) plus ``metric`` (``{"name",
    "goal", "target"}`` or None), ``planned`` (grid size or ``run_cap``; None when
    unbounded) and ``best`` (``{"run_id", "name", "number", "value", "params"}`` or None).
    """
    return _summary(*_load(store, sweep_id))


def sweep_runs(store: SQLStore, sweep_id: str) -> list[dict[str, Any]]:
    """The sweep's runs in claim order, for the runs table and parallel coordinates.

    Each is ``{"number", "run_id", "name", "state", "params", "value", "claimed_at",
    "created_at", "finished_at"}`` with ``params`` flattened (``"optimizer.lr"``).
    """
    _, config, trials = _load(store, sweep_id)
    return _runs(config, trials)


def best_so_far(store: SQLStore, sweep_id: str) -> dict[str, Any]:
    """The metric per run and the best value so far, in claim order.

    Returns ``{"metric", "goal", "number": [...], "run_id": [...], "value": [...],
    "best": [...]}``: one entry per run that has a value; ``best[i]`` is the best of
    ``value[:i+1]``.
    """
    _, config, trials = _load(store, sweep_id)
    return _best_series(config, trials)


def sweep_importance(store: SQLStore, sweep_id: str) -> list[dict[str, Any]]:
    """Per-parameter importance and correlation to the metric.

    See :func:`labtrack.sweeps.importance.parameter_importance` for the fields.
    """
    _, config, trials = _load(store, sweep_id)
    return _importance(config, trials)


def sweep_page(store: SQLStore, sweep_id: str) -> dict[str, Any]:
    """Everything the UI sweep page shows: ``{"sweep", "runs", "best_so_far",
    "importance"}`` (each as returned by the functions above), read once."""
    loaded = _load(store, sweep_id)
    _, config, trials = loaded
    return {
        "sweep": _summary(*loaded),
        "runs": _runs(config, trials),
        "best_so_far": _best_series(config, trials),
        "importance": _importance(config, trials),
    }


# -- internals -----------------------------------------------------------------------
def _load(store: SQLStore, sweep_id: str
          ) -> tuple[dict[str, Any], SweepConfig, list[dict[str, Any]]]:
    index = index_for(store)  # a team server's client too
    sweep = index.get(sweep_id)
    return sweep, load_sweep_config(sweep["config"]), index.trials(sweep_id)


def _summary(sweep: dict[str, Any], config: SweepConfig,
             trials: list[dict[str, Any]]) -> dict[str, Any]:
    out = dict(sweep)
    m = config.metric
    out["metric"] = {"name": m.name, "goal": m.goal, "target": m.target} if m else None
    out["planned"] = _planned(config)
    best = _best(config, trials)
    out["best"] = None if best is None else {
        "run_id": best["run_id"], "name": best["name"], "number": best["number"],
        "value": best["value"], "params": best["params"],
    }
    return out


def _planned(config: SweepConfig) -> int | None:
    planned = None
    if config.method == "grid":
        try:
            planned = count_grid(config)
        except ConfigError:
            planned = None
    if config.run_cap is not None:
        planned = config.run_cap if planned is None else min(planned, config.run_cap)
    return planned


def _best(config: SweepConfig, trials: list[dict[str, Any]]) -> dict[str, Any] | None:
    if config.metric is None:
        return None
    best = None
    for t in trials:
        if t["value"] is not None and (best is None
                                       or config.metric.better(t["value"], best["value"])):
            best = t
    return best


def _runs(config: SweepConfig, trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"number": t["number"], "run_id": t["run_id"], "name": t["name"], "state": t["state"],
         "params": flatten_params(t["params"], config=config), "value": t["value"],
         "claimed_at": t["claimed_at"], "created_at": t["created_at"],
         "finished_at": t["finished_at"]}
        for t in trials
    ]


def _best_series(config: SweepConfig, trials: list[dict[str, Any]]) -> dict[str, Any]:
    m = config.metric
    out: dict[str, Any] = {"metric": m.name if m else None, "goal": m.goal if m else None,
                           "number": [], "run_id": [], "value": [], "best": []}
    if m is None:
        return out
    best: float | None = None
    for t in trials:
        if t["value"] is None:
            continue
        if best is None or m.better(t["value"], best):
            best = t["value"]
        out["number"].append(t["number"])
        out["run_id"].append(t["run_id"])
        out["value"].append(t["value"])
        out["best"].append(best)
    return out


def _importance(config: SweepConfig, trials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if config.metric is None:
        return []
    from labtrack.sweeps.importance import parameter_importance

    rows = [{"params": flatten_params(t["params"], config=config), "value": t["value"]}
            for t in trials if t["state"] != "running"]
    return parameter_importance(rows)
