"""Small blobs in pack files: where they land, reads, old stores, deletes, faults."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore, _smalldb
from labtrack.blobs.local import SMALL_MAX
from labtrack.errors import ArtifactError, NotFoundError, StoreError

from .conftest import race


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _contents(count: int, size: int, seed: str) -> dict[str, bytes]:
    return {f"d{i % 3}/f{i:04d}.bin": (f"{seed}-{i}-".encode() * size)[:size]
            for i in range(count)}


def _packs(store_dir: Path) -> dict[str, int]:
    """``{pack file name: size}`` in the store."""
    folder = store_dir / "blobs" / "packs"
    return {p.name: p.stat().st_size for p in folder.iterdir()} if folder.exists() else {}


def test_small_files_land_in_packs(make_run, files, tmp_path, store_dir, small_blobs):
    content = _contents(40, 1000, "x")
    content["edge.bin"] = b"e" * SMALL_MAX  # the threshold itself is small
    content["large.bin"] = b"l" * (SMALL_MAX + 1)
    data = files(tmp_path / "data", content)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)

    stored = small_blobs()
    small = [b for b in content.values() if len(b) <= SMALL_MAX]
    assert sum(_packs(store_dir).values()) == sum(len(b) for b in small)  # each byte once
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


def _unpack(store_dir: Path, small_blobs) -> dict[str, bytes]:
    """Take every small blob out of the packs (index rows and files); returns them."""
    blobs = small_blobs()
    with contextlib.closing(sqlite3.connect(store_dir / "blobs" / "small.sqlite")) as conn, conn:
        conn.execute("DELETE FROM packed")
        conn.execute("DELETE FROM packs")
    for name in _packs(store_dir):
        (store_dir / "blobs" / "packs" / name).unlink()
    return blobs


def test_store_of_the_file_layout_still_reads(make_run, files, tmp_path, store_dir,
                                              small_blobs):
    """Small blobs as files (stores written before packs and database) download, re-log
    and free."""
    content = _contents(12, 500, "old")
    data = files(tmp_path / "data", content, age=10)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    # move every small blob out of its pack into the file tree, as old versions stored them
    blobs = LocalBlobStore(store_dir / "blobs")
    moved = _unpack(store_dir, small_blobs)
    for body in moved.values():
        blobs.put_bytes(body)
    assert small_blobs() == {} and len(moved) == len(content)

    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    for name, body in content.items():
        assert (folder / name).read_bytes() == body
        assert os.stat(folder / name).st_nlink > 1  # hard links to the old files
    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(data)
    run.log_artifact(again)
    assert again.version == "v0"  # same content, found in the old files: nothing rewritten
    assert small_blobs() == {} and _packs(store_dir) == {}
    run.finish()
    result = labtrack.Api(store_dir).delete_artifact_version("proj/ds:v0", force=True)
    assert result["freed"] == len(content)
    assert result["freed_bytes"] == sum(len(b) for b in content.values())
    assert not any(blobs.exists(_digest(b)) for b in content.values())


def test_store_of_the_database_layout_still_reads(make_run, files, tmp_path, store_dir,
                                                  small_blobs):
    """Small blobs as rows of small.sqlite (the layout before packs) download, re-log,
    are not written again, and are freed."""
    content = _contents(30, 700, "rows")
    data = files(tmp_path / "data", content, age=10)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    moved = _unpack(store_dir, small_blobs)
    db = store_dir / "blobs" / "small.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.executemany("INSERT INTO blobs (digest, data) VALUES (?, ?)",
                         [(bytes.fromhex(d), body) for d, body in moved.items()])
    assert small_blobs() == moved

    blobs = LocalBlobStore(store_dir / "blobs")
    first = _digest(next(iter(content.values())))
    assert blobs.exists(first) and blobs.size(first) == 700
    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    assert all((folder / name).read_bytes() == body for name, body in content.items())
    (data / "new.bin").write_bytes(b"n" * 900)  # one new file: only it goes into a pack
    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(data)
    run.log_artifact(again)
    assert again.version == "v1" and sum(_packs(store_dir).values()) == 900
    run.finish()
    api = labtrack.Api(store_dir)
    api.delete_artifact_version("proj/ds:v1", force=True)
    result = api.delete_artifact_version("proj/ds:v0", force=True)
    assert result["freed_bytes"] == sum(len(b) for b in content.values())
    assert small_blobs() == {} and _packs(store_dir) == {}


def test_reads_create_no_database(tmp_path):
    blobs = LocalBlobStore(tmp_path / "blobs")
    digest = blobs.put_bytes(b"a media blob")  # single blobs stay files
    assert blobs.exists(digest) and blobs.get_bytes(digest) == b"a media blob"
    assert blobs.missing([digest, _digest(b"x")]) == [_digest(b"x")]
    assert blobs.size(digest) == 12 and blobs.verify(digest)
    with pytest.raises(NotFoundError):
        blobs.open(_digest(b"x"))
    assert not (tmp_path / "blobs" / "small.sqlite").exists()
    assert not (tmp_path / "blobs" / "packs").exists()


def test_deleting_a_version_frees_its_small_blobs(make_run, files, tmp_path, store_dir,
                                                  small_blobs):
    data = files(tmp_path / "data", _contents(5, 100, "gone"))
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    run.finish()
    assert len(small_blobs()) == 5
    result = labtrack.Api().delete_artifact_version("proj/ds:v0")
    assert (result["freed"], result["freed_bytes"]) == (5, 500)
    assert small_blobs() == {} and _packs(store_dir) == {}  # the emptied pack is gone


def test_a_mostly_freed_pack_is_rewritten(make_run, files, tmp_path, store_dir, small_blobs):
    content = _contents(10, 1000, "part")
    data = files(tmp_path / "data", content, age=10)
    run = make_run()
    art = labtrack.Artifact("all", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    kept = labtrack.Artifact("two", "dataset")  # the same bytes: they stay in the first pack
    for name in ("d0/f0000.bin", "d1/f0001.bin"):
        kept.add_file(str(data / name), name=name)
    run.log_artifact(kept)
    run.finish()
    (before,) = _packs(store_dir)
    result = labtrack.Api(store_dir).delete_artifact_version("proj/all:v0")
    assert (result["freed"], result["freed_bytes"]) == (8, 8000)
    after = _packs(store_dir)
    assert before not in after and list(after.values()) == [2000]  # 80 % dead: rewritten
    assert len(small_blobs()) == 2
    folder = Path(labtrack.Api(store_dir).artifact("proj/two:v0").download(tmp_path / "out"))
    assert (folder / "d1/f0001.bin").read_bytes() == content["d1/f0001.bin"]


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
import os, sys, time, labtrack
from labtrack.blobs import _smalldb
_smalldb.FLUSH_BYTES = 256 << 10
write_pack = _smalldb.SmallBlobDB.write_pack
calls = []

def stall_in_third(self, rows):
    calls.append(1)
    if len(calls) < 3:
        return write_pack(self, rows)
    with open(os.path.join(self.packs, "20261127-half.pack"), "wb") as fh:
        fh.write(rows[0][1][:1000])  # a pack cut short
    print("inside", flush=True)
    time.sleep(120)

_smalldb.SmallBlobDB.write_pack = stall_in_third
run = labtrack.init(project="proj", dir=sys.argv[1])
art = labtrack.Artifact("small", "dataset")
art.add_dir(sys.argv[2])
run.log_artifact(art)
print("done", flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_mid_log_leaves_no_version_and_no_blob(store_dir, tmp_path, files, small_blobs):
    content = {f"f{i:04d}.bin": os.urandom(8000) for i in range(400)}  # ~3 MB: 13 packs
    data = files(tmp_path / "data", content, age=10)
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(store_dir), str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "inside", proc.stderr.read() if proc.stderr else ""
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    api = labtrack.Api(store_dir)
    with pytest.raises(NotFoundError):
        api.artifact("proj/small:latest")
    assert small_blobs() == {}  # packs are indexed once all are written: none was
    assert len(_packs(store_dir)) == 3  # two whole, one cut short: named by no row
    blobs = LocalBlobStore(store_dir / "blobs")
    assert blobs.missing([_digest(b) for b in content.values()])  # nothing half-visible
    assert blobs.clean_incoming(older_than=3600) == 0  # a live writer's packs are young
    assert blobs.clean_incoming(older_than=0) == 3 and _packs(store_dir) == {}

    run = labtrack.init(project="proj", dir=store_dir)
    art = labtrack.Artifact("small", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    run.finish()
    assert art.version == "v0" and art.file_count == len(content)
    folder = Path(art.download(tmp_path / "out"))
    assert all((folder / name).read_bytes() == body for name, body in content.items())


def test_two_writers_of_the_same_blobs_keep_one_copy(tmp_path):
    db = _smalldb.SmallBlobDB(tmp_path / "blobs" / "small.sqlite")
    rows = [(_digest(b), b) for b in (b"alpha" * 50, b"beta" * 50)]
    first, second = db.write_pack(rows), db.write_pack(rows[::-1])  # both read before either
    db.index([first])                                                # is indexed
    db.index([second])
    assert sorted(os.listdir(db.packs)) == [first.name]  # the loser's pack is removed
    assert db.get_many([d for d, _ in rows]) == dict(rows)
    db.put_many(rows + [(_digest(b"gamma"), b"gamma")])  # skips what is stored
    assert len(os.listdir(db.packs)) == 2 and db.get(_digest(b"gamma")) == b"gamma"
    assert db.delete_many([d for d, _ in rows]) == {d: len(b) for d, b in rows}
    assert os.listdir(db.packs) != [first.name] and db.size(rows[0][0]) is None


def test_a_reader_follows_a_pack_rewritten_under_it(tmp_path, monkeypatch):
    db = _smalldb.SmallBlobDB(tmp_path / "blobs" / "small.sqlite")
    bodies = [os.urandom(1000) for _ in range(4)]
    db.put_many([(_digest(b), b) for b in bodies])
    other = _smalldb.SmallBlobDB(db.path)  # another process's view of the same store
    opened = []
    real_open = os.open

    def open_after_a_rewrite(path, flags, *args):
        if str(path).endswith(".pack") and not opened:
            opened.append(path)
            other.delete_many([_digest(b) for b in bodies[:3]])  # 75 % dead: rewritten
        return real_open(path, flags, *args)

    monkeypatch.setattr(_smalldb.os, "open", open_after_a_rewrite)
    assert db.get(_digest(bodies[3])) == bodies[3]  # looked up again in the new pack
    assert opened and not os.path.exists(opened[0])
    assert db.get(_digest(bodies[0])) is None


def test_a_full_disk_while_packing_fails_the_log_and_keeps_earlier_versions(
        make_run, files, tmp_path, store_dir, small_blobs, monkeypatch):
    data = files(tmp_path / "data", _contents(20, 800, "ok"), age=10)
    run = make_run()
    art = labtrack.Artifact("ds", "dataset")
    art.add_dir(data)
    run.log_artifact(art)
    before = small_blobs()
    more = files(tmp_path / "more", _contents(20, 800, "full"), age=10)

    def full(fd, buffers):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_smalldb.os, "writev", full)
    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(more)
    with pytest.raises((StoreError, ArtifactError), match="No space left"):
        run.log_artifact(again)
    monkeypatch.undo()
    assert small_blobs() == before and len(_packs(store_dir)) == 1  # no partial pack left
    folder = Path(run.use_artifact("ds:v0").download(tmp_path / "out"))
    assert len(list(folder.rglob("*.bin"))) == 20
    with pytest.raises(NotFoundError):
        run.use_artifact("ds:v1")
    run.finish()


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


def test_packs_without_writev_pread_or_fdatasync(tmp_path, monkeypatch):
    """Windows has none of the three, macOS no fdatasync: the packs work the same."""
    for name in ("writev", "pread", "fdatasync"):
        monkeypatch.delattr(os, name, raising=False)
    db = _smalldb.SmallBlobDB(tmp_path / "blobs" / "small.sqlite")
    rows = [(_digest(b), b) for b in (b"one" * 1200, b"two" * 900, b"three" * 5)]
    db.put_many(rows)
    (before,) = os.listdir(db.packs)
    assert db.get_many([d for d, _ in rows]) == dict(rows)
    assert db.delete_many([rows[0][0]]) == {rows[0][0]: 3600}  # 57 % dead: rewritten
    assert os.listdir(db.packs) != [before] and len(os.listdir(db.packs)) == 1
    assert db.get_many([d for d, _ in rows]) == dict(rows[1:])
