"""Small blobs in the blob store's SQLite file: where they land, reads, old stores, faults."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore
from labtrack.blobs.local import SMALL_MAX
from labtrack.errors import NotFoundError

from .conftest import race


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _contents(count: int, size: int, seed: str) -> dict[str, bytes]:
    return {f"d{i % 3}/f{i:04d}.bin": (f"{seed}-{i}-".encode() * size)[:size]
            for i in range(count)}


def test_small_files_land_in_the_database(make_run, files, tmp_path, store_dir, small_blobs):
    content = _contents(40, 1000, "x")
    content["edge.bin"] = b"e" * SMALL_MAX  # the threshold itself is small
    content["large.bin"] = b"l" * (SMALL_MAX + 1)
    data = files(tmp_path / "data", content)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)

    stored = small_blobs()
    blobs = LocalBlobStore(store_dir / "blobs")
    for body in content.values():
        digest = _digest(body)
        if len(body) <= SMALL_MAX:
            assert stored[digest] == body and not blobs.path(digest).exists()
        else:
            assert digest not in stored and blobs.path(digest).read_bytes() == body
        assert blobs.exists(digest) and blobs.size(digest) == len(body)
        with blobs.open(digest) as fh:
            assert fh.read() == body
    assert blobs.missing([_digest(b"absent"), _digest(content["edge.bin"])]) == \
        [_digest(b"absent")]

    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    for name, body in content.items():
        assert (folder / name).read_bytes() == body
    run.use_artifact("ds:v0").verify(folder)


def test_store_of_the_old_layout_still_reads(make_run, files, tmp_path, store_dir, small_blobs):
    """Small blobs as files (stores written before the database) download, re-log and free."""
    content = _contents(12, 500, "old")
    data = files(tmp_path / "data", content, age=10)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    # move every small blob out of the database into the file tree, as old versions stored them
    blobs = LocalBlobStore(store_dir / "blobs")
    moved = small_blobs()
    for body in moved.values():
        blobs.put_bytes(body)
    with contextlib.closing(sqlite3.connect(store_dir / "blobs" / "small.sqlite")) as conn, conn:
        conn.execute("DELETE FROM blobs")
    assert small_blobs() == {} and len(moved) == len(content)

    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    for name, body in content.items():
        assert (folder / name).read_bytes() == body
        assert os.stat(folder / name).st_nlink > 1  # hard links to the old files
    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(data)
    run.log_artifact(again)
    assert again.version == "v0"  # same content, found in the old files: nothing rewritten
    assert small_blobs() == {}
    run.finish()
    result = labtrack.Api(store_dir).delete_artifact_version("proj/ds:v0", force=True)
    assert result["freed"] == len(content)
    assert result["freed_bytes"] == sum(len(b) for b in content.values())
    assert not any(blobs.exists(_digest(b)) for b in content.values())


def test_reads_create_no_database(tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    digest = blobs.put_bytes(b"a media blob")  # single blobs stay files
    assert blobs.exists(digest) and blobs.get_bytes(digest) == b"a media blob"
    assert blobs.missing([digest, _digest(b"x")]) == [_digest(b"x")]
    assert blobs.size(digest) == 12 and blobs.verify(digest)
    with pytest.raises(NotFoundError):
        blobs.open(_digest(b"x"))
    assert not (tmp_path / "blobs" / "small.sqlite").exists()


def test_deleting_a_version_frees_its_small_blobs(make_run, files, tmp_path, small_blobs):
    data = files(tmp_path / "data", _contents(5, 100, "gone"))
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    run.finish()
    assert len(small_blobs()) == 5
    result = labtrack.Api().delete_artifact_version("proj/ds:v0")
    assert (result["freed"], result["freed_bytes"]) == (5, 500)
    assert small_blobs() == {}


MANY = """
import os, sys, time, labtrack
from labtrack.blobs import _smalldb
_smalldb.FLUSH_BYTES = 64 << 10  # many small transactions, so the two writers interleave
store, tag, go, src = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
run = labtrack.init(project="proj", dir=store)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(3):
    folder = os.path.join(src, tag, str(i))
    for j in range(300):
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"f{j}.bin"), "wb") as fh:
            fh.write(f"{tag}-{i}-{j}-".encode() * 100)
    art = labtrack.Artifact(f"many-{tag}", "dataset")
    art.add_dir(folder)
    run.log_artifact(art)
    print(art.version, flush=True)
run.finish()
"""


def test_two_processes_logging_small_files_at_once(store_dir, tmp_path, small_blobs):
    go = tmp_path / "go"
    outputs = race(MANY, go, [[str(store_dir), tag, str(go), str(tmp_path / "src")]
                              for tag in ("a", "b")], timeout=180)
    for out in outputs:
        assert out.split() == ["v0", "v1", "v2"]
    assert len(small_blobs()) == 2 * 3 * 300
    api = labtrack.Api(store_dir)
    for tag in ("a", "b"):
        for i in range(3):
            art = api.artifact(f"proj/many-{tag}:v{i}")
            folder = Path(art.download(tmp_path / "check" / tag / str(i)))
            assert (folder / "f7.bin").read_bytes() == f"{tag}-{i}-7-".encode() * 100


KILLED = """
import sys, time, labtrack
from labtrack.blobs import _smalldb
_smalldb.FLUSH_BYTES = 256 << 10
put_many = _smalldb.SmallBlobDB.put_many
calls = []

def stall_in_third(self, rows):
    calls.append(1)
    if len(calls) < 3:
        return put_many(self, rows)
    conn = self._conn(create=True)
    conn.execute("PRAGMA cache_size=2")  # spill the uncommitted pages into the file
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT OR IGNORE INTO blobs (digest, data) VALUES (?, ?)",
                     ((bytes.fromhex(d), data) for d, data in rows))
    print("inside", flush=True)
    time.sleep(120)

_smalldb.SmallBlobDB.put_many = stall_in_third
run = labtrack.init(project="proj", dir=sys.argv[1])
art = labtrack.Artifact("small", "dataset")
art.add_dir(sys.argv[2])
run.log_artifact(art)
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_transaction_leaves_no_version_and_whole_blobs(store_dir, tmp_path, files,
                                                                   small_blobs):
    content = {f"f{i:04d}.bin": os.urandom(8000) for i in range(400)}  # ~3 MB: 13 flushes
    data = files(tmp_path / "data", content, age=10)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(store_dir), str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "inside", proc.stderr.read() if proc.stderr else ""
    journal = store_dir / "blobs" / "small.sqlite-journal"
    assert journal.stat().st_size > 0  # a transaction is open, its pages in the file
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    api = labtrack.Api(store_dir)
    with pytest.raises(NotFoundError):
        api.artifact("proj/small:latest")
    db = store_dir / "blobs" / "small.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn:  # rolls the hot journal back
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = small_blobs()
    assert 0 < len(stored) < len(content)  # the first two flushes, not the third
    assert all(_digest(body) == digest for digest, body in stored.items())

    run = labtrack.init(project="proj", dir=store_dir)
    art = labtrack.Artifact("small", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    run.finish()
    assert art.version == "v0" and art.file_count == len(content)
    folder = Path(art.download(tmp_path / "out"))
    assert all((folder / name).read_bytes() == body for name, body in content.items())


def test_server_serves_small_artifact_files(make_run, files, tmp_path, store_dir, tamper):
    from starlette.testclient import TestClient

    from labtrack.server import create_app
    from labtrack.store import open_store

    data = files(tmp_path / "data", {"notes.txt": "hello from the database"})
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    run.finish()
    digest = _digest(b"hello from the database")
    with TestClient(create_app(open_store(store_dir))) as client:
        resp = client.get(f"/api/v1/blobs/{digest}")
        assert resp.status_code == 200 and resp.content == b"hello from the database"
        tamper(digest, b"HELLO from the database")
        resp = client.get(f"/api/v1/blobs/{digest}")
        assert resp.status_code >= 400 and "corrupt" in resp.text
