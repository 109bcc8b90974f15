"""The one table that maps labtrack errors to HTTP statuses, and the handlers using it.

API errors are JSON ``{"error": message, "type": class name}``; a
:class:`~labtrack.errors.FilterError` adds ``position`` and ``expression`` so
the UI can point at the mistake. A 404 outside ``/api`` serves the UI shell,
which shows a "not found" page with a way back.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    AuthError,
    ConflictError,
    FilterError,
    LabtrackError,
    NotFoundError,
    StoreError,
    UsageError,
)

# Most specific first: the first matching class wins.
ERROR_STATUS: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 404),
    (FilterError, 400),
    (UsageError, 400),  # ConfigError included
    (ConflictError, 409),
    (AuthError, 401),
    (StoreError, 503),
    (LabtrackError, 500),
]


def status_for(err: BaseException) -> int:
    """The HTTP status for a labtrack error (500 for anything unmapped)."""
    return next((code for cls, code in ERROR_STATUS if isinstance(err, cls)), 500)


def error_body(err: BaseException) -> dict[str, Any]:
    """The JSON body describing ``err``."""
    if isinstance(err, FilterError):
        return {"error": err.message, "type": "FilterError", "position": err.position,
                "expression": err.expression}
    return {"error": str(err), "type": type(err).__name__}


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(("/api/", "/static/", "/vendor/")) or path == "/openapi.json":
        return False
    return "text/html" in request.headers.get("accept", "") or request.method == "GET"


def install(app: FastAPI, not_found_page: Any) -> None:
    """Register the handlers on ``app``; ``not_found_page()`` renders the HTML 404."""

    @app.exception_handler(LabtrackError)
    async def _labtrack(request: Request, err: LabtrackError) -> Response:
        status = status_for(err)
        if status == 404 and _wants_html(request):
            return not_found_page()
        return JSONResponse(error_body(err), status_code=status)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, err: StarletteHTTPException) -> Response:
        if err.status_code == 404 and _wants_html(request):
            return not_found_page()
        return JSONResponse({"error": str(err.detail), "type": "HTTPError"},
                            status_code=err.status_code, headers=err.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, err: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body')}: {e.get('msg')}"
            for e in err.errors()
        )
        return JSONResponse({"error": f"invalid request: {problems}", "type": "ValidationError"},
                            status_code=422)
