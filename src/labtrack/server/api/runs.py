"""``/api/v1/.../runs``: the runs table (paged, sorted, filtered), one run, edits, deletes."""

from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter, Query, Response

from ..._names import valid_run_id
from ...errors import ConflictError
from ..columns import column_value, json_value, parse_columns
from ..deps import Svc
from ..markdown import render_notes
from ..models import ErrorOut, RunDetail, RunEdit, RunPage, RunRow, RunState
from .projects import require_project

router = APIRouter(tags=["runs"], responses={404: {"model": ErrorOut}})

ROW_FIELDS = set(RunRow.model_fields) - {"values"}


def to_row(run: dict[str, Any], columns: list[str]) -> RunRow:
    """A store run dict as a table row with the requested column values."""
    base: dict[str, Any] = {k: run.get(k) for k in ROW_FIELDS if run.get(k) is not None}
    base["tags"] = [str(t) for t in run.get("tags") or []]
    values = {c: column_value(run, c) for c in columns
              if c.startswith(("config.", "summary."))}
    return RunRow(values=values, **base)


def to_detail(run: dict[str, Any]) -> RunDetail:
    row = to_row(run, [])
    return RunDetail(
        **row.model_dump(exclude={"values"}),
        notes=run.get("notes"), notes_html=render_notes(run.get("notes")),
        config=json_value(run.get("config") or {}), summary=json_value(run.get("summary") or {}),
        environment=json_value(run.get("environment") or {}),
        metric_defs=run.get("metric_defs") or {}, error=run.get("error"),
        exit_code=run.get("exit_code"), owner=run.get("owner"),
        heartbeat_at=run.get("heartbeat_at"), reproduced_from=run.get("reproduced_from"),
    )


@router.get("/projects/{project}/runs", response_model=RunPage, summary="A page of runs",
            responses={400: {"model": ErrorOut}})
def list_runs(
    project: str,
    svc: Svc,
    filter: str | None = Query(None, description='e.g. config.lr < 0.01 and "base" in tags'),
    order: str | None = Query(None, description="e.g. -summary.acc,name ('-' = descending)"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    columns: str | None = Query(None, description="Comma-separated config./summary. columns"),
) -> RunPage:
    """Runs of ``project`` matching ``filter``, sorted by ``order``, one page at a time."""
    cols = parse_columns(columns)
    rows = svc.store.runs(project, filter=filter, order=order, limit=limit, offset=offset)
    if not rows:  # no match, or no such project (checked last: it counts every run)
        require_project(svc.store, project)
    total = svc.store.count_runs(project, filter) if (offset or len(rows) >= limit) \
        else offset + len(rows)
    return RunPage(total=total, offset=offset, limit=limit, order=order, columns=cols,
                   runs=[to_row(r, cols) for r in rows])


@router.get("/runs/{run_id}", response_model=RunDetail, summary="One run")
def get_run(run_id: str, svc: Svc) -> RunDetail:
    """Everything indexed about a run: config, summary, environment, notes (as HTML too)."""
    return to_detail(svc.store.get_run(run_id))


@router.patch("/runs/{run_id}", response_model=RunDetail, summary="Edit a run",
              responses={409: {"model": ErrorOut}})
def edit_run(run_id: str, edit: RunEdit, svc: Svc) -> RunDetail:
    """Rename a run, set its tags or notes (Markdown), or mark it a favourite."""
    fields = edit.model_dump(exclude_unset=True, exclude_none=True)
    if "notes" in edit.model_fields_set and edit.notes is None:
        fields["notes"] = None
    if "tags" in fields:
        fields["tags"] = list(dict.fromkeys(t.strip() for t in fields["tags"] if t.strip()))
    if "name" in fields:
        fields["name"] = fields["name"].strip()
    if fields:
        from sqlalchemy import exc as sa_exc

        from ...edits import edit_run as save_edit

        try:
            save_edit(svc.store, svc.runs_dir, run_id, **fields)
        except sa_exc.IntegrityError:
            raise ConflictError(f"another run in this project is already named "
                                f"{fields.get('name')!r}") from None
    return to_detail(svc.store.get_run(run_id))


@router.delete("/runs/{run_id}", status_code=204, summary="Delete a run")
def delete_run(run_id: str, svc: Svc) -> Response:
    """Delete a run from the index, and its run log from the store directory."""
    svc.store.delete_run(run_id)
    if valid_run_id(run_id):
        target = (svc.runs_dir / run_id).resolve()
        if target.parent == svc.runs_dir.resolve():
            shutil.rmtree(target, ignore_errors=True)
    return Response(status_code=204)


@router.get("/live", response_model=list[RunState], summary="States of runs (polling)")
def live(svc: Svc, runs: str = Query(..., description="Comma-separated run ids")
         ) -> list[RunState]:
    """State, step and last update of some runs; the UI polls this while runs are live."""
    ids = parse_columns(runs)[:1000]
    return [RunState(id=r["id"], name=r["name"], state=r["state"], step=int(r.get("step") or 0),
                     updated_at=r.get("updated_at"), duration=r["duration"])
            for r in svc.store.runs(ids=ids)]
