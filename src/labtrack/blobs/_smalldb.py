"""Small blobs inside one SQLite file: ``<blob root>/small.sqlite``.

Creating a file per blob costs more than its bytes when blobs are small (open,
write, rename and a directory entry per 10 KiB file); rows in one database cost
a B-tree insert each (SQLite's "Internal Versus External BLOBs" measures the
same). Writes come in batches (:class:`SmallBlobBatch`): rows are queued in
memory and inserted in one transaction per :data:`FLUSH_BYTES` (100 rows per
INSERT statement), so a batch of thousands of blobs costs a few commits, and the
write lock is held only while those rows are written (not while the source files
are read), so concurrent writers interleave.

Journal: a rollback journal (``TRUNCATE``), not WAL. New rows land in pages
appended to the file, which a rollback journal does not copy, so each byte is
written once; WAL writes it to the log and again at the checkpoint (measured
at about half the throughput, see bench/ARTIFACTS.md). ``synchronous=FULL``: a
commit is on disk before the artifact version that names its blobs is
committed, and a power cut cannot corrupt the file. A killed writer leaves a
hot journal that the next connection rolls back: its uncommitted rows vanish,
committed ones are whole.

Rows are ``(digest BLOB(32) PRIMARY KEY, data BLOB)``; readers check the bytes
against the digest (see :class:`~labtrack.blobs.local.LocalBlobStore`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError

if TYPE_CHECKING:  # concurrent.futures registers an atexit hook on import: not at shutdown
    from concurrent.futures import Future, ThreadPoolExecutor

FLUSH_BYTES = 16 << 20  # queued bytes per transaction; also bounds the memory it takes
PAGE_SIZE = 8192  # 10 KiB rows waste least at 8 KiB pages (measured: 4, 8, 16, 64 KiB)
BUSY_TIMEOUT_S = 60.0
READ_CACHE_KIB = 2000  # SQLite's default page cache, per connection (one per thread)
_SCHEMA = "CREATE TABLE IF NOT EXISTS blobs (digest BLOB PRIMARY KEY, data BLOB NOT NULL)"
_QUERY_BATCH = 500
# rows per INSERT statement: the module's executemany takes the GIL back for every row,
# contending with the thread that reads the next files; one statement of 100 rows
# releases it for all 100 (200 parameters: under every SQLite's variable limit)
_ROWS_PER_INSERT = 100
_INSERT = "INSERT OR IGNORE INTO blobs (digest, data) VALUES "


class SmallBlobDB:
    """The SQLite file holding small blobs; nothing is created until the first write.

    Each thread gets its own connection (the server reads from worker threads).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []

    # -- connections ----------------------------------------------------------------
    def _conn(self, create: bool) -> sqlite3.Connection | None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        if not create and not os.path.exists(self.path):
            return None
        try:
            if create:
                os.makedirs(os.path.dirname(self.path), exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new file
            conn.execute("PRAGMA journal_mode=TRUNCATE")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the small-blob database {self.path}: {err}") from err
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    def close(self) -> None:
        """Close every thread's connection (reopened on next use)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    # -- reads ----------------------------------------------------------------------
    def get(self, digest: str) -> bytes | None:
        """The stored bytes of ``digest`` (not verified), or None if not here."""
        value = self._one("SELECT data FROM blobs WHERE digest = ?", digest)
        return None if value is None else bytes(value)

    def size(self, digest: str) -> int | None:
        """The size of a stored blob, or None if not here."""
        value = self._one("SELECT length(data) FROM blobs WHERE digest = ?", digest)
        return None if value is None else int(value)

    def _one(self, sql: str, digest: str) -> Any:
        """The one value ``sql`` selects for ``digest``, or None (also with no database)."""
        conn = self._conn(create=False)
        if conn is None:
            return None
        try:
            row = conn.execute(sql, (bytes.fromhex(digest),)).fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return None if row is None else row[0]

    def get_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        """``{digest: bytes}`` of those of ``digests`` stored here (not verified; one
        query per 500)."""
        found: dict[str, bytes] = {}
        conn = self._conn(create=False)
        if conn is None or not digests:
            return found
        try:
            for key, data in _rows_for(conn, "digest, data", list(dict.fromkeys(digests))):
                found[key.hex()] = bytes(data)
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return found

    def present(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` are stored here (one query per 500)."""
        found: set[str] = set()
        conn = self._conn(create=False)
        if conn is None or not digests:
            return found
        asked = set(digests)
        try:
            rows = conn.execute("SELECT max(rowid) FROM blobs").fetchone()[0] or 0
            if rows <= 4 * len(asked):  # asked about much of the table: scan its key index
                return asked.intersection(
                    [r[0].hex() for r in conn.execute("SELECT digest FROM blobs")])
            found.update(bytes(r[0]).hex() for r in _rows_for(conn, "digest", sorted(asked)))
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return found

    # -- writes ---------------------------------------------------------------------
    def put_many(self, rows: Iterable[tuple[str, bytes]]) -> None:
        """Insert ``(digest, data)`` rows in one transaction (existing digests are kept)."""
        conn = self._conn(create=True)
        assert conn is not None
        try:
            # room for the whole chunk: a spill to the file mid-transaction would take the
            # exclusive lock (readers wait) for the rest of it; shrunk again after
            conn.execute(f"PRAGMA cache_size=-{(FLUSH_BYTES >> 10) + 4096}")
            keyed = [(bytes.fromhex(d), data) for d, data in rows]
            whole = len(keyed) - len(keyed) % _ROWS_PER_INSERT
            conn.execute("BEGIN IMMEDIATE")
            try:
                if whole:
                    many = _INSERT + ",".join(["(?, ?)"] * _ROWS_PER_INSERT)
                    for start in range(0, whole, _ROWS_PER_INSERT):
                        conn.execute(many, list(itertools.chain.from_iterable(
                            keyed[start:start + _ROWS_PER_INSERT])))
                conn.executemany(_INSERT + "(?, ?)", keyed[whole:])
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            finally:
                conn.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
        except sqlite3.Error as err:
            raise StoreError(f"cannot write small blobs to {self.path}: {err}") from err

    def delete(self, digest: str) -> int:
        """Remove a blob; returns its size (0 if it was not here)."""
        conn = self._conn(create=False)
        if conn is None:
            return 0
        key = bytes.fromhex(digest)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT length(data) FROM blobs WHERE digest = ?",
                                   (key,)).fetchone()
                conn.execute("DELETE FROM blobs WHERE digest = ?", (key,))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as err:
            raise StoreError(f"cannot delete a blob from {self.path}: {err}") from err
        return 0 if row is None else int(row[0])

    def release(self) -> None:
        """Close the calling thread's connection (a helper thread about to end)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._lock:
            self._conns = [c for c in self._conns if c is not conn]
        with contextlib.suppress(sqlite3.Error):
            conn.close()


def _rows_for(conn: sqlite3.Connection, columns: str,
              digests: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns`` of the rows of ``digests`` (hex), one query per 500."""
    for start in range(0, len(digests), _QUERY_BATCH):
        batch = [bytes.fromhex(d) for d in digests[start:start + _QUERY_BATCH]]
        marks = ",".join("?" * len(batch))
        yield from conn.execute(f"SELECT {columns} FROM blobs WHERE digest IN ({marks})", batch)


class SmallBlobBatch:
    """Blobs queued for one :class:`SmallBlobDB`, committed every :data:`FLUSH_BYTES`.

    A full chunk is written by a helper thread while the caller reads and hashes
    the next files (SQLite releases the GIL while it writes and syncs); at most
    one chunk is in flight, so memory stays under two chunks. Thread-safe.
    """

    def __init__(self, db: SmallBlobDB) -> None:
        self.db = db
        self._rows: dict[str, bytes] = {}
        self._bytes = 0
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[None] | None = None

    def add(self, digest: str, data: bytes) -> None:
        """Queue one blob (``digest`` is the caller's sha256 of ``data``)."""
        with self._lock:
            if digest in self._rows:
                return
            self._rows[digest] = data
            self._bytes += len(data)
            if self._bytes < FLUSH_BYTES:
                return
            rows, self._rows, self._bytes = self._rows, {}, 0
            self._wait()
            if self._pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self._pool = ThreadPoolExecutor(max_workers=1,
                                                thread_name_prefix="labtrack-blobs")
            self._inflight = self._pool.submit(self.db.put_many, list(rows.items()))

    def flush(self) -> None:
        """Commit everything queued (the last chunk on the calling thread)."""
        with self._lock:
            rows, self._rows, self._bytes = self._rows, {}, 0
            try:
                self._wait()
                if rows:
                    self.db.put_many(rows.items())
            finally:
                self._stop()

    def abandon(self) -> None:
        """Drop what is queued; wait for a chunk already being written."""
        with self._lock:
            self._rows, self._bytes = {}, 0
            with contextlib.suppress(Exception):
                self._wait()
            self._stop()

    def _wait(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            inflight.result()  # its error, if any, is the caller's

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.submit(self.db.release)
            pool.shutdown(wait=True)
