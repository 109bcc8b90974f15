"""Blobs on the local file system: ``<root>/sha256/ab/cdef...`` and ``<root>/packs/``.

Writes go to a temporary file in the same directory and are renamed into place
once complete, so a reader never sees half a blob and a crash leaves at most a
stray temporary file (``.incoming-*``, removed by :meth:`LocalBlobStore.clean_incoming`).

Blobs of at most :data:`SMALL_MAX` bytes stored through a :meth:`LocalBlobStore.batch`
(artifact files) go into append-only pack files instead, indexed by
``<root>/small.sqlite`` (see :mod:`._smalldb`): a file per 10 KiB blob costs more
than its bytes. Single blobs (media, run files) stay files. Every read looks in the
packs first, then for a file, so stores written before the packs existed keep
working; bytes read from a pack are checked
against their digest (:class:`~labtrack.errors.ArtifactError` when they differ;
:meth:`LocalBlobStore.read_small_many` leaves that check to its caller, who hashes
on threads). Many small files the caller has just stat'ed are stored with four
system calls each (:meth:`LocalBlobStore.put_small_files`).

Files are streamed through a reused buffer, so memory stays flat whatever their
size. Blobs written by :meth:`LocalBlobStore.put_path` are made read-only: they
may be hard-linked into artifact download folders (:meth:`LocalBlobStore.link`),
and an editor writing into such a link would otherwise change the stored blob.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
import re
import shutil
import stat as statmod
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ..errors import ArtifactError, NotFoundError
from . import _packing, _smalldb
from ._packing import OPEN_FLAGS, PackWorker, StatKey, read_unchanged, stat_key
from ._smalldb import Pack, SmallBlobBatch, SmallBlobDB

CHUNK = 1 << 20
STREAM_CHUNK = 4 << 20  # put_path/hash_file read size; larger blocks hash faster
SMALL_MAX = 256 << 10  # batched blobs up to this size go into packs (bench/ARTIFACTS.md)
_counter = itertools.count()


_HEX = re.compile(r"[0-9a-f]{64}")


def _valid(digest: str) -> bool:
    return isinstance(digest, str) and _HEX.fullmatch(digest) is not None


def _check_all(digests: Sequence[str]) -> None:
    """Raise ValueError unless every item is a sha256 hex digest (checked all at once:
    lower-case hex that ``bytes.fromhex`` reads to 32 bytes per digest)."""
    try:
        joined = "".join(digests)
        if all(len(d) == 64 for d in digests) and joined == joined.lower() and \
                len(bytes.fromhex(joined)) == 32 * len(digests):
            return
    except (TypeError, ValueError):
        pass
    for digest in digests:
        if not _valid(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")


_OPEN_FLAGS = OPEN_FLAGS


class LocalBlobStore:
    """A content-addressed directory of blobs."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._prefix = os.path.join(str(self.root), "sha256", "")
        self.small = SmallBlobDB(self.root / "small.sqlite")

    def path(self, digest: str) -> Path:
        """Where the blob with this sha256 hex digest lives as a file (whether or not it does).

        A small blob stored by a :meth:`batch` has no file: read blobs with
        :meth:`open` or :meth:`get_bytes`, which look in both places.
        """
        return Path(self.path_str(digest))

    def path_str(self, digest: str) -> str:
        """:meth:`path` as a str (cheaper when called for thousands of files)."""
        if not _valid(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return f"{self._prefix}{digest[:2]}/{digest[2:]}"

    def exists(self, digest: str) -> bool:
        """Whether the blob is stored (in a pack or as a file)."""
        target = self.path_str(digest)  # validates the digest
        return self.small.size(digest) is not None or os.path.exists(target)

    def missing(self, digests: Sequence[str]) -> list[str]:
        """Which of ``digests`` are not stored (one index query per 500)."""
        _check_all(digests)
        here = self.small.present(digests)
        prefix = self._prefix
        return [d for d in digests
                if d not in here and not os.path.exists(f"{prefix}{d[:2]}/{d[2:]}")]

    def in_packs(self, digests: Sequence[str]) -> set[str]:
        """Which of ``digests`` are stored in the small-blob packs."""
        return self.small.present(digests)

    def size(self, digest: str) -> int:
        """The size of a stored blob.

        Raises:
            NotFoundError: the blob is not stored.
        """
        target = self.path_str(digest)
        size = self.small.size(digest)
        if size is not None:
            return size
        try:
            return os.stat(target).st_size
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is missing from {self.root}") from None

    def read_small_many(self, digests: Sequence[str]) -> dict[str, bytes]:
        """The bytes of many packed blobs, ``{digest: bytes}`` (one index query per 500).

        Not checked here: the caller hashes each (on its own threads) and reports a
        mismatch as corruption; digests not in a pack are left out.
        """
        _check_all(digests)
        return self.small.get_many(digests)

    def read_small(self, digest: str) -> bytes | None:
        """A blob's bytes from the packs, checked against its digest (None if not there).

        Raises:
            ArtifactError: the stored bytes do not match the digest.
        """
        data = self.small.get(digest)
        if data is not None and hashlib.sha256(data).hexdigest() != digest:
            raise ArtifactError(f"blob {digest} is corrupt: its content in {self.small.packs} "
                                "does not match its digest")
        return data

    @contextmanager
    def batch(self) -> Iterator[SmallBlobBatch]:
        """Store many files at once (``put_path(..., batch=b)``): the small ones go to the
        packs, one pack per 16 MiB, written on a helper thread meanwhile.

        Everything queued is committed when the block ends; if it raises, what was
        not committed yet is dropped.
        """
        batch = SmallBlobBatch(self.small)
        try:
            yield batch
        except BaseException:
            batch.abandon()
            raise
        batch.flush()

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their sha256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            self._write_atomic(target, iter([data]))
        return digest

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream chunk by chunk (memory stays flat); returns (digest, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                digest, size = copy_hashing(stream, out)
            target = self.path(digest)
            if target.exists():
                os.unlink(tmp)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            return digest, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_file(self, path: str | Path) -> tuple[str, int]:
        """Store a file's content; returns (digest, size)."""
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def _write_atomic(self, target: Path, blocks: Iterator[bytes]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in blocks:
                    out.write(block)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def open(self, digest: str) -> BinaryIO:
        """The blob for reading (a small one is read whole and checked first).

        Raises:
            NotFoundError: the blob is not stored.
            ArtifactError: a small blob's bytes do not match its digest.
        """
        target = self.path_str(digest)
        data = self.read_small(digest)
        if data is not None:
            return io.BytesIO(data)
        try:
            return open(target, "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is missing from {self.root}") from None

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        """A blob's bytes, checked against the digest unless ``verify`` is False."""
        with self.open(digest) as fh:
            data = fh.read()
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise ArtifactError(f"blob {digest} is corrupt: its content does not match its digest")
        return data

    def delete(self, digest: str) -> None:
        """Remove a blob from wherever it is stored (nothing if it is not)."""
        self.discard(digest)

    def discard(self, digest: str) -> int:
        """Remove a blob from the packs and the file tree; returns the bytes freed."""
        return self.discard_many([digest])

    def discard_many(self, digests: Sequence[str]) -> int:
        """Remove blobs from the packs (one transaction) and the file tree; returns the
        bytes freed."""
        targets = [self.path_str(d) for d in digests]  # validates the digests
        freed = sum(self.small.delete_many(digests).values())
        for target in targets:
            try:
                freed += os.stat(target).st_size
                os.unlink(target)
            except FileNotFoundError:
                pass
        return freed

    # -- streaming file storage with change detection, verification, links ----------
    def put_path(self, path: str | Path, name: str | None = None,
                 progress: Callable[[int], None] | None = None,
                 batch: SmallBlobBatch | None = None) -> tuple[str, int, os.stat_result]:
        """Store a file's content, read once in blocks; returns (digest, size, its stat).

        The open file's size and mtime are compared before and after reading: a
        file that changes while it is stored is refused (nothing is kept).

        Args:
            name: how to name the file in error messages (default: the path).
            progress: called with the number of bytes read after each block.
            batch: a :meth:`batch` that takes the file if it is small (committed with it).
        Raises:
            ArtifactError: the file is missing, unreadable, not a regular file, or changed.
        """
        label = name or str(path)
        try:
            # O_NONBLOCK: a FIFO must not hang us; it is refused below as not a regular file
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            raise ArtifactError(f"{label}: file {path} does not exist (any more)") from None
        except PermissionError:
            raise ArtifactError(f"{label}: file {path} is not readable (permission denied)") \
                from None
        except OSError as err:
            raise ArtifactError(f"{label}: cannot open {path}: {err.strerror}") from None
        try:
            before = os.fstat(fd)
            if not statmod.S_ISREG(before.st_mode):
                raise ArtifactError(f"{label}: {path} is not a regular file")
            if before.st_size <= CHUNK:
                data = _read_all(fd, label, path, before.st_size)
                _check_unchanged(fd, path, before, len(data), label)
                digest = hashlib.sha256(data).hexdigest()
                if batch is not None and len(data) <= SMALL_MAX:
                    batch.add(digest, data)
                    return digest, len(data), before
                target = f"{self._prefix}{digest[:2]}/{digest[2:]}"  # our own hex digest
                if not os.path.exists(target):
                    self._place(target, data)
                return digest, len(data), before
            digest, total = self._stream(fd, path, before, label, progress)
            return digest, total, before
        finally:
            os.close(fd)

    def put_small_files(self, files: Sequence[tuple[str, str, StatKey]],
                        batch: SmallBlobBatch,
                        meanwhile: Callable[[list[tuple[str, int, StatKey]]], None] | None
                        = None, worker: bool = True) -> list[tuple[str, int, StatKey]]:
        """Store many small files the caller has just stat'ed: ``[(name, path, stat key)]``.

        For each, one ``open``, one ``read``, one ``fstat`` and one ``close``: the
        caller's :func:`stat_key` stands for the "before" of :meth:`put_path`'s change
        check (the open file's key after reading must equal it). A file that differs
        from it in any way (changed since, replaced, grown, not a regular file any
        more, unreadable) goes through :meth:`put_path` instead, which reads it again
        with its own before/after check and names any problem. Returns
        ``[(digest, size, stat key)]`` in order; the key is the one the content matches.

        From :data:`~._packing.WORKER_MIN_FILES` files on, a worker process stores
        the second half meanwhile, less the files this process stores while it
        starts (see :mod:`._packing`).

        Args:
            files: regular files of at most :data:`SMALL_MAX` bytes, by their stat key.
            batch: the :meth:`batch` that takes the blobs.
            meanwhile: with a worker, called with the results of this process's files
                (the first ones, in order) once they are stored and indexed, while the
                worker finishes: the caller's bookkeeping for them costs no time then.
            worker: False stores every file in this process.
        Raises:
            ArtifactError: as :meth:`put_path`.
        """
        helper, cut = None, len(files)
        if worker and len(files) >= _packing.WORKER_MIN_FILES and (os.cpu_count() or 1) > 1 and \
                sum(key[0] for _, _, key in files) >= _packing.WORKER_MIN_BYTES:
            cut = min(len(files), (len(files) + _packing.WORKER_START_FILES) // 2)
            helper = PackWorker.start(self.small.packs, files[cut:], _smalldb.FLUSH_BYTES,
                                      SMALL_MAX)
            if helper is None:
                cut = len(files)
        try:
            out = self._put_small_here(files[:cut], batch)
            if helper is not None:
                batch.checkpoint()  # index this half's packs while the worker works
                if meanwhile is not None:
                    meanwhile(out)
                out.extend(self.put_small_by(helper, files[cut:], batch))
        except BaseException:
            if helper is not None:
                helper.abandon()
            raise
        return out

    def put_small_by(self, worker: PackWorker, files: Sequence[tuple[str, str, StatKey | None]],
                     batch: SmallBlobBatch) -> list[tuple[str, int, StatKey]]:
        """What ``worker`` stored of ``files`` (the files it was started on), its packs
        taken by ``batch``; the files it could not read go the careful way; all of them
        are stored here if it failed. Returns ``[(digest, size, stat key)]`` in order."""
        done = worker.finish()
        if done is None:
            return self._put_small_here(files, batch)
        packs, stored, redo = done
        batch.adopt([Pack(name, [stored[i][0] for i in indexes],
                          [stored[i][1][0] for i in indexes]) for name, indexes in packs])
        out: list[tuple[str, int, StatKey]] = []
        careful = set(redo)
        for index, (name, path, _) in enumerate(files):
            if index in careful:
                digest, size, before = self.put_path(path, name=name, batch=batch)
                out.append((digest, size, stat_key(before)))
            else:
                digest, key = stored[index]
                out.append((digest, key[0], key))
        return out

    def _put_small_here(self, files: Sequence[tuple[str, str, StatKey | None]],
                        batch: SmallBlobBatch) -> list[tuple[str, int, StatKey]]:
        """:meth:`put_small_files` on this thread (a file without a stat key goes the
        careful way)."""
        out: list[tuple[str, int, StatKey]] = []
        queued: list[tuple[str, bytes]] = []  # handed to the batch 256 at a time (its lock)
        append, queue, sha256 = out.append, queued.append, hashlib.sha256
        for name, path, key in files:
            data = None if key is None else read_unchanged(path, key)
            if key is None or data is None:  # changed since the caller's stat, or trouble:
                digest, size, before = self.put_path(path, name=name, batch=batch)  # careful
                append((digest, size, stat_key(before)))
                continue
            digest = sha256(data).hexdigest()
            queue((digest, data))
            append((digest, key[0], key))
            if len(queued) >= 256:
                batch.add_many(queued)
                queued.clear()
        batch.add_many(queued)
        return out

    def _stream(self, fd: int, path: str | Path, before: os.stat_result, label: str,
                progress: Callable[[int], None] | None) -> tuple[str, int]:
        hasher = hashlib.sha256()
        tmp = self._incoming_name()
        out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        total = 0
        try:
            try:
                buf = bytearray(STREAM_CHUNK)
                view = memoryview(buf)
                while True:
                    n = _readinto(fd, view, label, path)
                    if not n:
                        break
                    block = view[:n]
                    hasher.update(block)
                    _write_all(out, block)
                    total += n
                    if progress is not None:
                        progress(n)
            finally:
                os.close(out)
            _check_unchanged(fd, path, before, total, label)
            digest = hasher.hexdigest()
            target = self.path_str(digest)
            if os.path.exists(target):
                os.unlink(tmp)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(tmp, target)
            return digest, total
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _incoming_name(self, folder: str | None = None) -> str:
        if folder is None:
            self.root.mkdir(parents=True, exist_ok=True)
            folder = str(self.root)
        return os.path.join(folder, f".incoming-{os.getpid()}-{threading.get_ident()}-"
                                    f"{next(_counter)}")

    def _place(self, target: str, data: bytes) -> None:
        """Write a small blob read-only next to ``target`` and rename it into place."""
        folder = os.path.dirname(target)
        tmp = self._incoming_name(folder)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        try:
            try:
                _write_all(fd, memoryview(data))
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    @staticmethod
    def hash_file(path: str | Path, progress: Callable[[int], None] | None = None) -> str:
        """The sha256 hex digest of a file, read in blocks."""
        with open(path, "rb", buffering=0) as fh:
            first = fh.read(CHUNK)
            if len(first) < CHUNK:  # small: one read, no big buffer
                return hashlib.sha256(first).hexdigest()
            hasher = hashlib.sha256(first)
            if progress is not None:
                progress(len(first))
            buf = bytearray(STREAM_CHUNK)
            view = memoryview(buf)
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                hasher.update(view[:n])
                if progress is not None:
                    progress(n)
        return hasher.hexdigest()

    def verify(self, digest: str) -> bool:
        """Whether the stored blob's content still hashes to ``digest`` (False if missing)."""
        target = self.path_str(digest)
        data = self.small.get(digest)
        if data is not None:
            return hashlib.sha256(data).hexdigest() == digest
        try:
            return self.hash_file(target) == digest
        except FileNotFoundError:
            return False

    def link(self, digest: str, dest: str | Path) -> bool:
        """Put the blob at ``dest``: a hard link where possible, else a copy.

        A packed blob is written out (checked against its digest first).
        An existing ``dest`` is replaced. Returns True for a link, False for a copy.

        Raises:
            NotFoundError: the blob is not stored.
            ArtifactError: a small blob's bytes do not match its digest.
        """
        source = self.path_str(digest)
        data = self.read_small(digest)
        if data is not None:
            write_copy(dest, data)
            return False
        try:
            os.link(source, dest)  # the common case: a new file in a fresh folder
            return True
        except FileNotFoundError:
            if not os.path.exists(source):
                raise NotFoundError(f"blob {digest} is missing from {self.root}") from None
            os.makedirs(os.path.dirname(dest), exist_ok=True)
        except FileExistsError:
            pass
        except OSError:  # another file system, or links not supported: copy below
            os.makedirs(os.path.dirname(dest), exist_ok=True)
        dest = Path(dest)
        tmp = dest.parent / f".{dest.name}.labtrack-{os.getpid()}-{next(_counter)}"
        try:
            try:
                os.link(source, tmp)
                linked = True
            except FileNotFoundError:
                raise NotFoundError(f"blob {digest} is missing from {self.root}") from None
            except OSError:  # another file system, or links not supported
                shutil.copyfile(source, tmp)
                linked = False
            os.replace(tmp, dest)
            return linked
        except BaseException:
            if tmp.exists():
                tmp.unlink()
            raise

    def clean_incoming(self, older_than: float = 3600.0) -> int:
        """Remove temporary files and packs left by killed writers; returns how many."""
        removed = self.small.clean_orphans(older_than)
        cutoff = time.time() - older_than
        try:
            candidates = [*self.root.glob(".incoming-*"),
                          *self.root.glob("sha256/*/.incoming-*")]
        except OSError:
            return 0
        for tmp in candidates:
            try:
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
            except OSError:
                pass
        return removed


def copy_hashing(stream: BinaryIO, out: BinaryIO) -> tuple[str, int]:
    """Copy ``stream`` to ``out`` block by block; returns the bytes' sha256 and size."""
    hasher = hashlib.sha256()
    size = 0
    while True:
        block = stream.read(CHUNK)
        if not block:
            break
        hasher.update(block)
        size += len(block)
        out.write(block)
    return hasher.hexdigest(), size


def write_copy(dest: str | Path, data: bytes, mode: int = 0o444) -> os.stat_result:
    """Write ``data`` to ``dest`` (read-only, like a linked blob), replacing what is there.

    A new file is written in place (a partial one left by a kill is never vouched
    for by the digest cache); an existing one is replaced by rename. Returns the
    written file's stat.
    """
    dest = os.fspath(dest)
    try:
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        folder, base = os.path.split(dest)
        tmp = os.path.join(folder, f".{base}.labtrack-{os.getpid()}-{next(_counter)}")
        try:
            write_copy(tmp, data, mode)
            os.replace(tmp, dest)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return os.stat(dest)  # a rename may change the ctime
    try:
        written = os.write(fd, data)  # nearly always all of it
        if written < len(data):
            _write_all(fd, memoryview(data)[written:])
        return os.fstat(fd)
    finally:
        os.close(fd)


def _readinto(fd: int, view: memoryview, label: str, path: str | Path) -> int:
    try:
        return os.readv(fd, [view])
    except OSError as err:
        raise ArtifactError(f"{label}: cannot read {path}: {err.strerror}") from None


def _read_all(fd: int, label: str, path: str | Path, expected: int) -> bytes:
    """Read a small file; one read when it has the size fstat gave (growth is caught later)."""
    parts = []
    try:
        while True:
            block = os.read(fd, max(expected + 1, 1 << 16))
            if not block:
                break
            parts.append(block)
            if len(parts) == 1 and len(block) == expected:
                break
    except OSError as err:
        raise ArtifactError(f"{label}: cannot read {path}: {err.strerror}") from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _write_all(fd: int, view: memoryview) -> None:
    while len(view):
        written = os.write(fd, view)
        view = view[written:]


def _check_unchanged(fd: int, path: str | Path, before: os.stat_result, size: int,
                     label: str) -> None:
    # the open file itself: a file replaced by rename meanwhile was still read whole
    after = os.fstat(fd)
    if (size != before.st_size or after.st_size != before.st_size
            or after.st_mtime_ns != before.st_mtime_ns):
        raise ArtifactError(
            f"{label}: file {path} changed while it was being added (size or modification "
            "time differ before and after reading); add it again once it is complete"
        )
