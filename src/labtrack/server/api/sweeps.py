"""``/api/v1`` sweeps: a project's sweeps, and everything the sweep page draws.

Thin routes over :mod:`labtrack.sweeps.results`: the sweep with its progress
and best run, its runs (flattened parameters and the metric), the metric per
run with the best so far, and each parameter's importance and correlation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..deps import Svc
from ..models import ErrorOut
from .artifacts import require

router = APIRouter(tags=["sweeps"], responses={404: {"model": ErrorOut}})

DETAILED = 100  # a project's newest sweeps listed with their best run; older ones without

SUMMARY_FIELDS = ("id", "project", "name", "description", "method", "state", "created_at",
                  "updated_at", "run_count", "runs_by_state", "metric", "planned", "best")


def _brief(sweep: dict[str, Any]) -> dict[str, Any]:
    return {k: sweep.get(k) for k in SUMMARY_FIELDS}


@router.get("/projects/{project}/sweeps", summary="A project's sweeps")
def list_sweeps(project: str, svc: Svc) -> list[dict[str, Any]]:
    """Newest first: ``id, name, method, state, run_count, runs_by_state, metric
    ({name, goal, target}), planned`` and ``best`` ({run_id, name, value, params})."""
    require(svc, project)
    from ...sweeps.results import sweep_summary
    from ...sweeps.store import SweepIndex

    out = []
    for i, row in enumerate(SweepIndex(svc.store).list_sweeps(project)):
        if i < DETAILED:
            out.append(_brief(sweep_summary(svc.store, row["id"])))
        else:
            metric = (row.get("config") or {}).get("metric")
            out.append(_brief({**row, "metric": metric if isinstance(metric, dict) else None}))
    return out


@router.get("/sweeps/{sweep_id}", summary="A sweep's page data")
def get_sweep(sweep_id: str, svc: Svc) -> dict[str, Any]:
    """``{sweep, runs, best_so_far, importance}``, as
    :func:`labtrack.sweeps.results.sweep_page` returns them (no NaN: missing is null)."""
    from ...sweeps.results import sweep_page
    from ...sweeps.store import SweepIndex

    require(svc, SweepIndex(svc.store).get(sweep_id)["project"])
    return sweep_page(svc.store, sweep_id)


__all__ = ["router"]
