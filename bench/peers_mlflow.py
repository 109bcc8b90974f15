"""MLflow on a local SQLite file: ``mlflow.log_metrics``, ``MlflowClient``, ``mlflow server``."""

from __future__ import annotations

import os
import sys
import time
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

PACKAGE = "mlflow"
ENV = {
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false", "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",  # the default; async is no faster here
    "GIT_PYTHON_REFRESH": "quiet",
}
# one log_metrics() is one SQLite transaction (7-30 ms here): the whole of A and B would
# take 5-20 minutes per repetition, so by default a part is run and scaled (--full: all)
CAPS = {"a_steps": 500, "b_runs": 3}
NA: dict[str, str] = {}
HOW = {
    "A": "`mlflow.log_metrics(row, step=i)`",
    "B": "`start_run` / `log_params` / `log_metrics` / `end_run` x 100",
    "C": "`MlflowClient().get_metric_history(run_id, key)` (Metric objects)",
    "D": "`MlflowClient().search_runs(filter_string='metrics.lr < x and metrics.acc > y')`; "
         "params are strings that only support = != LIKE, so lr is also logged as a metric",
    "E": "`mlflow server` (sqlite backend), `GET /ajax-api/2.0/mlflow/metrics/"
         "get-history-bulk-interval` (the UI's chart call); all points: "
         "`GET /api/2.0/mlflow/metrics/get-history` per run",
    "F": "`mlflow.log_artifacts(folder)`",
}


def _uri(ctx: Ctx) -> str:
    ctx.data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{ctx.data / 'mlflow.db'}"


def _experiment(mlflow: Any, ctx: Ctx, name: str) -> None:
    """Create-or-use an experiment whose artifacts live under the data folder."""
    if mlflow.get_experiment_by_name(name) is None:
        mlflow.create_experiment(name, artifact_location=(ctx.data / "artifacts").as_uri())
    mlflow.set_experiment(name)


def init_store(ctx: Ctx) -> dict[str, Any]:
    """Untimed: create the database (its migrations) and the experiments."""
    import mlflow

    mlflow.set_tracking_uri(_uri(ctx))
    for name in ("bench", "many", "artifacts"):
        _experiment(mlflow, ctx, name)
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    uri = _uri(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import mlflow

    clock.mark("import")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench")
    mlflow.start_run()
    mlflow.log_params(run_params(0))
    clock.mark("init")
    for i, row in enumerate(rows):
        mlflow.log_metrics(row, step=i)
    clock.mark("loop")
    run_id = mlflow.active_run().info.run_id
    mlflow.end_run()
    clock.mark("finish")
    return {**clock.out, "steps": len(rows), "disk": tool_bytes(ctx.job) - before,
            "state": {"run_id": run_id}}


def many_runs(ctx: Ctx) -> dict[str, Any]:
    s = ctx.sizes
    rows = hot_rows(s.b_steps, s.b_width)
    params = [run_params(i, s.b_params) for i in range(s.b_runs)]
    uri = _uri(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import mlflow

    clock.mark("import")
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("many")
    for i in range(s.b_runs):
        mlflow.start_run(run_name=f"run-{i}")
        mlflow.log_params(params[i])
        for step, row in enumerate(rows):
            mlflow.log_metrics(row, step=step)
        mlflow.end_run()
    clock.mark("runs")
    return {**clock.out, "disk": tool_bytes(ctx.job) - before}


def _batched(client: Any, run_id: str, metrics: list[Any]) -> None:
    for start in range(0, len(metrics), 1000):  # log_batch takes at most 1000 metrics
        client.log_batch(run_id, metrics=metrics[start:start + 1000])


def prepare_series(ctx: Ctx) -> dict[str, Any]:
    """Untimed: one run with the full C series (log_batch, so setup stays short)."""
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(_uri(ctx))
    client = mlflow.MlflowClient()
    exp = client.create_experiment("series", artifact_location=(ctx.data / "a").as_uri())
    run = client.create_run(exp)
    now = int(time.time() * 1000)
    rows = hot_rows(ctx.sizes.c_points, ctx.sizes.a_width)
    metrics = [Metric(k, v, now, step) for step, row in enumerate(rows) for k, v in row.items()]
    _batched(client, run.info.run_id, metrics)
    client.set_terminated(run.info.run_id)
    return {"state": {"run_id": run.info.run_id}}


def read_series(ctx: Ctx) -> dict[str, Any]:
    uri = f"sqlite:///{ctx.data / 'mlflow.db'}"
    clock = Clock()
    from mlflow import MlflowClient

    clock.mark("import")
    history = MlflowClient(uri).get_metric_history(ctx.state["run_id"], metric_keys(1)[0])
    clock.mark("read")
    return {**clock.out, "points": len(history)}


def prepare_query(ctx: Ctx) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import Metric, Param

    mlflow.set_tracking_uri(_uri(ctx))
    client = mlflow.MlflowClient()
    exp = client.create_experiment("query", artifact_location=(ctx.data / "a").as_uri())
    now = int(time.time() * 1000)
    for r in query_runs(ctx.sizes.d_runs):
        run = client.create_run(exp, run_name=r["name"])
        client.log_batch(
            run.info.run_id,
            params=[Param("lr", repr(r["lr"])), Param("batch_size", str(r["batch_size"]))],
            metrics=[Metric("acc", r["acc"], now, 0), Metric("loss", r["loss"], now, 0),
                     Metric("lr", r["lr"], now, 0)])
        client.set_terminated(run.info.run_id)
    return {}


def query(ctx: Ctx) -> dict[str, Any]:
    uri = f"sqlite:///{ctx.data / 'mlflow.db'}"
    clock = Clock()
    from mlflow import MlflowClient

    clock.mark("import")
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("query")
    runs = client.search_runs([exp.experiment_id], max_results=50_000,
                              filter_string=f"metrics.lr < {LR_BELOW!r} and "
                                            f"metrics.acc > {ACC_ABOVE!r}")
    clock.mark("query")
    return {**clock.out, "matches": len(runs)}


def prepare_chart(ctx: Ctx) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(_uri(ctx))
    client = mlflow.MlflowClient()
    exp = client.create_experiment("chart", artifact_location=(ctx.data / "a").as_uri())
    now = int(time.time() * 1000)
    ids = []
    for i in range(ctx.sizes.e_runs):
        run = client.create_run(exp, run_name=f"chart-{i}")
        values = chart_series(i, ctx.sizes.e_points)
        _batched(client, run.info.run_id,
                 [Metric("loss", v, now + step, step) for step, v in enumerate(values)])
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return {"state": {"run_ids": ids}}


def chart(ctx: Ctx) -> dict[str, Any]:
    from urllib.parse import urlencode

    from peers_http import Server, cold_warm, free_port, request

    ids = ctx.state["run_ids"]
    port = free_port()
    exe = Path(sys.executable).parent / "mlflow"
    argv = [str(exe), "server", "--backend-store-uri", f"sqlite:///{ctx.data / 'mlflow.db'}",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {k: v for k, v in os.environ.items() if k.startswith("MLFLOW")}
    with Server(argv, port, ctx.job, env) as server:
        start = server.wait_ready("/health")
        query = urlencode([("run_ids", i) for i in ids] + [
            ("metric_key", "loss"), ("max_results", ctx.sizes.e_max_points)])
        path = "/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?" + query
        cold, warm, size, data = cold_warm(lambda: request(port, "GET", path))
        out = {"start": start, "cold": cold, "warm": warm, "bytes": size,
               "lines": len({m["run_id"] for m in data.get("metrics", [])})}
        if ctx.rep == 0:  # all points, once: one request per run
            t0 = time.perf_counter()
            full_bytes = full_points = 0
            for run_id in ids:
                _, n, got = request(port, "GET", "/api/2.0/mlflow/metrics/get-history?"
                                    + urlencode({"run_id": run_id, "metric_key": "loss",
                                                 "max_results": ctx.sizes.e_points}))
                full_bytes += n
                full_points += len(got.get("metrics", []))
            out.update(full=time.perf_counter() - t0, full_bytes=full_bytes,
                       full_points=full_points)
    return out


def artifacts(ctx: Ctx) -> dict[str, Any]:
    assert ctx.artifact_src is not None
    import mlflow

    mlflow.set_tracking_uri(_uri(ctx))
    _experiment(mlflow, ctx, "artifacts")
    clock = Clock()
    for attempt in ("first", "second"):
        mlflow.start_run()
        clock.reset()
        mlflow.log_artifacts(str(ctx.artifact_src), artifact_path="data")
        mlflow.end_run()
        clock.mark(attempt)
    return {**clock.out, "disk": tool_bytes(ctx.job)}
