"""trackio, local only: ``trackio.init/log/finish``, its SQLite reader, ``trackio.show``."""

from __future__ import annotations

import os
import sys
from typing import Any

from peers_child import Ctx
from peers_data import Clock, chart_series, hot_rows, metric_keys, run_params, tool_bytes

PACKAGE = "trackio"
ENV = {"TRACKIO_PLOT_ORDER": ""}  # TRACKIO_DIR is set per job; HF_HUB_OFFLINE=1 for all
# no caps: B's 100 runs take ~2 s. (It ran 25 runs scaled x4 until session 7, which
# understated it: a trackio run gets slower as its project fills, ~18 ms each over the
# first 25 runs, ~21 ms over 100.)
CAPS: dict[str, int] = {}
NA = {"D": "no query API: `trackio.Api().runs(project)` lists runs and their config, "
           "without filters or summaries"}
HOW = {
    "A": "`trackio.log(row)`", "B": "`trackio.init` / `trackio.log` / `trackio.finish` x 100",
    "C": "`SQLiteStorage.get_metric_values(project, run, key)` (internal: trackio has no "
         "public history reader)",
    "E": "`trackio.show()` server, `POST /api/get_logs_batch` (what its dashboard calls)",
    "F": "`trackio.log_artifact(folder)`",
}
_INIT_KW = {"auto_log_cpu": False, "auto_log_gpu": False, "embed": False}


def _use(ctx: Ctx) -> None:
    ctx.data.mkdir(parents=True, exist_ok=True)
    os.environ["TRACKIO_DIR"] = str(ctx.data)


def init_store(ctx: Ctx) -> dict[str, Any]:
    """Untimed: create the projects' databases (trackio keeps one per project)."""
    _use(ctx)
    import trackio

    for project in ("bench", "many"):
        trackio.init(project=project, name="setup", **_INIT_KW)
        trackio.log({"setup": 1.0})
        trackio.finish()
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    _use(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import trackio

    clock.mark("import")
    run = trackio.init(project="bench", config=run_params(0), **_INIT_KW)
    clock.mark("init")
    for row in rows:
        trackio.log(row)
    clock.mark("loop")
    trackio.finish()
    clock.mark("finish")
    return {**clock.out, "steps": len(rows), "disk": tool_bytes(ctx.job) - before,
            "state": {"run": run.name, "project": "bench"}}


def many_runs(ctx: Ctx) -> dict[str, Any]:
    s = ctx.sizes
    rows = hot_rows(s.b_steps, s.b_width)
    params = [run_params(i, s.b_params) for i in range(s.b_runs)]
    _use(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import trackio

    clock.mark("import")
    for i in range(s.b_runs):
        trackio.init(project="many", name=f"run-{i}", config=params[i], **_INIT_KW)
        for row in rows:
            trackio.log(row)
        trackio.finish()
    clock.mark("runs")
    return {**clock.out, "disk": tool_bytes(ctx.job) - before}


def read_series(ctx: Ctx) -> dict[str, Any]:
    _use(ctx)
    clock = Clock()
    from trackio.sqlite_storage import SQLiteStorage

    clock.mark("import")
    rows = SQLiteStorage.get_metric_values(ctx.state["project"], ctx.state["run"],
                                           metric_keys(1)[0])
    clock.mark("read")
    return {**clock.out, "points": len(rows)}


def prepare_chart(ctx: Ctx) -> dict[str, Any]:
    _use(ctx)
    import trackio

    names = []
    for i in range(ctx.sizes.e_runs):
        trackio.init(project="chart", name=f"chart-{i}", **_INIT_KW)
        for v in chart_series(i, ctx.sizes.e_points):
            trackio.log({"loss": v})
        trackio.finish()
        names.append(f"chart-{i}")
    return {"state": {"runs": names}}


def chart(ctx: Ctx) -> dict[str, Any]:
    from peers_http import Server, cold_warm, free_port, request

    port = free_port()
    code = (f"import trackio; trackio.show(project='chart', server_port={port}, "
            "open_browser=False, block_thread=True)")
    with Server([sys.executable, "-c", code], port, ctx.job,
                {"TRACKIO_DIR": str(ctx.data)}) as server:
        start = server.wait_ready("/version")

        def fetch(points: int) -> tuple[float, int, Any]:
            body = {"project": "chart", "runs": [{"run": r} for r in ctx.state["runs"]],
                    "max_points": points}
            return request(port, "POST", "/api/get_logs_batch", body)

        cold, warm, size, data = cold_warm(lambda: fetch(ctx.sizes.e_max_points))
        out = {"start": start, "cold": cold, "warm": warm, "bytes": size,
               "lines": len(data["data"])}
        if ctx.rep == 0:  # all points, once
            full, full_bytes, full_data = fetch(ctx.sizes.e_points)
            out.update(full=full, full_bytes=full_bytes,
                       full_points=sum(len(r["logs"]) for r in full_data["data"]))
    return out


def artifacts(ctx: Ctx) -> dict[str, Any]:
    assert ctx.artifact_src is not None
    _use(ctx)
    import trackio

    clock = Clock()
    for attempt in ("first", "second"):
        trackio.init(project="artifacts", **_INIT_KW)
        clock.reset()
        trackio.log_artifact(str(ctx.artifact_src), name="data", type="dataset")
        trackio.finish()
        clock.mark(attempt)
    return {**clock.out, "disk": tool_bytes(ctx.job)}
