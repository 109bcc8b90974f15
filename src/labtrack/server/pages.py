"""The UI pages: one HTML shell (the JS router draws each page), plotly.js, static files.

Every UI address returns the same shell; addresses of a project or run that
does not exist return it with status 404 so the page says "not found" with a
way back. The shell sets a strict Content-Security-Policy: no inline script
runs, even if a bug ever let markup through.

The shell names every UI module (``modulepreload``) so the browser fetches them
at once instead of one import level at a time, and on pages that draw charts it
asks for plotly.js first (``preload``, ahead of the modules, which would otherwise
hold the browser's six connections): the browser parses the 4.6 MB bundle off
the main thread while the page asks for its data.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from ..errors import NotFoundError
from .deps import Svc

STATIC_DIR = Path(__file__).with_name("static")

CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data: blob:; connect-src 'self'; font-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

router = APIRouter(include_in_schema=False)


PLOTLY_URL = "/vendor/plotly.min.js"


@functools.lru_cache(maxsize=1)
def _shell_text() -> str:
    html = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    modules = sorted(p.relative_to(STATIC_DIR).as_posix()
                     for p in (STATIC_DIR / "js").rglob("*.js"))
    links = "\n  ".join(f'<link rel="modulepreload" href="/static/{m}">' for m in modules)
    return html.replace("{{preloads}}", links)


def shell(status: int = 200, charts: bool = False) -> HTMLResponse:
    """The UI shell; ``status`` 404 makes the page render "not found".

    ``charts``: the page draws charts, so the browser starts on plotly.js at once.
    """
    plotly = (f'<link rel="preload" as="script" href="{PLOTLY_URL}" data-plotly>'
              if charts and status == 200 else "")
    html = _shell_text().replace("{{status}}", str(status)).replace("{{plotly}}", plotly)
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
    return shell(charts=True)


def _project_shell(project: str, svc: Svc, charts: bool) -> Response:
    names = {p["name"] for p in svc.store.projects()}
    return shell(200 if project in names else 404, charts=charts)


@router.get("/projects/{project}")
@router.get("/projects/{project}/artifacts")
@router.get("/projects/{project}/artifacts/{name}")
@router.get("/projects/{project}/sweeps")
@router.get("/projects/{project}/reports")
def project_page(project: str, svc: Svc) -> Response:
    return _project_shell(project, svc, charts=False)


@router.get("/projects/{project}/charts")
@router.get("/projects/{project}/reports/new")
def project_charts_page(project: str, svc: Svc) -> Response:
    return _project_shell(project, svc, charts=True)


@router.get("/runs/{run_id}")
def run_page(run_id: str, svc: Svc) -> Response:
    try:
        svc.store.get_run(run_id)
    except NotFoundError:
        return shell(404)
    return shell(charts=True)


@router.get("/sweeps/{sweep_id}")
def sweep_page(sweep_id: str, svc: Svc) -> Response:
    from ..sweeps.store import SweepIndex

    try:
        SweepIndex(svc.store).get(sweep_id)
    except NotFoundError:
        return shell(404)
    return shell(charts=True)


@router.get("/reports/{report_id}")
@router.get("/reports/{report_id}/edit")
def report_page(report_id: str, svc: Svc) -> Response:
    from ..reports.index import ReportIndex

    try:
        ReportIndex(svc.store).get(report_id)
    except NotFoundError:
        return shell(404)
    return shell(charts=True)


# The bundle is one arrow function handed to a UMD wrapper: ``(root, factory)``.
# V8 compiles a function passed like that only when it is called, on the main
# thread (~0.3 s for 4.6 MB); wrapped in parentheses it is compiled while the
# file streams in, on a background thread. Nothing else in the file changes.
_FACTORY_HEAD = b"this, () => {\n"
_FACTORY_TAIL = b"\n}));"


@functools.lru_cache(maxsize=1)
def _plotly_source() -> tuple[bytes, str]:
    """plotly.min.js with its factory function parenthesised, and its ETag."""
    data = plotly_path().read_bytes()
    head = data.find(_FACTORY_HEAD, 0, 4096)
    if head >= 0 and data.endswith(_FACTORY_TAIL):  # else another layout: served as it is
        start = head + len(b"this, ")
        data = data[:start] + b"(" + data[start:-len(_FACTORY_TAIL)] + b"\n})));"
    return data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


@router.get(PLOTLY_URL)
def plotly_js(request: Request) -> Response:
    data, etag = _plotly_source()
    headers = {"Cache-Control": "public, max-age=86400", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="text/javascript", headers=headers)
