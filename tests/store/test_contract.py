"""The Store contract, identical on SQLite and PostgreSQL."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from labtrack_store_contract import StoreUnderTest, log_run

from labtrack.errors import FilterError, NotFoundError, StoreError
from labtrack.runlog import Record

SPECS = [
    ("resnet-a", {"lr": 0.001, "opt": {"name": "adam"}, "layers": [64, 32], "bn": True},
     [0.5, 0.9, 0.95], ["baseline"], 0),
    ("resnet-b", {"lr": 0.01, "opt": {"name": "sgd"}, "layers": [128], "bn": False},
     [0.5, 0.91], ["baseline", "x"], 0),
    ("vit-a", {"lr": 0.1, "opt": {"name": "sgd"}, "layers": [32], "bn": True},
     [float("nan")], [], 0),
    ("vit-b", {"lr": "auto", "opt": {"name": "adam"}, "layers": []}, [0.5], ["x"], 1),
]


@pytest.fixture
def populated(sut: StoreUnderTest) -> dict[str, str]:
    ids = {name: log_run("c", name, cfg, {"val/acc": acc, "loss": [1 - a for a in acc]},
                         tags=tags, exit_code=code)
           for name, cfg, acc, tags, code in SPECS}
    sut.publish()
    return ids


def names(sut: StoreUnderTest, expr: str | None = None, **kw: object) -> list[str]:
    return sorted(r["name"] for r in sut.store.runs("c", filter=expr, **kw))


@pytest.mark.parametrize("expr,expected", [
    ("config.lr < 0.05", ["resnet-a", "resnet-b"]),
    ('config.lr == "auto"', ["vit-b"]),
    ("summary.val/acc > 0.9", ["resnet-a", "resnet-b"]),
    ('"baseline" in tags', ["resnet-a", "resnet-b"]),
    ('"baseline" not in tags', ["vit-a", "vit-b"]),
    ('config.opt.name in ["sgd"]', ["resnet-b", "vit-a"]),
    ('name ~ "resnet*"', ["resnet-a", "resnet-b"]),
    ("64 in config.layers", ["resnet-a"]),
    ("config.bn == true", ["resnet-a", "vit-a"]),
    ("config.bn == null", ["vit-b"]),
    ('state == "failed"', ["vit-b"]),
    ("summary.val/acc < 10", ["resnet-a", "resnet-b", "vit-b"]),  # NaN never matches
])
def test_filters(sut: StoreUnderTest, populated: dict[str, str], expr: str,
                 expected: list[str]) -> None:
    assert names(sut, expr) == expected


def test_order_limit_offset_count(sut: StoreUnderTest, populated: dict[str, str]) -> None:
    ordered = [r["name"] for r in sut.store.runs("c", order="-summary.val/acc")]
    assert ordered[:3] == ["resnet-a", "resnet-b", "vit-b"]
    page = [r["name"] for r in sut.store.runs("c", order="name", limit=2, offset=1)]
    assert page == ["resnet-b", "vit-a"]
    assert sut.store.count_runs("c") == 4
    assert sut.store.count_runs("c", 'config.opt.name == "sgd"') == 2
    with pytest.raises(FilterError):
        sut.store.runs("c", filter="config.lr <")


def test_run_details_series_and_points(sut: StoreUnderTest, populated: dict[str, str]) -> None:
    run = sut.store.get_run(populated["resnet-a"])
    assert run["config"]["opt"] == {"name": "adam"} and run["state"] == "finished"
    assert run["summary"]["val/acc"] == 0.95
    series = {s["key"]: s for s in sut.store.series(run["id"])}
    assert series["val/acc"]["count"] == 3 and series["val/acc"]["max"] == 0.95
    points = sut.store.read_series(run["id"], "val/acc")
    assert list(points.steps) == [0, 1, 2] and list(points.values) == [0.5, 0.9, 0.95]
    nan_run = sut.store.get_run(populated["vit-a"])
    assert math.isnan(nan_run["summary"]["val/acc"])
    assert math.isnan(sut.store.read_series(nan_run["id"], "val/acc").values[0])
    many = sut.store.read_many(list(populated.values()), ["loss"])
    assert len(many) == 4


def test_projects_resolve_update_delete(sut: StoreUnderTest, populated: dict[str, str]) -> None:
    assert [(p["name"], p["run_count"]) for p in sut.store.projects()] == [("c", 4)]
    assert sut.store.resolve_run("resnet-a") == populated["resnet-a"]
    with pytest.raises(NotFoundError):
        sut.store.resolve_run("nope")
    rid = populated["resnet-b"]
    sut.store.update_run(rid, name="renamed", tags=["y"], notes="n", favorite=True)
    run = sut.store.get_run(rid)
    assert (run["name"], run["tags"], run["notes"], run["favorite"]) == ("renamed", ["y"], "n",
                                                                        True)
    assert names(sut, '"y" in tags') == ["renamed"]
    sut.store.delete_run(rid)
    with pytest.raises(NotFoundError):
        sut.store.get_run(rid)
    assert sut.store.count_runs("c") == 3


def _record(seq: int, **header: object) -> Record:
    return Record({"seq": seq, "time": time.time(), **header}, [])


def test_apply_is_idempotent_and_detects_gaps(sut: StoreUnderTest) -> None:
    from labtrack.store import chunks

    now = time.time()
    meta = {"project": "raw", "name": "r", "created_at": now}
    blob = chunks.encode(np.arange(3), np.array([1.0, 2.0, 3.0]), np.full(3, now))
    entry = {"key": "x", "n": 3, "first_step": 0, "last_step": 2, "min": 1.0, "max": 3.0,
             "last": 3.0}
    records = [_record(0, run=meta, config={"a": 1}),
               Record({"seq": 1, "time": now, "series": [entry]}, [blob])]
    assert sut.store.apply("raw1", records) == 1
    assert sut.store.apply("raw1", records) == 1  # again: nothing changes
    assert list(sut.store.read_series("raw1", "x").values) == [1.0, 2.0, 3.0]
    with pytest.raises(StoreError, match="missing"):
        sut.store.apply("raw1", [_record(5, summary={"x": 1})])
    assert sut.store.last_seq("raw1") == 1


def test_side_streams_merge_and_cannot_create_runs(sut: StoreUnderTest) -> None:
    now = time.time()
    with pytest.raises(StoreError, match="does not exist"):
        sut.store.apply("side", [_record(0, config={"b": 2})], stream="child")
    sut.store.apply("side", [_record(0, run={"project": "raw", "name": "s", "created_at": now},
                                     config={"a": 1}, summary={"m": 1})])
    sut.store.apply("side", [_record(0, config={"b": 2}, summary={"n": 2},
                                     state={"state": "failed"})], stream="child")
    run = sut.store.get_run("side")
    assert run["config"] == {"a": 1, "b": 2} and run["summary"] == {"m": 1, "n": 2}
    assert run["state"] == "running"  # a side stream never sets the state
    assert sut.store.last_seq("side", "child") == 0


def test_stale_heartbeat_shows_crashed(sut: StoreUnderTest) -> None:
    old = time.time() - 3600
    sut.store.apply("stale", [Record({"seq": 0, "time": old, "run": {
        "project": "raw", "name": "stale", "created_at": old}}, [])])
    assert sut.store.get_run("stale")["state"] == "crashed"
    assert [r["id"] for r in sut.store.runs("raw", filter='state == "crashed"')] == ["stale"]
    sut.store.heartbeat("stale", time.time())
    assert sut.store.get_run("stale")["state"] == "running"


def test_small_flushes_merge_into_chunks(sut: StoreUnderTest) -> None:
    from labtrack.store import chunks

    now = time.time()
    sut.store.apply("merge", [_record(0, run={"project": "raw", "name": "m", "created_at": now})])
    for i in range(1, 30):
        blob = chunks.encode(np.array([i]), np.array([float(i)]), np.array([now + i]))
        entry = {"key": "x", "n": 1, "first_step": i, "last_step": i, "min": float(i),
                 "max": float(i), "last": float(i)}
        sut.store.apply("merge", [Record({"seq": i, "time": now, "series": [entry]}, [blob])])
    points = sut.store.read_series("merge", "x")
    assert list(points.steps) == list(range(1, 30))
    with sut.store.read() as conn:
        from sqlalchemy import func, select

        from labtrack.store.schema import chunks as chunks_t

        assert conn.execute(select(func.count()).select_from(chunks_t)).scalar() == 1
