"""Speed of the UI's JSON API (targets: runs page <= 300 ms, 50x100k chart <= 500 ms).

Builds a store under ``--dir`` (default: a temporary folder) through the store's
own ``apply`` path, exactly as run writers index their records:

* project ``bench-table``: 10,000 finished runs with a config and a summary;
* project ``bench-chart``: 50 runs with one metric of 100,000 points each,
  stored in chunks of 4,096 points as the writer would leave them.

Then it times, through an in-process HTTP client (FastAPI's TestClient):

* the first page of the runs table (default order, then sorted by a summary
  metric, then filtered), with its total count;
* the grouped table (group by a config key, mean/min/max of a metric);
* the chart request for the 50 runs, cold (series decoded) and warm (cached), with
  the UI's base64 encoding of the lines, and cold with plain JSON arrays.

    python bench/ui_api.py [--dir D] [--repeat 5]

Prints one JSON object: for each measure the median and the best of ``--repeat`` tries,
and the load average of the machine while it ran.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from labtrack.runlog import Record
from labtrack.store import open_store
from labtrack.store.chunks import encode

CHUNK = 4096


def _run_header(project: str, name: str, created: float, config: dict[str, Any],
                summary: dict[str, Any], finished: bool = True) -> dict[str, Any]:
    header: dict[str, Any] = {
        "seq": 0, "time": created,
        "run": {"project": project, "name": name, "created_at": created, "host": "bench",
                "tags": ["bench", f"t{len(name) % 3}"]},
        "config": config, "summary": summary, "step": 0,
    }
    if finished:
        header["state"] = {"state": "finished", "exit_code": 0, "error": None,
                           "finished_at": created + 60.0}
    return header


def make_table_project(store: Any, n_runs: int = 10_000, project: str = "bench-table") -> None:
    """``n_runs`` finished runs with varied configs and summaries (no points)."""
    rng = np.random.default_rng(0)
    t0 = time.time() - n_runs * 10.0
    for i in range(n_runs):
        lr = float(10 ** rng.uniform(-5, -1))
        config = {"lr": lr, "batch_size": int(rng.choice([32, 64, 128, 256])),
                  "optimizer": {"name": str(rng.choice(["adam", "sgd", "adamw"]))},
                  "layers": int(rng.integers(1, 9)), "seed": i}
        summary = {"loss": float(rng.uniform(0.05, 2.0)), "acc": float(rng.uniform(0.5, 0.99)),
                   "epoch": 10}
        header = _run_header(project, f"run-{i:05d}", t0 + i * 10.0, config, summary)
        store.apply(f"tbl{i:05d}", [Record(header, [])])


def make_chart_project(store: Any, n_runs: int = 50, points: int = 100_000,
                       project: str = "bench-chart", key: str = "loss") -> list[str]:
    """``n_runs`` runs with ``points`` points of ``key`` each; returns the run ids."""
    rng = np.random.default_rng(1)
    ids = []
    t0 = time.time() - 3600.0
    for r in range(n_runs):
        run_id = f"chart{r:03d}"
        steps = np.arange(points, dtype=np.int64)
        values = np.exp(-steps / (points / 5)) + rng.normal(0, 0.05, points) + r * 0.01
        times = t0 + steps * 0.01
        header = _run_header(project, f"chart-{r:03d}", t0, {"lr": 0.001 * (r + 1)},
                             {key: float(values[-1])})
        records = [Record(header, [])]
        for seq, start in enumerate(range(0, points, CHUNK), start=1):
            s, v, t = steps[start:start + CHUNK], values[start:start + CHUNK], \
                times[start:start + CHUNK]
            entry = {"key": key, "n": len(s), "kind": "float", "first_step": int(s[0]),
                     "last_step": int(s[-1]), "min": float(v.min()), "max": float(v.max()),
                     "last": float(v[-1]), "last_time": float(t[-1])}
            records.append(Record({"seq": seq, "time": float(t[-1]), "series": [entry]},
                                  [encode(s, v, t)]))
        store.apply(run_id, records)
        ids.append(run_id)
    return ids


def build(directory: Path, n_runs: int = 10_000, chart_runs: int = 50,
          points: int = 100_000) -> list[str]:
    """Fill ``directory`` with both bench projects (skipped when already there)."""
    store = open_store(directory)
    try:
        have = {p["name"]: p["run_count"] for p in store.projects()}
        if have.get("bench-table") != n_runs:
            make_table_project(store, n_runs)
        if have.get("bench-chart") != chart_runs:
            make_chart_project(store, chart_runs, points)
        return [r["id"] for r in store.runs("bench-chart", order="name")]
    finally:
        store.close()


def _time(fn: Any, repeat: int) -> dict[str, float]:
    """Median and best of ``repeat`` timed calls, in ms (the best shows the cost on a quiet
    machine; the median what a shared one gives)."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return {"median": round(statistics.median(samples), 1), "best": round(min(samples), 1)}


def main() -> None:
    """Build the data, time the endpoints and print the results as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from labtrack.server import create_app

    tmp = tempfile.TemporaryDirectory() if args.dir is None else None
    directory = Path(tmp.name) if tmp else args.dir
    t = time.perf_counter()
    ids = build(directory)
    built = time.perf_counter() - t
    store = open_store(directory)
    client = TestClient(create_app(store))
    base = "/api/v1/projects/bench-table/runs"
    cols = "config.lr,config.optimizer.name,summary.loss,summary.acc"

    def page(**params: Any) -> Any:
        resp = client.get(base, params={"limit": 50, "columns": cols, **params})
        assert resp.status_code == 200, resp.text
        assert resp.json()["total"] > 0
        return resp

    body = {"runs": ids, "keys": ["loss"], "x": "step", "max_points": 2000}

    def chart(encoding: str = "base64") -> Any:
        resp = client.post("/api/v1/charts", json=dict(body, encoding=encoding))
        assert resp.status_code == 200, resp.text
        return resp

    def chart_cold(encoding: str = "base64") -> Any:
        client.app.state.chart_cache.clear()  # type: ignore[attr-defined]
        return chart(encoding)

    lines = chart().json()["lines"]
    result = {
        "store_build_s": round(built, 1),
        "runs_page_ms": _time(page, args.repeat),
        "runs_page_sorted_ms": _time(lambda: page(order="-summary.acc"), args.repeat),
        "runs_page_filtered_ms": _time(
            lambda: page(filter='config.optimizer.name == "adam" and summary.loss < 1'),
            args.repeat),
        "runs_page_last_ms": _time(lambda: page(offset=9950), args.repeat),
        "grouped_ms": _time(lambda: client.get(
            "/api/v1/projects/bench-table/groups",
            params={"by": "config.optimizer.name", "metrics": "summary.loss,summary.acc"}),
            args.repeat),
        "chart_50x100k_cold_ms": _time(chart_cold, args.repeat),
        "chart_50x100k_warm_ms": _time(chart, args.repeat),
        "chart_50x100k_cold_json_ms": _time(lambda: chart_cold("json"), args.repeat),
        "chart_lines": len(lines),
        "chart_points_per_line": max(line["points"] for line in lines),
        "chart_points_before": sum(line["total"] for line in lines),
        "targets": {"runs_page_ms": 300, "chart_50x100k_ms": 500},
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    print(json.dumps(result, indent=2))
    store.close()
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
