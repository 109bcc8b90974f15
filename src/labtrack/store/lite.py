"""The run writers' way into a local index, on the standard library's ``sqlite3`` only.

A run writer needs four calls of the store: ``apply`` (run log records),
``last_seq``, ``heartbeat`` and ``close``. :class:`SQLStore` provides them over
SQLAlchemy, whose import (~0.2 s, plus ~0.1 s for the rest of ``store.sql``)
used to land inside every short run: ``finish()`` of a 20,000-step loop that
took 50 ms waited for it. :class:`LiteSink` does the same writes with plain SQL
on a ``sqlite3`` connection (a few ms to import), into the same tables, with
the same results; reads, edits, migrations and PostgreSQL stay with
:class:`SQLStore`.

It only opens an index whose schema is exactly :data:`SCHEMA_VERSION`, the
version it was written for (:func:`open_lite` returns None otherwise, and the
caller falls back to :class:`SQLStore`, which creates or migrates the schema).
A migration that changes the tables written here must update this module too;
``tests/store/test_store_lite.py`` checks that both write the same rows.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StoreError
from ..runlog import Record
from . import rowvalues
from .dberrors import refused, translate

SCHEMA_VERSION = 6  # len(migrations.MIGRATIONS) when this module was last checked
MERGE_LIMIT = 4096  # as SQLStore: a small flush is merged into the series' last small chunk
_BATCH = 500
CHECKPOINT_FRAMES = 1000  # as SQLite's automatic checkpoint: at 1,000 pages in the WAL
_JSON_COLUMNS = frozenset({"tags", "config", "summary", "metric_defs", "environment"})


def open_lite(path: Path, busy_timeout: float) -> LiteSink | None:
    """A sink on the index at ``path``, or None when it is missing or on another schema
    (or when the SQLite library predates ``RETURNING``, 3.35)."""
    if not path.is_file() or sqlite3.sqlite_version_info < (3, 35):
        return None
    try:
        sink = LiteSink(path, busy_timeout)
    except sqlite3.Error:
        return None  # damaged or unreadable: SQLStore says so, clearly
    try:
        version = sink.schema_version()
    except (sqlite3.Error, StoreError):
        sink.close()
        return None
    if version != SCHEMA_VERSION:
        sink.close()
        return None
    return sink


class LiteSink:
    """``apply`` / ``last_seq`` / ``heartbeat`` / ``close`` on a local SQLite index."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.where = str(path)
        self._conn = sqlite3.connect(str(path), timeout=busy_timeout, isolation_level=None,
                                     check_same_thread=False)
        self._lock = threading.Lock()  # one connection, shared by the process's run writers
        self._busy_timeout = busy_timeout
        try:
            self._busy_now = int(busy_timeout * 1000)
            self._conn.execute(f"PRAGMA busy_timeout={self._busy_now}")
            if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                try:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                except sqlite3.Error:  # a read-only directory cannot switch
                    pass
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            self._conn.close()
            raise
        self._project_ids: dict[str, int] = {}
        self._series_ids: dict[tuple[str, str], tuple[int, int, int | None]] = {}
        self._shm: int | None = None  # the wal-index file, read for its frame count
        self._submit: Callable[[Callable[[], None]], bool] | None = None
        self._checkpoint_due = False  # a background checkpoint is queued or running
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint_lock = threading.Lock()

    def schema_version(self) -> int:
        with self._lock:
            try:
                row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            except sqlite3.OperationalError as err:
                if "no such table" in str(err):
                    return 0
                raise translate(err, self.where) from err
            except sqlite3.DatabaseError as err:
                raise translate(err, self.where) from err
        return int(row[0] or 0)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
        with self._checkpoint_lock:
            self._submit = None  # a checkpoint still queued finds the sink closed
            if self._checkpointer is not None:
                self._checkpointer.close()
                self._checkpointer = None
        if self._shm is not None:
            os.close(self._shm)
            self._shm = None

    def checkpoint_in_background(self, submit: Callable[[Callable[[], None]], bool]) -> None:
        """Leave WAL checkpoints to ``submit`` (a background thread's queue) instead of
        the commit that fills the WAL. SQLite's automatic checkpoint ran inside one
        run's ``finish()`` every ~60 short runs and cost it 6-10 ms; this one runs on
        its own connection beside the writers (``PASSIVE``: it waits for nobody). An
        index not in WAL mode (its folder is read-only) is left as it is."""
        with self._lock:
            if self._submit is None:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    return
                self._conn.execute("PRAGMA wal_autocheckpoint=0")
            self._submit = submit

    def _after_commit(self) -> None:
        """Queue a checkpoint once the WAL holds :data:`CHECKPOINT_FRAMES` pages."""
        if self._submit is None or self._checkpoint_due:
            return
        if self._wal_frames() < CHECKPOINT_FRAMES:
            return
        self._checkpoint_due = True
        if not self._submit(self._checkpoint):  # no background thread: checkpoint here
            self._checkpoint_due = False
            try:
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass

    def _wal_frames(self) -> int:
        """The committed frames in the WAL: ``mxFrame`` of the wal-index header, a
        native-endian u32 at offset 16 of the ``-shm`` file (SQLite's documented WAL
        format, stable since 3.7.0). The file size tells nothing: a WAL is reused from
        its start after a checkpoint, never shrunk. A checkpoint is asked for when the
        header cannot be read."""
        try:
            if self._shm is None:
                self._shm = os.open(f"{self.where}-shm", os.O_RDONLY)
            return int.from_bytes(os.pread(self._shm, 4, 16), sys.byteorder)
        except OSError:
            return CHECKPOINT_FRAMES

    def _checkpoint(self) -> None:
        try:
            with self._checkpoint_lock:
                if self._submit is None:  # closed meanwhile
                    return
                if self._checkpointer is None:
                    self._checkpointer = sqlite3.connect(self.where, isolation_level=None,
                                                         check_same_thread=False)
                self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # the next commit past the size asks again
        finally:
            self._checkpoint_due = False

    @contextmanager
    def _write(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction (BEGIN IMMEDIATE: concurrent writers queue on the busy
        timeout, or for ``wait`` seconds when that is shorter); database errors become
        StoreErrors, as in ``SQLStore.write``."""
        with self._lock:
            conn = self._conn
            try:
                self._set_busy_ms(_busy_ms(self._busy_timeout, wait))
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
                self._after_commit()
            except BaseException as err:
                if conn.in_transaction:
                    try:
                        conn.execute("ROLLBACK")
                    except sqlite3.Error:
                        pass
                self._forget()  # rolled back: cached ids may point at rows that never were
                if isinstance(err, sqlite3.IntegrityError):
                    raise
                if isinstance(err, (sqlite3.DataError, OverflowError)):
                    raise refused(err) from err
                if isinstance(err, sqlite3.DatabaseError):
                    raise translate(err, self.where) from err
                raise

    def _set_busy_ms(self, ms: int) -> None:
        """The connection's busy timeout, changed only when it differs (a PRAGMA per
        transaction was measurable in a run's ``finish()``)."""
        if ms != self._busy_now:
            self._conn.execute(f"PRAGMA busy_timeout={ms}")
            self._busy_now = ms

    def _forget(self) -> None:
        self._series_ids.clear()
        self._project_ids.clear()

    # -- the writer's calls ------------------------------------------------------------
    def last_seq(self, run_id: str, stream: str = "main") -> int:
        """The last applied sequence number of a run's log stream (-1: none)."""
        with self._lock:
            try:
                return _last_seq(self._conn, run_id, stream)
            except sqlite3.DatabaseError as err:
                raise translate(err, self.where) from err

    def heartbeat(self, run_id: str, when: float) -> None:
        """Mark a running run alive without a new record."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET heartbeat_at=? WHERE id=? AND state='running'",
                         (when, run_id))

    def apply(self, run_id: str, records: Sequence[Record], stream: str = "main") -> int:
        """Apply run log records in one transaction; same contract as ``SQLStore.apply``."""
        return self.apply_within(run_id, records, stream, None)

    def apply_within(self, run_id: str, records: Sequence[Record], stream: str = "main",
                     wait: float | None = None) -> int:
        """:meth:`apply`, waiting at most ``wait`` seconds for a locked index (a run's
        last flush, within ``finish()``'s deadline) instead of the busy timeout."""
        with self._write(wait) as conn:
            row = conn.execute("SELECT last_seq FROM runs WHERE id=?", (run_id,)).fetchone()
            exists = row is not None
            if stream != "main":
                last = _last_seq(conn, run_id, stream)
            else:
                last = -1 if row is None or row[0] is None else int(row[0])
            start = last
            for record in rowvalues.records_to_apply(run_id, records, last, exists, stream):
                self._apply_one(conn, run_id, record, exists, stream)
                exists = True
                last = record.seq
            if stream != "main" and last != start:
                if start < 0:
                    conn.execute("INSERT INTO run_streams (run_id, stream, last_seq) "
                                 "VALUES (?, ?, ?)", (run_id, stream, last))
                else:
                    conn.execute("UPDATE run_streams SET last_seq=? WHERE run_id=? AND stream=?",
                                 (last, run_id, stream))
            return last

    # -- one record --------------------------------------------------------------------
    def _project_id(self, conn: sqlite3.Connection, name: str, now: float) -> int:
        pid = self._project_ids.get(name)
        if pid is None:
            row = conn.execute("SELECT id FROM projects WHERE name=?", (name,)).fetchone()
            if row is None:
                cur = conn.execute("INSERT INTO projects (name, created_at, updated_at) "
                                   "VALUES (?, ?, ?)", (name, now, now))
                pid = int(cur.lastrowid or 0)
            else:
                pid = int(row[0])
            self._project_ids[name] = pid
        return pid

    def _apply_one(self, conn: sqlite3.Connection, run_id: str, record: Record, exists: bool,
                   stream: str) -> None:
        h = record.header
        now = float(h.get("time", time.time()))
        if not exists and not h.get("run"):
            raise StoreError(f"run {run_id}: the first record has no run metadata")

        def current(key: str) -> Any:
            row = conn.execute(f"SELECT {key} FROM runs WHERE id=?", (run_id,)).fetchone()
            return json.loads(row[0]) if row and row[0] is not None else None

        values = rowvalues.run_values(h, run_id, record.seq, stream, exists, now,
                                      lambda name: self._project_id(conn, name, now), current)
        if h.get("run"):
            conn.execute("UPDATE projects SET updated_at=? WHERE id=?",
                         (now, values["project_id"]))
        if not exists:
            self._insert_run(conn, values)
        else:
            columns = list(values)
            conn.execute(f"UPDATE runs SET {', '.join(c + '=?' for c in columns)} WHERE id=?",
                         [*_params(values, columns), run_id])
        if h.get("series"):
            self._apply_series(conn, run_id, h["series"], record.blobs, new_run=not exists)
        for f in h.get("files", ()):
            conn.execute("DELETE FROM files WHERE run_id=? AND path=?", (run_id, f["path"]))
            conn.execute("INSERT INTO files (run_id, path, digest, size, created_at) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (run_id, f["path"], f["digest"], int(f["size"]), now))
        media_rows = [(run_id, m["key"], int(m["step"]),
                       str(m["record"].get("_type", "unknown")), json.dumps(m["record"]))
                      for m in h.get("media", ())]
        if media_rows:
            conn.executemany("INSERT INTO media (run_id, key, step, kind, record) "
                             "VALUES (?, ?, ?, ?, ?)", media_rows)

    def _insert_run(self, conn: sqlite3.Connection, values: dict[str, Any]) -> None:
        values.setdefault("tags_text", "")
        values.setdefault("favorite", False)
        values.setdefault("step", 0)
        values.setdefault("last_seq", -1)
        columns = list(values)
        sql = (f"INSERT INTO runs ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' for _ in columns)})")
        base = values["name"]
        for attempt in range(50):
            try:  # a failed INSERT undoes itself only: the transaction goes on (no savepoint)
                conn.execute(sql, _params(values, columns))
            except sqlite3.IntegrityError as err:
                if "name" not in str(err):
                    raise
                # names are unique per project: a clash gets a numbered suffix
                values["name"] = f"{base}-{attempt + 2}"
                continue
            return
        raise StoreError(f"could not find a free name for run {values['id']}")

    # -- series ------------------------------------------------------------------------
    def _known_series(self, conn: sqlite3.Connection, run_id: str, keys: list[str],
                      new_run: bool) -> dict[str, tuple[int, int, int | None]]:
        """(series id, last chunk id, last chunk count) of the ``keys`` the index has;
        a run created by this transaction has none (no query)."""
        known = {k: self._series_ids[(run_id, k)] for k in keys if (run_id, k) in self._series_ids}
        unknown = [k for k in keys if k not in known]
        if not unknown or new_run:
            return known
        found: dict[str, int] = {}
        for part in _batches(unknown):
            found.update((k, int(i)) for i, k in conn.execute(
                f"SELECT id, key FROM series WHERE run_id=? AND key IN ({_marks(part)})",
                [run_id, *part]))
        last_chunks: dict[int, tuple[int, int]] = {}
        for part in _batches(list(found.values())):
            for sid, cid, count in conn.execute(
                    "SELECT c.series_id, c.id, c.count FROM chunks c JOIN ("
                    "SELECT series_id, MAX(id) AS cid FROM chunks WHERE series_id IN "
                    f"({_marks(part)}) GROUP BY series_id) n ON c.id = n.cid", part):
                last_chunks[int(sid)] = (int(cid), int(count))
        for key, sid in found.items():
            cid, count = last_chunks.get(sid, (-1, None))  # type: ignore[assignment]
            known[key] = self._series_ids[(run_id, key)] = (sid, cid, count)
        return known

    def _insert_series(self, conn: sqlite3.Connection, run_id: str,
                       entries: list[dict[str, Any]]) -> None:
        """New series, with their stats after their first chunk (no later UPDATE)."""
        rows = []
        for e in entries:
            n = rowvalues.merged_stats((0, None, None, None, None, False), e)
            rows.append((run_id, e["key"], e.get("kind", "float"), n[0], n[1], n[2], n[3], n[4],
                         n[6], n[7], int(n[5])))
        for part in _batches(rows, 999 // 11):  # SQLite's oldest bound: 999 parameters
            marks = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part))
            for sid, key in conn.execute(
                    "INSERT INTO series (run_id, key, kind, count, min, max, first_step, "
                    f"last_step, last, last_time, backwards) VALUES {marks} RETURNING id, key",
                    [v for row in part for v in row]).fetchall():
                self._series_ids[(run_id, key)] = (int(sid), -1, None)

    def _apply_series(self, conn: sqlite3.Connection, run_id: str,
                      entries: list[dict[str, Any]], blobs: list[bytes], new_run: bool) -> None:
        from . import chunks as codec

        known = self._known_series(conn, run_id, [e["key"] for e in entries], new_run)
        fresh = [e for e in entries if e["key"] not in known]
        if fresh:
            self._insert_series(conn, run_id, fresh)
        inserts: list[tuple[str, tuple[int, int, int, int, bytes]]] = []
        for entry, blob in zip(entries, blobs, strict=True):
            sid, last_chunk, last_count = self._series_ids[(run_id, entry["key"])]
            n = int(entry["n"])
            if last_count is not None and last_count + n <= MERGE_LIMIT and last_chunk >= 0:
                old = conn.execute("SELECT data FROM chunks WHERE id=?", (last_chunk,)).fetchone()
                if old is None:
                    raise StoreError(f"run {run_id}: chunk {last_chunk} vanished from the index")
                data, count, last_step = codec.merge(old[0], blob)
                conn.execute("UPDATE chunks SET data=?, count=?, last_step=? WHERE id=?",
                             (data, count, last_step, last_chunk))
                self._series_ids[(run_id, entry["key"])] = (sid, last_chunk, last_count + n)
            else:
                inserts.append((entry["key"], (sid, int(entry["first_step"]),
                                               int(entry["last_step"]), n, blob)))
        if inserts:
            self._insert_chunks(conn, run_id, inserts)
        if len(fresh) < len(entries):
            self._update_stats(conn, run_id, [e for e in entries if e["key"] in known])

    def _insert_chunks(self, conn: sqlite3.Connection, run_id: str,
                       inserts: list[tuple[str, tuple[int, int, int, int, bytes]]]) -> None:
        """One multi-row INSERT per 199 chunks (one per series in a record), whose
        RETURNING gives each series its newest chunk."""
        for part in _batches(inserts, 999 // 5):
            marks = ", ".join(["(?, ?, ?, ?, ?)"] * len(part))
            ids = dict(conn.execute(
                "INSERT INTO chunks (series_id, first_step, last_step, count, data) "
                f"VALUES {marks} RETURNING series_id, id",
                [v for _, row in part for v in row]).fetchall())
            for key, row in part:
                self._series_ids[(run_id, key)] = (row[0], int(ids[row[0]]), row[3])

    def _update_stats(self, conn: sqlite3.Connection, run_id: str,
                      entries: list[dict[str, Any]]) -> None:
        sids = [self._series_ids[(run_id, e["key"])][0] for e in entries]
        current: dict[int, Any] = {}
        for part in _batches(sids):
            for row in conn.execute(
                    "SELECT id, count, min, max, first_step, last_step, backwards FROM series "
                    f"WHERE id IN ({_marks(part)})", part):
                current[int(row[0])] = row[1:]
        updates = []
        for sid, entry in zip(sids, entries, strict=True):
            n = rowvalues.merged_stats(current[sid], entry)
            updates.append((n[0], n[1], n[2], n[3], n[4], n[6], n[7], int(n[5]), sid))
            current[sid] = n[:6]
        conn.executemany(
            "UPDATE series SET count=?, min=?, max=?, first_step=?, last_step=?, last=?, "
            "last_time=?, backwards=? WHERE id=?", updates)


def _busy_ms(busy_timeout: float, wait: float | None) -> int:
    """The busy timeout for a write that may wait ``wait`` seconds (None: the store's
    ``busy_timeout``). A bound of a second or more is rounded down to whole seconds,
    so that consecutive runs' last flushes (each ~``finish_timeout`` from its
    deadline) keep one setting instead of changing it every time."""
    if wait is None or wait >= busy_timeout:
        return int(busy_timeout * 1000)
    if wait >= 1.0:
        return int(wait) * 1000
    return max(1, int(wait * 1000))


def _last_seq(conn: sqlite3.Connection, run_id: str, stream: str) -> int:
    if stream == "main":
        row = conn.execute("SELECT last_seq FROM runs WHERE id=?", (run_id,)).fetchone()
    else:
        row = conn.execute("SELECT last_seq FROM run_streams WHERE run_id=? AND stream=?",
                           (run_id, stream)).fetchone()
    return -1 if row is None or row[0] is None else int(row[0])


def _params(values: dict[str, Any], columns: list[str]) -> list[Any]:
    """Column values as sqlite3 binds them: JSON columns as JSON text (as SQLAlchemy's JSON
    type writes them, ``null`` for None), booleans as 0/1."""
    out: list[Any] = []
    for c in columns:
        v = values[c]
        if c in _JSON_COLUMNS:
            v = json.dumps(v)
        elif isinstance(v, bool):
            v = int(v)
        out.append(v)
    return out


def _marks(items: Sequence[Any]) -> str:
    return ", ".join("?" * len(items))


def _batches(items: list[Any], size: int = _BATCH) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
