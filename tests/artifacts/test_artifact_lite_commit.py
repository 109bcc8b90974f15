"""The stdlib-sqlite3 commit path (``_litecommit``) against ``ArtifactIndex``: same rows."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import labtrack
from labtrack.artifacts import _litecommit
from labtrack.artifacts._transfer import manifest_digest
from labtrack.artifacts.index import ArtifactIndex, MissingBlobsError
from labtrack.artifacts.tables import TABLES
from labtrack.blobs import LocalBlobStore
from labtrack.errors import UsageError
from labtrack.store import open_store

from .conftest import race

TIMES = {"created_at", "updated_at"}


def _store(root: Path) -> tuple[Path, LocalBlobStore]:
    """A migrated store at ``root`` and its blob store (holding the blobs named below)."""
    open_store(root).engine.dispose()
    blobs = LocalBlobStore(root / "blobs")
    for data in (b"one", b"two", b"three"):
        blobs.put_bytes(data)
    return root / "labtrack.db", blobs


def _entries(*contents: bytes) -> list[dict[str, Any]]:
    import hashlib

    return [{"path": f"f{i}.bin", "digest": hashlib.sha256(c).hexdigest(), "size": len(c),
             "ref": None} for i, c in enumerate(contents)]


REF = {"path": "remote/raw.csv", "digest": "ab" * 32, "size": 10, "ref": "file:///tmp/raw.csv"}

# (project, name, type, entries, options): new, same content again, new content with an
# alias moving, a reference, a replayed version number, another collection and type
COMMITS: list[tuple[str, str, str, list[dict[str, Any]], dict[str, Any]]] = [
    ("p", "data", "dataset", _entries(b"one", b"two"),
     {"description": "first", "metadata": {"rows": 2, "loss": "NaN", "deep": {"a": [1]}},
      "aliases": ["best"], "run_id": "run-a"}),
    ("p", "data", "dataset", _entries(b"one", b"two"), {"aliases": ["prod"], "run_id": "run-b"}),
    ("p", "data", "dataset", _entries(b"three"), {"aliases": ["best"]}),
    ("p", "data", "dataset", [*_entries(b"one"), REF], {"run_id": "run-a", "version": 7}),
    ("p", "data", "dataset", _entries(b"two"), {"version": 1}),  # taken: v8
    ("q", "net", "model", _entries(b"three"), {"metadata": None, "run_id": "run-c"}),
]


def _rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every artifact table's rows, timestamps blanked, in a fixed order."""
    out = {}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for table in TABLES:
            cur = conn.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cur.description]
            out[table] = sorted((tuple(None if n in TIMES else v for n, v in zip(names, row,
                                                                                 strict=True))
                                 for row in cur), key=repr)
    return out


def _without_times(info: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in info.items() if k not in TIMES}


def test_both_paths_write_identical_rows(tmp_path):
    lite_db, lite_blobs = _store(tmp_path / "lite")
    sa_db, sa_blobs = _store(tmp_path / "sa")
    index = ArtifactIndex(open_store(tmp_path / "sa"), sa_blobs)
    for project, name, kind, entries, options in COMMITS:
        digest = manifest_digest(entries)
        got = _litecommit.commit(lite_db, lite_blobs, 5.0, project, name, kind, entries, digest,
                                 **options)
        want = index.commit(project, name, kind, entries, digest, **options)
        assert got is not None
        assert _without_times(got) == _without_times(want)
        assert type(got["created_at"]) is type(want["created_at"])
    index.store.engine.dispose()
    lite, sa = _rows(lite_db), _rows(sa_db)
    assert lite == sa
    assert len(lite["artifact_files"]) == 7 and len(lite["artifact_lineage"]) == 4
    assert sorted(r[2] for r in lite["artifact_versions"]) == [0, 0, 1, 7, 8]
    # and what the lite path wrote reads back through ArtifactIndex unchanged
    reader = ArtifactIndex(open_store(tmp_path / "lite"), lite_blobs)
    assert [_without_times(v) for v in reader.versions("p", "data")] == \
        [_without_times(v) for v in index.versions("p", "data")]
    assert reader.resolve("p/data:v0")["metadata"] == {"rows": 2, "loss": "NaN",
                                                        "deep": {"a": [1]}}


def test_refusals_match_and_roll_back(tmp_path):
    db, blobs = _store(tmp_path / "s")
    entries = _entries(b"one")
    _litecommit.commit(db, blobs, 5.0, "p", "data", "dataset", entries, "d1")
    with pytest.raises(UsageError, match="has type 'dataset', not 'model'"):
        _litecommit.commit(db, blobs, 5.0, "p", "data", "model", entries, "d2")
    with pytest.raises(UsageError):
        _litecommit.commit(db, blobs, 5.0, "p", "data", "dataset", entries, "d3",
                           aliases=["v3"])  # vN names are reserved
    before = _rows(db)
    gone = _entries(b"never stored")
    with pytest.raises(MissingBlobsError) as err:
        _litecommit.commit(db, blobs, 5.0, "p", "data", "dataset", gone, "d4", run_id="r")
    assert err.value.digests == [gone[0]["digest"]]
    assert _rows(db) == before  # nothing of the refused version is left


def test_missing_or_other_schema_goes_to_sqlalchemy(tmp_path):
    nothing = tmp_path / "none" / "labtrack.db"
    assert _litecommit.commit(nothing, None, 5.0, "p", "a", "dataset", [], "d") is None
    assert not nothing.exists()  # not created either
    db, blobs = _store(tmp_path / "s")
    with contextlib.closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("INSERT INTO schema_migrations (version, name, applied_at) "
                     "VALUES (99, 'from the future', 0)")
    assert _litecommit.commit(db, blobs, 5.0, "p", "a", "dataset", _entries(b"one"),
                              "d") is None
    assert _rows(db)["artifact_versions"] == []


LOG_ONLY = """
import sys, labtrack
run = labtrack.init(project="proj", dir=sys.argv[1])
art = labtrack.Artifact("data", "dataset", metadata={"n": 1})
art.add_dir(sys.argv[2])
run.log_artifact(art, aliases=["best"])
assert "sqlalchemy" not in sys.modules, "logging an artifact imported SQLAlchemy"
run.finish()
print(art.name, "sqlalchemy" in sys.modules)
"""


def test_a_process_that_logs_an_artifact_never_imports_sqlalchemy(store_dir, files, tmp_path):
    labtrack.init(project="setup", dir=store_dir).finish()  # the store exists, as usual
    data = files(tmp_path / "data", {"a.txt": "a", "b/c.txt": "c"}, age=5)
    out = subprocess.run([sys.executable, "-c", LOG_ONLY, str(store_dir), str(data)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["data:v0", "False"]
    art = labtrack.Api(store_dir).artifact("proj/data:best")
    assert art.file_count == 2 and art.metadata == {"n": 1} and art.logged_by()


CONCURRENT = """
import os, sys, time, labtrack
store, tag, go = sys.argv[1], sys.argv[2], sys.argv[3]
run = labtrack.init(project="proj", dir=store)
while not os.path.exists(go):
    time.sleep(0.001)
for i in range(5):
    art = labtrack.Artifact("shared", "dataset")
    with art.new_file("who.txt") as fh:
        fh.write(f"{tag}-{i}")
    run.log_artifact(art)
    print(art.version, flush=True)
assert "sqlalchemy" not in sys.modules
run.finish()
"""


def test_concurrent_loggers_on_the_stdlib_path_get_distinct_versions(store_dir, tmp_path):
    labtrack.init(project="setup", dir=store_dir).finish()
    go = tmp_path / "go"
    outputs = race(CONCURRENT, go, [[str(store_dir), tag, str(go)] for tag in ("a", "b")])
    assert sorted(v for out in outputs for v in out.split()) == \
        sorted(f"v{i}" for i in range(10))
    versions = labtrack.Api(store_dir).artifacts("dataset", "proj/shared")
    contents = {Path(v.file()).read_text() for v in versions}
    assert contents == {f"{t}-{i}" for t in "ab" for i in range(5)}


def test_blobs_freed_behind_cached_digests_are_stored_again(make_run, files, tmp_path,
                                                             store_dir, small_blobs):
    """Cache hits are not checked against the blob store before the commit; the commit
    finds the freed blobs of a new version and the files are read and stored again."""
    data = files(tmp_path / "d", {f"f{i}.txt": f"content {i}" for i in range(5)}, age=60)
    run = make_run()
    first = labtrack.Artifact("again", "dataset")
    first.add_dir(data)
    run.log_artifact(first)
    assert len(small_blobs()) == 5
    labtrack.Api(store_dir).artifact("proj/again:v0").delete()
    assert small_blobs() == {}  # freed; the digest cache still vouches for the files
    second = labtrack.Artifact("again", "dataset")
    second.add_dir(data)
    run.log_artifact(second)
    assert second.version == "v0" and len(small_blobs()) == 5
    folder = Path(second.download(tmp_path / "out"))
    assert (folder / "f3.txt").read_text() == "content 3"
