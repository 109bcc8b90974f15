"""labtrack through its public API: ``labtrack.init/log/finish``, ``Api``, ``labtrack ui``."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from peers_child import Ctx
from peers_data import (
    ACC_ABOVE,
    LR_BELOW,
    Clock,
    chart_series,
    hot_rows,
    query_runs,
    run_params,
    tool_bytes,
)

PACKAGE = "labtrack"
# git is off for every tool (the benchmark folder is no repository anyway); system
# metrics are off for every tool; environment capture stays at each tool's default
ENV = {"LABTRACK_SILENT": "1", "LABTRACK_DISABLE_GIT": "1", "LABTRACK_DISABLE_STATS": "1"}
NA: dict[str, str] = {}
HOW = {
    "A": "`run.log(row)`", "B": "`init` / `log` / `finish` x 100",
    "C": "`Api().run(id).series(key)` (numpy arrays)",
    "D": "`Api().runs(filter='config.lr < x and summary.acc > y')`",
    "E": "`labtrack ui`, `POST /api/v1/charts`",
    "F": "`Artifact.add_dir` + `run.log_artifact`",
}


def _use(ctx: Ctx) -> None:
    os.environ["LABTRACK_DIR"] = str(ctx.data)


def init_store(ctx: Ctx) -> dict[str, Any]:
    """Untimed: create the store, as on any machine that has used labtrack before."""
    _use(ctx)
    import labtrack

    labtrack.init(project="setup", name="setup").finish()
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    _use(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import labtrack

    clock.mark("import")
    run = labtrack.init(project="bench", config=run_params(0))
    clock.mark("init")
    for row in rows:
        run.log(row)
    clock.mark("loop")
    run.finish()
    clock.mark("finish")
    return {**clock.out, "steps": len(rows), "disk": tool_bytes(ctx.job) - before,
            "state": {"run_id": run.id}}


def many_runs(ctx: Ctx) -> dict[str, Any]:
    s = ctx.sizes
    rows = hot_rows(s.b_steps, s.b_width)
    params = [run_params(i, s.b_params) for i in range(s.b_runs)]
    _use(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import labtrack

    clock.mark("import")
    for i in range(s.b_runs):
        run = labtrack.init(project="many", name=f"run-{i}", config=params[i])
        for row in rows:
            run.log(row)
        run.finish()
    clock.mark("runs")
    return {**clock.out, "disk": tool_bytes(ctx.job) - before}


def read_series(ctx: Ctx) -> dict[str, Any]:
    _use(ctx)
    clock = Clock()
    import labtrack

    clock.mark("import")
    api = labtrack.Api(ctx.data)
    steps, values, _ = api.run(ctx.state["run_id"]).series("train/m0")
    clock.mark("read")
    rows = api.run(ctx.state["run_id"]).history(keys=["train/m0"])
    clock.mark("read_rows")
    assert len(rows) == len(steps)
    return {**clock.out, "points": len(values)}


def prepare_query(ctx: Ctx) -> dict[str, Any]:
    os.environ["LABTRACK_DISABLE_ENV"] = "1"  # untimed setup: skip what the query ignores
    _use(ctx)
    import labtrack

    for r in query_runs(ctx.sizes.d_runs):
        run = labtrack.init(project="query", name=r["name"],
                            config={"lr": r["lr"], "batch_size": r["batch_size"]})
        run.log({"acc": r["acc"], "loss": r["loss"]})
        run.finish()
    return {}


def query(ctx: Ctx) -> dict[str, Any]:
    _use(ctx)
    clock = Clock()
    import labtrack

    clock.mark("import")
    runs = labtrack.Api(ctx.data).runs(
        "query", filter=f"config.lr < {LR_BELOW!r} and summary.acc > {ACC_ABOVE!r}")
    clock.mark("query")
    return {**clock.out, "matches": len(runs)}


def prepare_chart(ctx: Ctx) -> dict[str, Any]:
    os.environ["LABTRACK_DISABLE_ENV"] = "1"
    _use(ctx)
    import labtrack

    ids = []
    for i in range(ctx.sizes.e_runs):
        run = labtrack.init(project="chart", name=f"chart-{i}")
        for v in chart_series(i, ctx.sizes.e_points):
            run.log({"loss": v})
        run.finish()
        ids.append(run.id)
    return {"state": {"run_ids": ids}}


def chart(ctx: Ctx) -> dict[str, Any]:
    from peers_http import Server, cold_warm, free_port, request

    ids = ctx.state["run_ids"]
    port = free_port()
    exe = Path(sys.executable).parent / "labtrack"
    argv = [str(exe), "ui", "--no-browser", "--port", str(port), "--dir", str(ctx.data)]
    with Server(argv, port, ctx.job) as server:
        start = server.wait_ready("/api/v1/projects")

        def fetch(max_points: int) -> Any:
            body = {"runs": ids, "keys": ["loss"], "max_points": max_points}
            return request(port, "POST", "/api/v1/charts", body)

        cold, warm, size, data = cold_warm(lambda: fetch(ctx.sizes.e_max_points))
        out = {"start": start, "cold": cold, "warm": warm, "bytes": size,
               "lines": _count_lines(data)}
        if ctx.rep == 0:  # all points, once: it is slow for some peers
            full, full_size, full_data = fetch(ctx.sizes.e_points)
            out.update(full=full, full_bytes=full_size, full_points=_count_points(full_data))
    return out


def _lines(data: dict[str, Any]) -> list[dict[str, Any]]:
    return list(data["lines"])


def _count_lines(data: dict[str, Any]) -> int:
    return len(_lines(data))


def _count_points(data: dict[str, Any]) -> int:
    return sum(len(line["y"]) for line in _lines(data))


def artifacts(ctx: Ctx) -> dict[str, Any]:
    assert ctx.artifact_src is not None
    _use(ctx)
    import labtrack

    clock = Clock()
    for attempt in ("first", "second"):
        run = labtrack.init(project="artifacts")
        clock.reset()
        art = labtrack.Artifact("data", type="dataset")
        art.add_dir(str(ctx.artifact_src))
        run.log_artifact(art)
        run.finish()
        clock.mark(attempt)
    return {**clock.out, "disk": tool_bytes(ctx.job)}
