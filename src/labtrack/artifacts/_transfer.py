"""Moving artifact files: hashing and storing local files, materialising versions.

Upload: every local file is stat'ed once when the artifact is logged
(:func:`stat_files`; ``add_dir`` itself only lists folders). A file whose
``(size, mtime, ctime, inode, device)`` the digest cache knows, and whose blob
exists, is not read at all. The others are read once, hashed and written into the
blob store in the same pass: files up to 256 KiB into its packs (one ``open``,
``read``, ``fstat``, ``close`` each, the log-time stat standing for the "before" of
the change check, see :meth:`LocalBlobStore.put_small_files`), in one batch of a
few transactions; bigger ones as files (:meth:`LocalBlobStore.put_path`), on a few
threads when there are several (hashing and file I/O release the GIL).

Download: a blob stored as a file is verified against its digest (skipped when
the digest cache shows the blob unchanged since it was last verified), then
hard-linked (or copied) into the target folder. Small blobs held in the blob
store's packs are read 500 at a time, checked against their digests and
written out as read-only copies by a few threads (creating a file is mostly
kernel time, which threads overlap); the digest cache then remembers each copy's
stat. A folder already holding the right links or unchanged copies is left as is,
so downloading a cached version costs a ``stat`` or two per file.
"""

from __future__ import annotations

import hashlib
import operator
import os
import stat as statmod
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..blobs import _packing, _smalldb
from ..blobs.local import SMALL_MAX, StatKey, stat_key, write_copy
from ..errors import ArtifactError, NotFoundError
from ._backend import Backend
from ._hashcache import DigestCache, matches, pack_key
from ._nogc import no_gc

RACY_NS = 100_000_000  # a file modified this recently may change again within one tick
WORKERS = min(4, os.cpu_count() or 1)
THREADED_MIN_AVG = 4 << 20  # average file size above which files are hashed on threads
BATCH = 1
BIG_MIN = 1 << 20  # files from this size are streamed (and hashed on threads when several)
COPY_WORKERS = 4  # threads writing small files out on download (mostly kernel time)
COPY_CHUNK = 500  # small blobs read from the packs per query
COPY_CHUNK_BYTES = 4 << 20  # ... and at most this many bytes (memory: a few chunks in flight)
COPY_INLINE = 32  # up to this many small files are written on the calling thread

Progress = Callable[[int], None] | None
Local = tuple[str, str]  # (entry path, local path)


def manifest_digest(entries: Sequence[dict[str, Any]]) -> str:
    """The digest of a version: sha256 over its sorted (path, digest, size, ref) lines."""
    hasher = hashlib.sha256()
    ordered = sorted(entries, key=operator.itemgetter("path"))
    for start in range(0, len(ordered), 10_000):  # one update per 10,000 lines: ~2x faster
        hasher.update("".join([
            f"{e['path']}\t{e.get('digest') or ''}\t{int(e['size'])}\t{e.get('ref') or ''}\n"
            for e in ordered[start:start + 10_000]]).encode())
    return hasher.hexdigest()


def _run_batches(items: Sequence[Any], work: Callable[[Sequence[Any]], None],
                 total_bytes: int) -> None:
    """Run ``work`` over batches of ``items``; the first error wins.

    Threads only pay off for big files (hashing releases the GIL): for small
    files the per-file system calls dominate and threads contend, so those run
    on the calling thread.
    """
    if len(items) <= 1 or total_bytes < THREADED_MIN_AVG * len(items) or WORKERS < 2:
        work(items)
        return
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]  # one big file each
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="labtrack-artifact") as pool:
        _raise_first_error([pool.submit(work, b) for b in batches])


def _raise_first_error(futures: Sequence[Future[None]]) -> None:
    """Wait for ``futures`` until one fails; cancel the rest and raise its error."""
    done, pending = wait(futures, return_when=FIRST_EXCEPTION)
    for future in pending:
        future.cancel()
    for future in done:
        error = future.exception()
        if error is not None:
            raise error


def stat_files(files: Sequence[tuple[str, str]]) -> list[StatKey | None]:
    """One ``stat`` per ``(entry path, local path)``: its :func:`stat_key` if it is a
    regular file, else None (storing it then names the problem)."""
    out: list[StatKey | None] = []
    append, stat, regular = out.append, os.stat, statmod.S_ISREG
    for _, path in files:
        try:
            st = stat(path)
        except (OSError, ValueError):
            append(None)
            continue
        append(stat_key(st) if regular(st.st_mode) else None)
    return out


def _absolute(path: str) -> str:
    """``os.path.abspath(path)``, without its work for a path that is already one
    (``add_dir`` records absolute, normalised paths)."""
    if os.sep == "/" and path[:1] == "/" and path[1:2] != "/" and "//" not in path \
            and "/." not in path and path[-1:] != "/":
        return path
    return os.path.abspath(path)


def store_files(backend: Backend, files: Sequence[tuple[str, str]],
                progress: Progress = None,
                stats: Sequence[StatKey | None] | None = None,
                check_cached: bool = True, worker: bool = True) -> dict[str, tuple[str, int]]:
    """Store local files as blobs: ``[(entry path, local path)] -> {entry path: (digest, size)}``.

    Small files go into the blob store's packs, one per 16 MiB (one
    :meth:`~labtrack.blobs.local.LocalBlobStore.batch`), stored before this
    returns. ``stats`` are the files' :func:`stat_files`, taken now (at log time) by
    the caller; without them they are taken here. A file that changed since its stat
    is read again and stored as it is now.

    Args:
        check_cached: check that the blob of each file the digest cache vouches for is
            stored. False leaves it to the caller's commit, which checks the blobs of a
            new version inside its transaction (a version that exists already holds its
            blobs: nothing frees a blob a version names); on its ``MissingBlobsError``
            the caller stores the files again with the check.
        worker: let a worker process store part of many small files (False: the
            caller has one for other files already, see :class:`EarlyWorker`).
    Raises:
        ArtifactError: a file is missing, unreadable, not a regular file or changed
            while it was read (the message names it).
    """
    results: dict[str, tuple[str, int]] = {}
    small, big, rest = _sort_out(backend, files, stats, results, check_cached)
    if progress is not None:
        for _, size in results.values():
            progress(size)
    if len(big) < 2 or WORKERS < 2:  # one big file: hashed on this thread like the rest
        rest.extend(big)
        big = []

    blobs, cache = backend.blobs, backend.digests
    now = time.time_ns()  # before any read: a file modified since is never vouched for
    remember: list[tuple[str, StatKey, str]] = []
    lock = threading.Lock()

    def work(chunk: Sequence[tuple[str, str]]) -> None:
        done = []
        for name, source in chunk:
            digest, size, before = blobs.put_path(source, name=name, progress=progress,
                                                  batch=batch)
            if progress is not None and size < BIG_MIN:
                progress(size)  # put_path reports big files block by block
            done.append((name, source, digest, size, stat_key(before)))
        with lock:
            for name, source, digest, size, key in done:
                results[name] = (digest, size)
                if now - key[1] > RACY_NS:
                    remember.append((source, key, digest))

    try:
        with blobs.batch() as batch:
            with _big_files(big, work):
                handled = 0

                def settle(done: list[tuple[str, int, StatKey]]) -> None:
                    """Results and digests to remember of ``small[handled:len(done)]``."""
                    nonlocal handled
                    with lock:
                        for (name, source, _), (digest, size, key) in zip(
                                small[handled:len(done)], done[handled:], strict=True):
                            results[name] = (digest, size)
                            if now - key[1] > RACY_NS:  # key[1]: the mtime
                                remember.append((source, key, digest))
                        handled = len(done)

                def meanwhile(done: list[tuple[str, int, StatKey]]) -> None:
                    settle(done)  # while a worker process stores the rest
                    with lock:  # big files may be adding to it meanwhile
                        cache.put_keys(remember)
                        remember.clear()
                    cache.flush()

                with no_gc():  # big files stream on their threads meanwhile
                    stored = blobs.put_small_files(small, batch, meanwhile, worker)
                    settle(stored)
                if progress is not None:
                    for _, size, _ in stored:
                        progress(size)
                work(rest)
            # before the packs are indexed. A digest remembered before its blob is stored
            # is harmless: a hit whose blob is missing is caught (by _unchanged, or by
            # the blob check of the commit). (Written on a thread beside the index and
            # the commit, it measured slower: the three traded the GIL.)
            _remember(cache, remember)
    finally:
        _remember(cache, remember)
    return results


class EarlyWorker:
    """A worker process (:mod:`labtrack.blobs._packing`) started before anything is
    stat'ed, on the last files of a log of thousands whose paths the digest cache
    does not know (a first log): it stats, reads, hashes and packs them while this
    process stats and stores the others, and :meth:`collect` indexes its packs."""

    def __init__(self, worker: _packing.PackWorker, cut: int, started_ns: int) -> None:
        self.worker, self.cut, self.started_ns = worker, cut, started_ns

    @classmethod
    def start(cls, backend: Backend, files: Sequence[Local]) -> EarlyWorker | None:
        """A worker for the tail of ``files`` (``[(entry path, local path)]``), which
        the caller then stores only up to :attr:`cut`; None when none is worth it."""
        if len(files) < _packing.WORKER_MIN_FILES or (os.cpu_count() or 1) < 2:
            return None
        cut = min(len(files), (len(files) + _packing.WORKER_START_FILES) // 2)
        tail = [(name, _absolute(local)) for name, local in files[cut:]]
        sample = tail[::max(1, len(tail) // 64)]  # 64 paths tell a first log from a re-log
        if backend.digests.lookup([source for _, source in sample]):
            return None  # files logged before: a re-log reads only what changed
        started = time.time_ns()  # before any read: a file modified since is never vouched for
        worker = _packing.PackWorker.start(backend.blobs.small.packs,
                                           [(name, source, None) for name, source in tail],
                                           _smalldb.FLUSH_BYTES, SMALL_MAX)
        return None if worker is None else cls(worker, cut, started)

    @property
    def count(self) -> int:
        """How many files the worker has."""
        return len(self.worker.files)

    def collect(self, backend: Backend, progress: Progress = None
                ) -> dict[str, tuple[str, int]]:
        """Wait for the worker and index its packs: ``{entry path: (digest, size)}``.
        Files it did not store (big ones, changed ones, all if it failed) are stored
        here the careful way."""
        files = self.worker.files
        with no_gc(), backend.blobs.batch() as batch:
            stored = backend.blobs.put_small_by(self.worker, files, batch)
        results: dict[str, tuple[str, int]] = {}
        remember: list[tuple[str, StatKey, str]] = []
        for (name, source, _), (digest, size, key) in zip(files, stored, strict=True):
            results[name] = (digest, size)
            if self.started_ns - key[1] > RACY_NS:
                remember.append((source, key, digest))
            if progress is not None:
                progress(size)
        _remember(backend.digests, remember)
        return results

    def abandon(self) -> None:
        """Stop the worker (the log failed)."""
        self.worker.abandon()


def _remember(cache: DigestCache, remember: list[tuple[str, StatKey, str]]) -> None:
    """Write ``remember`` (emptied) into the digest cache."""
    cache.put_keys(remember)
    remember.clear()
    cache.flush()


def _sort_out(backend: Backend, files: Sequence[tuple[str, str]],
              stats: Sequence[StatKey | None] | None, results: dict[str, tuple[str, int]],
              check_cached: bool) -> tuple[list[tuple[str, str, StatKey]], list[Local],
                                           list[Local]]:
    """Fill ``results`` with the files the digest cache vouches for; the others as
    ``(small, big, rest)``: small ones with their stat keys (for the packs), big
    ones (streamed on threads when several), and the rest (one by one)."""
    small: list[tuple[str, str, StatKey]] = []
    big: list[Local] = []
    rest: list[Local] = []
    with no_gc():
        items = [(name, _absolute(local)) for name, local in files]
        if stats is None or len(stats) != len(items):
            stats = stat_files(items)
        for name, source, key in _unchanged(backend, items, stats, results, check_cached):
            if key is None:
                rest.append((name, source))  # put_path says what is wrong with it
            elif key[0] <= SMALL_MAX:
                small.append((name, source, key))
            elif key[0] >= BIG_MIN:
                big.append((name, source))
            else:
                rest.append((name, source))
    return small, big, rest


@contextmanager
def _big_files(items: Sequence[tuple[str, str]],
               work: Callable[[Sequence[tuple[str, str]]], None]) -> Iterator[None]:
    """Store ``items`` (big files) on threads while the block runs; the first error wins."""
    if not items:
        yield
        return
    with ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="labtrack-artifact") as pool:
        futures = [pool.submit(work, items[i:i + BATCH]) for i in range(0, len(items), BATCH)]
        try:
            yield
        except BaseException:
            for future in futures:
                future.cancel()
            raise
        _raise_first_error(futures)


def _unchanged(backend: Backend, items: Sequence[tuple[str, str]],
               stats: Sequence[StatKey | None], results: dict[str, tuple[str, int]],
               check_blobs: bool = True) -> list[tuple[str, str, StatKey | None]]:
    """Fill ``results`` for files the digest cache knows unchanged (by their log-time
    stat) and, with ``check_blobs``, whose blob is stored; returns the others with their
    stat keys (to be read). One query per 500 files for the cache, one for the blobs."""
    known = backend.digests.lookup([source for _, source in items])
    if not known:
        return [(name, source, key) for (name, source), key in zip(items, stats, strict=True)]
    hits: dict[str, tuple[str, int]] = {}
    todo: list[tuple[str, str, StatKey | None]] = []
    get = known.get
    for (name, source), key in zip(items, stats, strict=True):
        row = get(source)
        if row is not None and key is not None and row[1] == pack_key(*key):
            hits[name] = (row[2], key[0])
        else:
            todo.append((name, source, key))
    gone = set(backend.blobs.missing(list({d for d, _ in hits.values()}))) \
        if check_blobs and hits else set()
    if not gone:
        results.update(hits)
        return todo
    results.update((name, hit) for name, hit in hits.items() if hit[0] not in gone)
    return [(name, source, key) for (name, source), key in zip(items, stats, strict=True)
            if name not in results]


def hash_local(backend: Backend, path: str, name: str) -> tuple[str, int]:
    """The sha256 and size of a local file (a reference's checksum), using the digest cache."""
    source = os.path.abspath(path)
    try:
        before = os.stat(source)
    except OSError as err:
        raise ArtifactError(f"{name}: cannot read {path}: {err.strerror}") from None
    digest = backend.digests.get(source, before)
    if digest is None:
        started = time.time_ns()
        try:
            digest = backend.blobs.hash_file(source)
        except OSError as err:
            raise ArtifactError(f"{name}: cannot read {path}: {err.strerror}") from None
        after = os.stat(source)
        if (after.st_size, after.st_mtime_ns, after.st_ino) != \
                (before.st_size, before.st_mtime_ns, before.st_ino):
            raise ArtifactError(f"{name}: file {path} changed while it was being hashed; "
                                "add it again once it is complete")
        if started - before.st_mtime_ns > RACY_NS:
            backend.digests.put(source, before, digest)
            backend.digests.flush()
    return digest, before.st_size


def _inside(root: Path, path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "" in parts:
        raise ArtifactError(f"entry {path!r} would be written outside {root}")
    return os.path.join(root, *parts)


def _targets(root: Path, entries: Sequence[dict[str, Any]]) -> list[str]:
    """``abspath(_inside(root, entry path))`` of each entry; a plain relative path (no
    ``.``-led part, no empty part) is appended to the root as is."""
    base = os.path.abspath(root)
    prefix = base if base.endswith(os.sep) else base + os.sep
    out = []
    for entry in entries:
        path = entry["path"]
        if os.sep != "/" or path[:1] in ("", "/", ".") or path[-1] in "/." or "//" in path \
                or "/." in path:
            out.append(os.path.abspath(_inside(root, path)))  # checked (and refused) here
        else:
            out.append(prefix + path)
    return out


def materialize(backend: Backend, entries: Sequence[dict[str, Any]], root: Path,
                label: str, progress: Progress = None) -> Path:
    """Put a version's files under ``root`` (verified; hard-linked, or copied from the
    small-blob packs).

    Raises:
        ArtifactError: a blob is missing or its content no longer matches its digest
            (the message names the file), or a reference cannot be fetched.
    """
    fresh = not root.is_dir()  # nothing there yet: no file to check before writing
    root.mkdir(parents=True, exist_ok=True)
    stored = [e for e in entries if not e.get("ref")]
    refs = [e for e in entries if e.get("ref")]
    in_db = backend.blobs.in_packs([e["digest"] for e in stored])
    copied = [e for e in stored if e["digest"] in in_db]
    linked = [e for e in stored if e["digest"] not in in_db]
    try:
        if copied:
            _copy_small(backend, copied, root, label, progress, fresh)
        if linked:
            _link_files(backend, linked, root, label, progress)
    finally:
        backend.digests.flush()
    if refs:
        from .references import fetch

        for entry in refs:
            fetch(backend, entry, Path(_inside(root, entry["path"])), label)
    return root


def _copy_small(backend: Backend, entries: Sequence[dict[str, Any]], root: Path,
                label: str, progress: Progress, fresh: bool = False) -> None:
    """Write out blobs held in packs; a target the digest cache shows as
    written before and unchanged since is left alone (one ``stat``).

    The blobs are read :data:`COPY_CHUNK` at a time on this thread, checked and
    written by :data:`COPY_WORKERS` threads; a few chunks are in flight at most.
    """
    blobs, cache = backend.blobs, backend.digests
    targets = _targets(root, entries)
    todo: list[tuple[dict[str, Any], str]] = []
    if fresh:
        todo = list(zip(entries, targets, strict=True))
    else:
        known = cache.lookup(targets)
        for entry, target in zip(entries, targets, strict=True):
            row = known.get(target)
            if row is not None and row[2] == entry["digest"]:
                try:
                    unchanged = matches(row, os.stat(target)) is not None
                except FileNotFoundError:
                    unchanged = False
                if unchanged:
                    if progress is not None:
                        progress(int(entry["size"]))
                    continue
            todo.append((entry, target))
    if not todo:
        return
    for folder in sorted({os.path.dirname(target) for _, target in todo}):
        os.makedirs(folder, exist_ok=True)

    def write(chunk: list[tuple[dict[str, Any], str]],
              rows: dict[str, bytes]) -> list[tuple[str, os.stat_result, str]]:
        out = []
        sha256 = hashlib.sha256
        for entry, target in chunk:
            digest = entry["digest"]
            data = rows.get(digest)
            if data is None:  # deleted since in_packs() looked
                raise ArtifactError(f"{label}: file {entry['path']!r} is missing from the "
                                    f"blob store ({blobs.root}); the store was damaged or "
                                    "pruned")
            if sha256(data).hexdigest() != digest:
                raise ArtifactError(
                    f"{label}: file {entry['path']!r} is corrupt: its stored content (in "
                    f"{blobs.small.packs}) does not hash to {digest[:12]}...; the store was "
                    "changed after it was logged")
            out.append((target, write_copy(target, data), digest))
        return out

    def finish(future: Future[list[tuple[str, os.stat_result, str]]]) -> None:
        written = future.result()
        cache.put_many(written)
        if progress is not None:
            for _, st, _digest in written:
                progress(st.st_size)

    if len(todo) <= COPY_INLINE:  # a few files: threads would cost more than they save
        cache.put_many(write(todo, blobs.read_small_many([e["digest"] for e, _ in todo])))
        if progress is not None:
            progress(sum(int(e["size"]) for e, _ in todo))
        return
    inflight: deque[Future[list[tuple[str, os.stat_result, str]]]] = deque()
    with ThreadPoolExecutor(max_workers=COPY_WORKERS,
                            thread_name_prefix="labtrack-artifact") as pool:
        try:
            for chunk in _chunks(todo):
                rows = blobs.read_small_many([entry["digest"] for entry, _ in chunk])
                inflight.append(pool.submit(write, chunk, rows))
                while len(inflight) > 2 * COPY_WORKERS:
                    finish(inflight.popleft())
            while inflight:
                finish(inflight.popleft())
        except BaseException:
            for future in inflight:
                future.cancel()
            raise


def _chunks(todo: list[tuple[dict[str, Any], str]]
            ) -> Iterator[list[tuple[dict[str, Any], str]]]:
    """``todo`` in pieces of at most :data:`COPY_CHUNK` entries and about
    :data:`COPY_CHUNK_BYTES` bytes."""
    chunk: list[tuple[dict[str, Any], str]] = []
    size = 0
    for item in todo:
        chunk.append(item)
        size += int(item[0]["size"])
        if len(chunk) >= COPY_CHUNK or size >= COPY_CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _link_files(backend: Backend, entries: Sequence[dict[str, Any]], root: Path,
                label: str, progress: Progress) -> None:
    """Hard-link (or copy) blobs stored as files, each verified unless the digest
    cache shows it unchanged since it was last verified."""
    blobs, cache = backend.blobs, backend.digests
    known = cache.lookup([blobs.path_str(e["digest"]) for e in entries])

    def work(batch: Sequence[dict[str, Any]]) -> None:
        for entry in batch:
            digest = entry["digest"]
            target = _inside(root, entry["path"])
            blob = blobs.path_str(digest)
            try:
                st = os.stat(blob)
            except FileNotFoundError:
                raise ArtifactError(f"{label}: file {entry['path']!r} is missing from the blob "
                                    f"store ({blob}); the store was damaged or pruned") from None
            verified = matches(known.get(blob), st) == digest
            if not verified:
                actual = blobs.hash_file(blob)
                if actual != digest:
                    raise ArtifactError(
                        f"{label}: file {entry['path']!r} is corrupt: its stored content "
                        f"({blob}) hashes to {actual[:12]}..., not {digest[:12]}...; it was "
                        "changed after it was logged (was a downloaded copy edited in place?)")
            try:
                current = os.stat(target)
                linked_already = (current.st_ino, current.st_dev) == (st.st_ino, st.st_dev)
            except FileNotFoundError:
                linked_already = False
            if not linked_already:
                try:
                    if blobs.link(digest, target):
                        st = os.stat(blob)  # a new link changes the blob's ctime
                        verified = False
                except NotFoundError as err:
                    raise ArtifactError(f"{label}: file {entry['path']!r}: {err}") from None
            if not verified:
                cache.put(blob, st, digest)
            if progress is not None:
                progress(int(entry["size"]))

    _run_batches(entries, work, sum(int(e["size"]) for e in entries))
