"""Moving artifact files: hashing and storing local files, materialising versions.

Upload: each local file is read once, hashed and written into the blob store in
the same pass (see :meth:`LocalBlobStore.put_path`): files up to 64 KiB into its
database, in one batch of a few transactions, bigger ones as files on a few
threads (hashing and file I/O release the GIL). A file whose ``(size, mtime, ctime, inode)`` the
digest cache knows, and whose blob exists, is not read at all.

Download: a blob stored as a file is verified against its digest (skipped when
the digest cache shows the blob unchanged since it was last verified), then
hard-linked (or copied) into the target folder. A small blob held in the blob
store's database is read, checked against its digest and written out as a
read-only copy; the digest cache then remembers the copy's stat. A folder already
holding the right links or unchanged copies is left as is, so downloading a cached
version costs a ``stat`` or two per file.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from ..blobs.local import write_copy
from ..errors import ArtifactError, NotFoundError
from ._backend import Backend
from ._hashcache import matches

RACY_NS = 100_000_000  # a file modified this recently may change again within one tick
WORKERS = min(4, os.cpu_count() or 1)
THREADED_MIN_AVG = 4 << 20  # average file size above which files are hashed on threads
BATCH = 1

Progress = Callable[[int], None] | None


def manifest_digest(entries: Sequence[dict[str, Any]]) -> str:
    """The digest of a version: sha256 over its sorted (path, digest, size, ref) lines."""
    hasher = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e["path"]):
        hasher.update(f"{e['path']}\t{e.get('digest') or ''}\t{int(e['size'])}\t"
                      f"{e.get('ref') or ''}\n".encode())
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
        futures = [pool.submit(work, b) for b in batches]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:
            future.cancel()
        for future in done:
            error = future.exception()
            if error is not None:
                raise error


def store_files(backend: Backend, files: Sequence[tuple[str, str]],
                progress: Progress = None,
                sizes: Sequence[int] | None = None) -> dict[str, tuple[str, int]]:
    """Store local files as blobs: ``[(entry path, local path)] -> {entry path: (digest, size)}``.

    Small files go into the blob store's database in a few transactions (one
    :meth:`~labtrack.blobs.local.LocalBlobStore.batch`), committed before this
    returns. ``sizes`` (the files' sizes when added) only decides whether to use threads.

    Raises:
        ArtifactError: a file is missing, unreadable, not a regular file or changed
            while it was read (the message names it).
    """
    results: dict[str, tuple[str, int]] = {}
    lock = threading.Lock()
    blobs, cache = backend.blobs, backend.digests
    items = [(name, os.path.abspath(local)) for name, local in files]
    todo = _unchanged(backend, items, results)
    if progress is not None:
        for _, size in results.values():
            progress(size)
    size_of = dict(zip([name for name, _ in items], sizes, strict=True)) \
        if sizes is not None and len(sizes) == len(items) else None
    sizes = [int(size_of[name] or 0) for name, _ in todo] if size_of is not None else []
    small = 1 << 20

    try:
        with blobs.batch() as batch:

            def work(chunk: Sequence[tuple[str, str]]) -> None:
                done = []
                for name, source in chunk:
                    started = time.time_ns()
                    digest, size, before = blobs.put_path(source, name=name, progress=progress,
                                                          batch=batch)
                    if started - before.st_mtime_ns > RACY_NS:
                        cache.put(source, before, digest)
                    if progress is not None and size <= small:
                        progress(size)  # put_path reports big files block by block
                    done.append((name, digest, size))
                with lock:
                    for name, digest, size in done:
                        results[name] = (digest, size)

            if len(sizes) == len(todo):
                # big files go to the threads whatever the average size (hashing releases
                # the GIL); the many small ones stay on this thread, where threads contend
                big = [it for it, size in zip(todo, sizes, strict=True) if size >= small]
                rest = [it for it, size in zip(todo, sizes, strict=True) if size < small]
                if len(big) >= 2:
                    _run_batches(big, work, THREADED_MIN_AVG * len(big))
                    work(rest)
                else:
                    _run_batches(todo, work, sum(int(s) for s in sizes))
            else:
                _run_batches(todo, work, sum(int(s) for s in sizes))
    finally:
        cache.flush()
    return results


def _unchanged(backend: Backend, items: Sequence[tuple[str, str]],
               results: dict[str, tuple[str, int]]) -> list[tuple[str, str]]:
    """Fill ``results`` for files the digest cache knows unchanged and whose blob is
    stored; returns the other items (to be read). One stat per known file, one
    query per 500 blobs."""
    known = backend.digests.lookup([source for _, source in items])
    if not known:
        return list(items)
    hits: dict[str, tuple[str, int]] = {}
    for name, source in items:
        remembered = known.get(source)
        if remembered is None:
            continue
        try:
            st = os.stat(source)
        except OSError:
            continue  # put_path names the problem
        digest = matches(remembered, st)
        if digest is not None:
            hits[name] = (digest, st.st_size)
    gone = set(backend.blobs.missing(sorted({d for d, _ in hits.values()})))
    results.update((name, hit) for name, hit in hits.items() if hit[0] not in gone)
    return [(name, source) for name, source in items if name not in results]


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


def materialize(backend: Backend, entries: Sequence[dict[str, Any]], root: Path,
                label: str, progress: Progress = None) -> Path:
    """Put a version's files under ``root`` (verified; hard-linked, or copied from the
    small-blob database).

    Raises:
        ArtifactError: a blob is missing or its content no longer matches its digest
            (the message names the file), or a reference cannot be fetched.
    """
    root.mkdir(parents=True, exist_ok=True)
    stored = [e for e in entries if not e.get("ref")]
    refs = [e for e in entries if e.get("ref")]
    in_db = backend.blobs.in_database([e["digest"] for e in stored])
    copied = [e for e in stored if e["digest"] in in_db]
    linked = [e for e in stored if e["digest"] not in in_db]
    try:
        if copied:
            _copy_small(backend, copied, root, label, progress)
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
                label: str, progress: Progress) -> None:
    """Write out blobs held in the database; a target the digest cache shows as
    written before and unchanged since is left alone (one ``stat``)."""
    blobs, cache = backend.blobs, backend.digests
    targets = [os.path.abspath(_inside(root, e["path"])) for e in entries]
    known = cache.lookup(targets)
    for entry, target in zip(entries, targets, strict=True):
        digest = entry["digest"]
        remembered = known.get(target)
        if remembered is not None:
            try:
                if matches(remembered, os.stat(target)) == digest:
                    if progress is not None:
                        progress(int(entry["size"]))
                    continue
            except FileNotFoundError:
                pass
        try:
            data = blobs.read_small(digest)
        except ArtifactError:
            raise ArtifactError(
                f"{label}: file {entry['path']!r} is corrupt: its stored content (in "
                f"{blobs.small.path}) does not hash to {digest[:12]}...; the store was "
                "changed after it was logged") from None
        if data is None:  # deleted since in_database() looked
            raise ArtifactError(f"{label}: file {entry['path']!r} is missing from the blob "
                                f"store ({blobs.root}); the store was damaged or pruned")
        write_copy(target, data)
        cache.put(target, os.stat(target), digest)
        if progress is not None:
            progress(len(data))


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
