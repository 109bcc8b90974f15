"""``/api/v1`` artifacts: a project's artifacts by type, versions, files, previews, lineage.

Thin routes over :mod:`labtrack.artifacts.views`. A version is named by its
number (``3`` or ``v3``) or an alias (``latest``, ``production`` ...). Files are
downloaded by their exact path in the version's manifest, served by digest from
the blob store as attachments, like a run's files.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from ...errors import NotFoundError
from ..deps import Services, Svc
from ..models import ErrorOut
from .files import _serve

router = APIRouter(tags=["artifacts"], responses={404: {"model": ErrorOut}})

PREVIEW_BYTES = 65536
PREVIEW_ROWS = 50


class ArtifactType(BaseModel):
    """The artifacts of one type, each with its version count, newest version and size."""

    type: str
    artifacts: list[dict[str, Any]]


class ArtifactFile(BaseModel):
    path: str
    digest: str | None = None
    size: int
    ref: str | None = None


class RunArtifacts(BaseModel):
    """The versions a run logged and the versions it used."""

    logged: list[dict[str, Any]]
    used: list[dict[str, Any]]


def require(svc: Services, project: str) -> None:
    """Check the caller may read ``project`` (on the team server; a no-op locally)."""
    check = getattr(svc.store, "require", None)
    if check is not None:
        check(project)


def _views() -> Any:
    from ...artifacts import views

    return views


def _selector(version: str) -> str | int:
    return int(version) if version.isdigit() else version


@router.get("/projects/{project}/artifacts", response_model=list[ArtifactType],
            summary="A project's artifacts by type")
def list_artifacts(project: str, svc: Svc) -> list[ArtifactType]:
    """Artifact types in name order, each with its artifacts (versions, newest, size)."""
    require(svc, project)
    by_type = _views().list_by_type(svc.store, project)
    return [ArtifactType(type=t, artifacts=by_type[t]) for t in sorted(by_type)]


@router.get("/projects/{project}/artifacts/{name}", summary="One artifact and its versions")
def get_artifact(project: str, name: str, svc: Svc) -> dict[str, Any]:
    """``{project, name, type, versions (newest first, with aliases and metadata),
    aliases: {alias: version}}``."""
    require(svc, project)
    return _views().artifact_detail(svc.store, project, name)  # type: ignore[no-any-return]


@router.get("/projects/{project}/artifacts/{name}/versions/{version}/files",
            response_model=list[ArtifactFile], summary="A version's files")
def list_version_files(project: str, name: str, version: str, svc: Svc) -> list[ArtifactFile]:
    """The version's manifest, by path: ``path``, ``digest``, ``size``, ``ref`` (references)."""
    require(svc, project)
    files = _views().version_files(svc.store, project, name, _selector(version))
    return [ArtifactFile(**f) for f in files]


@router.get("/projects/{project}/artifacts/{name}/versions/{version}/preview",
            summary="Preview a version's file")
def preview_file(project: str, name: str, version: str, svc: Svc,
                 path: str = Query(..., description="The file's path in the version"),
                 ) -> dict[str, Any]:
    """The head of a text file, a CSV's first rows, or a small image (base64).

    ``kind`` is ``text``, ``csv``, ``image``, ``binary`` or ``reference``.
    """
    require(svc, project)
    return _views().file_preview(  # type: ignore[no-any-return]
        svc.store, project, name, _selector(version), path,
        max_bytes=PREVIEW_BYTES, max_rows=PREVIEW_ROWS)


@router.get("/projects/{project}/artifacts/{name}/versions/{version}/files/{path:path}",
            summary="Download a version's file",
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_file(project: str, name: str, version: str, path: str, svc: Svc
                  ) -> StreamingResponse:
    """A stored file of the version, by its exact path, as an attachment."""
    require(svc, project)
    files = _views().version_files(svc.store, project, name, _selector(version))
    entry = next((f for f in files if f["path"] == path), None)
    if entry is None or not entry.get("digest") or entry.get("ref"):
        what = "a reference, not stored" if entry is not None else "not in this version"
        raise NotFoundError(f"{project}/{name}:{version}: {path!r} is {what}")
    return _serve(svc, entry["digest"], path, int(entry["size"]), False)


@router.get("/projects/{project}/artifacts/{name}/versions/{version}/lineage",
            summary="Lineage around a version")
def lineage(project: str, name: str, version: str, svc: Svc,
            depth: int = Query(4, ge=1, le=10, description="run/version hops each way"),
            ) -> dict[str, Any]:
    """``{root, nodes, edges}``: runs that logged versions (``logged`` edges run -> version)
    and runs that used them (``used`` edges version -> run), ``depth`` hops around."""
    require(svc, project)
    return _views().lineage_graph(  # type: ignore[no-any-return]
        svc.store, project, name, _selector(version), depth=depth)


@router.get("/runs/{run_id}/artifacts", response_model=RunArtifacts,
            summary="Artifacts a run logged and used")
def run_artifacts(run_id: str, svc: Svc) -> RunArtifacts:
    """The versions the run logged and the versions it used."""
    svc.store.get_run(run_id)
    return RunArtifacts(**_views().run_artifacts(svc.store, run_id))


__all__ = ["require", "router"]
