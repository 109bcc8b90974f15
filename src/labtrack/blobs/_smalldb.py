"""Small blobs in append-only pack files, indexed by one SQLite file.

Layout under the blob root: ``packs/<random>.pack`` hold the bytes of many small
blobs back to back; ``small.sqlite`` says where each one is
(``packed: digest -> pack, offset, size``) and how many of each pack's bytes are
still referenced (``packs: id, name, size, live``).

Why packs: creating a file per blob costs more than its bytes when blobs are small
(open, write, rename and a directory entry per 10 KiB file), and rows of 10 KiB in
a B-tree cost a page write each (a ``pwrite`` per 8 KiB page: 12,500 system calls
per 100 MB). A pack is written with a few ``writev`` calls and one ``fdatasync``;
its index rows are a few dozen bytes each. (Measured in bench/ARTIFACTS.md.)

Writes come in batches (:class:`SmallBlobBatch`): blobs are queued in memory and
written as one pack per :data:`FLUSH_BYTES`, on a helper thread while the caller
reads the next files. Each pack is made durable (``fdatasync`` of the file and of
its folder) before the index transaction that names it commits
(``synchronous=FULL``), so a committed row always points at bytes on disk. A
writer killed in between leaves a pack no row names: invisible to readers, and
removed by :meth:`SmallBlobDB.clean_orphans` once it is an hour old.

Deleting a blob removes its row and lowers its pack's ``live`` count: a pack with
nothing live is removed; one less than half live is rewritten with the live blobs
only (:meth:`SmallBlobDB.delete_many`), so deleted bytes do not linger. A reader
that found a blob in a pack removed meanwhile looks it up again.

Stores written before the packs kept small blobs as rows of the same SQLite file
(``blobs: digest, data``); those rows are still read and deleted, never written.
Readers check bytes against their digest (see
:class:`~labtrack.blobs.local.LocalBlobStore`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StoreError
from ._packing import PACK_READ_FLAGS, pack_name, pread, sync_folder, write_pack_file

if TYPE_CHECKING:  # concurrent.futures registers an atexit hook on import: not at shutdown
    from concurrent.futures import Future, ThreadPoolExecutor

FLUSH_BYTES = 16 << 20  # queued bytes per pack; also bounds the memory a batch takes
BUSY_TIMEOUT_S = 60.0
ORPHAN_AGE_S = 3600.0  # a pack no row names is removed once this old (its writer died)
REPACK_BELOW = 0.5  # a pack with less than this share of its bytes live is rewritten
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS blobs (digest BLOB PRIMARY KEY, data BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS packs (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, "
    "size INTEGER NOT NULL, live INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS packed (digest BLOB PRIMARY KEY, pack INTEGER NOT NULL, "
    "offset INTEGER NOT NULL, size INTEGER NOT NULL)",
)
_QUERY_BATCH = 500
_ROWS_PER_INSERT = 200  # 4 parameters a row: under every SQLite's variable limit (999)
_READ_RUN = 4 << 20  # adjacent blobs are read with one pread of up to this many bytes
_LOCATE = ("SELECT k.digest, p.name, k.offset, k.size FROM packed k "
           "JOIN packs p ON p.id = k.pack WHERE k.digest IN ")


class Pack:
    """A written pack: its file name and, in order, its blobs' digests and sizes."""

    __slots__ = ("name", "digests", "sizes", "size")

    def __init__(self, name: str, digests: list[str], sizes: list[int]) -> None:
        self.name, self.digests, self.sizes = name, digests, sizes
        self.size = sum(sizes)

    def rows(self, skip: set[str]) -> tuple[list[tuple[bytes, int, int]], int]:
        """``(digest, offset, size)`` rows of the blobs not in ``skip`` (which this adds
        them to: a blob twice is indexed once), and their total size."""
        out: list[tuple[bytes, int, int]] = []
        offset = live = 0
        for digest, size in zip(self.digests, self.sizes, strict=True):
            if digest not in skip:
                skip.add(digest)
                out.append((bytes.fromhex(digest), offset, size))
                live += size
            offset += size
        return out, live


class SmallBlobDB:
    """The packs of small blobs and their index; nothing is created until the first write.

    Each thread gets its own connection (the server reads from worker threads).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.packs = os.path.join(os.path.dirname(self.path), "packs")
        self._parent_synced = False
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
                os.makedirs(self.packs, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=TRUNCATE")
            conn.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                conn.execute(statement)
        except sqlite3.Error as err:
            raise StoreError(f"cannot open the small-blob index {self.path}: {err}") from err
        self._local.conn = conn
        with self._lock:
            self._conns.append(conn)
        return conn

    @staticmethod
    def _legacy(conn: sqlite3.Connection) -> bool:
        """Whether the old ``blobs`` table holds rows (a store from before the packs)."""
        return conn.execute("SELECT 1 FROM blobs LIMIT 1").fetchone() is not None

    def close(self) -> None:
        """Close every thread's connection (reopened on next use)."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def _pack_path(self, name: str) -> str:
        return os.path.join(self.packs, name)

    # -- reads ----------------------------------------------------------------------
    def get(self, digest: str) -> bytes | None:
        """The stored bytes of ``digest`` (not verified), or None if not here."""
        return self.get_many([digest]).get(digest)

    def size(self, digest: str) -> int | None:
        """The size of a stored blob, or None if not here."""
        conn = self._conn(create=False)
        if conn is None:
            return None
        key = bytes.fromhex(digest)
        try:
            row = conn.execute("SELECT size FROM packed WHERE digest = ?", (key,)).fetchone()
            if row is None and self._legacy(conn):
                row = conn.execute("SELECT length(data) FROM blobs WHERE digest = ?",
                                   (key,)).fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return None if row is None else int(row[0])

    def get_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        """``{digest: bytes}`` of those of ``digests`` stored here (not verified).

        One index query per 500; blobs next to each other in a pack are read with
        one ``pread``. A pack removed by a concurrent delete or rewrite between the
        query and the read is looked up again.
        """
        found: dict[str, bytes] = {}
        conn = self._conn(create=False)
        if conn is None or not digests:
            return found
        wanted = list(dict.fromkeys(digests))
        try:
            for _ in range(3):  # the index moved under a read: ask again for what is left
                todo = [d for d in wanted if d not in found]
                if not todo:
                    break
                gone = self._read_packed(conn, todo, found)
                if not gone:
                    break
            if self._legacy(conn):
                rest = [d for d in wanted if d not in found]
                for key, data in _rows_for(conn, "blobs", "digest, data", rest):
                    found[bytes(key).hex()] = bytes(data)
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return found

    def _read_packed(self, conn: sqlite3.Connection, digests: Sequence[str],
                     found: dict[str, bytes]) -> bool:
        """Read the packed blobs of ``digests`` into ``found``; True if a pack was gone."""
        by_pack: dict[str, list[tuple[int, int, str]]] = {}
        for start in range(0, len(digests), _QUERY_BATCH):
            batch = [bytes.fromhex(d) for d in digests[start:start + _QUERY_BATCH]]
            sql = _LOCATE + f"({','.join('?' * len(batch))})"
            for key, name, offset, size in conn.execute(sql, batch):
                by_pack.setdefault(name, []).append((offset, size, bytes(key).hex()))
        gone = False
        for name, places in by_pack.items():
            try:
                fd = os.open(self._pack_path(name), PACK_READ_FLAGS)
            except FileNotFoundError:
                gone = True
                continue
            except OSError as err:
                raise StoreError(f"cannot read pack {name} of {self.path}: "
                                 f"{err.strerror}") from err
            try:
                _read_runs(fd, sorted(places), found)
            except OSError as err:
                raise StoreError(f"cannot read pack {name} of {self.path}: "
                                 f"{err.strerror}") from err
            finally:
                os.close(fd)
        return gone

    def present(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` are stored here (one query per 500)."""
        found: set[str] = set()
        conn = self._conn(create=False)
        if conn is None or not digests:
            return found
        try:
            found.update(self._present_in(conn, "packed", digests))
            if self._legacy(conn):
                found.update(self._present_in(conn, "blobs", digests))
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        return found

    @staticmethod
    def _present_in(conn: sqlite3.Connection, table: str, digests: Sequence[str]) -> set[str]:
        asked = set(digests)
        rows = conn.execute(f"SELECT max(rowid) FROM {table}").fetchone()[0] or 0
        if rows <= 4 * len(asked):  # asked about much of the table: scan its key index
            return asked.intersection([bytes(r[0]).hex()
                                       for r in conn.execute(f"SELECT digest FROM {table}")])
        return {bytes(r[0]).hex() for r in _rows_for(conn, table, "digest", sorted(asked))}

    # -- writes ---------------------------------------------------------------------
    def put_many(self, rows: Sequence[tuple[str, bytes]]) -> None:
        """Store ``(digest, data)`` blobs: one new pack, then one index transaction.

        Blobs already stored are skipped (checked before writing, and again under
        the write lock, so two writers racing for a blob leave one live copy).
        """
        here = self.present([d for d, _ in rows])
        todo = [(d, data) for d, data in rows if d not in here]
        if todo:
            self.index([self.write_pack(todo)])

    def write_pack(self, rows: Sequence[tuple[str, bytes]]) -> Pack:
        """Write the blobs of ``rows`` back to back into a new pack and ``fdatasync`` it.

        Nothing names the pack until :meth:`index` commits its rows: until then
        readers do not see it, and a writer killed meanwhile leaves an orphan for
        :meth:`clean_orphans`. Little Python runs here (it runs on a helper thread
        beside the one reading the next files, which waits for every GIL hand-over).
        """
        os.makedirs(self.packs, exist_ok=True)
        name = pack_name()
        datas = [data for _, data in rows]
        try:
            write_pack_file(self._pack_path(name), datas)
        except OSError as err:
            raise StoreError(f"cannot write small blobs into {self.packs}: "
                             f"{err.strerror}") from err
        return Pack(name, [d for d, _ in rows], [len(d) for d in datas])

    def index(self, packs: Sequence[Pack]) -> None:
        """Name written packs and their blobs in the index, in one transaction.

        The packs' folder is synced first, so a committed row never names a pack
        a power cut could lose. A blob another writer stored first stays where it
        is; a pack left with nothing live is removed, one mostly dead rewritten.
        """
        if not packs:
            return
        conn = self._conn(create=True)
        assert conn is not None
        try:
            sync_folder(self.packs)
            if not self._parent_synced:  # the packs folder's own name, once
                sync_folder(os.path.dirname(self.packs))
                self._parent_synced = True
        except OSError as err:
            self.discard_packs(packs)
            raise StoreError(f"cannot write small blobs into {self.packs}: "
                             f"{err.strerror}") from err
        try:
            try:
                try:
                    emptied, sparse = self._index_once(conn, packs, check=False)
                except sqlite3.IntegrityError:  # some blob is stored already: look first
                    emptied, sparse = self._index_once(conn, packs, check=True)
            except BaseException:
                self.discard_packs(packs)
                raise
            self._unlink(emptied)
            for name in sparse:
                self._repack(conn, name)
        except sqlite3.Error as err:
            raise StoreError(f"cannot write small blobs to {self.path}: {err}") from err

    def _index_once(self, conn: sqlite3.Connection, packs: Sequence[Pack], check: bool
                    ) -> tuple[list[str], list[str]]:
        """The transaction of :meth:`index`; returns the packs to remove and to rewrite.

        Without ``check`` it does not look for blobs stored already (a log of new
        files, the usual case, saves a query per 500): the key's uniqueness raises
        ``IntegrityError`` if there is one, and the caller runs it again with the
        check. A store with rows in the old table is always checked.
        """
        emptied: list[str] = []
        sparse: list[str] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            taken: set[str] = set()
            if check or self._legacy(conn):
                for pack in packs:
                    taken |= self._present_in(conn, "packed", pack.digests)
                    if self._legacy(conn):
                        taken |= self._present_in(conn, "blobs", pack.digests)
            for pack in packs:
                rows, live = pack.rows(taken)  # adds its digests to taken
                if not rows:
                    emptied.append(pack.name)
                    continue
                pid = conn.execute("INSERT INTO packs (name, size, live) VALUES (?, ?, ?)",
                                   (pack.name, pack.size, live)).lastrowid
                _insert_places(conn, pid, rows)
                if live < pack.size * REPACK_BELOW:
                    sparse.append(pack.name)
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        return emptied, sparse

    def discard_packs(self, packs: Sequence[Pack]) -> None:
        """Remove written packs that will not be indexed."""
        self._unlink([p.name for p in packs])

    def _unlink(self, names: Sequence[str]) -> None:
        for name in names:
            with contextlib.suppress(OSError):
                os.unlink(self._pack_path(name))

    def delete(self, digest: str) -> int:
        """Remove a blob; returns its size (0 if it was not here)."""
        return self.delete_many([digest]).get(digest, 0)

    def delete_many(self, digests: Sequence[str]) -> dict[str, int]:
        """Remove blobs in one transaction; ``{digest: size}`` of those that were here.

        A pack left with nothing live is removed; one left with less than
        :data:`REPACK_BELOW` of its bytes live is rewritten with the live ones.
        """
        conn = self._conn(create=False)
        if conn is None or not digests:
            return {}
        freed: dict[str, int] = {}
        emptied: list[str] = []
        sparse: list[str] = []
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                drops: dict[int, int] = {}
                for start in range(0, len(digests), _QUERY_BATCH):
                    keys = [bytes.fromhex(d) for d in digests[start:start + _QUERY_BATCH]]
                    marks = ",".join("?" * len(keys))
                    for key, pack, size in conn.execute(
                            f"SELECT digest, pack, size FROM packed WHERE digest IN ({marks})",
                            keys).fetchall():
                        freed[bytes(key).hex()] = int(size)
                        drops[pack] = drops.get(pack, 0) + int(size)
                    conn.execute(f"DELETE FROM packed WHERE digest IN ({marks})", keys)
                    if self._legacy(conn):
                        for key, size in conn.execute(
                                f"SELECT digest, length(data) FROM blobs WHERE digest IN "
                                f"({marks})", keys).fetchall():
                            freed[bytes(key).hex()] = int(size)
                        conn.execute(f"DELETE FROM blobs WHERE digest IN ({marks})", keys)
                for pack, dropped in drops.items():
                    conn.execute("UPDATE packs SET live = live - ? WHERE id = ?",
                                 (dropped, pack))
                    name, size, live = conn.execute(
                        "SELECT name, size, live FROM packs WHERE id = ?", (pack,)).fetchone()
                    if live <= 0:
                        conn.execute("DELETE FROM packs WHERE id = ?", (pack,))
                        emptied.append(name)
                    elif live < size * REPACK_BELOW:
                        sparse.append(name)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            self._unlink(emptied)  # after the commit: a rollback would still need them
            for name in sparse:
                self._repack(conn, name)
        except sqlite3.Error as err:
            raise StoreError(f"cannot delete blobs from {self.path}: {err}") from err
        return freed

    def _repack(self, conn: sqlite3.Connection, name: str) -> None:
        """Rewrite pack ``name`` with its live blobs only, then remove it."""
        row = conn.execute("SELECT id FROM packs WHERE name = ?", (name,)).fetchone()
        if row is None:
            return  # rewritten or emptied by another process meanwhile
        pid = row[0]
        places = conn.execute("SELECT digest, offset, size FROM packed WHERE pack = ? "
                              "ORDER BY offset", (pid,)).fetchall()
        found: dict[str, bytes] = {}
        try:
            fd = os.open(self._pack_path(name), PACK_READ_FLAGS)
        except FileNotFoundError:
            return
        try:
            _read_runs(fd, [(off, size, bytes(key).hex()) for key, off, size in places], found)
        finally:
            os.close(fd)
        if len(found) != len(places):
            return  # part of the pack is unreadable: leave it as it is (downloads say so)
        new = self.write_pack(list(found.items())) if found else None
        if new is not None:
            sync_folder(self.packs)
        moved = kept = False
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM packs WHERE id = ?", (pid,)).fetchone() is not None:
                still = {bytes(r[0]).hex() for r in conn.execute(
                    "SELECT digest FROM packed WHERE pack = ?", (pid,))}  # none deleted since
                conn.execute("DELETE FROM packed WHERE pack = ?", (pid,))
                conn.execute("DELETE FROM packs WHERE id = ?", (pid,))
                if new is not None:
                    rows, live = new.rows(set(new.digests) - still)
                    if rows:
                        new_id = conn.execute("INSERT INTO packs (name, size, live) VALUES "
                                              "(?, ?, ?)", (new.name, new.size, live)).lastrowid
                        _insert_places(conn, new_id, rows)
                        kept = True
                moved = True
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if new is not None:
                self.discard_packs([new])
            raise
        if moved:
            self._unlink([name])
        if new is not None and not kept:
            self.discard_packs([new])

    def clean_orphans(self, older_than: float = ORPHAN_AGE_S) -> int:
        """Remove packs no index row names, and worker job files (left by killed
        writers), once ``older_than`` seconds old; returns how many."""
        try:
            names = os.listdir(self.packs)
        except OSError:
            return 0
        conn = self._conn(create=False)  # none yet: no pack was ever indexed
        try:
            known = set() if conn is None else \
                {r[0] for r in conn.execute("SELECT name FROM packs")}
        except sqlite3.Error as err:
            raise StoreError(f"cannot read {self.path}: {err}") from err
        cutoff = time.time() - older_than
        removed = 0
        for name in names:
            if name in known or not (name.endswith(".pack") or name.startswith(".job-")):
                continue
            path = self._pack_path(name)
            with contextlib.suppress(OSError):
                if os.stat(path).st_mtime < cutoff:
                    os.unlink(path)
                    removed += 1
        return removed


def _insert_places(conn: sqlite3.Connection, pack: int | None,
                   rows: Sequence[tuple[bytes, int, int]]) -> None:
    """Insert ``(digest, offset, size)`` rows of ``pack``, a few hundred per statement
    (the module's executemany takes the GIL back for every row)."""
    params = [(key, pack, offset, size) for key, offset, size in rows]
    whole = len(params) - len(params) % _ROWS_PER_INSERT
    if whole:
        many = ("INSERT INTO packed (digest, pack, offset, size) VALUES "
                + ",".join(["(?, ?, ?, ?)"] * _ROWS_PER_INSERT))
        for start in range(0, whole, _ROWS_PER_INSERT):
            conn.execute(many, list(itertools.chain.from_iterable(
                params[start:start + _ROWS_PER_INSERT])))
    conn.executemany("INSERT INTO packed (digest, pack, offset, size) VALUES (?, ?, ?, ?)",
                     params[whole:])


def _read_runs(fd: int, places: Sequence[tuple[int, int, str]], found: dict[str, bytes]) -> None:
    """Read ``(offset, size, digest)`` places (sorted by offset) from a pack into
    ``found``: adjacent places with one ``pread`` of up to :data:`_READ_RUN` bytes."""
    i = 0
    while i < len(places):
        start, size, _ = places[i]
        end = start + size
        j = i + 1
        while j < len(places) and places[j][0] == end and end - start < _READ_RUN:
            end += places[j][1]
            j += 1
        data = pread(fd, end - start, start)
        view = memoryview(data)
        for offset, length, digest in places[i:j]:
            at = offset - start
            if at + length <= len(data):  # a short pack: its blob is left out (missing)
                found[digest] = bytes(view[at:at + length])
        i = j


def _rows_for(conn: sqlite3.Connection, table: str, columns: str,
              digests: Sequence[str]) -> Iterator[tuple[Any, ...]]:
    """``SELECT columns FROM table`` for the rows of ``digests`` (hex), one query per 500."""
    for start in range(0, len(digests), _QUERY_BATCH):
        batch = [bytes.fromhex(d) for d in digests[start:start + _QUERY_BATCH]]
        marks = ",".join("?" * len(batch))
        yield from conn.execute(f"SELECT {columns} FROM {table} WHERE digest IN ({marks})",
                                batch)


class SmallBlobBatch:
    """Blobs queued for one :class:`SmallBlobDB`: a pack written every :data:`FLUSH_BYTES`,
    all of them indexed at :meth:`flush`.

    A full chunk is written by a helper thread while the caller reads and hashes
    the next files; the helper runs almost no Python (``writev`` and ``fdatasync``
    release the GIL), because the reading thread waits for the GIL after each of
    its system calls. The index rows of every pack are written by :meth:`flush`
    in one transaction, once the reading is done. At most one chunk is in
    flight, so memory stays under two chunks. Thread-safe.
    """

    def __init__(self, db: SmallBlobDB) -> None:
        self.db = db
        self._rows: dict[str, bytes] = {}
        self._bytes = 0
        self._written: list[Pack] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[Pack] | None = None

    def add(self, digest: str, data: bytes) -> None:
        """Queue one blob (``digest`` is the caller's sha256 of ``data``)."""
        self.add_many([(digest, data)])

    def add_many(self, blobs: Sequence[tuple[str, bytes]]) -> None:
        """Queue ``(digest, data)`` blobs (each digest the caller's sha256 of its data)."""
        with self._lock:
            rows = self._rows
            for digest, data in blobs:
                if digest not in rows:
                    rows[digest] = data
                    self._bytes += len(data)
                    if self._bytes >= FLUSH_BYTES:
                        self._dispatch()
                        rows = self._rows

    def _dispatch(self) -> None:
        """Hand the queued blobs to the helper thread as one pack (lock held)."""
        rows, self._rows, self._bytes = self._rows, {}, 0
        self._wait()
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="labtrack-blobs")
        self._inflight = self._pool.submit(self.db.write_pack, list(rows.items()))

    def adopt(self, packs: Sequence[Pack]) -> None:
        """Take packs written elsewhere (a worker process), to be indexed with the rest."""
        with self._lock:
            self._written.extend(packs)

    def checkpoint(self) -> None:
        """:meth:`flush` without ending the batch: what is queued and written so far is
        indexed now (a log waiting for its worker process does this meanwhile)."""
        with self._lock:
            rows, self._rows, self._bytes = self._rows, {}, 0
            try:
                self._wait()
                if rows:
                    self._written.append(self.db.write_pack(list(rows.items())))
                written, self._written = self._written, []
                self.db.index(written)
            except BaseException:
                self.db.discard_packs(self._written)
                self._written = []
                raise

    def flush(self) -> None:
        """Write what is queued (on the calling thread) and index every pack written."""
        try:
            self.checkpoint()
        finally:
            with self._lock:
                self._stop()

    def abandon(self) -> None:
        """Drop what is queued and the packs written so far (none is indexed)."""
        with self._lock:
            self._rows, self._bytes = {}, 0
            with contextlib.suppress(Exception):
                self._wait()
            self.db.discard_packs(self._written)
            self._written = []
            self._stop()

    def _wait(self) -> None:
        inflight, self._inflight = self._inflight, None
        if inflight is not None:
            self._written.append(inflight.result())  # its error, if any, is the caller's

    def _stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)
