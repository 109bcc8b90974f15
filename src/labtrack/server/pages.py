"""The UI pages: one HTML shell (the JS router draws each page), plotly.js, static files.

Every UI address returns the same shell; addresses of a project or run that
does not exist return it with status 404 so the page says "not found" with a
way back. The shell sets a strict Content-Security-Policy: no inline script
runs, even if a bug ever let markup through.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ..errors import NotFoundError
from .deps import Svc

STATIC_DIR = Path(__file__).with_name("static")

CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)


@functools.lru_cache(maxsize=1)
def _shell_text() -> str:
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


def shell(status: int = 200) -> HTMLResponse:
    """The UI shell; ``status`` 404 makes the page render "not found"."""
    html = _shell_text().replace("{{status}}", str(status))
    return HTMLResponse(html, status_code=status, headers={
        "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin", "Cache-Control": "no-cache",
    })


def plotly_path() -> Path:
    """plotly.min.js from the installed ``plotly`` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@router.get("/")
def home() -> Response:
    return shell()


@router.get("/compare")
def compare() -> Response:
    return shell()


@router.get("/projects/{project}")
@router.get("/projects/{project}/charts")
@router.get("/projects/{project}/artifacts")
@router.get("/projects/{project}/artifacts/{name}")
@router.get("/projects/{project}/sweeps")
@router.get("/projects/{project}/reports")
@router.get("/projects/{project}/reports/new")
def project_page(project: str, svc: Svc) -> Response:
    names = {p["name"] for p in svc.store.projects()}
    return shell(200 if project in names else 404)


@router.get("/runs/{run_id}")
def run_page(run_id: str, svc: Svc) -> Response:
    try:
        svc.store.get_run(run_id)
    except NotFoundError:
        return shell(404)
    return shell()


@router.get("/sweeps/{sweep_id}")
def sweep_page(sweep_id: str, svc: Svc) -> Response:
    from ..sweeps.store import SweepIndex

    try:
        SweepIndex(svc.store).get(sweep_id)
    except NotFoundError:
        return shell(404)
    return shell()


@router.get("/reports/{report_id}")
@router.get("/reports/{report_id}/edit")
def report_page(report_id: str, svc: Svc) -> Response:
    from ..reports.index import ReportIndex

    try:
        ReportIndex(svc.store).get(report_id)
    except NotFoundError:
        return shell(404)
    return shell()


@router.get("/vendor/plotly.min.js")
def plotly_js(request: Request) -> Response:
    return FileResponse(plotly_path(), media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
