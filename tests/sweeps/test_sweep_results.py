"""Parameter importance, correlation and the UI data of a sweep."""

from __future__ import annotations

import random

import labtrack
from labtrack.sweeps.importance import parameter_importance
from labtrack.sweeps.results import best_so_far, sweep_page, sweep_runs


def _rows(n: int, seed: int = 1) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        a, b = rng.uniform(0, 1), rng.uniform(0, 1)
        c = rng.choice(["adam", "sgd"])
        value = 5 * a + (1.0 if c == "sgd" else 0.0) + 0.05 * rng.gauss(0, 1)
        rows.append({"params": {"a": a, "b": b, "c": c, "const": 7}, "value": value})
    return rows


def test_importance_finds_the_parameter_that_drives_the_metric() -> None:
    result = {r["param"]: r for r in parameter_importance(_rows(40))}
    assert set(result) == {"a", "b", "c"}  # a constant parameter is left out
    assert result["a"]["importance"] > 0.6 > result["b"]["importance"]
    assert result["c"]["importance"] > result["b"]["importance"]
    assert abs(sum(r["importance"] for r in result.values()) - 1.0) < 1e-9
    assert result["a"]["correlation"] > 0.9 and abs(result["b"]["correlation"]) < 0.4
    assert result["c"]["kind"] == "categorical" and result["c"]["correlation"] is None
    assert parameter_importance(_rows(40)) == parameter_importance(_rows(40))  # reproducible


def test_importance_needs_runs_with_values() -> None:
    rows = _rows(2) + [{"params": {"a": 0.5, "b": 0.5, "c": "sgd"}, "value": None}]
    result = parameter_importance(rows)
    assert result and all(r["importance"] is None and r["runs"] == 2 for r in result)
    assert parameter_importance([]) == []


def test_sweep_page_data() -> None:
    def train() -> None:
        run = labtrack.init()
        opt = run.config["opt"]
        run.log({"acc": 1.0 - abs(opt["lr"] - 0.1) - (0.2 if opt["name"] == "sgd" else 0.0)})

    sweep_id = labtrack.sweep({
        "method": "grid", "metric": {"name": "acc", "goal": "maximize"},
        "parameters": {"opt": {"parameters": {"lr": {"values": [0.3, 0.1, 0.2]},
                                              "name": {"values": ["sgd", "adam"]}}}},
    })
    labtrack.agent(sweep_id, function=train)
    store = labtrack.Api().store
    runs = sweep_runs(store, sweep_id)
    assert [r["number"] for r in runs] == [1, 2, 3, 4, 5, 6]
    assert all(set(r["params"]) == {"opt.lr", "opt.name"} for r in runs)  # flattened
    series = best_so_far(store, sweep_id)
    assert series["number"] == [1, 2, 3, 4, 5, 6] and series["goal"] == "maximize"
    assert series["best"] == [max(series["value"][: i + 1]) for i in range(6)]
    page = sweep_page(store, sweep_id)
    assert page["runs"] == runs and page["best_so_far"] == series
    assert page["sweep"]["best"]["params"] == {"opt": {"lr": 0.1, "name": "adam"}}
    assert page["sweep"]["planned"] == 6 and page["sweep"]["metric"]["goal"] == "maximize"
    assert {r["param"] for r in page["importance"]} == {"opt.lr", "opt.name"}
