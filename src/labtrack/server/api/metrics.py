"""``/api/v1`` metric series: a run's series, the keys of several runs, chart data."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ..charts import ChartBuilder, lines_json
from ..columns import json_value
from ..deps import Svc
from ..models import ChartOut, ChartRequest, ErrorOut, KeyOut, KeysRequest, SeriesOut

router = APIRouter(tags=["metrics"], responses={404: {"model": ErrorOut}})


@router.get("/runs/{run_id}/series", response_model=list[SeriesOut], summary="A run's series")
def run_series(run_id: str, svc: Svc) -> list[SeriesOut]:
    """Every metric series of a run with its running stats (no points)."""
    svc.store.get_run(run_id)  # 404 for an unknown run
    return [SeriesOut(**json_value(s)) for s in svc.store.series(run_id)]


@router.post("/metrics/keys", response_model=list[KeyOut], summary="Metric keys of runs")
def metric_keys(body: KeysRequest, svc: Svc) -> list[KeyOut]:
    """The union of the runs' metric keys, with how many runs have each."""
    counts: dict[str, int] = {}
    for run_id in dict.fromkeys(body.runs):
        for s in svc.store.series(run_id):
            if s.get("count"):
                counts[s["key"]] = counts.get(s["key"], 0) + 1
    ordered = sorted(counts, key=lambda k: (k.startswith("system/"), k.startswith("_"), k))
    return [KeyOut(key=k, runs=counts[k], system=k.startswith("system/")) for k in ordered]


@router.post("/charts", response_model=ChartOut, summary="Chart data",
             responses={400: {"model": ErrorOut}})
def chart(body: ChartRequest, svc: Svc) -> Response:
    """Lines of ``runs`` x ``keys`` against an x axis, each downsampled to ``max_points``.

    Downsampling keeps the minimum and maximum of each bucket of consecutive
    points; ``total`` is the line's point count before it, ``sampled`` says
    whether it was reduced. NaN and infinite values come back as ``null``.
    """
    builder = ChartBuilder(svc.store, svc.chart_cache)
    result = builder.lines(list(dict.fromkeys(body.runs)), list(dict.fromkeys(body.keys)),
                           body.x, body.x_key, body.max_points, body.encoding)
    return Response(lines_json(result), media_type="application/json")
