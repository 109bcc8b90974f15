"""The floor: the hot loop doing only ``json.dumps`` + a file append, then flush + fsync."""

from __future__ import annotations

import json
import os
from typing import Any

from peers_child import Ctx
from peers_data import Clock, hot_rows, tool_bytes

PACKAGE = ""
ENV: dict[str, str] = {}
_ONLY_A = "the floor is only defined for the hot loop"
NA = dict.fromkeys("BCDEF", _ONLY_A)
HOW = {"A": "`f.write(json.dumps(row) + '\\n')`"}


def init_store(ctx: Ctx) -> dict[str, Any]:
    ctx.data.mkdir(parents=True, exist_ok=True)
    return {}


def hot_loop(ctx: Ctx) -> dict[str, Any]:
    rows = hot_rows(ctx.sizes.a_steps, ctx.sizes.a_width)
    before = tool_bytes(ctx.job)
    clock = Clock()
    clock.mark("import")  # json is already imported: nothing to load
    fh = open(ctx.data / "metrics.jsonl", "a")  # noqa: SIM115 - closed below, timed
    clock.mark("init")
    for row in rows:
        fh.write(json.dumps(row) + "\n")
    clock.mark("loop")
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
    clock.mark("finish")
    return {**clock.out, "steps": len(rows), "disk": tool_bytes(ctx.job) - before}
