"""Aim on a local repo: ``Run.track``, ``Repo.query_*``, ``aim up``."""

from __future__ import annotations

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
    metric_keys,
    query_runs,
    run_params,
    tool_bytes,
)

PACKAGE = "aim"
ENV = {"AIM_UI_TELEMETRY_ENABLED": "0"}
# A takes 1-4 ms a step, B ~0.4 s a run: a part is run and scaled (--full: all of it)
CAPS = {"a_steps": 5_000, "b_runs": 20}
NA: dict[str, str] = {}
HOW = {
    "A": "`run.track(row, step=i)` (a dict of 10 values per call)",
    "B": "`Run()` / `run['hparams']` / `run.track` / `run.close()` x 100",
    "C": "`Repo.query_metrics(\"metric.name == k and run.hash == h\")`, "
         "`metric.values.values_numpy()`",
    "D": "`Repo.query_runs(\"run.hparams.lr < x and run.metrics['acc'].last > y\")`",
    "E": "`aim up`, `GET /api/runs/search/metric/?q=metric.name == \"loss\"&p=N` "
         "(the UI's streamed binary response)",
    "F": "`run.log_artifacts(folder, block=True)` to a `file://` artifacts URI",
}
# Runs written by the SDK are visible to Aim's read side once indexed (`aim up` runs an
# index manager; `aim storage reindex` does it by hand); setups index them, untimed.
_RUN_KW: dict[str, Any] = {"system_tracking_interval": None}
# untimed setups also skip terminal capture (100 ms a run) so that 1,000 runs take a minute
_PREP_KW: dict[str, Any] = {**_RUN_KW, "capture_terminal_logs": False}


def _repo(ctx: Ctx) -> str:
    ctx.data.mkdir(parents=True, exist_ok=True)
    return str(ctx.data)


def _index(path: str, hashes: list[str] | None = None) -> None:
    from aim import Repo
    from aim.sdk.index_manager import RepoIndexManager

    repo = Repo.from_path(path)
    manager = RepoIndexManager.get_index_manager(repo)
    for run_hash in hashes or repo._all_run_hashes():
        manager.index(run_hash)


def init_store(ctx: Ctx) -> dict[str, Any]:
    """Untimed: create the repo."""
    from aim import Repo

    Repo.from_path(_repo(ctx), init=True)
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    repo = _repo(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    from aim import Run

    clock.mark("import")
    run = Run(repo=repo, experiment="bench", **_RUN_KW)
    run["hparams"] = run_params(0)
    clock.mark("init")
    for i, row in enumerate(rows):
        run.track(row, step=i)
    clock.mark("loop")
    run.close()
    clock.mark("finish")
    disk = tool_bytes(ctx.job) - before
    _index(repo, [run.hash])  # untimed: so that C can read it
    return {**clock.out, "steps": len(rows), "disk": disk, "state": {"run_hash": run.hash}}


def many_runs(ctx: Ctx) -> dict[str, Any]:
    s = ctx.sizes
    rows = hot_rows(s.b_steps, s.b_width)
    params = [run_params(i, s.b_params) for i in range(s.b_runs)]
    repo = _repo(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    from aim import Run

    clock.mark("import")
    for i in range(s.b_runs):
        run = Run(repo=repo, experiment="many", **_RUN_KW)
        run.name = f"run-{i}"
        run["hparams"] = params[i]
        for step, row in enumerate(rows):
            run.track(row, step=step)
        run.close()
    clock.mark("runs")
    return {**clock.out, "disk": tool_bytes(ctx.job) - before}


def prepare_series(ctx: Ctx) -> dict[str, Any]:
    """Untimed, when A is capped: one run with the full C series among its 10 metrics."""
    from aim import Run

    repo = _repo(ctx)
    run = Run(repo=repo, experiment="series", **_PREP_KW)
    for i, row in enumerate(hot_rows(ctx.sizes.c_points, ctx.sizes.a_width)):
        run.track(row, step=i)
    run.close()
    _index(repo, [run.hash])
    return {"state": {"run_hash": run.hash}}


def read_series(ctx: Ctx) -> dict[str, Any]:
    path = str(ctx.data)
    clock = Clock()
    from aim import Repo

    clock.mark("import")
    repo = Repo.from_path(path)
    q = f"metric.name == '{metric_keys(1)[0]}' and run.hash == '{ctx.state['run_hash']}'"
    metrics = list(repo.query_metrics(q, report_mode=0))
    values = metrics[0].values.values_numpy()
    clock.mark("read")
    return {**clock.out, "points": len(values)}


def prepare_query(ctx: Ctx) -> dict[str, Any]:
    from aim import Run

    repo = _repo(ctx)
    for r in query_runs(ctx.sizes.d_runs):
        run = Run(repo=repo, experiment="query", **_PREP_KW)
        run.name = r["name"]
        run["hparams"] = {"lr": r["lr"], "batch_size": r["batch_size"]}
        run.track({"acc": r["acc"], "loss": r["loss"]}, step=0)
        run.close()
    _index(repo)
    return {}


def query(ctx: Ctx) -> dict[str, Any]:
    path = str(ctx.data)
    clock = Clock()
    from aim import Repo

    clock.mark("import")
    repo = Repo.from_path(path)
    q = f"run.hparams.lr < {LR_BELOW!r} and run.metrics['acc'].last > {ACC_ABOVE!r}"
    runs = [r.run.hash for r in repo.query_runs(q, report_mode=0).iter_runs()]
    clock.mark("query")
    return {**clock.out, "matches": len(runs)}


def prepare_chart(ctx: Ctx) -> dict[str, Any]:
    from aim import Run

    repo = _repo(ctx)
    for i in range(ctx.sizes.e_runs):
        run = Run(repo=repo, experiment="chart", **_PREP_KW)
        run.name = f"chart-{i}"
        for step, v in enumerate(chart_series(i, ctx.sizes.e_points)):
            run.track(v, name="loss", step=step)
        run.close()
    _index(repo)
    return {}


def chart(ctx: Ctx) -> dict[str, Any]:
    from urllib.parse import urlencode

    from peers_http import Server, cold_warm, free_port, request

    port = free_port()
    exe = Path(sys.executable).parent / "aim"
    argv = [str(exe), "up", "--repo", str(ctx.data), "--host", "127.0.0.1",
            "--port", str(port)]
    with Server(argv, port, ctx.job) as server:
        start = server.wait_ready("/api/projects/")

        def fetch(points: int) -> tuple[float, int, Any]:
            path = "/api/runs/search/metric/?" + urlencode(
                {"q": 'metric.name == "loss"', "p": points, "report_progress": "false"})
            return request(port, "GET", path, decode=False)

        cold, warm, size, _ = cold_warm(lambda: fetch(ctx.sizes.e_max_points))
        out = {"start": start, "cold": cold, "warm": warm, "bytes": size}
        if ctx.rep == 0:  # all points, once
            full, full_bytes, _ = fetch(ctx.sizes.e_points)
            out.update(full=full, full_bytes=full_bytes)
    return out


def artifacts(ctx: Ctx) -> dict[str, Any]:
    assert ctx.artifact_src is not None
    repo = _repo(ctx)
    from aim import Run

    clock = Clock()
    for attempt in ("first", "second"):
        run = Run(repo=repo, experiment="artifacts", **_RUN_KW)
        clock.reset()
        run.set_artifacts_uri((ctx.data / "artifacts").as_uri())
        run.log_artifacts(str(ctx.artifact_src), name="data", block=True)
        run.close()
        clock.mark(attempt)
    return {**clock.out, "disk": tool_bytes(ctx.job)}
