"""``wandb.Api`` with wandb's defaults: path= and filters=, oldest first, sampled DataFrames."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import labtrack
from labtrack.compat.api import Api


@pytest.fixture
def two_projects(store_dir: Path) -> list[str]:
    ids = []
    for project, lr in (("a", 0.1), ("a", 0.2), ("b", 0.3)):
        with labtrack.init(project=project, config={"lr": lr}) as run:
            for step in range(1200):
                run.log({"loss": 1.0 / (step + 1)})
        ids.append(run.id)
    return ids


def test_runs_take_wandb_path_filters_and_order(two_projects: list[str]) -> None:
    api = Api(overrides={"entity": "team", "project": "a"})
    assert [r.id for r in api.runs()] == two_projects[:2]  # oldest first, like wandb
    assert [r.id for r in api.runs(path="team/b")] == two_projects[2:]
    assert [r.id for r in api.runs("team/a", order="-created_at")] == two_projects[1::-1]
    assert [r.config["lr"] for r in api.runs("a", filters={"config.lr": {"$gt": 0.15}})] == [0.2]
    assert api.run(f"team/a/{two_projects[0]}").config == {"lr": 0.1}


def test_history_is_a_sampled_dataframe_and_scan_history_is_complete(
        two_projects: list[str]) -> None:
    pytest.importorskip("pandas")
    run = Api().run(two_projects[0])
    frame = run.history()
    assert list(frame.columns)[:1] == ["_step"] and "loss" in frame.columns
    assert len(frame) == 500 and frame["_step"].iloc[-1] == 1199
    assert len(run.history(samples=None)) == 1200
    rows = list(run.scan_history(keys=["loss"], min_step=1000))
    assert len(rows) == 200 and rows[0]["_step"] == 1000 and rows[-1]["loss"] == 1 / 1200


def test_history_without_pandas_is_a_list(two_projects: list[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    rows = Api().run(two_projects[2]).history(samples=10)
    assert isinstance(rows, list) and len(rows) == 10 and rows[0]["loss"] == 1.0
