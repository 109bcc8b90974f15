"""``labtrack.Api`` methods for artifacts, attached lazily by ``_api_extensions``.

Each function takes the Api as its first argument (it has ``.store``).
"""

from __future__ import annotations

from typing import Any

from ._backend import Backend
from .artifact import Artifact


def _backend(api: Any) -> Backend:
    return Backend.for_store(api.store)


def _split(name: str) -> tuple[str | None, str]:
    """("project", "name") from "entity/project/name", "project/name" or "name"."""
    parts = name.split(":")[0].split("/")
    return (parts[-2] if len(parts) >= 2 else None), parts[-1]


def artifact(api: Any, name: str, type: str | None = None) -> Artifact:
    """One version: "project/name:v3", "name:alias" or "name" (latest).

    Raises:
        NotFoundError: no such artifact, version or alias.
    """
    backend = _backend(api)
    return Artifact._from_version(backend, backend.index.resolve(name, type=type))


def artifacts(api: Any, type_name: str | None = None, name: str | None = None,
              per_page: int | None = None, tags: Any = None,
              project: str | None = None) -> list[Artifact]:
    """Every version of the artifact ``name`` ("project/name"), newest first.

    Without ``name``: the latest version of every artifact of ``type_name``.
    """
    backend = _backend(api)
    index = backend.index
    if name is None:
        out = []
        for coll in index.collections(project=project, type=type_name):
            ref = f"{coll['project']}/{coll['name']}:latest"
            out.append(Artifact._from_version(backend, index.resolve(ref)))
        return out
    proj, base = _split(name)
    if proj is None:
        proj = index.resolve(base, project=project, type=type_name)["project"]
    rows = index.versions(proj, base)
    if type_name is not None:
        rows = [r for r in rows if r["type"] == type_name]
    return [Artifact._from_version(backend, r) for r in rows]


def artifact_versions(api: Any, type_name: str | None, name: str,
                      per_page: int | None = None) -> list[Artifact]:
    """Every version of ``name`` (wandb's older spelling of :func:`artifacts`)."""
    return artifacts(api, type_name, name)


def artifact_types(api: Any, project: str | None = None) -> list[dict[str, Any]]:
    """``[{"type", "collections"}]`` in a project (all projects when None)."""
    return _backend(api).index.types(project)  # type: ignore[no-any-return]


def artifact_collections(api: Any, project_name: str | None = None,
                         type_name: str | None = None) -> list[dict[str, Any]]:
    """Artifacts (collections) with their version count, newest version and total size."""
    if project_name and "/" in project_name:
        project_name = project_name.rsplit("/", 1)[1]
    return _backend(api).index.collections(project_name, type_name)  # type: ignore[no-any-return]


def delete_artifact_version(api: Any, name: str, force: bool = False) -> dict[str, Any]:
    """Delete one version ("project/name:v3"); blobs no longer referenced are freed.

    Raises:
        ConflictError: runs used the version and ``force`` is False.
    """
    index = _backend(api).index
    info = index.resolve(name)
    return index.delete_version(info["id"], force=force)  # type: ignore[no-any-return]
