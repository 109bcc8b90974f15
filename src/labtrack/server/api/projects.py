"""``/api/v1/projects``: projects, the column choices of their runs table, group-by."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from ...errors import NotFoundError
from ..columns import available_columns, parse_columns
from ..deps import Svc
from ..grouping import group_runs
from ..models import ColumnsOut, ErrorOut, GroupsOut, ProjectOut

router = APIRouter(tags=["projects"], responses={404: {"model": ErrorOut}})

COLUMN_SAMPLE = 500  # the column chooser looks at this many recent runs


def require_project(store: Any, name: str) -> dict[str, Any]:
    """The project row, or NotFoundError."""
    for project in store.projects():
        if project["name"] == name:
            return dict(project)
    raise NotFoundError(f"no project named {name!r}")


def _with_running(store: Any, project: dict[str, Any]) -> ProjectOut:
    running = store.count_runs(project["name"], 'state == "running"') \
        if project["run_count"] else 0
    return ProjectOut(running=running, **project)


@router.get("/projects", response_model=list[ProjectOut], summary="List projects")
def list_projects(svc: Svc) -> list[ProjectOut]:
    """Every project with its run count, running runs and last activity, most recent first."""
    return [_with_running(svc.store, p) for p in svc.store.projects()]


@router.get("/projects/{project}", response_model=ProjectOut, summary="One project")
def get_project(project: str, svc: Svc) -> ProjectOut:
    return _with_running(svc.store, require_project(svc.store, project))


@router.get("/projects/{project}/columns", response_model=ColumnsOut,
            summary="Column choices for the runs table")
def columns(project: str, svc: Svc) -> ColumnsOut:
    """Run fields, plus the config paths and summary keys of the project's recent runs."""
    require_project(svc.store, project)
    rows = svc.store.runs(project, limit=COLUMN_SAMPLE)
    return ColumnsOut(**available_columns(rows))


@router.get("/projects/{project}/groups", response_model=GroupsOut,
            responses={400: {"model": ErrorOut}}, summary="Group runs by a key")
def groups(
    project: str,
    svc: Svc,
    by: str = Query(..., description="config.<path> or a run field (state, group, job_type...)"),
    metrics: str = Query("", description="Comma-separated summary.<key> to aggregate"),
    filter: str | None = Query(None, description="Filter expression, as in the CLI"),
) -> GroupsOut:
    """Runs grouped by ``by``, with count and mean/min/max of each metric per group."""
    require_project(svc.store, project)
    wanted = parse_columns(metrics)
    found = group_runs(svc.store, project, by, wanted, filter)
    return GroupsOut(by=by, metrics=wanted, groups=found)  # type: ignore[arg-type]
