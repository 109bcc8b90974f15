"""SweepIndex: sweeps, claims and trials in a real SQLite store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import labtrack
from labtrack.errors import ConfigError, ConflictError, NotFoundError
from labtrack.store import open_store
from labtrack.store.schema import schema_migrations
from labtrack.sweeps.store import SweepIndex


def test_create_get_list_and_resolve(index: SweepIndex, grid: dict[str, Any]) -> None:
    first = index.create(grid, "p1", name="grid-one")
    second = index.create({**grid, "method": "random"}, "p2")
    assert first["state"] == "running" and first["method"] == "grid"
    assert first["config"] == grid and first["run_count"] == 0
    assert index.get(first["id"])["name"] == "grid-one"
    assert [s["id"] for s in index.list_sweeps()] == [second["id"], first["id"]]  # newest first
    assert [s["id"] for s in index.list_sweeps("p1")] == [first["id"]]
    assert index.resolve("grid-one") == first["id"]
    assert index.resolve(f"someone/p1/{first['id']}") == first["id"]
    assert index.resolve(first["id"][:5]) == first["id"]
    with pytest.raises(NotFoundError, match="no sweep"):
        index.resolve("nope")
    with pytest.raises(NotFoundError, match="no sweep"):
        index.get("nope")


def test_the_migration_is_recorded(index: SweepIndex) -> None:
    with index.store.read() as conn:
        names = [r[0] for r in conn.execute(select(schema_migrations.c.name))]
    assert "sweeps" in names


def test_create_rejects_a_bad_config(index: SweepIndex) -> None:
    with pytest.raises(ConfigError, match=r"parameters\.lr\.min must be < max"):
        index.create({"method": "random", "parameters": {"lr": {"min": 1.0, "max": 0.1}}}, "p")
    assert index.list_sweeps() == []


def test_grid_claims_every_point_once_then_finishes(index: SweepIndex,
                                                    grid: dict[str, Any]) -> None:
    sweep_id = index.create(grid, "p")["id"]
    claims = []
    while (claim := index.claim(sweep_id)) is not None:
        claims.append(claim)
    assert [c["number"] for c in claims] == [1, 2, 3, 4, 5, 6]
    points = {(c["params"]["a"], c["params"]["b"]) for c in claims}
    assert points == {(a, b) for a in (1, 2, 3) for b in ("x", "y")}
    assert len({c["run_id"] for c in claims}) == 6
    swept = index.get(sweep_id)
    assert swept["state"] == "finished" and swept["run_count"] == 6
    assert swept["runs_by_state"] == {"running": 6}  # claimed, not started yet


def test_pause_resume_stop(index: SweepIndex, grid: dict[str, Any]) -> None:
    sweep_id = index.create(grid, "p")["id"]
    assert index.set_state(sweep_id, "paused")["state"] == "paused"
    assert index.claim(sweep_id) is None
    assert index.get(sweep_id)["state"] == "paused"  # a refused claim does not finish it
    assert index.set_state(sweep_id, "running")["state"] == "running"
    assert index.claim(sweep_id) is not None
    assert index.set_state(sweep_id, "stopped")["state"] == "stopped"
    assert index.claim(sweep_id) is None
    with pytest.raises(ConflictError, match="cannot pause"):
        index.set_state(sweep_id, "paused")


def test_a_finished_sweep_cannot_be_resumed(index: SweepIndex, grid: dict[str, Any]) -> None:
    sweep_id = index.create({**grid, "parameters": {"a": {"value": 1}}}, "p")["id"]
    assert index.claim(sweep_id) is not None
    assert index.claim(sweep_id) is None
    with pytest.raises(ConflictError, match="finished"):
        index.set_state(sweep_id, "running")


def test_trials_join_the_runs_table(index: SweepIndex, grid: dict[str, Any]) -> None:
    sweep_id = index.create(grid, "p")["id"]
    claim = index.claim(sweep_id)
    assert claim is not None
    run = labtrack.init(id=claim["run_id"], project="p", config=claim["params"])
    for loss in (3.0, 2.0, 1.5):
        run.log({"loss": loss})
    run.finish()
    other = index.claim(sweep_id)
    assert other is not None
    trials = {t["run_id"]: t for t in index.trials(sweep_id)}
    assert trials[claim["run_id"]]["state"] == "finished"
    assert trials[claim["run_id"]]["value"] == 1.5  # the summary value of the metric
    assert trials[claim["run_id"]]["name"] == run.name
    assert trials[other["run_id"]]["state"] == "running" and trials[other["run_id"]]["value"] \
        is None
    at = index.metric_at(sweep_id, "loss", [0, 2, 5])
    assert at == {claim["run_id"]: {"count": 3, "values": {"0": 3.0, "2": 1.5}}}


def test_a_claim_that_never_starts_shows_crashed(store_dir: Path, grid: dict[str, Any]) -> None:
    store = open_store(store_dir, heartbeat_timeout=0.2)
    index = SweepIndex(store)
    sweep_id = index.create(grid, "p")["id"]
    index.claim(sweep_id)
    assert index.trials(sweep_id)[0]["state"] == "running"
    time.sleep(0.3)
    assert index.trials(sweep_id)[0]["state"] == "crashed"
    assert index.get(sweep_id)["runs_by_state"] == {"crashed": 1}
    store.close()
