"""A local cache of file digests keyed by what the file system says about the file.

``(absolute path) -> (size, mtime_ns, ctime_ns, inode, device, sha256)``, in a small
SQLite file (``<store dir>/artifacts-cache/digests.sqlite``, stdlib ``sqlite3``).
Logging a directory again reads no unchanged file; downloading a cached version
re-hashes no blob whose stat is unchanged since it was last verified. A write to
a file changes its mtime and ctime, so a stale entry is never used. The cache is
only an optimisation: any error reading or writing it is ignored.

The five stat numbers are kept packed in one 40-byte ``BLOB`` (:func:`pack_key`):
a re-log of 10,000 files reads them all back, and three columns a row instead of
seven took 14 ms instead of 23-42 ms to fetch and compare (bench/ARTIFACTS.md).
The table is ``digests_v2``; the older ``digests`` table (a column each) is dropped.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import struct
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..blobs.local import stat_key

_SCHEMA = """CREATE TABLE IF NOT EXISTS digests_v2 (
    path TEXT PRIMARY KEY, stat BLOB NOT NULL, digest TEXT NOT NULL)"""

# (path, pack_key(stat key), digest)
CacheRow = tuple[str, bytes, str]
_SELECT = "SELECT path, stat, digest FROM digests_v2"
_RANGE_MIN = 1000  # paths from which a folder's key range is worth a look
_KEY = struct.Struct("<qqqQQ")  # size, mtime_ns, ctime_ns (signed), inode, device


def pack_key(size: int, mtime_ns: int, ctime_ns: int, ino: int, dev: int) -> bytes:
    """A stat key (:func:`~labtrack.blobs.local.stat_key`) as the cache stores it."""
    try:
        return _KEY.pack(size, mtime_ns, ctime_ns, ino, dev)
    except struct.error:  # a number past 64 bits (not on Linux): spelled out instead
        return repr((size, mtime_ns, ctime_ns, ino, dev)).encode()


def _folder_range(paths: Sequence[str]) -> tuple[str, str] | None:
    """``(low, high)`` bounds of the keys under the deepest folder holding all ``paths``
    (their common prefix up to a separator); None when there is none."""
    low, high = min(paths), max(paths)
    size = 0
    for a, b in zip(low, high, strict=False):
        if a != b:
            break
        size += 1
    prefix = low[:size]
    cut = max(prefix.rfind("/"), prefix.rfind(os.sep))
    if cut <= 0:
        return None
    prefix = prefix[:cut + 1]
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)  # everything starting with prefix


def matches(known: CacheRow | None, st: os.stat_result) -> str | None:
    """The digest in a :meth:`DigestCache.lookup` row if the stat still matches."""
    if known is None or known[1] != pack_key(*stat_key(st)):
        return None
    return known[2]


class DigestCache:
    """``stat -> digest`` memo for files; ``DigestCache(None)`` remembers nothing."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._pending: list[CacheRow] = []
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
                conn.execute("DROP TABLE IF EXISTS digests")  # the unpacked layout
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
                row = conn.execute(f"{_SELECT} WHERE path = ?", (path,)).fetchone()
            except sqlite3.Error:
                return None
        return matches(row, st)

    def lookup(self, paths: Sequence[str]) -> dict[str, CacheRow]:
        """What the cache holds for many paths at once: ``{path: row}``, a row being
        ``(path, pack_key(stat key), digest)``.

        Compare with :func:`matches`; one query per 500 paths instead of one per path,
        or, for thousands of files in one folder tree (``add_dir``) that the cache holds
        few others under, one scan of that folder's range of keys (whose rows for
        other paths are returned too).
        """
        out: dict[str, CacheRow] = {}
        if not paths:
            return out
        with self._lock:
            conn = self._connect()
            if conn is None:
                return out
            try:
                span = _folder_range(paths) if len(paths) >= _RANGE_MIN else None
                if span is not None and conn.execute(
                        "SELECT count(*) FROM digests_v2 WHERE path >= ? AND path < ?",
                        span).fetchone()[0] <= 2 * len(paths):
                    rows = conn.execute(f"{_SELECT} WHERE path >= ? AND path < ?",
                                        span).fetchall()
                    return {row[0]: row for row in rows}
                for start in range(0, len(paths), 500):
                    batch = list(paths[start:start + 500])
                    marks = ",".join("?" * len(batch))
                    out.update((row[0], row) for row in conn.execute(
                        f"{_SELECT} WHERE path IN ({marks})", batch))
            except (sqlite3.Error, ValueError):  # ValueError: a path SQLite cannot encode
                return {}
        return out

    def put(self, path: str, st: os.stat_result, digest: str) -> None:
        """Remember a digest (written on :meth:`flush`)."""
        self.put_keys([(path, stat_key(st), digest)])

    def put_many(self, items: Iterable[tuple[str, os.stat_result, str]]) -> None:
        """Remember many ``(path, stat, digest)`` (written on :meth:`flush`)."""
        self.put_keys((p, stat_key(st), d) for p, st, d in items)

    def put_keys(self, items: Iterable[tuple[str, tuple[int, int, int, int, int], str]]
                 ) -> None:
        """Remember many ``(path, stat key, digest)``; the key is
        :func:`labtrack.blobs.local.stat_key` of the file (size, mtime, ctime, inode,
        device)."""
        with self._lock:
            self._pending.extend((p, pack_key(*key), d) for p, key, d in items)

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
                    "INSERT OR REPLACE INTO digests_v2 (path, stat, digest) VALUES (?, ?, ?)",
                    rows)
                conn.execute("COMMIT")
            except (sqlite3.Error, ValueError):  # ValueError: a path SQLite cannot encode
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()
                self._conn = None
