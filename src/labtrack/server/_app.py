"""Assembling the FastAPI app: services, routers, error table, pages and static files."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from .._version import VERSION
from ..settings import Settings
from . import errors, pages
from .api import api_router
from .deps import Services, resolve_settings

DESCRIPTION = """The labtrack JSON API: projects, runs, metric series, charts, files and
saved views. Errors are `{"error": message, "type": class}`; a malformed filter adds
`position`, the offset of the problem in the expression."""


def build_app(store: Any, blobs: Any = None, *, settings: Settings | None = None) -> FastAPI:
    """See :func:`labtrack.server.create_app`."""
    settings = resolve_settings(store, settings)
    if blobs is None:
        from ..blobs import LocalBlobStore

        blobs = LocalBlobStore(settings.blobs_dir)
    app = FastAPI(title="labtrack", version=VERSION, description=DESCRIPTION,
                  docs_url="/api/docs", redoc_url=None, openapi_url="/openapi.json")
    if hasattr(store, "environment_blobs"):
        store.environment_blobs = blobs  # run snapshots name their package lists' blobs
    app.state.services = Services(store=store, blobs=blobs, settings=settings)
    app.state.chart_cache = app.state.services.chart_cache

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    app.include_router(api_router())
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    errors.install(app, lambda: pages.shell(404))
    return app
