"""wandb in offline mode: ``wandb.init(mode="offline")`` / ``run.log`` / ``run.finish``."""

from __future__ import annotations

from typing import Any

from peers_child import Ctx
from peers_data import Clock, hot_rows, run_params, tool_bytes

PACKAGE = "wandb"
ENV = {
    "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_DISABLE_GIT": "true",
    "WANDB_DISABLE_CODE": "true", "WANDB_ERROR_REPORTING": "false",
    "WANDB_X_DISABLE_STATS": "true",  # system metrics off, as for every tool
}
_NO_READ = ("offline runs have no read API: `wandb.Api` reads from the W&B server only; "
            "the .wandb file can only be synced")
# B takes ~0.5 s a run: a fifth of the runs, scaled (--full: all of them)
CAPS = {"b_runs": 20}
NA = {
    "C": _NO_READ,
    "D": "offline runs cannot be queried (`wandb.Api().runs(filters=...)` needs the server)",
    "E": "no local UI or HTTP API in offline mode (the W&B server is a separate product)",
}
HOW = {
    "A": "`run.log(row)`", "B": "`wandb.init` / `run.log` / `run.finish` x 100",
    "F": "`wandb.Artifact.add_dir` + `run.log_artifact` (offline: staged until sync)",
}


def _dirs(ctx: Ctx) -> dict[str, str]:
    ctx.data.mkdir(parents=True, exist_ok=True)
    return {"dir": str(ctx.data)}


def init_store(ctx: Ctx) -> dict[str, Any]:
    """Nothing to set up: an offline run directory needs no store."""
    ctx.data.mkdir(parents=True, exist_ok=True)
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    kwargs = _dirs(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import wandb

    clock.mark("import")
    run = wandb.init(project="bench", config=run_params(0), **kwargs)
    clock.mark("init")
    for row in rows:
        run.log(row)
    clock.mark("loop")
    run.finish()
    clock.mark("finish")
    return {**clock.out, "steps": len(rows), "disk": tool_bytes(ctx.job) - before}


def many_runs(ctx: Ctx) -> dict[str, Any]:
    s = ctx.sizes
    rows = hot_rows(s.b_steps, s.b_width)
    params = [run_params(i, s.b_params) for i in range(s.b_runs)]
    kwargs = _dirs(ctx)
    before = tool_bytes(ctx.job)
    clock = Clock()
    import wandb

    clock.mark("import")
    for i in range(s.b_runs):
        run = wandb.init(project="many", name=f"run-{i}", config=params[i], **kwargs)
        for row in rows:
            run.log(row)
        run.finish()
    clock.mark("runs")
    return {**clock.out, "disk": tool_bytes(ctx.job) - before}


def artifacts(ctx: Ctx) -> dict[str, Any]:
    assert ctx.artifact_src is not None
    kwargs = _dirs(ctx)
    import wandb

    clock = Clock()
    for attempt in ("first", "second"):
        run = wandb.init(project="artifacts", **kwargs)
        clock.reset()
        art = wandb.Artifact("data", type="dataset")
        art.add_dir(str(ctx.artifact_src))
        run.log_artifact(art)
        run.finish()
        clock.mark(attempt)
    return {**clock.out, "disk": tool_bytes(ctx.job)}
