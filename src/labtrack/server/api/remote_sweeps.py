"""``/api/v1/remote/sweeps``: sweeps for agents talking to a team server.

Each route is one call of :class:`~labtrack.sweeps.store.SweepIndex`, run
server-side: :meth:`claim` is the same write transaction as on a local store
(``SELECT ... FOR UPDATE`` on the sweep row in PostgreSQL), so agents on many
machines share a sweep with no duplicate and no lost run. Roles: reading a
sweep needs ``reader`` of its project; creating, claiming and pausing need
``writer``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..._jsonsafe import to_jsonable
from ...errors import NotFoundError
from ..deps import Services, Svc
from .remote_artifacts import base_store, require, visible

router = APIRouter(prefix="/remote/sweeps", tags=["remote"])


class SweepIn(BaseModel):
    config: dict[str, Any]
    project: str = Field(min_length=1, max_length=200)
    name: str | None = Field(None, max_length=200)
    description: str | None = None


class StateIn(BaseModel):
    state: str = Field(max_length=32)


class ClaimIn(BaseModel):
    agent: str | None = Field(None, max_length=200)


class MetricAtIn(BaseModel):
    key: str = Field(min_length=1, max_length=500)
    iterations: list[int] = Field(max_length=1000)


def _index(svc: Services) -> Any:
    from ...sweeps.store import SweepIndex

    return SweepIndex(base_store(svc))


def _sweep(svc: Services, sweep_id: str, need: str = "reader") -> dict[str, Any]:
    sweep = _index(svc).get(sweep_id)
    try:
        require(svc, sweep["project"], need)
    except NotFoundError:
        raise NotFoundError(f"no sweep with id {sweep_id!r}") from None
    return sweep  # type: ignore[no-any-return]


@router.post("", summary="Create a sweep")
def create(body: SweepIn, svc: Svc) -> Any:
    require(svc, body.project, "writer", claim=True)
    return to_jsonable(_index(svc).create(body.config, body.project, name=body.name,
                                          description=body.description))


@router.get("", summary="Sweeps, newest first, with run counts")
def list_sweeps(svc: Svc, project: str | None = Query(None, max_length=200)) -> Any:
    if project is not None:
        require(svc, project, "reader")
    seen = visible(svc)
    return to_jsonable([s for s in _index(svc).list_sweeps(project)
                        if seen is None or s["project"] in seen])


@router.get("/resolve", summary="A sweep id from an id, name or prefix")
def resolve(svc: Svc, ref: str = Query(min_length=1, max_length=300),
            project: str | None = Query(None, max_length=200)) -> Any:
    sweep_id = _index(svc).resolve(ref, project)
    _sweep(svc, sweep_id)
    return {"id": sweep_id}


@router.get("/{sweep_id}", summary="One sweep")
def get(sweep_id: str, svc: Svc) -> Any:
    return to_jsonable(_sweep(svc, sweep_id))


@router.post("/{sweep_id}/state", summary="Pause, resume or stop a sweep")
def set_state(sweep_id: str, body: StateIn, svc: Svc) -> Any:
    _sweep(svc, sweep_id, "writer")
    return to_jsonable(_index(svc).set_state(sweep_id, body.state))


@router.post("/{sweep_id}/claim", summary="Claim the next run of a sweep (null: none left)")
def claim(sweep_id: str, body: ClaimIn, svc: Svc) -> Any:
    _sweep(svc, sweep_id, "writer")
    return {"claim": to_jsonable(_index(svc).claim(sweep_id, body.agent))}


@router.get("/{sweep_id}/trials", summary="Every trial of a sweep in claim order")
def trials(sweep_id: str, svc: Svc) -> Any:
    _sweep(svc, sweep_id)
    return to_jsonable(_index(svc).trials(sweep_id))


@router.post("/{sweep_id}/metric_at", summary="Metric values at history indices (hyperband)")
def metric_at(sweep_id: str, body: MetricAtIn, svc: Svc) -> Any:
    _sweep(svc, sweep_id)
    return to_jsonable(_index(svc).metric_at(sweep_id, body.key, body.iterations))
