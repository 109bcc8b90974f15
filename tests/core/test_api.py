"""labtrack.Api: history, sampling, pandas, scan_history, run lookup."""

from __future__ import annotations

import pytest

import labtrack
from labtrack.errors import NotFoundError


@pytest.fixture
def run_id() -> str:
    run = labtrack.init(project="api", name="hist")
    for i in range(100):
        data = {"loss": 1.0 / (i + 1)}
        if i % 10 == 0:
            data["val/acc"] = i / 100
        run.log(data)
    run.finish()
    return run.id


def test_history_merges_by_step(run_id: str) -> None:
    rows = labtrack.Api().run(run_id).history()
    assert len(rows) == 100
    assert rows[10]["_step"] == 10 and rows[10]["val/acc"] == 0.1 and "val/acc" not in rows[11]
    only_val = labtrack.Api().run(run_id).history(keys=["val/acc"])
    assert [r["_step"] for r in only_val] == list(range(0, 100, 10))


def test_history_samples_and_pandas(run_id: str) -> None:
    r = labtrack.Api().run(run_id)
    sampled = r.history(samples=10)
    assert len(sampled) == 10 and sampled[0]["_step"] == 0 and sampled[-1]["_step"] == 99
    frame = r.history(pandas=True)
    assert list(frame.columns[:3]) == ["_step", "_timestamp", "_runtime"]
    assert frame["loss"].iloc[0] == 1.0 and len(frame) == 100


def test_scan_history_is_complete(run_id: str) -> None:
    rows = list(labtrack.Api().run(run_id).scan_history(keys=["loss"], min_step=50))
    assert len(rows) == 50 and rows[0]["_step"] == 50


def test_run_lookup_by_name_prefix_and_path(run_id: str) -> None:
    api = labtrack.Api()
    assert api.run("hist").id == run_id
    assert api.run(f"api/{run_id}").id == run_id
    assert api.run(run_id[:5]).id == run_id
    with pytest.raises(NotFoundError):
        api.run("nope-nope")
    with pytest.raises(NotFoundError):
        api.run(run_id).series("missing")


def test_update_edits_are_saved(run_id: str) -> None:
    api = labtrack.Api()
    api.run(run_id).update(name="renamed", tags=["a", "b"], notes="**bold**")
    r = labtrack.Api().run(run_id)
    assert (r.name, r.tags, r.notes) == ("renamed", ["a", "b"], "**bold**")
    assert [x.id for x in api.runs("api", filter='"b" in tags')] == [run_id]
