"""``/api/v1/remote/uploads``: resumable uploads of big blobs, in parts.

``POST /remote/uploads`` names the blob (digest and size) and answers which parts
the server already holds: the upload id depends only on the user and the digest,
so a client that restarts continues where it stopped. Each part is ``PUT
/remote/uploads/{id}/{n}`` (exactly ``part_size`` bytes, the last one the rest)
and is written atomically; ``POST /remote/uploads/{id}/complete`` checks the
digest over all parts and moves the blob into the blob store (a directory or S3).
Parts live under the server's data directory; uploads untouched for a week are
removed when a new one starts.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import re
import shutil
import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, Field

from ...errors import NotFoundError, UsageError
from ..deps import Services, Svc

router = APIRouter(tags=["remote"])  # mounted at /remote/uploads by remote_artifacts

UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")
PART_SIZE = 8 << 20
MIN_PART, MAX_PART = 1 << 20, 64 << 20
MAX_PARTS = 10_000
STALE_UPLOAD = 7 * 24 * 3600.0
BLOCK = 1 << 20


def user_name(svc: Services) -> str:
    """The request's user on a team server ('' without auth)."""
    user = getattr(svc.store, "user", None)
    return str(getattr(user, "name", "") or "")


class UploadIn(BaseModel):
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0, le=MAX_PART * MAX_PARTS)
    part_size: int = Field(PART_SIZE, ge=MIN_PART, le=MAX_PART)


class UploadOut(BaseModel):
    id: str
    part_size: int
    parts: int
    received: list[int]
    complete: bool


def _uploads_dir(svc: Services) -> pathlib.Path:
    return pathlib.Path(svc.settings.dir) / "uploads"


def _upload_id(svc: Services, digest: str) -> str:
    return hashlib.sha256(f"{user_name(svc)}\0{digest}".encode()).hexdigest()[:32]


def _load_upload(svc: Services, upload_id: str) -> tuple[pathlib.Path, dict[str, Any]]:
    if not UPLOAD_ID.match(upload_id):
        raise NotFoundError(f"no upload {upload_id!r}")
    folder = _uploads_dir(svc) / upload_id
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        raise NotFoundError(f"no upload {upload_id!r}: start it again") from None
    if meta.get("user") != user_name(svc):
        raise NotFoundError(f"no upload {upload_id!r}")
    return folder, meta


def _parts(meta: dict[str, Any]) -> int:
    return max(1, -(-int(meta["size"]) // int(meta["part_size"])))


def _part_length(meta: dict[str, Any], part: int) -> int:
    size, step = int(meta["size"]), int(meta["part_size"])
    return min(step, size - part * step)


def _received(folder: pathlib.Path, meta: dict[str, Any]) -> list[int]:
    out = []
    for n in range(_parts(meta)):
        path = folder / f"{n:06d}.part"
        if path.exists() and path.stat().st_size == _part_length(meta, n):
            out.append(n)
    return out


def _sweep_stale(root: pathlib.Path) -> None:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    cutoff = time.time() - STALE_UPLOAD
    for entry in entries:
        try:
            if entry.is_dir() and entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry.path, ignore_errors=True)
        except OSError:
            pass


@router.post("", response_model=UploadOut, summary="Start or resume a blob upload")
def start_upload(body: UploadIn, svc: Svc) -> UploadOut:
    """The upload of blob ``digest`` in parts; ``received`` lists the parts the server has."""
    if svc.blobs.exists(body.digest):
        return UploadOut(id="", part_size=body.part_size, parts=0, received=[], complete=True)
    root = _uploads_dir(svc)
    upload_id = _upload_id(svc, body.digest)
    folder = root / upload_id
    try:
        folder_meta = _load_upload(svc, upload_id)[1]
    except NotFoundError:
        folder_meta = None
    if folder_meta is None or folder_meta["size"] != body.size:
        _sweep_stale(root)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        folder_meta = {"digest": body.digest, "size": body.size, "part_size": body.part_size,
                       "user": user_name(svc), "started": time.time()}
        if _parts(folder_meta) > MAX_PARTS:
            raise UsageError(f"{body.size} bytes in parts of {body.part_size} is more than "
                             f"{MAX_PARTS} parts; use bigger parts")
        (folder / "meta.json").write_text(json.dumps(folder_meta))
    return UploadOut(id=upload_id, part_size=int(folder_meta["part_size"]),
                     parts=_parts(folder_meta), received=_received(folder, folder_meta),
                     complete=False)


@router.put("/{upload_id}/{part}", status_code=204, summary="Upload one part")
async def put_part(upload_id: str, part: Annotated[int, Path(ge=0, le=MAX_PARTS)],
                   request: Request, svc: Svc) -> Response:
    import anyio

    folder, meta = await anyio.to_thread.run_sync(_load_upload, svc, upload_id)
    if not 0 <= part < _parts(meta):
        raise UsageError(f"part {part} is out of range: this upload has {_parts(meta)} parts")
    expected = _part_length(meta, part)
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) != expected:
        raise UsageError(f"part {part} must be {expected} bytes, not {declared}")
    data = bytearray()
    async for block in request.stream():
        data += block
        if len(data) > expected:
            raise UsageError(f"part {part} must be {expected} bytes")
    if len(data) != expected:
        raise UsageError(f"part {part} must be {expected} bytes, got {len(data)}")
    await anyio.to_thread.run_sync(_write_part, folder, part, bytes(data))
    return Response(status_code=204)


def _write_part(folder: pathlib.Path, part: int, data: bytes) -> None:
    tmp = folder / f".{part:06d}.{os.getpid()}.{time.monotonic_ns()}"
    tmp.write_bytes(data)
    os.replace(tmp, folder / f"{part:06d}.part")


class _Parts(io.RawIOBase):
    """The parts of an upload read back as one stream."""

    def __init__(self, paths: list[pathlib.Path]) -> None:
        self._paths = paths
        self._fh: Any = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._fh is None:
                if not self._paths:
                    return 0
                self._fh = open(self._paths.pop(0), "rb")  # noqa: SIM115 - closed below
            n = self._fh.readinto(buffer)
            if n:
                return int(n)
            self._fh.close()
            self._fh = None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        super().close()


@router.post("/{upload_id}/complete", status_code=204,
             summary="Check the digest and store the uploaded blob")
def complete_upload(upload_id: str, svc: Svc) -> Response:
    folder, meta = _load_upload(svc, upload_id)
    missing = sorted(set(range(_parts(meta))) - set(_received(folder, meta)))
    if missing:
        raise UsageError(f"upload {upload_id} lacks part(s) {missing[:10]}; send them first")
    paths = [folder / f"{n:06d}.part" for n in range(_parts(meta))]
    hasher = hashlib.sha256()
    with io.BufferedReader(_Parts(list(paths)), BLOCK) as stream:
        for block in iter(lambda: stream.read(BLOCK), b""):
            hasher.update(block)
    if hasher.hexdigest() != meta["digest"]:
        shutil.rmtree(folder, ignore_errors=True)
        raise UsageError(f"upload {upload_id}: the parts do not add up to blob "
                            f"{meta['digest']}; upload it again")
    if not svc.blobs.exists(meta["digest"]):
        with io.BufferedReader(_Parts(list(paths)), BLOCK) as stream:
            svc.blobs.put_stream(stream)
    shutil.rmtree(folder, ignore_errors=True)
    return Response(status_code=204)
