"""Crashes, kills, concurrent writers, broken databases and torn logs: nothing logged is lost."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import labtrack
from labtrack.artifacts import views
from labtrack.errors import ConflictError, StoreCorruptError, StoreReadOnlyError
from labtrack.runlog import ScanResult, iter_records, read_records
from labtrack.sync import sync


def _spawn(code: str, env: dict[str, str], **kwargs: object) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)  # type: ignore[call-overload]


def test_uncaught_exception_marks_failed(child_env: dict[str, str]) -> None:
    proc = _spawn("""
        import labtrack
        run = labtrack.init(project="p", id="boom")
        run.log({"a": 1.0})
        raise RuntimeError("exploded on purpose")
    """, child_env)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and "exploded on purpose" in err
    r = labtrack.Api().run("boom")
    assert r.state == "failed" and r.exit_code == 1
    assert "RuntimeError: exploded on purpose" in (r.error or "")
    assert r.summary["a"] == 1.0


def test_keyboard_interrupt_marks_killed(child_env: dict[str, str]) -> None:
    proc = _spawn("""
        import labtrack
        run = labtrack.init(project="p", id="ctrlc")
        run.log({"a": 1.0})
        raise KeyboardInterrupt
    """, child_env)
    proc.communicate(timeout=60)
    assert labtrack.Api().run("ctrlc").state == "killed"


def test_sigterm_marks_killed(child_env: dict[str, str]) -> None:
    proc = _spawn("""
        import time, labtrack
        run = labtrack.init(project="p", id="termed")
        for i in range(100000):
            run.log({"a": float(i)})
            if i == 10:
                print("ready", flush=True)
            time.sleep(0.01)
    """, child_env)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGTERM
    r = labtrack.Api().run("termed")
    assert r.state == "killed" and r.summary["a"] >= 10


def test_sigkill_keeps_every_flushed_point_and_shows_crashed(
        child_env: dict[str, str], store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    child_env["LABTRACK_FLUSH_INTERVAL"] = "0.2"
    proc = _spawn("""
        import time, labtrack
        run = labtrack.init(project="p", id="killed9")
        i = 0
        while True:
            run.log({"x": float(i)})
            if i % 50 == 0:
                print(i, flush=True)
            i += 1
            time.sleep(0.002)
    """, child_env)
    assert proc.stdout is not None
    seen = 0
    while seen < 300:
        seen = int(proc.stdout.readline())
    time.sleep(0.6)  # > two flush intervals: everything up to `seen` is in the run log
    proc.kill()
    proc.wait(timeout=30)
    sync(store_dir)  # the index may miss the last flush; the run log has it
    monkeypatch.setenv("LABTRACK_HEARTBEAT_TIMEOUT", "0.5")
    time.sleep(0.6)
    r = labtrack.Api().run("killed9")
    steps, values, _ = r.series("x")
    assert len(steps) >= seen + 1
    assert list(values[: seen + 1]) == [float(i) for i in range(seen + 1)]
    assert r.state == "crashed"


def test_four_processes_write_at_once(child_env: dict[str, str]) -> None:
    code = """
        import sys, labtrack
        n = int(sys.argv[1])
        run = labtrack.init(project="par", id=f"w{n}", config={"n": n})
        for i in range(5000):
            run.log({"a": float(i), "b": float(n)})
        run.finish()
    """
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(n)],
                              env=child_env) for n in range(4)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    api = labtrack.Api()
    runs = api.runs("par")
    assert sorted(r.id for r in runs) == ["w0", "w1", "w2", "w3"]
    for r in runs:
        assert r.state == "finished"
        steps, values, _ = r.series("a")
        assert list(steps) == list(range(5000)) and values[-1] == 4999.0


def test_truncated_run_log_skips_the_torn_tail(store_dir: Path) -> None:
    run = labtrack.init(project="p", id="torn", settings={"flush_interval": 0.05})
    for i in range(100):
        run.log({"x": float(i)})
        if i == 49:
            run._writer.flush()  # a flush lands here: the log holds several records
    run.finish()
    log = store_dir / "runs" / "torn" / "run.log"
    records = list(iter_records(log))
    assert len(records) >= 2
    size = log.stat().st_size
    with open(log, "r+b") as fh:
        fh.truncate(size - 7)  # tear the last record
    scan = ScanResult(0, 0, False)
    kept = list(iter_records(log, scan=scan))
    assert scan.torn and len(kept) == len(records) - 1
    report = sync(store_dir, rebuild=True)
    assert report.torn == ["torn"] and not report.errors
    r = labtrack.Api().run("torn")
    assert r.state == "running"  # the state record was the torn one
    # a resumed writer truncates the tail before appending: nothing follows garbage
    again = labtrack.init(id="torn", resume="allow")
    again.log({"x": 1000.0})
    again.finish()
    scan = ScanResult(0, 0, False)
    list(iter_records(log, scan=scan))
    assert not scan.torn
    assert labtrack.Api().run("torn").state == "finished"


def test_run_log_writer_makes_or_reuses_its_folder(tmp_path: Path) -> None:
    """``new_folder`` is a hint only: runs/ missing, the run's folder already there
    (another stream wrote first) and an existing log all work."""
    from labtrack.runlog import RunLogWriter

    fresh = tmp_path / "store" / "runs" / "a" / "run.log"  # neither runs/ nor a/ exist
    log = RunLogWriter(fresh, new_folder=True)
    log.append({"run": {"name": "a"}}, [])
    log.close()
    (tmp_path / "store" / "runs" / "b").mkdir()
    (tmp_path / "store" / "runs" / "b" / "child.log").write_bytes(b"")
    log = RunLogWriter(tmp_path / "store" / "runs" / "b" / "run.log", new_folder=True)
    log.append({"state": "x"}, [])
    log.close()
    log = RunLogWriter(fresh, new_folder=True)  # an existing log: appended to
    assert log.last_seq == 0
    log.append({"step": 1}, [])
    log.close()
    assert [r.seq for r in iter_records(fresh)] == [0, 1]


def test_corrupt_database_is_a_clear_error_and_sync_rebuilds(store_dir: Path) -> None:
    run = labtrack.init(project="p", id="safe")
    run.log({"x": 1.0})
    run.finish()
    db = store_dir / "labtrack.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StoreCorruptError, match="sync --rebuild"):
        labtrack.Api().runs()
    report = sync(store_dir, rebuild=True)
    assert report.runs == 1
    assert labtrack.Api().run("safe").summary["x"] == 1.0
    assert list(store_dir.glob("labtrack.db.broken-*"))


def test_locked_database_does_not_stop_the_run(store_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    labtrack.init(project="p", id="first").finish()  # create the database
    monkeypatch.setenv("LABTRACK_BUSY_TIMEOUT", "0.2")
    holder = sqlite3.connect(store_dir / "labtrack.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        run = labtrack.init(project="p", id="locked", settings={"finish_timeout": 3})
        for i in range(100):
            run.log({"x": float(i)})
        run.finish()  # returns within its deadline although the index is locked
    finally:
        holder.rollback()
        holder.close()
    report = sync(store_dir)
    assert report.records >= 1
    r = labtrack.Api().run("locked")
    assert r.state == "finished" and len(r.series("x").values) == 100


def test_read_only_store_directory_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores permission bits: use a path under a regular file instead
        blocker = tmp_path / "file"
        blocker.write_text("x")
        target = blocker / "store"
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o500)
    with pytest.raises(StoreReadOnlyError, match="writable|cannot"):
        labtrack.init(project="p", dir=target)
    with pytest.raises(StoreReadOnlyError):
        labtrack.Api(target)


def test_full_disk_keeps_data_in_memory_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    run = labtrack.init(project="p", id="fulldisk")
    log = run._writer.log
    real_write = log._fh.write
    state = {"full": True}

    def write(data: bytes) -> int:
        if state["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(data)

    monkeypatch.setattr(log._fh, "write", write, raising=False)
    for i in range(50):
        run.log({"x": float(i)})
    run._writer.flush()
    assert run._writer.log_error and "No space" in run._writer.log_error
    state["full"] = False  # space is back: the kept batch is written
    run.finish()
    r = labtrack.Api().run("fulldisk")
    assert list(r.series("x").values) == [float(i) for i in range(50)]


def test_sync_is_idempotent(store_dir: Path) -> None:
    run = labtrack.init(project="p", id="idem")
    for i in range(10):
        run.log({"x": float(i)})
    run.finish()
    before = labtrack.Api().run("idem").series("x")
    assert sync(store_dir).records == 0
    report = sync(store_dir, rebuild=True)
    assert report.records >= 1
    assert sync(store_dir).records == 0
    after = labtrack.Api().run("idem").series("x")
    assert list(after.values) == list(before.values)


def test_sys_exit_code_marks_failed(child_env: dict[str, str]) -> None:
    proc = _spawn("""
        import sys, labtrack
        run = labtrack.init(project="p", id="exit2")
        run.log({"a": 1.0})
        sys.exit(2)
    """, child_env)
    proc.communicate(timeout=60)
    assert proc.returncode == 2
    r = labtrack.Api().run("exit2")
    assert r.state == "failed" and r.exit_code == 2


def test_rebuild_restores_artifacts_and_lineage(store_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("a,b\n1,2\n")
    producer = labtrack.init(project="art", id="producer")
    art = labtrack.Artifact("table", type="dataset")
    art.add_file(str(data))
    producer.log_artifact(art, aliases=["best"])
    data.write_text("a,b\n3,4\n")
    art2 = labtrack.Artifact("table", type="dataset")
    art2.add_file(str(data))
    producer.log_artifact(art2)
    producer.finish()
    consumer = labtrack.init(project="art", id="consumer")
    consumer.use_artifact("table:v0")
    consumer.finish()
    report = sync(store_dir, rebuild=True)
    assert not report.errors
    api = labtrack.Api()
    v0 = api.artifact("art/table:v0")
    assert v0.version == "v0" and "best" in v0.aliases
    assert api.artifact("art/table:latest").version == "v1"
    assert v0.logged_by() == "producer" and v0.used_by() == ["consumer"]
    assert sync(store_dir, rebuild=True).runs == 2  # replay again: same result
    assert api.artifact("art/table:v1").version == "v1"


def test_rebuild_restores_content_logged_again_without_its_manifest(
        store_dir: Path, tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    for i in range(150):
        (data / f"f{i}.txt").write_text(str(i))
    first = labtrack.init(project="art", id="first")
    art = labtrack.Artifact("files", type="dataset")
    art.add_dir(data)
    first.log_artifact(art)
    first.finish()
    again = labtrack.init(project="art", id="again")
    same = labtrack.Artifact("files", type="dataset")
    same.add_dir(data)
    again.log_artifact(same, aliases=["prod"])
    again.finish()
    events = [e for r in read_records(store_dir / "runs" / "again" / "run.log")
              for e in r.header.get("artifact_events", ())]
    assert events and "entries" not in events[0]  # the first run's log holds the manifest
    assert not sync(store_dir, rebuild=True).errors
    api = labtrack.Api()
    v0 = api.artifact("art/files:v0")
    assert "prod" in v0.aliases and len(v0.manifest) == 150
    for run_id in ("first", "again"):  # both runs logged it: both lineage edges are back
        logged = views.run_artifacts(api.store, run_id)["logged"]
        assert [v["version"] for v in logged] == [0]


def test_edits_survive_a_rebuild(store_dir: Path) -> None:
    run = labtrack.init(project="p", id="edited", tags=["a"])
    run.finish()
    other = labtrack.init(project="p", name="taken")
    other.finish()
    api = labtrack.Api()
    api.run("edited").update(name="renamed", tags=["b", "c"], notes="**why**", favorite=True)
    with pytest.raises(ConflictError, match="already named"):
        api.run("edited").update(name="taken")
    sync(store_dir, rebuild=True)
    r = labtrack.Api().run("edited")
    assert (r.name, r.tags, r.notes) == ("renamed", ["b", "c"], "**why**")
    assert r.as_dict()["favorite"] is True


def test_rebuild_salvages_sweeps_and_reports_from_the_old_index(store_dir: Path) -> None:
    sweep_id = labtrack.sweep({"method": "grid", "metric": {"name": "loss"},
                               "parameters": {"a": {"values": [1, 2]}}}, project="s")
    labtrack.init(project="s").finish()
    api = labtrack.Api()
    report = api.create_report("s", "Findings", body="# Results\\n")
    sync(store_dir, rebuild=True)
    api = labtrack.Api()
    assert api.sweep(sweep_id).id == sweep_id
    assert api.report(report.id).title == "Findings"
