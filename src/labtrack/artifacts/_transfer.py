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

RACY_NS = 100_000_000  # a file modified this recently may change again within one tick
WORKERS = min(4, 2 * (os.cpu_count() or 1))
BATCH = 64

Progress = Callable[[int], None] | None


def manifest_digest(entries: Sequence[dict[str, Any]]) -> str:
    """The digest of a version: sha256 over its sorted (path, digest, size, ref) lines."""
    hasher = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e["path"]):
        hasher.update(f"{e['path']}\t{e.get('digest') or ''}\t{int(e['size'])}\t"
                      f"{e.get('ref') or ''}\n".encode())
    return hasher.hexdigest()


def _run_batches(items: Sequence[Any], work: Callable[[Sequence[Any]], None]) -> None:
    """Run ``work`` over batches of ``items`` on a few threads; the first error wins."""
    if len(items) <= BATCH:
        work(items)
        return
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
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
                progress: Progress = None) -> dict[str, tuple[str, int]]:
    """Store local files as blobs: ``[(entry path, local path)] -> {entry path: (digest, size)}``.

    Raises:
        ArtifactError: a file is missing, unreadable, not a regular file or changed
            while it was read (the message names it).
    """
    results: dict[str, tuple[str, int]] = {}
    lock = threading.Lock()
    blobs, cache = backend.blobs, backend.digests

    def work(batch: Sequence[tuple[str, str]]) -> None:
        local_results = []
        for name, local in batch:
            source = os.path.abspath(local)
            try:
                st = os.stat(source)
            except FileNotFoundError:
                raise ArtifactError(f"{name}: file {local} was added to the artifact but no "
                                    "longer exists") from None
            except OSError as err:
                raise ArtifactError(f"{name}: cannot stat {local}: {err.strerror}") from None
            digest = cache.get(source, st)
            if digest is not None and blobs.exists(digest):
                local_results.append((name, digest, st.st_size))
                if progress is not None:
                    progress(st.st_size)
                continue
            started = time.time_ns()
            digest, size, before = blobs.put_path(
                source, name=name, progress=progress if st.st_size > (1 << 20) else None)
            if size <= (1 << 20) and progress is not None:
                progress(size)
            if started - before.st_mtime_ns > RACY_NS:
                cache.put(source, before, digest)
            local_results.append((name, digest, size))
        with lock:
            for name, digest, size in local_results:
                results[name] = (digest, size)

    try:
        _run_batches(list(files), work)
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


def _inside(root: Path, path: str) -> Path:
    target = root.joinpath(*path.split("/"))
    if os.path.commonpath([os.path.abspath(target), os.path.abspath(root)]) != \
            os.path.abspath(root):
        raise ArtifactError(f"entry {path!r} would be written outside {root}")
    return target


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

    def work(batch: Sequence[dict[str, Any]]) -> None:
        for entry in batch:
            digest = entry["digest"]
            target = _inside(root, entry["path"])
            blob = str(blobs.path(digest))
            try:
                st = os.stat(blob)
            except FileNotFoundError:
                raise ArtifactError(f"{label}: file {entry['path']!r} is missing from the blob "
                                    f"store ({blob}); the store was damaged or pruned") from None
            if cache.get(blob, st) != digest:
                actual = blobs.hash_file(blob)
                if actual != digest:
                    raise ArtifactError(
                        f"{label}: file {entry['path']!r} is corrupt: its stored content "
                        f"({blob}) hashes to {actual[:12]}..., not {digest[:12]}...; it was "
                        "changed after it was logged (was a downloaded copy edited in place?)")
                cache.put(blob, st, digest)
            try:
                current = os.stat(target)
                if (current.st_ino, current.st_dev) == (st.st_ino, st.st_dev):
                    if progress is not None:
                        progress(int(entry["size"]))
                    continue
            except FileNotFoundError:
                pass
            try:
                blobs.link(digest, target)
            except NotFoundError as err:
                raise ArtifactError(f"{label}: file {entry['path']!r}: {err}") from None
            if progress is not None:
                progress(int(entry["size"]))

    try:
        _run_batches(stored, work)
    finally:
        cache.flush()
    if refs:
        from .references import fetch

        for entry in refs:
            fetch(backend, entry, _inside(root, entry["path"]), label)
    return root
