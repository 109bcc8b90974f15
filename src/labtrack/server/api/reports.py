"""``/api/v1`` reports: Markdown documents with live blocks, their revisions, exports."""

from __future__ import annotations

import getpass
import re
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from ...reports.index import MAX_BODY, MAX_TITLE, ReportIndex
from ...reports.render import render_report
from ..deps import Services, Svc
from ..models import ErrorOut
from .projects import require_project

router = APIRouter(tags=["reports"], responses={404: {"model": ErrorOut}})


class ReportIn(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    body: str = Field("", max_length=MAX_BODY, description="Markdown with live blocks.")


class ReportSave(BaseModel):
    title: str | None = Field(None, min_length=1, max_length=MAX_TITLE)
    body: str | None = Field(None, max_length=MAX_BODY)
    base_revision: int | None = Field(
        None, description="The revision the edit started from: 409 when another save came "
        "in since.")


class ReportSummary(BaseModel):
    id: str
    project: str
    title: str
    author: str | None = None
    updated_by: str | None = None
    created_at: float
    updated_at: float
    revision: int


class ReportOut(ReportSummary):
    body: str


class RevisionOut(BaseModel):
    number: int
    title: str
    author: str | None = None
    message: str | None = None
    created_at: float
    body: str | None = None


class PreviewIn(BaseModel):
    body: str = Field("", max_length=MAX_BODY)


class RenderedOut(BaseModel):
    html: str = Field(description="Sanitised HTML; <div class=\"lt-block\" data-block=\"N\"> "
                      "marks where block N goes.")
    blocks: list[dict[str, Any]] = Field(description="Each block's data, or "
                                         "{type: 'error', error, kind, line}.")
    math: bool = Field(description="Whether $...$ is typeset (MathML).")


class StarterIn(BaseModel):
    runs: list[str] = Field(default_factory=list, max_length=200)
    source: str = Field("runs", description="runs | compare: which blocks to pre-fill")


class StarterOut(BaseModel):
    title: str
    body: str


def _author(svc: Services) -> str | None:
    user = getattr(svc.store, "user", None)  # the team server's signed-in user
    if user is not None:
        return str(user.name)
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return None


def _check(svc: Services, project: str, need: str = "reader") -> None:
    require = getattr(svc.store, "require", None)  # team server: the user's project role
    if callable(require):
        require(project, need)


def _report(svc: Services, report_id: str, need: str = "reader") -> dict[str, Any]:
    report = ReportIndex(svc.store).get(report_id)
    _check(svc, report["project"], need)
    return report


@router.get("/projects/{project}/reports", response_model=list[ReportSummary],
            summary="Reports of a project")
def list_reports(project: str, svc: Svc) -> list[ReportSummary]:
    """The project's reports, the most recently changed first."""
    require_project(svc.store, project)
    _check(svc, project)
    return [ReportSummary(**r) for r in ReportIndex(svc.store).reports(project)]


@router.post("/projects/{project}/reports", response_model=ReportOut, status_code=201,
             responses={400: {"model": ErrorOut}}, summary="Create a report")
def create_report(project: str, body: ReportIn, svc: Svc) -> ReportOut:
    require_project(svc.store, project)
    _check(svc, project, "writer")
    return ReportOut(**ReportIndex(svc.store).create(project, body.title, body.body,
                                                     author=_author(svc)))


@router.post("/projects/{project}/reports/preview", response_model=RenderedOut,
             summary="Render unsaved Markdown")
def preview(project: str, body: PreviewIn, svc: Svc) -> RenderedOut:
    """Render a body as the report page would, without saving it (the editor's preview)."""
    require_project(svc.store, project)
    _check(svc, project)
    return RenderedOut(**render_report(svc.store, body.body, project, cache=svc.chart_cache))


@router.post("/projects/{project}/reports/starter", response_model=StarterOut,
             summary="A starting report for some runs")
def starter(project: str, body: StarterIn, svc: Svc) -> StarterOut:
    """Markdown with blocks pre-filled for ``runs`` (``source`` compare adds the config diff
    and parallel coordinates), for the runs table's and compare page's Report button."""
    from ...reports.template import starter_body

    require_project(svc.store, project)
    _check(svc, project)
    ids = [svc.store.resolve_run(r, project) for r in dict.fromkeys(body.runs)]
    title = "Comparing runs" if body.source == "compare" else "Experiment notes"
    return StarterOut(title=title, body=starter_body(svc.store, project, ids, body.source))


@router.get("/reports/{report_id}", response_model=ReportOut, summary="One report")
def get_report(report_id: str, svc: Svc) -> ReportOut:
    return ReportOut(**_report(svc, report_id))


@router.put("/reports/{report_id}", response_model=ReportOut,
            responses={409: {"model": ErrorOut}}, summary="Save a report")
def save_report(report_id: str, body: ReportSave, svc: Svc) -> ReportOut:
    """Save a new title and/or body as a new revision (a save that changes nothing adds none)."""
    _report(svc, report_id, "writer")
    return ReportOut(**ReportIndex(svc.store).save(
        report_id, title=body.title, body=body.body, author=_author(svc),
        base_revision=body.base_revision))


@router.delete("/reports/{report_id}", status_code=204, summary="Delete a report")
def delete_report(report_id: str, svc: Svc) -> Response:
    """Delete a report with its whole revision history."""
    _report(svc, report_id, "admin")
    ReportIndex(svc.store).delete(report_id)
    return Response(status_code=204)


@router.get("/reports/{report_id}/rendered", response_model=RenderedOut,
            summary="A report rendered")
def rendered(report_id: str, svc: Svc) -> RenderedOut:
    """The current body as sanitised HTML plus the data of each live block."""
    report = _report(svc, report_id)
    return RenderedOut(**render_report(svc.store, report["body"], report["project"],
                                       cache=svc.chart_cache))


@router.get("/reports/{report_id}/revisions", response_model=list[RevisionOut],
            summary="A report's revisions")
def revisions(report_id: str, svc: Svc) -> list[RevisionOut]:
    """Every saved revision, newest first (without bodies)."""
    _report(svc, report_id)
    return [RevisionOut(**r) for r in ReportIndex(svc.store).revisions(report_id)]


@router.get("/reports/{report_id}/revisions/{number}", response_model=RevisionOut,
            summary="One revision")
def revision(report_id: str, number: int, svc: Svc) -> RevisionOut:
    _report(svc, report_id)
    return RevisionOut(**ReportIndex(svc.store).revision(report_id, number))


@router.post("/reports/{report_id}/revisions/{number}/restore", response_model=ReportOut,
             summary="Restore a revision")
def restore(report_id: str, number: int, svc: Svc) -> ReportOut:
    """Make an old revision current again, as a new revision (history only grows)."""
    _report(svc, report_id, "writer")
    return ReportOut(**ReportIndex(svc.store).restore(report_id, number, author=_author(svc)))


@router.get("/reports/{report_id}/export.html", summary="Download as one HTML file",
            response_class=Response, responses={200: {"content": {"text/html": {}}}})
def export(report_id: str, svc: Svc) -> Response:
    """The report as one self-contained HTML file (charts, data and plotly.js inline)."""
    from ...reports.export import export_html

    report = _report(svc, report_id)
    document = export_html(svc.store, report, cache=svc.chart_cache)
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", report["title"]).strip("-")[:80] or report_id
    return Response(document, media_type="text/html; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.html"',
        # opened in place by mistake, it still cannot act as this origin
        "Content-Security-Policy": "sandbox allow-scripts",
    })
