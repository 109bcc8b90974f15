"""``/api/v1`` files: a run's files by name, and blobs by digest.

Files are looked up by their exact name in the index and served from the
content-addressed blob store by digest: a request path never reaches the
file system, so ``../`` cannot escape. Downloads are served as attachments
with ``nosniff``, so an uploaded HTML file never runs in the UI's origin.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from ...errors import NotFoundError, UsageError
from ..deps import Services, Svc
from ..models import ErrorOut, FileOut

router = APIRouter(tags=["files"], responses={404: {"model": ErrorOut}})

DIGEST = re.compile(r"^[0-9a-f]{64}$")
TEXT_INLINE_LIMIT = 5 * 1024 * 1024  # text shown in the page is cut here (tail kept)
BLOCK = 1 << 16


def _stream(fh: Any, skip: int = 0) -> Iterator[bytes]:
    with fh:
        if skip:
            fh.seek(skip)
        while True:
            block = fh.read(BLOCK)
            if not block:
                break
            yield block


def _serve(svc: Services, digest: str, name: str, size: int | None, inline_text: bool
           ) -> StreamingResponse:
    if not DIGEST.match(digest):
        raise UsageError(f"{digest!r} is not a sha256 hex digest")
    fh = svc.blobs.open(digest)  # NotFoundError when missing
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600"}
    skip = 0
    if inline_text:
        media_type = "text/plain; charset=utf-8"
        if size is not None and size > TEXT_INLINE_LIMIT:
            skip = size - TEXT_INLINE_LIMIT
            headers["X-Truncated-Bytes"] = str(skip)
    else:
        media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or "html" in media_type or "xml" in media_type \
                or "javascript" in media_type:
            media_type = "application/octet-stream"  # never rendered in our origin
        base = name.rsplit("/", 1)[-1] or "file"
        headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(base)}"
    return StreamingResponse(_stream(fh, skip), media_type=media_type, headers=headers)


@router.get("/runs/{run_id}/files", response_model=list[FileOut], summary="A run's files")
def list_files(run_id: str, svc: Svc) -> list[FileOut]:
    svc.store.get_run(run_id)
    return [FileOut(**f) for f in svc.store.files(run_id)]


@router.get("/runs/{run_id}/files/{path:path}", summary="Download a run's file",
            responses={200: {"content": {"application/octet-stream": {}}}})
def get_file(run_id: str, path: str, svc: Svc,
             inline: bool = Query(False, description="as UTF-8 text for display (tail of "
                                                     "large files)"),
             ) -> StreamingResponse:
    """A file kept with the run, by its exact name (as listed by the files endpoint)."""
    match = next((f for f in svc.store.files(run_id) if f["path"] == path), None)
    if match is None:
        svc.store.get_run(run_id)  # unknown run -> its own message
        raise NotFoundError(f"run {run_id} has no file named {path!r}")
    return _serve(svc, match["digest"], path, int(match["size"]), inline)


@router.get("/blobs/{digest}", summary="Download a blob by sha256",
            responses={200: {"content": {"application/octet-stream": {}}},
                       400: {"model": ErrorOut}})
def get_blob(digest: str, svc: Svc) -> StreamingResponse:
    """Content-addressed bytes (media, files); ``digest`` must be 64 lowercase hex digits."""
    return _serve(svc, digest, digest, None, False)
