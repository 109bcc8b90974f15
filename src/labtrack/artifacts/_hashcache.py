"""A local cache of file digests keyed by what the file system says about the file.

``(absolute path) -> (size, mtime_ns, ctime_ns, inode, device, sha256)``, in a small
SQLite file (``<store dir>/artifacts-cache/digests.sqlite``, stdlib ``sqlite3``).
Logging a directory again reads no unchanged file; downloading a cached version
re-hashes no blob whose stat is unchanged since it was last verified. A write to
a file changes its mtime and ctime, so a stale entry is never used. The cache is
only an optimisation: any error reading or writing it is ignored.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

_SCHEMA = """CREATE TABLE IF NOT EXISTS digests (
    path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER,
    ino INTEGER, dev INTEGER, digest TEXT)"""


def _key(st: os.stat_result) -> tuple[int, int, int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def matches(known: tuple[tuple[int, ...], str] | None, st: os.stat_result) -> str | None:
    """The digest in a :meth:`DigestCache.lookup` result if the stat still matches."""
    if known is None or known[0] != _key(st):
        return None
    return known[1]


class DigestCache:
    """``stat -> digest`` memo for files; ``DigestCache(None)`` remembers nothing."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, int, int, int, int, int, str]] = []
        self._broken = path is None

    def _connect(self) -> sqlite3.Connection | None:
        if self._broken:
            return None
        if self._conn is None:
            try:
                assert self.path is not None
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(str(self.path), timeout=5.0, check_same_thread=False,
                                       isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=OFF")
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError):
                self._broken = True
                return None
        return self._conn

    def get(self, path: str, st: os.stat_result) -> str | None:
        """The digest remembered for ``path`` if its stat is exactly ``st``."""
        with self._lock:
            conn = self._connect()
            if conn is None:
                return None
            try:
                row = conn.execute(
                    "SELECT size, mtime_ns, ctime_ns, ino, dev, digest FROM digests "
                    "WHERE path = ?", (path,)).fetchone()
            except sqlite3.Error:
                return None
        if row is None or tuple(row[:5]) != _key(st):
            return None
        return str(row[5])

    def lookup(self, paths: Sequence[str]) -> dict[str, tuple[tuple[int, ...], str]]:
        """What the cache holds for many paths at once: ``{path: (stat key, digest)}``.

        Compare with :func:`matches`; one query per 500 paths instead of one per path.
        """
        out: dict[str, tuple[tuple[int, ...], str]] = {}
        with self._lock:
            conn = self._connect()
            if conn is None:
                return out
            try:
                for start in range(0, len(paths), 500):
                    batch = list(paths[start:start + 500])
                    marks = ",".join("?" * len(batch))
                    for row in conn.execute(
                            "SELECT path, size, mtime_ns, ctime_ns, ino, dev, digest FROM digests "
                            f"WHERE path IN ({marks})", batch):
                        out[row[0]] = (tuple(row[1:6]), str(row[6]))
            except sqlite3.Error:
                return {}
        return out

    def put(self, path: str, st: os.stat_result, digest: str) -> None:
        """Remember a digest (written on :meth:`flush`)."""
        with self._lock:
            self._pending.append((path, *_key(st), digest))

    def put_many(self, items: Iterable[tuple[str, os.stat_result, str]]) -> None:
        with self._lock:
            self._pending.extend((p, *_key(st), d) for p, st, d in items)

    def flush(self) -> None:
        """Write remembered digests in one transaction."""
        with self._lock:
            rows, self._pending = self._pending, []
            conn = self._connect()
            if conn is None or not rows:
                return
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(
                    "INSERT OR REPLACE INTO digests (path, size, mtime_ns, ctime_ns, ino, dev, "
                    "digest) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
