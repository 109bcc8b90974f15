"""A script that never imports numpy is logged without it, and reads back the same.

The run writer encodes rows with plain Python while the process has not imported
numpy (see ``labtrack.store.chunks``); these tests run the same script with and
without numpy imported first and require the same stored points and summary.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labtrack

SCRIPT = """
import sys, time, warnings
{preload}
import labtrack
warnings.simplefilter("ignore")
run = labtrack.init(project="p", name="{name}", config={{"lr": 0.1}})
for i in range(3000):
    run.log({{"loss": 1 / (i + 1), "acc": i / 3000, "flag": i % 2 == 0, "count": i}})
    if i == 500:
        time.sleep(0.3)  # a flush happens here (LABTRACK_FLUSH_INTERVAL=0.1)
        run._writer.flush()  # surely: later small flushes merge into these chunks
    if i % 7 == 0:
        run.log({{"val/loss": float("nan") if i % 21 == 0 else 2.0 / (i + 1),
                  "big": 10 ** 400 if i == 700 else (float("inf") if i == 1400 else i)}})
run.log({{"loss": 5.0}}, step=10)  # backwards
run.finish()
print("numpy" in sys.modules)
"""


def _run(python: str, env: dict[str, str], name: str, preload: str) -> str:
    out = subprocess.run([python, "-c", SCRIPT.format(name=name, preload=preload)],
                         env={**env, "LABTRACK_FLUSH_INTERVAL": "0.1"},
                         capture_output=True, text=True, timeout=120, check=True)
    return out.stdout.strip()


def test_logging_without_numpy_stores_what_numpy_would(
        store_dir: Path, child_env: dict[str, str], python: str) -> None:
    assert _run(python, child_env, "plain", "") == "False"  # never imported numpy
    assert _run(python, child_env, "numpy", "import numpy") == "True"
    # a big batch makes the writer import numpy mid-run: plain flushes, then numpy ones
    assert _run(python, child_env, "switch",
                "import labtrack.writer as w; w.PLAIN_MAX_POINTS = 5000") == "True"
    api = labtrack.Api(store_dir)
    runs = {r.name: r for r in api.runs("p")}
    with_numpy = runs["numpy"]
    for name in ("plain", "switch"):
        _same(runs[name], with_numpy)


def _same(plain: Any, with_numpy: Any) -> None:
    keys = ["loss", "acc", "flag", "count", "val/loss", "big"]
    for key in keys:
        a, b = plain.series(key), with_numpy.series(key)
        assert np.array_equal(a[0], b[0]), key  # steps
        assert np.array_equal(a[1], b[1], equal_nan=True), key  # values
        assert len(a[0]) > 0
    assert plain.series("big")[1][100] == math.inf  # 10**400 stored as +inf
    for key in keys:
        left, right = plain.summary[key], with_numpy.summary[key]
        if isinstance(right, float) and math.isnan(right):
            assert math.isnan(left)
        else:
            assert left == pytest.approx(right, rel=1e-12), key
    # kind, count, min, max, backwards ... of every series
    assert _info(plain) == _info(with_numpy)


def _info(run: Any) -> dict[str, dict[str, Any]]:
    out = {}
    for info in run.series_info():
        info = {k: v for k, v in info.items() if "time" not in k}
        out[info["key"]] = info
    return out
