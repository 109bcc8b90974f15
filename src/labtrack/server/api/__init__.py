"""The JSON API routers, one module per resource, mounted under ``/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from . import artifacts, files, ingest, media, metrics, projects, reports, runs, sweeps, views


def api_router() -> APIRouter:
    """All API routes under ``/api/v1``."""
    from . import remote_artifacts, remote_sweeps  # SDK-facing (team server)

    router = APIRouter(prefix="/api/v1")
    for module in (projects, runs, metrics, files, views, ingest, media, artifacts, sweeps,
                   reports):
        router.include_router(module.router)
    router.include_router(remote_artifacts.router)
    router.include_router(remote_sweeps.router)
    return router


__all__ = ["api_router"]
