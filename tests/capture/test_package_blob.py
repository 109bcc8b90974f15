"""The package list of a run's environment snapshot is stored once per package set
(``capture._package_blob``); runs, rebuilds and readers still see the whole list."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import labtrack
from labtrack.capture import _package_blob, collect_json_safe
from labtrack.capture._package_blob import REF_KEY, expand, expand_from, externalize
from labtrack.runlog import RunLogWriter, iter_records
from labtrack.settings import Settings
from labtrack.store.http import _digests
from labtrack.sync import sync


@pytest.fixture(autouse=True)
def no_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABTRACK_DISABLE_GIT", "1")


def _short_run(name: str = "r") -> str:
    run = labtrack.init(project="p", name=name, config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.finish()
    return run.id


def _logged_environment(store_dir: Path, run_id: str) -> dict[str, Any]:
    path = store_dir / "runs" / run_id / "run.log"
    return next(r.header["environment"] for r in iter_records(path, with_blobs=False)
                if "environment" in r.header)


def _indexed_environment(store_dir: Path, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(store_dir / "labtrack.db") as conn:
        row = conn.execute("SELECT environment FROM runs WHERE id=?", (run_id,)).fetchone()
    return json.loads(row[0])  # type: ignore[no-any-return]


def test_runs_name_one_blob_and_readers_see_the_list(store_dir: Path) -> None:
    first, second = _short_run("a"), _short_run("b")
    expected = collect_json_safe(Settings())["packages"]
    for run_id in (first, second):
        for stored in (_logged_environment(store_dir, run_id),
                       _indexed_environment(store_dir, run_id)):
            assert "packages" not in stored
            assert stored[REF_KEY]["count"] == len(expected)
    digest = _logged_environment(store_dir, first)[REF_KEY]["digest"]
    assert _logged_environment(store_dir, second)[REF_KEY]["digest"] == digest
    blob = store_dir / "blobs" / "sha256" / digest[:2] / digest[2:]
    assert json.loads(blob.read_bytes()) == expected
    environment = labtrack.Api().run(first).environment
    assert environment["packages"] == expected
    assert REF_KEY not in environment and not environment["errors"]
    # the list is back in its place: the snapshot reads as one captured inline
    assert list(environment) == ["git", "command", "packages", "machine", "env", "errors",
                                 "capture_seconds"]


def test_rebuild_from_the_run_logs_keeps_the_environment(store_dir: Path) -> None:
    run_id = _short_run()
    before = labtrack.Api().run(run_id).environment
    report = sync(store_dir, rebuild=True)
    assert not report.errors
    assert labtrack.Api().run(run_id).environment == before


def test_a_run_logged_before_the_change_reads_as_it_was(store_dir: Path) -> None:
    """Old stores: a snapshot with the list inline is applied and read back unchanged."""
    environment = {"git": None, "packages": {"numpy": "1.26.0", "torch": "2.3.0"},
                   "machine": {"os": "Linux"}, "errors": {}}
    log = RunLogWriter(store_dir / "runs" / "old00001" / "run.log")
    log.append({"run": {"project": "p", "name": "old", "created_at": 1.0}, "config": {},
                "environment": environment, "time": 1.0, "step": 0}, [])
    log.close()
    report = sync(store_dir, rebuild=True)
    assert not report.errors
    assert labtrack.Api().run("old00001").environment == environment


def test_a_missing_blob_is_reported_not_raised(store_dir: Path) -> None:
    run_id = _short_run()
    digest = _logged_environment(store_dir, run_id)[REF_KEY]["digest"]
    (store_dir / "blobs" / "sha256" / digest[:2] / digest[2:]).unlink()
    environment = labtrack.Api().run(run_id).environment
    assert environment["packages"] is None
    assert digest in environment["errors"]["packages"]
    assert environment["machine"]  # the rest of the snapshot is still there


def test_the_server_shows_the_list(store_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from labtrack.server import create_app
    from labtrack.store import open_store

    run_id = _short_run()
    with TestClient(create_app(open_store(store_dir))) as client:
        body = client.get(f"/api/v1/runs/{run_id}").json()
    assert body["environment"]["packages"] == collect_json_safe(Settings())["packages"]


def test_a_team_server_gets_the_blob_with_the_run(store_dir: Path) -> None:
    """HTTPStore uploads every blob a record names: the package list is one of them."""
    run_id = _short_run()
    header = {"environment": _logged_environment(store_dir, run_id)}
    assert set(_digests(header)) == {header["environment"][REF_KEY]["digest"]}


def test_expand_with_another_blob_store() -> None:
    """What a store without a blobs folder of its own (PostgreSQL) is given by the server."""
    packages = {"a": "1", "b": "2"}
    data = json.dumps(packages, sort_keys=True, separators=(",", ":")).encode()

    class Blobs:
        def get_bytes(self, digest: str) -> bytes:
            assert digest == "d" * 64
            return data

    ref = {"git": None, REF_KEY: {"digest": "d" * 64, "count": 2}, "env": {}}
    assert expand_from(ref, Blobs()) == {"git": None, "packages": packages, "env": {}}
    assert expand_from(ref, None) is ref
    inline = {"packages": packages}
    assert expand(inline, Blobs().get_bytes) is inline


def test_the_blob_is_written_once_and_found_by_later_processes(tmp_path: Path) -> None:
    packages = {"alpha": "1.0", "beta": "2.0"}
    first = externalize({"packages": packages, "env": {}}, tmp_path)
    digest = first[REF_KEY]["digest"]
    blob = tmp_path / "blobs" / "sha256" / digest[:2] / digest[2:]
    stamp = blob.stat().st_mtime_ns
    _package_blob._refs.clear()  # a new process: only the memo file in <store>/cache
    again = externalize({"packages": dict(packages), "env": {}}, tmp_path)
    assert again == first and blob.stat().st_mtime_ns == stamp
    changed = externalize({"packages": {**packages, "gamma": "3"}}, tmp_path)
    assert changed[REF_KEY]["digest"] != digest and changed[REF_KEY]["count"] == 3


def test_an_unwritable_store_keeps_the_list_inline(tmp_path: Path) -> None:
    (tmp_path / "blobs").write_text("not a folder")
    environment = {"packages": {"alpha": "1.0"}}
    assert externalize(environment, tmp_path) is environment
