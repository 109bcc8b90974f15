"""``/api/v1/remote``: artifacts for SDKs talking to a team server.

The calls of :class:`~labtrack.artifacts.index.ArtifactIndex`, one route each, run
server-side in the same transactions as on a local store. Project roles apply:
reading needs ``reader``, committing and editing ``writer``, deleting ``admin``; a
project with no members yet is claimed by its first writer (as when logging runs).
Blobs arrive first, small ones through ``/ingest/blobs``, big ones in resumable
parts through ``/remote/uploads`` (:mod:`._remote_uploads`); a version's files are
downloaded by digest from ``/remote/artifacts/versions/{id}/blobs/{digest}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from ..._jsonsafe import to_jsonable
from ...errors import NotFoundError, UsageError
from ..deps import Services, Svc
from . import _remote_uploads

router = APIRouter(prefix="/remote", tags=["remote"])

DIGEST = re.compile(r"^[0-9a-f]{64}$")
BLOCK = 1 << 20
INT32 = 2**31 - 1  # version ids are 32-bit integers in PostgreSQL
VersionId = Annotated[int, Path(ge=0, le=INT32)]


# -- roles (shared with remote_sweeps) ----------------------------------------------------
def base_store(svc: Services) -> Any:
    """The server's own store (a team server wraps it in a ScopedStore per request)."""
    return getattr(svc.store, "base", svc.store)


def require(svc: Services, project: str, need: str, *, claim: bool = False) -> None:
    """Check the request's role in ``project`` (nothing to check without auth).

    With ``claim``, a project that has no members yet becomes the user's (admin).
    """
    check = getattr(svc.store, "require", None)
    if check is None:
        return
    if claim and not svc.store.auth.members(project):
        svc.store.auth.claim_project(svc.store.user, project)
    check(project, need)


def visible(svc: Services) -> set[str] | None:
    """Projects the request may read; None means all."""
    seen = getattr(svc.store, "visible", None)
    return None if seen is None else seen()


def _index(svc: Services) -> Any:
    from ...artifacts.index import ArtifactIndex

    return ArtifactIndex(base_store(svc), _IndexBlobs.wrap(svc.blobs))


def _version(svc: Services, version_id: int, need: str = "reader") -> dict[str, Any]:
    info = _index(svc).version(version_id)
    try:
        require(svc, info["project"], need)
    except NotFoundError:
        raise NotFoundError(f"artifact version {version_id} does not exist") from None
    return info  # type: ignore[no-any-return]


class _IndexBlobs:
    """What ArtifactIndex needs of a blob store that is not a local directory (S3):
    ``missing`` for commits, ``discard_many`` to free blobs on delete."""

    def __init__(self, blobs: Any) -> None:
        self._blobs = blobs

    @classmethod
    def wrap(cls, blobs: Any) -> Any:
        return blobs if hasattr(blobs, "discard_many") else cls(blobs)

    def missing(self, digests: list[str]) -> list[str]:
        return [d for d in digests if not self._blobs.exists(d)]

    def discard(self, digest: str) -> int:
        if not self._blobs.exists(digest):
            return 0
        size = int(self._blobs.size(digest))
        self._blobs.delete(digest)
        return size

    def discard_many(self, digests: list[str]) -> int:
        return sum(self.discard(d) for d in digests)

    def clean_incoming(self) -> None:
        return None


# -- artifacts ------------------------------------------------------------------------------
class EntryIn(BaseModel):
    path: str = Field(min_length=1, max_length=1000)
    digest: str | None = Field(None, max_length=200)
    size: int = Field(ge=0)
    ref: str | None = Field(None, max_length=4000)


class CommitIn(BaseModel):
    project: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    entries: list[EntryIn] = Field(max_length=1_000_000)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    description: str | None = None
    metadata: dict[str, Any] | None = None
    aliases: list[str] = Field(default_factory=list, max_length=100)
    run_id: str | None = Field(None, max_length=64)


class UseIn(BaseModel):
    run_id: str = Field(min_length=1, max_length=64)


class UpdateIn(BaseModel):
    aliases: list[str] | None = Field(None, max_length=100)
    add_aliases: list[str] = Field(default_factory=list, max_length=100)
    metadata: dict[str, Any] | None = None
    description: str | None = None


class EdgesIn(BaseModel):
    version_ids: list[Annotated[int, Field(ge=0, le=INT32)]] = Field(default_factory=list,
                                                                    max_length=10_000)
    run_ids: list[str] = Field(default_factory=list, max_length=10_000)


class RunIdsIn(BaseModel):
    run_ids: list[str] = Field(max_length=10_000)


def _out(value: Any) -> Any:
    return to_jsonable(value)


@router.post("/artifacts/commit", summary="Commit an artifact version (blobs uploaded first)",
             responses={409: {"description": "blobs missing: upload them, then retry"}})
def commit(body: CommitIn, svc: Svc) -> Any:
    """Make a version visible, as ``ArtifactIndex.commit``; 409 lists missing blobs."""
    from ...artifacts.index import MissingBlobsError

    require(svc, body.project, "writer", claim=True)
    for entry in body.entries:
        if entry.ref is None and (entry.digest is None or not DIGEST.match(entry.digest)):
            raise UsageError(f"entry {entry.path!r} needs a sha256 digest or a ref")
    try:
        info = _index(svc).commit(
            body.project, body.name, body.type, [e.model_dump() for e in body.entries],
            body.digest, description=body.description, metadata=body.metadata,
            aliases=body.aliases, run_id=body.run_id)
    except MissingBlobsError as err:
        return JSONResponse({"error": str(err), "type": "MissingBlobsError",
                             "missing": err.digests}, status_code=409)
    return _out(info)


@router.get("/artifacts/versions/{version_id}", summary="One artifact version")
def version(version_id: VersionId, svc: Svc) -> Any:
    return _out(_version(svc, version_id))


@router.get("/artifacts/versions/{version_id}/files", summary="The manifest of a version")
def files(version_id: VersionId, svc: Svc) -> Any:
    _version(svc, version_id)
    return _out(_index(svc).files(version_id))


@router.post("/artifacts/versions/{version_id}/use", status_code=204,
             summary="Record that a run used a version")
def use(version_id: VersionId, body: UseIn, svc: Svc) -> Response:
    info = _version(svc, version_id)
    try:
        run = base_store(svc).get_run(body.run_id)
    except NotFoundError:
        run = None  # the run's first records may still be on their way
    require(svc, run["project"] if run is not None else info["project"], "writer")
    _index(svc).record_use(version_id, body.run_id)
    return Response(status_code=204)


@router.patch("/artifacts/versions/{version_id}", summary="Edit aliases, metadata, description")
def update(version_id: VersionId, body: UpdateIn, svc: Svc) -> Any:
    _version(svc, version_id, "writer")
    return _out(_index(svc).update(version_id, aliases=body.aliases,
                                   add_aliases=body.add_aliases, metadata=body.metadata,
                                   description=body.description))


@router.delete("/artifacts/versions/{version_id}", summary="Delete a version (frees blobs)")
def delete_version(version_id: VersionId, svc: Svc, force: bool = False) -> Any:
    _version(svc, version_id, "admin")
    return _out(_index(svc).delete_version(version_id, force=force))


@router.get("/artifacts/resolve", summary="The version a reference names")
def resolve(svc: Svc, ref: str = Query(min_length=1, max_length=500),
            project: str | None = Query(None, max_length=200),
            type: str | None = Query(None, max_length=200)) -> Any:
    if project is not None:
        require(svc, project, "reader")
    info = _index(svc).resolve(ref, project=project, type=type)
    try:
        require(svc, info["project"], "reader")
    except NotFoundError:
        raise NotFoundError(f"no artifact named {ref!r}") from None
    return _out(info)


@router.get("/artifacts/collections", summary="Artifacts with version counts")
def collections(svc: Svc, project: str | None = Query(None, max_length=200),
                type: str | None = Query(None, max_length=200)) -> Any:
    if project is not None:
        require(svc, project, "reader")
    rows = _index(svc).collections(project, type)
    seen = visible(svc)
    return _out([r for r in rows if seen is None or r["project"] in seen])


@router.get("/artifacts/types", summary="Artifact types with collection counts")
def types(svc: Svc, project: str | None = Query(None, max_length=200)) -> Any:
    if project is not None:
        require(svc, project, "reader")
        return _index(svc).types(project)
    seen = visible(svc)
    if seen is None:
        return _index(svc).types(None)
    counts: dict[str, int] = {}
    for row in _index(svc).collections(None, None):
        if row["project"] in seen:
            counts[row["type"]] = counts.get(row["type"], 0) + 1
    return [{"type": t, "collections": n} for t, n in sorted(counts.items())]


@router.get("/artifacts/projects/{project}/{name}/versions",
            summary="Every version of one artifact, newest first")
def versions(project: str, name: str, svc: Svc) -> Any:
    require(svc, project, "reader")
    return _out(_index(svc).versions(project, name))


@router.post("/artifacts/edges", summary="Lineage edges of versions or runs")
def edges(body: EdgesIn, svc: Svc) -> Any:
    seen = visible(svc)
    rows = _index(svc).edges(body.version_ids, body.run_ids)
    return _out([e for e in rows if seen is None or e["version"]["project"] in seen])


@router.post("/artifacts/run_info", summary="Name, project and state of runs")
def run_info(body: RunIdsIn, svc: Svc) -> Any:
    seen = visible(svc)
    rows = _index(svc).run_info(body.run_ids)
    return _out({k: v for k, v in rows.items() if seen is None or v["project"] in seen})


@router.get("/artifacts/versions/{version_id}/blobs/{digest}",
            summary="Download one file of a version by digest",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download(version_id: VersionId, digest: str, svc: Svc) -> StreamingResponse:
    from sqlalchemy import select

    from ...artifacts.tables import artifact_files as files_t

    if not DIGEST.match(digest):
        raise UsageError(f"{digest!r} is not a sha256 hex digest")
    _version(svc, version_id)
    with base_store(svc).read() as conn:
        found = conn.execute(select(files_t.c.path).where(
            files_t.c.version_id == version_id, files_t.c.digest == digest,
            files_t.c.ref.is_(None)).limit(1)).first()
    if found is None:
        raise NotFoundError(f"artifact version {version_id} has no file with digest {digest}")
    fh = svc.blobs.open(digest)
    return StreamingResponse(_blocks(fh), media_type="application/octet-stream",
                             headers={"X-Content-Type-Options": "nosniff"})


def _blocks(fh: Any) -> Iterator[bytes]:
    with fh:
        while True:
            block = fh.read(BLOCK)
            if not block:
                return
            yield block


router.include_router(_remote_uploads.router, prefix="/uploads")
