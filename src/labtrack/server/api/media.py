"""``/api/v1`` media: what a run logged under each media key, and media bytes to display.

A run's media records (images, tables, histograms, plots, HTML, audio, video, and
lists of them) are listed by key; one key's records come with everything the UI
needs to draw them, e.g. a histogram's steps rebinned onto one grid for a heatmap.
Media bytes are served by digest with the type of their extension, for images,
audio and video only: HTML and anything else is never served for display (the UI
puts HTML in a sandboxed frame through ``srcdoc``).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response, StreamingResponse
from pydantic import BaseModel

from ...errors import NotFoundError, UsageError
from ..deps import Svc
from ..models import ErrorOut
from .files import BLOCK, DIGEST

router = APIRouter(tags=["media"], responses={404: {"model": ErrorOut}})

#: extensions shown inline by <img>, <audio> and <video>, with their types
DISPLAY_TYPES = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
    "webp": "image/webp", "bmp": "image/bmp",
    "wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "flac": "audio/flac",
    "m4a": "audio/mp4", "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
}
HEATMAP_BINS = 64
HEATMAP_MAX_STEPS = 400


class MediaKey(BaseModel):
    """One media key of a run: what kind of media it holds, over how many steps."""

    key: str
    kind: str
    count: int
    first_step: int
    last_step: int


class MediaItem(BaseModel):
    step: int
    kind: str
    record: dict[str, Any]


class Heatmap(BaseModel):
    """A histogram's steps on one grid: ``z[bin][i]`` counts for ``steps[i]``."""

    steps: list[int]
    edges: list[float]
    z: list[list[float]]


class MediaOut(BaseModel):
    key: str
    kind: str
    items: list[MediaItem]
    heatmap: Heatmap | None = None


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _pick_steps(n: int, most: int) -> list[int]:
    """Evenly spaced indices into ``n`` items, at most ``most``, keeping both ends."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def histogram_heatmap(items: list[dict[str, Any]], bins: int = HEATMAP_BINS,
                      max_steps: int = HEATMAP_MAX_STEPS) -> dict[str, Any] | None:
    """Histograms logged at several steps, rebinned onto one grid of ``bins`` bins.

    Each source bin's count goes to the grid bin holding its centre, so counts are
    kept. Returns ``{"steps", "edges", "z"}`` with ``z[bin][i]`` the count at
    ``steps[i]`` (plotly's heatmap layout), or None when there is nothing to draw.
    At most ``max_steps`` steps are kept, evenly spaced.
    """
    hists: list[tuple[int, list[float], list[float]]] = []
    for item in items:
        rec = item["record"]
        found = [_number(e) for e in rec.get("bins") or []]
        edges = [e for e in found if e is not None]
        counts = [_number(c) or 0.0 for c in rec.get("values") or []]
        if len(found) != len(counts) + 1 or not counts or len(edges) != len(found):
            continue
        hists.append((int(item["step"]), edges, counts))
    if not hists:
        return None
    hists = [hists[i] for i in _pick_steps(len(hists), max_steps)]
    lo = min(h[1][0] for h in hists)
    hi = max(h[1][-1] for h in hists)
    if hi <= lo:
        hi = lo + 1.0
    width = (hi - lo) / bins
    z = [[0.0] * len(hists) for _ in range(bins)]
    for col, (_, edges, counts) in enumerate(hists):
        for j, count in enumerate(counts):
            centre = (edges[j] + edges[j + 1]) / 2
            row = min(bins - 1, max(0, int((centre - lo) / width)))
            z[row][col] += count
    return {"steps": [h[0] for h in hists], "edges": [lo + i * width for i in range(bins + 1)],
            "z": z}


@router.get("/runs/{run_id}/media", response_model=list[MediaKey],
            summary="A run's media keys")
def list_media(run_id: str, svc: Svc) -> list[MediaKey]:
    """Each media key the run logged, with its kind and steps, in key order."""
    svc.store.get_run(run_id)
    keys: dict[str, MediaKey] = {}
    for m in svc.store.media(run_id):
        step = int(m["step"])
        found = keys.get(m["key"])
        if found is None:
            keys[m["key"]] = MediaKey(key=m["key"], kind=m["kind"], count=1, first_step=step,
                                      last_step=step)
        else:
            found.count += 1
            found.first_step = min(found.first_step, step)
            found.last_step = max(found.last_step, step)
            if found.kind != m["kind"]:
                found.kind = "mixed"
    return list(keys.values())


@router.get("/runs/{run_id}/media/{key:path}", response_model=MediaOut,
            summary="A run's media under one key")
def get_media(run_id: str, key: str, svc: Svc) -> MediaOut:
    """Every record logged under ``key``, by step; histograms add a ``heatmap`` over steps."""
    svc.store.get_run(run_id)
    found = svc.store.media(run_id, key)
    if not found:
        raise NotFoundError(f"run {run_id} has no media under {key!r}")
    kinds = {m["kind"] for m in found}
    kind = kinds.pop() if len(kinds) == 1 else "mixed"
    items = [MediaItem(step=int(m["step"]), kind=m["kind"], record=m["record"] or {})
             for m in found]
    heatmap = None
    if kind == "histogram":
        made = histogram_heatmap([{"step": i.step, "record": i.record} for i in items])
        heatmap = Heatmap(**made) if made else None
    return MediaOut(key=key, kind=kind, items=items, heatmap=heatmap)


@router.get("/media/{digest}.{ext}", summary="Media bytes to display",
            responses={200: {"content": {"image/png": {}, "audio/wav": {}, "video/mp4": {}}},
                       400: {"model": ErrorOut}})
def get_media_blob(digest: str, ext: str, svc: Svc) -> Response:
    """An image, audio or video blob by sha256, with the type its extension names.

    Only display-safe types are served (png, jpg, gif, webp, bmp, wav, mp3, ogg,
    flac, m4a, mp4, webm, mov); anything else is a 400: download it from
    ``/api/v1/blobs/{digest}`` instead.
    """
    if not DIGEST.match(digest):
        raise UsageError(f"{digest!r} is not a sha256 hex digest")
    media_type = DISPLAY_TYPES.get(ext.lower())
    if media_type is None:
        raise UsageError(f"media of type {ext!r} is not served for display; download it from "
                         f"/api/v1/blobs/{digest}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=86400",
               "Content-Security-Policy": "default-src 'none'; sandbox"}
    path = getattr(svc.blobs, "path", None)
    if path is not None:
        local = path(digest)
        if local.is_file():
            return FileResponse(local, media_type=media_type, headers=headers)  # Range: seeking
    fh = svc.blobs.open(digest)  # S3, or a small artifact blob in the local database

    def stream() -> Any:
        with fh:
            while block := fh.read(BLOCK):
                yield block

    return StreamingResponse(stream(), media_type=media_type, headers=headers)


__all__ = ["histogram_heatmap", "router"]
