"""The run writers' stdlib-sqlite3 sink (store/lite.py) writes exactly what SQLStore writes.

The same run log records are applied once through :class:`SQLStore` (SQLAlchemy) and
once through :class:`LiteSink` into two fresh indexes; every row of every table the
writers touch must come out the same.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labtrack
from labtrack.errors import StoreLockedError
from labtrack.runlog import Record, read_records
from labtrack.store import chunks, close_shared, migrations, open_store, shared_store
from labtrack.store.lite import SCHEMA_VERSION, LiteSink, open_lite
from labtrack.store.sql import SQLStore

TABLES = ("projects", "runs", "run_streams", "series", "chunks", "files", "media")


def _dump(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db)
    try:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    finally:
        conn.close()


def _fresh_index(directory: Path) -> Path:
    open_store(directory).close()  # creates and migrates the schema
    return directory / "labtrack.db"


def _logged_runs(tmp_path: Path) -> dict[str, list[Record]]:
    """Run log records of real runs: scalars with NaN/inf, a step going back, a config
    change, a summary, a saved file, media, two runs with the same name, a failed run."""
    out = tmp_path / "source"
    ids = []
    for i in range(2):
        run = labtrack.init(project="parity", name="same", dir=str(out), config={"lr": 0.1 * i},
                            tags=["a", "b|c"], group="g", job_type="train", notes="n")
        for step in range(300):
            run.log({"loss": 1 / (step + 1), "acc": step / 300, "weird": math.nan if step % 7
                     else math.inf, "nested": {"x": step}})
            if step == 150:
                run.config.update({"batch": 32})
                with pytest.warns(UserWarning, match="lower than the highest step"):
                    run.log({"loss": 9.0}, step=3)  # back in time
        run.log({"table": labtrack.Table(columns=["a"], data=[[1], [2]])})
        (tmp_path / "notes.txt").write_text("hello")
        run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path))
        run.summary["best"] = -math.inf
        run.finish(exit_code=i)
        ids.append(run.id)
    return {rid: list(read_records(out / "runs" / rid / "run.log")) for rid in ids}


def _side_stream(run_id: str) -> list[Record]:
    values = np.array([1.0, math.nan, 3.0])
    entry, blob = chunks.series_entry("child/loss", "float", np.array([0, 1, 2]), values,
                                      np.array([1.0, 2.0, 3.0]), False)
    return [
        Record({"seq": 0, "time": 5.0, "config": {"child": True}, "metric_defs": {"m": {}},
                "run_update": {"name": "renamed", "tags": ["t"], "notes": None,
                               "project": "other", "favorite": True},
                "series": [entry]}, [blob]),
        Record({"seq": 1, "time": 6.0, "summary": {"child_best": 1.0}}, []),
    ]


def test_lite_sink_writes_the_same_rows_as_sqlstore(tmp_path: Path) -> None:
    runs = _logged_runs(tmp_path)
    sa_db = _fresh_index(tmp_path / "sa")
    lite_db = _fresh_index(tmp_path / "lite")
    sa = SQLStore(f"sqlite:///{sa_db}")
    lite = LiteSink(lite_db)
    try:
        for store in (sa, lite):
            for run_id, records in runs.items():
                # one record at a time: small flushes take the merge-into-last-chunk path
                for record in records:
                    assert store.apply(run_id, [record]) == record.seq
                assert store.apply(run_id, records) == records[-1].seq  # idempotent
                assert store.last_seq(run_id) == records[-1].seq
            first = next(iter(runs))
            side = _side_stream(first)
            assert store.apply(first, side, stream="child") == 1
            assert store.last_seq(first, "child") == 1
            store.heartbeat(first, 7.0)
    finally:
        sa.close()
        lite.close()
    sa_rows, lite_rows = _dump(sa_db), _dump(lite_db)
    for table in TABLES:
        assert lite_rows[table] == sa_rows[table], table
    names = sorted(r[2] for r in lite_rows["runs"])
    assert names == ["renamed", "same-2"]  # the clash got a suffix; the stream renamed one
    assert len(lite_rows["media"]) == 2 and {f[1] for f in lite_rows["files"]} >= {"notes.txt"}
    assert len(lite_rows["series"]) == 2 * 4 + 1 and len(lite_rows["run_streams"]) == 1


def test_lite_sink_refuses_records_out_of_order(tmp_path: Path) -> None:
    lite = LiteSink(_fresh_index(tmp_path))
    try:
        with pytest.raises(labtrack.errors.StoreError, match="records are missing"):
            lite.apply("r1", [Record({"seq": 1, "run": {"project": "p"}}, [])])
        with pytest.raises(labtrack.errors.StoreError, match="does not exist yet"):
            lite.apply("r1", [Record({"seq": 0}, [])], stream="child")
        assert lite.last_seq("r1") == -1  # nothing half-applied
    finally:
        lite.close()


def test_schema_version_is_the_latest_migration() -> None:
    # a new migration must be checked against (and, if it changes these tables, applied
    # to) store/lite.py before SCHEMA_VERSION is raised
    assert SCHEMA_VERSION == len(migrations.all_migrations())


def test_open_lite_only_opens_a_current_index(tmp_path: Path) -> None:
    assert open_lite(tmp_path / "missing.db", 1.0) is None
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert open_lite(empty, 1.0) is None  # no schema yet: SQLStore creates it
    db = _fresh_index(tmp_path / "current")
    sink = open_lite(db, 1.0)
    assert isinstance(sink, LiteSink)
    sink.close()
    conn = sqlite3.connect(db)
    conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', 0)")
    conn.commit()
    conn.close()
    assert open_lite(db, 1.0) is None  # a newer schema: SQLStore says what to do
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert open_lite(garbage, 1.0) is None


def test_shared_store_uses_the_lite_sink_once_the_schema_exists(tmp_path: Path) -> None:
    close_shared()
    try:
        first = shared_store(tmp_path / "s", 1.0, 60.0)
        assert isinstance(first.store, SQLStore)  # new directory: created by SQLStore
        close_shared()
        again = shared_store(tmp_path / "s", 1.0, 60.0)
        assert isinstance(again.store, LiteSink)
    finally:
        close_shared()


def test_lite_sink_reports_a_locked_index(tmp_path: Path) -> None:
    db = _fresh_index(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    lite = LiteSink(db, busy_timeout=0.2)
    try:
        with pytest.raises(StoreLockedError, match="locked"):
            lite.heartbeat("r1", 1.0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lite.heartbeat("r1", 1.0)  # usable again once the lock is gone
    lite.close()


def test_lite_sink_bounds_a_last_flush_and_then_waits_its_full_timeout_again(
        tmp_path: Path) -> None:
    """A run's last flush waits at most its deadline for a locked index (the busy
    timeout is changed only when the bound differs); later writes wait the store's."""
    import time

    from labtrack.store.lite import _busy_ms

    assert _busy_ms(30.0, None) == 30_000 and _busy_ms(30.0, 45.0) == 30_000
    assert _busy_ms(30.0, 9.97) == 9_000  # whole seconds: consecutive runs keep one
    assert _busy_ms(30.0, 0.25) == 250 and _busy_ms(30.0, 0.0) == 1
    db = _fresh_index(tmp_path)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    lite = LiteSink(db, busy_timeout=2.0)
    try:
        started = time.monotonic()
        with pytest.raises(StoreLockedError):
            lite.apply_within("r1", [], "main", 0.3)
        assert time.monotonic() - started < 1.5
        assert lite._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 300
        started = time.monotonic()
        with pytest.raises(StoreLockedError):
            lite.heartbeat("r1", 1.0)  # no bound: the store's 2 s again
        assert time.monotonic() - started >= 1.5
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    lite.close()


def test_a_run_on_an_existing_index_does_not_import_sqlalchemy(
        store_dir: Path, child_env: dict[str, str], python: str) -> None:
    import subprocess

    _fresh_index(store_dir)
    script = ("import sys, labtrack\n"
              "run = labtrack.init(project='p', config={'lr': 0.1})\n"
              "for i in range(50): run.log({'loss': 1 / (i + 1)})\n"
              "run.finish()\n"
              "heavy = ('sqlalchemy', 'labtrack.store.sql')\n"
              "print(sorted(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([python, "-c", script], env=child_env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]", out.stderr
    api = labtrack.Api(store_dir)
    (run,) = api.runs("p")
    assert run.state == "finished" and run.summary["loss"] == pytest.approx(1 / 50)


def test_reading_a_sqlite_index_does_not_import_the_postgresql_dialect(
        store_dir: Path, child_env: dict[str, str], python: str) -> None:
    """JSON columns become JSONB only when PostgreSQL compiles them: a SQLite reader
    (``Api()``, every CLI command) does not pay for that dialect's import."""
    import subprocess

    run = labtrack.init(project="p", config={"lr": 0.01})
    run.log({"acc": 0.9})
    run.finish()
    script = ("import sys, labtrack\n"
              "runs = labtrack.Api().runs('p', filter='config.lr < 0.1 and summary.acc > 0.5')\n"
              "print(len(runs), 'sqlalchemy.dialects.postgresql' in sys.modules)\n")
    out = subprocess.run([python, "-c", script], env=child_env, capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.split() == ["1", "False"], out.stderr


def _run_records(run_id: str, points: int) -> list[Record]:
    steps = np.arange(points)
    entry, blob = chunks.series_entry("loss", "float", steps, np.random.default_rng(0).random(
        points), 1.7e9 + steps * 0.01, False)
    return [Record({"seq": 0, "time": 1.0, "run": {"project": "p", "name": run_id},
                    "config": {"lr": 0.1}, "series": [entry]}, [blob])]


@pytest.fixture
def small_wal_sink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiteSink]:
    """A sink on a fresh index whose WAL is due for a checkpoint at 20 pages."""
    monkeypatch.setattr("labtrack.store.lite.CHECKPOINT_FRAMES", 20)
    lite = LiteSink(_fresh_index(tmp_path))
    yield lite
    lite.close()


def test_lite_sink_leaves_wal_checkpoints_to_a_background_queue(small_wal_sink: LiteSink) -> None:
    lite = small_wal_sink
    queued: list[Any] = []
    lite.checkpoint_in_background(lambda task: queued.append(task) or True)
    assert lite._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    run = 0
    while not queued:  # no commit checkpoints by itself: the WAL only grows
        lite.apply(f"r{run}", _run_records(f"r{run}", 5_000))
        run += 1
        assert run < 100
    frames = lite._wal_frames()
    assert frames >= 20
    lite.apply("more", _run_records("more", 10))  # one task queued at a time
    assert len(queued) == 1 and lite._wal_frames() > frames
    reader = sqlite3.connect(lite.where)  # the frame count read from the wal-index is SQLite's
    try:
        busy, logged, _ = reader.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and logged == lite._wal_frames()
    finally:
        reader.close()
    queued.pop()()  # the background task: a checkpoint on its own connection
    lite.apply("after", _run_records("after", 10))  # the WAL starts over
    assert lite._wal_frames() < frames
    assert lite.last_seq("after") == 0 and lite.last_seq("r0") == 0


def test_lite_sink_checkpoints_itself_when_the_queue_refuses(small_wal_sink: LiteSink) -> None:
    lite = small_wal_sink
    lite.checkpoint_in_background(lambda task: False)  # no background thread any more
    frames = []
    for run in range(6):
        lite.apply(f"r{run}", _run_records(f"r{run}", 5_000))
        frames.append(lite._wal_frames())
    assert frames[0] >= 20
    # each commit past the bound checkpointed inline, so the next one started the WAL over
    # instead of adding to it
    assert max(frames) < 2 * frames[0]


def test_a_checkpoint_queued_before_the_sink_closed_does_nothing(
        small_wal_sink: LiteSink) -> None:
    lite = small_wal_sink
    queued: list[Any] = []
    lite.checkpoint_in_background(lambda task: queued.append(task) or True)
    for run in range(100):
        lite.apply(f"r{run}", _run_records(f"r{run}", 5_000))
        if queued:
            break
    assert queued
    lite.close()
    queued[0]()  # the flusher gets to it after the process closed its stores
    assert lite._checkpointer is None and lite._shm is None
