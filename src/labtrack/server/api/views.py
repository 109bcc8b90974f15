"""``/api/v1`` saved views: named column/filter/grouping/chart settings per project."""

from __future__ import annotations

from fastapi import APIRouter, Response

from .. import tables
from ..deps import Svc
from ..models import ErrorOut, ViewIn, ViewOut, ViewPatch
from .projects import require_project

router = APIRouter(tags=["views"], responses={404: {"model": ErrorOut}})


@router.get("/projects/{project}/views", response_model=list[ViewOut], summary="Saved views")
def list_views(project: str, svc: Svc) -> list[ViewOut]:
    return [ViewOut(**v) for v in tables.list_views(svc.store, project)]


@router.post("/projects/{project}/views", response_model=ViewOut, status_code=201,
             responses={409: {"model": ErrorOut}}, summary="Save a view")
def create_view(project: str, body: ViewIn, svc: Svc) -> ViewOut:
    """Save the table's columns, filter, sort, grouping and chart settings under a name."""
    require_project(svc.store, project)
    return ViewOut(**tables.save_view(svc.store, project, body.name.strip(),
                                      body.spec.model_dump()))


@router.put("/views/{view_id}", response_model=ViewOut, responses={409: {"model": ErrorOut}},
            summary="Update a view")
def update_view(view_id: int, body: ViewPatch, svc: Svc) -> ViewOut:
    spec = body.spec.model_dump() if body.spec is not None else None
    name = body.name.strip() if body.name else None
    return ViewOut(**tables.update_view(svc.store, view_id, name, spec))


@router.delete("/views/{view_id}", status_code=204, summary="Delete a view")
def delete_view(view_id: int, svc: Svc) -> Response:
    tables.delete_view(svc.store, view_id)
    return Response(status_code=204)
