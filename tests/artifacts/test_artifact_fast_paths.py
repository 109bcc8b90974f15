"""The fast paths of issue 6: one stat per file at log time, the digest cache, batched reads.

Each shortcut must keep the guarantee it stands in for: a file that changed between
``add_dir`` and ``log_artifact`` is read again (its content as it is at log time is
logged), a stat that no longer matches sends the file through the careful path, a
tampered small blob fails the download however the blobs are read.
"""

from __future__ import annotations

import gc
import hashlib
import os
from pathlib import Path

import pytest

import labtrack
from labtrack.artifacts import _hashcache, _transfer
from labtrack.artifacts._nogc import no_gc
from labtrack.blobs import LocalBlobStore
from labtrack.blobs.local import stat_key
from labtrack.errors import ArtifactError


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def read_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Base names of the files the blob store reads (either path)."""
    reads: list[str] = []
    put_path, put_small = LocalBlobStore.put_path, LocalBlobStore.put_small_files

    def spy_path(self, path, *args, **kwargs):
        reads.append(os.path.basename(path))
        return put_path(self, path, *args, **kwargs)

    def spy_small(self, files, *args, **kwargs):
        reads.extend(os.path.basename(path) for _, path, _ in files)
        return put_small(self, files, *args, **kwargs)

    monkeypatch.setattr(LocalBlobStore, "put_path", spy_path)
    monkeypatch.setattr(LocalBlobStore, "put_small_files", spy_small)
    return reads


def test_file_changed_between_add_and_log_is_read_again(make_run, files, tmp_path, read_spy):
    data = files(tmp_path / "d", {f"f{i}.txt": f"content {i}" for i in range(6)}, age=60)
    run = make_run()
    first = labtrack.Artifact("ds", "dataset")
    first.add_dir(data)
    run.log_artifact(first)
    read_spy.clear()

    again = labtrack.Artifact("ds", "dataset")
    again.add_dir(data)  # the listing is taken now ...
    (data / "f1.txt").write_text("grown since add_dir")  # ... the files change after it
    target = data / "f2.txt"
    old = target.stat()
    target.write_text("content X")  # same size, and the mtime put back: the ctime differs
    os.utime(target, ns=(old.st_atime_ns, old.st_mtime_ns))
    run.log_artifact(again)

    assert sorted(read_spy) == ["f1.txt", "f2.txt"]  # the others come from the cache
    assert again.version == "v1"
    manifest = {e["path"]: e for e in again.manifest}
    assert manifest["f1.txt"]["digest"] == _sha(b"grown since add_dir")
    assert manifest["f1.txt"]["size"] == len(b"grown since add_dir")
    assert manifest["f2.txt"]["digest"] == _sha(b"content X")
    folder = Path(again.download(tmp_path / "out"))
    assert (folder / "f2.txt").read_text() == "content X"


def test_add_dir_lists_now_and_sizes_at_log_time(make_run, files, tmp_path):
    data = files(tmp_path / "d", {"a.bin": b"12345", "sub/b.bin": b"xy"})
    os.symlink(data / "a.bin", data / "link-to-a.bin")  # a link to a file is that file
    os.symlink(data / "sub", data / "link-to-sub")  # links to folders are not followed
    art = labtrack.Artifact("ds", "dataset")
    added = art.add_dir(data)
    assert [e.path for e in added] == ["a.bin", "link-to-a.bin", "sub/b.bin"]
    assert all(os.path.isabs(e.local_path or "") for e in added)
    assert art.size == 12 and added[0].size == 5
    (data / "a.bin").write_bytes(b"1234567")  # sizes are the files' sizes when asked
    assert added[0].size == 7 and {e["path"]: e["size"] for e in art.manifest}["a.bin"] == 7
    make_run().log_artifact(art)
    assert art.size == 7 + 7 + 2


def test_add_dir_refuses_broken_links_and_keeps_backslash_names(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    (data / "a\\b.txt").write_text("x")  # a backslash reads as a separator, as before
    assert [e.path for e in labtrack.Artifact("ds", "dataset").add_dir(data)] == ["a/b.txt"]
    os.symlink(data / "missing", data / "dangling")
    with pytest.raises(ArtifactError, match="cannot access .*dangling"):
        labtrack.Artifact("ds", "dataset").add_dir(data)


def test_put_small_files_rereads_a_file_whose_stat_is_stale(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    path = tmp_path / "f.bin"
    path.write_bytes(b"before")
    stale = stat_key(path.stat())
    path.write_bytes(b"after, and longer")
    with store.batch() as batch:
        [(digest, size, key)] = store.put_small_files([("f.bin", str(path), stale)], batch)
    assert (digest, size) == (_sha(b"after, and longer"), 17)
    assert key == stat_key(path.stat())
    assert store.get_bytes(digest) == b"after, and longer"

    stale = stat_key(path.stat())
    path.write_bytes(b"AFTER, AND LONGER")  # the same size; a later mtime
    os.utime(path, ns=(stale[1] + 10**9, stale[1] + 10**9))
    with store.batch() as batch:
        [(digest, size, key)] = store.put_small_files([("f.bin", str(path), stale)], batch)
    assert (digest, key) == (_sha(b"AFTER, AND LONGER"), stat_key(path.stat()))

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # a regular file when stat'ed, a pipe when read: refused, never blocks
    with pytest.raises(ArtifactError, match="pipe is not a regular file"), store.batch() as batch:
        store.put_small_files([("pipe", str(fifo), stale)], batch)


def test_many_small_files_download_in_chunks_and_stay_cached(make_run, files, tmp_path,
                                                               monkeypatch, tamper):
    monkeypatch.setattr(_transfer, "COPY_CHUNK", 7)  # several chunks, several threads
    monkeypatch.setattr(_transfer, "COPY_INLINE", 4)
    content = {f"d{i % 3}/f{i:03d}.bin": os.urandom(100 + i) for i in range(60)}
    data = files(tmp_path / "data", content)
    run = make_run()
    art = labtrack.Artifact("many", "dataset")
    art.add_dir(data)
    run.log_artifact(art)

    folder = Path(run.use_artifact("many:v0").download(tmp_path / "out"))
    for name, body in content.items():
        assert (folder / name).read_bytes() == body
    before = {name: os.stat(folder / name) for name in content}
    run.use_artifact("many:v0").download(folder)  # cached: nothing rewritten
    for name, st in before.items():
        now = os.stat(folder / name)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns)

    os.chmod(folder / "d1/f031.bin", 0o644)
    (folder / "d1/f031.bin").write_bytes(b"edited")  # an edited copy is written out again
    run.use_artifact("many:v0").download(folder)
    assert (folder / "d1/f031.bin").read_bytes() == content["d1/f031.bin"]

    victim = "d2/f041.bin"
    tamper(_sha(content[victim]), b"X" * len(content[victim]))
    with pytest.raises(ArtifactError, match=f"{victim}.*corrupt"):
        run.use_artifact("many:v0").download(tmp_path / "again")


def test_digest_cache_lookup_by_folder_range_or_by_name(tmp_path, monkeypatch):
    cache = _hashcache.DigestCache(tmp_path / "digests.sqlite")
    folder = tmp_path / "tree"
    paths = []
    for i in range(12):
        path = folder / f"s{i % 2}" / f"f{i}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(i))
        paths.append(str(path))
    other = tmp_path / "treeX"  # shares the name's prefix, not the folder
    other.write_text("o")
    for path in [*paths, str(other)]:
        cache.put(path, os.stat(path), _sha(path.encode()))
    cache.flush()
    wanted = paths[:10]
    monkeypatch.setattr(_hashcache, "_RANGE_MIN", 1)  # the folder range
    by_range = cache.lookup(wanted)
    monkeypatch.setattr(_hashcache, "_RANGE_MIN", 10**9)  # 500 names per query
    by_name = cache.lookup(wanted)
    assert set(by_name) == set(wanted)
    assert {p: by_range[p] for p in wanted} == by_name
    assert str(other) not in by_range
    for path in wanted:
        assert _hashcache.matches(by_name[path], os.stat(path)) == _sha(path.encode())


def test_blob_store_reads_many_and_checks_digests_at_once(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    bodies = [f"blob {i}".encode() * (i + 1) for i in range(250)]  # 2.5 multi-row inserts
    with store.batch() as batch:
        for body in bodies:
            batch.add(_sha(body), body)
    digests = [_sha(b) for b in bodies]
    assert store.missing(digests) == []
    got = store.read_small_many([*digests[:3], "0" * 64])
    assert got == {d: b for d, b in zip(digests[:3], bodies[:3], strict=True)}
    for bad in ("A" * 64, "ab " * 21 + "a", "0" * 63, "g" * 64):
        with pytest.raises(ValueError, match="not a sha256 hex digest"):
            store.missing([*digests, bad])


def test_digest_cache_packs_stat_keys_and_drops_the_old_layout(tmp_path):
    import contextlib
    import sqlite3

    db = tmp_path / "digests.sqlite"
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:  # the layout before v2
        conn.execute("CREATE TABLE digests (path TEXT PRIMARY KEY, size INTEGER, "
                     "mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER, dev INTEGER, "
                     "digest TEXT)")
    path = tmp_path / "f.txt"
    path.write_text("x")
    cache = _hashcache.DigestCache(db)
    cache.put(str(path), os.stat(path), _sha(b"x"))
    cache.flush()
    assert cache.get(str(path), os.stat(path)) == _sha(b"x")
    row = cache.lookup([str(path)])[str(path)]
    assert row[1] == _hashcache.pack_key(*stat_key(os.stat(path))) and len(row[1]) == 40
    path.write_text("y")  # a new mtime/size: the entry no longer matches
    assert cache.get(str(path), os.stat(path)) is None
    cache.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "digests" not in tables and "digests_v2" in tables
    # numbers past 64 bits (not on Linux) are spelled out, still comparable
    assert _hashcache.pack_key(1, 2, 3, 2**70, 5) == _hashcache.pack_key(1, 2, 3, 2**70, 5)
    assert _hashcache.pack_key(1, 2, 3, 2**70, 5) != _hashcache.pack_key(1, 2, 3, 2**70, 6)


def test_no_gc_leaves_the_collector_as_it_found_it():
    assert gc.isenabled()
    with no_gc():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with no_gc():
            pass
        assert not gc.isenabled()  # the program turned it off: it stays off
    finally:
        gc.enable()
