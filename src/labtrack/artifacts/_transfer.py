"""Moving artifact files: hashing and storing local files, materialising versions.

Upload: each local file is read once, hashed and written into the blob store in
the same pass (see :meth:`LocalBlobStore.put_path`), on a few threads (hashing
and file I/O release the GIL). A file whose ``(size, mtime, ctime, inode)`` the
digest cache knows, and whose blob exists, is not read at all.

Download: each blob is verified against its digest (skipped when the digest
cache shows the blob unchanged since it was last verified), then hard-linked
(or copied) into the target folder. A folder already holding the right links is
left as is, so downloading a cached version costs a few ``stat`` calls per file.
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

    ``sizes`` (the files' sizes when added) only decides whether to use threads.

    Raises:
        ArtifactError: a file is missing, unreadable, not a regular file or changed
            while it was read (the message names it).
    """
    results: dict[str, tuple[str, int]] = {}
    lock = threading.Lock()
    blobs, cache = backend.blobs, backend.digests
    items = [(name, os.path.abspath(local)) for name, local in files]
    known = cache.lookup([source for _, source in items])
    sizes = [size or 0 for size in (sizes or [])]
    small = 1 << 20

    def work(batch: Sequence[tuple[str, str]]) -> None:
        done = []
        for name, source in batch:
            remembered = known.get(source)
            digest = None
            if remembered is not None:  # stat only what the cache might answer
                try:
                    st = os.stat(source)
                except OSError:
                    pass  # put_path below names the problem
                else:
                    digest = matches(remembered, st)
            if digest is not None and os.path.exists(blobs.path_str(digest)):
                size = st.st_size
            else:
                started = time.time_ns()
                digest, size, before = blobs.put_path(source, name=name, progress=progress)
                if started - before.st_mtime_ns > RACY_NS:
                    cache.put(source, before, digest)
            if progress is not None and size <= small:
                progress(size)  # put_path reports big files block by block
            done.append((name, digest, size))
        with lock:
            for name, digest, size in done:
                results[name] = (digest, size)

    try:
        if len(sizes) == len(items):
            # big files go to the threads whatever the average size (hashing releases the
            # GIL); the many small ones stay on this thread, where threads only contend
            big = [it for it, size in zip(items, sizes, strict=True) if size >= small]
            rest = [it for it, size in zip(items, sizes, strict=True) if size < small]
            if len(big) >= 2:
                _run_batches(big, work, THREADED_MIN_AVG * len(big))
                work(rest)
            else:
                _run_batches(items, work, sum(int(s) for s in sizes))
        else:
            _run_batches(items, work, sum(int(s) for s in sizes))
    finally:
        cache.flush()
    return results


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
    """Put a version's files under ``root`` (verified, hard-linked where possible).

    Raises:
        ArtifactError: a blob is missing or its content no longer matches its digest
            (the message names the file), or a reference cannot be fetched.
    """
    root.mkdir(parents=True, exist_ok=True)
    stored = [e for e in entries if not e.get("ref")]
    refs = [e for e in entries if e.get("ref")]
    blobs, cache = backend.blobs, backend.digests
    known = cache.lookup([blobs.path_str(e["digest"]) for e in stored])

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

    try:
        _run_batches(stored, work, sum(int(e["size"]) for e in stored))
    finally:
        cache.flush()
    if refs:
        from .references import fetch

        for entry in refs:
            fetch(backend, entry, Path(_inside(root, entry["path"])), label)
    return root
