"""The package list of an environment snapshot, kept once per package set as a blob.

A snapshot lists every installed distribution (~150 in an ML virtualenv: ~6 KB of
JSON). Stored inline, each run's log header and index row carried those bytes, and
each run encoded them twice (run log and index) and wrote them twice (the fsynced
log and the index's WAL, where they took overflow pages). Most runs of a machine
share one package set, so :func:`externalize` writes the list once as a
content-addressed blob (``blobs/sha256/ab/cdef…``, the store's blob layout: sorted,
compact JSON) and the snapshot keeps ``{"packages_blob": {"digest", "count"}}`` in
place of ``"packages"``. :func:`expand` puts the list back when a run is read
(``SQLStore.get_run``, the server's run route), so the API and the UI show the same
environment as before. Snapshots written before this change carry ``"packages"``
inline and are returned as they are.

The blob is fsynced (with its new folders) before a snapshot that names it is
recorded, so a run whose ``finish()`` returned has its package list on disk. A
team server gets the blob with the run's other blobs (``HTTPStore`` uploads every
``{"digest": …}`` a record names).
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

REF_KEY = "packages_blob"
MEMO_FILE = "package_blob.json"

# (blobs folder, id of a package dict) -> (that dict, kept alive so that its id stays
# its own, the reference). collect_json_safe() hands out the same dict while the
# packages are unchanged, so a process's runs look the blob up once.
_refs: dict[tuple[str, int], tuple[dict[str, Any], dict[str, Any]]] = {}
_refs_lock = threading.Lock()
_MAX_REFS = 16


def externalize(environment: dict[str, Any], store_dir: str | os.PathLike[str]
                ) -> dict[str, Any]:
    """``environment`` with its package list replaced by a reference to a blob under
    ``<store_dir>/blobs`` (written and fsynced the first time). Returned unchanged when
    it has no package list, or when the blob cannot be written (the list then stays
    inline). The input is not modified."""
    packages = environment.get("packages")
    if not isinstance(packages, dict) or not packages:
        return environment
    key = (os.fspath(store_dir), id(packages))
    with _refs_lock:
        known = _refs.get(key)
    if known is not None and known[0] is packages:
        ref = known[1]
    else:
        try:
            digest = _stored_digest(Path(store_dir), packages)
        except OSError:
            return environment  # inline, as before: the snapshot is still complete
        ref = {"digest": digest, "count": len(packages)}
        with _refs_lock:
            if len(_refs) >= _MAX_REFS:
                _refs.clear()
            _refs[key] = (packages, ref)
    # the reference takes the list's place, so an expanded snapshot keeps its key order
    return {(REF_KEY if k == "packages" else k): (dict(ref) if k == "packages" else v)
            for k, v in environment.items()}


def expand(environment: dict[str, Any], read: Callable[[str], bytes]) -> dict[str, Any]:
    """``environment`` with a package list reference replaced by the list itself, read
    with ``read(digest)``; unchanged when it has none (a snapshot stored inline). A
    blob that cannot be read leaves ``packages`` None and says why under ``errors``."""
    ref = environment.get(REF_KEY)
    if not isinstance(ref, dict):
        return environment
    digest = str(ref.get("digest"))
    packages: Any = None
    error: str | None = None
    try:
        packages = json.loads(read(digest))
        if not isinstance(packages, dict):
            raise ValueError("not a JSON object")
    except Exception as err:  # noqa: BLE001 - a missing list must not hide the rest
        packages = None
        error = f"the package list (blob {digest}) cannot be read: {type(err).__name__}: {err}"
    out = {("packages" if k == REF_KEY else k): (packages if k == REF_KEY else v)
           for k, v in environment.items()}
    if error is not None:
        out["errors"] = {**(out.get("errors") or {}), "packages": error}
    return out


def expand_from(environment: dict[str, Any], blobs: Any) -> dict[str, Any]:
    """:func:`expand` with a blob store (``LocalBlobStore``, ``S3BlobStore``)."""
    if not isinstance(environment.get(REF_KEY), dict) or blobs is None:
        return environment
    return expand(environment, blobs.get_bytes)


def _stored_digest(store_dir: Path, packages: dict[str, Any]) -> str:
    """The digest of ``packages``' blob, stored (durably) if it was not yet.

    ``<store>/cache/package_blob.json`` remembers the last list and its digest, so a new
    process whose packages are unchanged finds its blob without hashing: importing
    ``hashlib`` (OpenSSL) alone costs a short script's first run ~3-5 ms.
    """
    blobs_dir, memo = store_dir / "blobs", store_dir / "cache" / MEMO_FILE
    try:
        saved = json.loads(memo.read_bytes())
    except (OSError, ValueError):
        saved = None
    if isinstance(saved, dict) and saved.get("packages") == packages:
        digest = str(saved.get("digest"))
        if len(digest) == 64 and _blob_path(blobs_dir, digest).exists():
            return digest
    import hashlib

    data = json.dumps(packages, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    _write_blob(blobs_dir, digest, data)
    try:  # only a shortcut for the next process: written whole, then renamed
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f"{MEMO_FILE}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"digest": digest, "packages": packages}))
        os.replace(tmp, memo)
    except OSError:
        pass
    return digest


def _blob_path(blobs_dir: Path, digest: str) -> Path:
    return blobs_dir / "sha256" / digest[:2] / digest[2:]


def _write_blob(blobs_dir: Path, digest: str, data: bytes) -> None:
    """Store ``data`` at ``blobs/sha256/<2>/<62>`` unless it is there, durably: the file
    and every folder made for it are fsynced before this returns."""
    target = _blob_path(blobs_dir, digest)
    folder = target.parent
    if target.exists():
        return
    made = [p for p in (blobs_dir, blobs_dir / "sha256", folder) if not p.is_dir()]
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".incoming-{os.getpid()}-{threading.get_ident()}-packages"
    tmp.unlink(missing_ok=True)  # left by a process that died here (read-only: no reuse)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    for path in [folder, *(p.parent for p in made)]:
        _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    from ..blobs._packing import sync_folder

    with contextlib.suppress(OSError):  # the snapshot is written anyway; see externalize
        sync_folder(path)
