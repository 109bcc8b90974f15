"""Committing an artifact version to a local index on the standard library's ``sqlite3``.

Logging an artifact used to import SQLAlchemy (and build its statements) only to
commit the version: about 0.25-0.3 s of a 10,000-file log in a process that had
not imported it (a run's writer does not: ``store/lite.py``). :func:`commit` writes
the same rows as :meth:`ArtifactIndex.commit <labtrack.artifacts.index.ArtifactIndex.commit>`
(collection, version, manifest, aliases, lineage) with plain SQL, in one
``BEGIN IMMEDIATE`` transaction, and returns the same version dict.

It serves only a local SQLite index whose schema is exactly
:data:`labtrack.store.lite.SCHEMA_VERSION` (checked inside the transaction, so a
concurrent migration cannot slip in between); otherwise it returns None and the
caller commits through :class:`~labtrack.artifacts.index.ArtifactIndex`, which
creates or migrates the schema. PostgreSQL, the team server, reads and edits
stay with ``ArtifactIndex``. ``tests/artifacts/test_artifact_lite_commit.py``
commits through both and requires identical rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..blobs import LocalBlobStore
from ..errors import StoreError, UsageError
from ..store.dberrors import refused, translate
from ..store.lite import SCHEMA_VERSION
from . import _names
from ._errors import MissingBlobsError

_ATTEMPTS = 8
_VERSION_SQL = (
    "SELECT v.id, c.project, c.name, c.type, v.version, v.digest, v.size, v.file_count, "
    "v.description, v.metadata, v.state, v.created_at, v.created_by "
    "FROM artifact_versions v JOIN artifact_collections c ON c.id = v.collection_id "
    "WHERE v.id = ?")
_VERSION_KEYS = ("id", "project", "name", "type", "version", "digest", "size", "file_count",
                 "description", "metadata", "state", "created_at", "created_by")


class _OtherSchema(Exception):
    """The index is not on the schema this module was written for."""


def commit(db_path: Path, blobs: LocalBlobStore | None, busy_timeout: float, project: str,
           name: str, type: str, entries: list[dict[str, Any]], digest: str, *,
           description: str | None = None, metadata: dict[str, Any] | None = None,
           aliases: Sequence[str] = (), run_id: str | None = None,
           version: int | None = None) -> dict[str, Any] | None:
    """Commit a version as ``ArtifactIndex.commit`` does, or None when this index
    (missing, or on another schema) needs ``ArtifactIndex``.

    Raises:
        MissingBlobsError: a stored entry's blob is missing.
        UsageError: an invalid name or alias, or the name exists with another type.
        StoreError: the database failed (locked past the busy timeout, read-only ...).
    """
    _names.check_name(name)
    _names.check_name(type, "artifact type")
    wanted = [_names.check_alias(a) for a in aliases if a != "latest"]
    if not db_path.is_file():
        return None
    where = str(db_path)
    for attempt in range(_ATTEMPTS):
        try:
            with _transaction(db_path, busy_timeout) as conn:
                return _commit(conn, blobs, project, name, type, entries, digest,
                               description, metadata, wanted, run_id, version)
        except _OtherSchema:
            return None
        except sqlite3.IntegrityError:
            if attempt == _ATTEMPTS - 1:
                raise StoreError(f"could not commit artifact {project}/{name}: it kept "
                                 "clashing with concurrent writers") from None
            time.sleep(0.01 * (attempt + 1))
        except (sqlite3.DataError, OverflowError) as err:
            raise refused(err) from err
        except sqlite3.DatabaseError as err:
            raise translate(err, where) from err
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _transaction(db_path: Path, busy_timeout: float) -> Iterator[sqlite3.Connection]:
    """A ``BEGIN IMMEDIATE`` transaction on a connection of its own (a commit per log
    is rare: no connection to keep, share between threads or reopen after a rebuild)."""
    # mode=rw: never create the file (a store that does not exist goes through SQLStore)
    conn = sqlite3.connect(db_path.absolute().as_uri() + "?mode=rw", uri=True,
                           timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")  # as SQLStore and LiteSink
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("BEGIN IMMEDIATE")
        try:
            _check_schema(conn)
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _check_schema(conn: sqlite3.Connection) -> None:
    try:
        row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    except sqlite3.OperationalError as err:
        if "no such table" in str(err):
            raise _OtherSchema from None
        raise
    if int(row[0] or 0) != SCHEMA_VERSION:
        raise _OtherSchema


def _commit(conn: sqlite3.Connection, blobs: LocalBlobStore | None, project: str, name: str,
            type: str, entries: list[dict[str, Any]], digest: str, description: str | None,
            metadata: dict[str, Any] | None, aliases: list[str], run_id: str | None,
            version: int | None) -> dict[str, Any]:
    """The statements of ``ArtifactIndex._commit``, in the same order."""
    now = time.time()
    cid = _collection(conn, project, name, type, description, now)
    row = conn.execute("SELECT id FROM artifact_versions WHERE collection_id=? AND digest=?",
                       (cid, digest)).fetchone()
    created = row is None
    if row is not None:
        vid = int(row[0])
    else:
        if blobs is not None:  # under the write lock: a delete cannot free them meanwhile
            missing = sorted(blobs.missing(list({e["digest"] for e in entries
                                                 if not e.get("ref")})))
            if missing:
                raise MissingBlobsError(missing)
        vid = _insert_version(conn, cid, entries, digest, description, metadata, run_id,
                              _next_number(conn, cid, version), now)
    for alias in ["latest", *aliases]:
        conn.execute("DELETE FROM artifact_aliases WHERE collection_id=? AND alias=?",
                     (cid, alias))
        conn.execute("INSERT INTO artifact_aliases (collection_id, alias, version_id) "
                     "VALUES (?, ?, ?)", (cid, alias, vid))
    if run_id and conn.execute(
            "SELECT run_id FROM artifact_lineage WHERE run_id=? AND version_id=? AND "
            "direction='logged'", (run_id, vid)).fetchone() is None:
        conn.execute("INSERT INTO artifact_lineage (run_id, version_id, direction, created_at) "
                     "VALUES (?, ?, 'logged', ?)", (run_id, vid, now))
    conn.execute("UPDATE artifact_collections SET updated_at=? WHERE id=?", (now, cid))
    out = _version(conn, vid)
    out["created"] = created
    return out


def _collection(conn: sqlite3.Connection, project: str, name: str, type: str,
                description: str | None, now: float) -> int:
    """The id of the (project, name) collection, created if new; its type must match."""
    row = conn.execute("SELECT id, type FROM artifact_collections WHERE project=? AND name=?",
                       (project, name)).fetchone()
    if row is None:
        cur = conn.execute(
            "INSERT INTO artifact_collections (project, name, type, description, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?)", (project, name, type, description, now, now))
        return int(cur.lastrowid or 0)
    if row[1] != type:
        raise UsageError(f"artifact {project}/{name} has type {row[1]!r}, not {type!r}; "
                         "use another name or the same type")
    return int(row[0])


def _next_number(conn: sqlite3.Connection, cid: int, version: int | None) -> int:
    """v(N+1), or ``version`` when it is free (replaying a run log keeps the numbering)."""
    number = conn.execute("SELECT MAX(version) FROM artifact_versions WHERE collection_id=?",
                          (cid,)).fetchone()[0]
    if version is not None and conn.execute(
            "SELECT id FROM artifact_versions WHERE collection_id=? AND version=?",
            (cid, version)).fetchone() is None:
        return version
    return 0 if number is None else int(number) + 1


def _insert_version(conn: sqlite3.Connection, cid: int, entries: list[dict[str, Any]],
                    digest: str, description: str | None, metadata: dict[str, Any] | None,
                    run_id: str | None, number: int, now: float) -> int:
    """Insert the version row and its manifest; returns the version id."""
    cur = conn.execute(
        "INSERT INTO artifact_versions (collection_id, version, digest, size, file_count, "
        "description, metadata, state, created_at, created_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'committed', ?, ?)",
        (cid, number, digest, sum(int(e["size"]) for e in entries), len(entries),
         description, json.dumps(metadata or {}), now, run_id))  # json.dumps: as SQLAlchemy
    vid = int(cur.lastrowid or 0)
    conn.executemany(
        "INSERT INTO artifact_files (version_id, path, digest, size, ref) VALUES (?, ?, ?, ?, ?)",
        [(vid, e["path"], e.get("digest"), int(e["size"]), e.get("ref")) for e in entries])
    return vid


def _version(conn: sqlite3.Connection, vid: int) -> dict[str, Any]:
    """The version dict of ``ArtifactIndex.version``."""
    row = conn.execute(_VERSION_SQL, (vid,)).fetchone()
    out = dict(zip(_VERSION_KEYS, row, strict=True))
    stored = out["metadata"]
    out["metadata"] = (json.loads(stored) if stored is not None else None) or {}
    names = [r[0] for r in conn.execute(
        "SELECT alias FROM artifact_aliases WHERE version_id=?", (vid,))]
    out["aliases"] = sorted(names, key=lambda a: (a != "latest", a))
    return out
