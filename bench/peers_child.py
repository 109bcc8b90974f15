"""One measurement in a fresh process: ``python bench/peers_child.py SPEC.json``.

The spec names the tool, the workload (a function of the tool's ``peers_<tool>``
module), the job folder and the sizes. The result (the function's numbers plus
peak RSS of this process) is written as JSON to
``<job>/result.json``; a failure writes ``{"error": ...}`` there instead. Output goes
to files rather than pipes, so a helper process that outlives us (wandb-core)
cannot hold the parent up.
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

# ruff: noqa: E402 - the clock above starts before anything else is imported
import importlib
import json
import resource
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from peers_data import Sizes


@dataclass
class Ctx:
    """What a workload function gets."""

    tool: str
    workload: str
    job: Path  # this measurement's folder (also the cwd and $HOME)
    sizes: Sizes
    source: Path | None = None  # a prepared job folder to read from (C, D, E)
    state: dict[str, Any] = field(default_factory=dict)  # what the preparing job saved
    artifact_src: Path | None = None
    rep: int = 0  # which repetition (E asks for all points in the first one only)

    @property
    def data(self) -> Path:
        """Where the tool keeps its data: under the source job when there is one."""
        return (self.source or self.job) / "data"


def timer() -> float:
    return time.perf_counter()


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    job = Path(spec["job"])
    out = job / "result.json"
    try:
        source = Path(spec["source"]) if spec.get("source") else None
        state = json.loads((source / "state.json").read_text()) if source and (
            source / "state.json").exists() else {}
        ctx = Ctx(tool=spec["tool"], workload=spec["workload"], job=job,
                  sizes=Sizes(**spec["sizes"]), source=source, state=state,
                  rep=int(spec.get("rep") or 0),
                  artifact_src=Path(spec["artifact_src"]) if spec.get("artifact_src") else None)
        module = importlib.import_module(f"peers_{spec['tool']}")
        result: dict[str, Any] = getattr(module, spec["function"])(ctx) or {}
        saved = result.pop("state", None)
        if saved is not None:
            (job / "state.json").write_text(json.dumps(saved))
        result["elapsed"] = time.perf_counter() - STARTED
        # Linux reports ru_maxrss in KiB. Child processes are left out: a forked child's
        # peak includes its parent's pages at fork time, so the number would mislead
        result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        out.write_text(json.dumps(result))
    except BaseException as err:  # noqa: B036 - report anything, the parent decides
        out.write_text(json.dumps({"error": f"{type(err).__name__}: {err}",
                                   "traceback": traceback.format_exc()[-4000:]}))
        return 1
    finally:
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    # a normal exit: the tools' atexit hooks run, and the parent times them as "exit"
    sys.exit(code)
