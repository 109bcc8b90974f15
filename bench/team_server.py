"""The team server on PostgreSQL under load (targets of issue 9).

1. Logging: ``--procs`` processes (default 8), each logging 10 metrics at 1,000 steps/s
   for ``--seconds`` (default 60) to a ``labtrack server`` process, as training
   machines do (LABTRACK_URL + LABTRACK_API_KEY, no code change). Each child times
   every ``HTTPStore.apply`` call (one batch = one writer flush) in its writer thread.
   Then every point is checked on the server: each series holds exactly the steps
   logged, once each (no loss, no duplicate), and every run finished.
2. The runs table: ``--runs`` runs (default 100,000) in one project of the same
   PostgreSQL database, then ``GET /api/v1/projects/{p}/runs`` with filters, through
   the running server with an API key (target <= 500 ms).

The database is a fresh schema in ``--db`` (default: the local test database), dropped
at the end unless ``--keep``. Prints one JSON object; ``--out`` also writes it.

    python bench/team_server.py            # the full run, about 3 minutes
    python bench/team_server.py --quick    # 10 s of logging and 10,000 runs
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB = os.environ.get("LABTRACK_TEST_POSTGRES",
                            "postgresql://postgres@127.0.0.1:5432/labtrack_test")
METRICS = 10
PYTHONPATH = os.pathsep.join(p for p in (os.environ.get("PYTHONPATH"), str(ROOT / "src")) if p)

CHILD = r"""
import json, os, sys, time
from labtrack.store import http

samples = []
_apply = http.HTTPStore.apply

def timed_apply(self, run_id, records, stream="main"):
    t = time.perf_counter()
    try:
        out = _apply(self, run_id, records, stream)
    except Exception as err:  # the writer keeps the batch and sends it again
        samples.append((time.perf_counter() - t, len(records), f"{type(err).__name__}: {err}"))
        raise
    samples.append((time.perf_counter() - t, len(records), None))
    return out

http.HTTPStore.apply = timed_apply
import labtrack

run_id, seconds, rate, metrics, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
run = labtrack.init(project="bench-log", id=run_id, config={"rate": rate})
keys = [f"m{k}" for k in range(metrics)]
steps = int(seconds * rate)
start = time.perf_counter()
log_time = 0.0
for step in range(steps):
    t = time.perf_counter()
    run.log({k: step * 0.001 + j for j, k in enumerate(keys)}, step=step)
    log_time += time.perf_counter() - t
    if step % 50 == 49:  # pace to `rate` steps per second
        ahead = (step + 1) / rate - (time.perf_counter() - start)
        if ahead > 0:
            time.sleep(ahead)
elapsed = time.perf_counter() - start
t = time.perf_counter()
run.finish()
finish_s = time.perf_counter() - t
json.dump({"run": run_id, "steps": steps, "elapsed": elapsed, "finish_s": finish_s,
           "log_us": log_time / steps * 1e6, "samples": samples}, open(out, "w"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Database:
    """A fresh PostgreSQL schema for the bench."""

    def __init__(self, url: str) -> None:
        import sqlalchemy

        self.schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = sqlalchemy.create_engine(url.replace("postgresql://",
                                                          "postgresql+psycopg://"))
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
        sep = "&" if "?" in url else "?"
        self.url = f"{url}{sep}options=-csearch_path%3D{self.schema}"

    def drop(self) -> None:
        with self.admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self.admin.dispose()


class Server:
    """``labtrack server`` in its own process."""

    def __init__(self, db: str, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, PYTHONPATH=PYTHONPATH)
        data.mkdir(parents=True, exist_ok=True)
        self.log = data / "server.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "labtrack", "server", "--db", db, "--data", str(data),
                 "--blobs", str(data / "blobs"), "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        import httpx

        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("server did not start: " + self.log_tail())
            time.sleep(0.2)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def cpu_seconds(self) -> float:
        import psutil

        times = psutil.Process(self.proc.pid).cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def bench_logging(server: Server, store: Any, key: str, work: Path, procs: int,
                  seconds: float, rate: int) -> dict[str, Any]:
    env = dict(os.environ, LABTRACK_URL=server.url, LABTRACK_API_KEY=key, LABTRACK_SILENT="1",
               LABTRACK_DISABLE_STATS="1", LABTRACK_DISABLE_GIT="1", LABTRACK_DISABLE_ENV="1",
               PYTHONPATH=PYTHONPATH)
    env.pop("LABTRACK_RUN_ID", None)
    children = []
    cpu0 = server.cpu_seconds()
    started = time.perf_counter()
    for i in range(procs):
        out = work / f"child{i}.json"
        child_env = dict(env, LABTRACK_DIR=str(work / f"machine{i}"))
        children.append((out, subprocess.Popen(
            [sys.executable, "-c", CHILD, f"bench{i}", str(seconds), str(rate), str(METRICS),
             str(out)], env=child_env, stderr=subprocess.PIPE, text=True)))
    errors = []
    reports = []
    for out, proc in children:
        _, err = proc.communicate(timeout=seconds * 4 + 120)
        if proc.returncode != 0:
            errors.append(err[-2000:])
        else:
            reports.append(json.loads(out.read_text()))
    wall = time.perf_counter() - started
    server_cpu = server.cpu_seconds() - cpu0
    latencies = [s[0] for r in reports for s in r["samples"] if s[2] is None]
    failed = [s[2][:300] for r in reports for s in r["samples"] if s[2] is not None]
    loss = check_points(store, [r["run"] for r in reports], int(seconds * rate))
    return {
        "processes": procs, "metrics": METRICS, "steps_per_s": rate, "seconds": seconds,
        "points_logged": sum(r["steps"] for r in reports) * METRICS,
        "errors": errors, "failed_batches": len(failed), "failures": failed[:5],
        "batches": len(latencies),
        "batch_latency_ms": {"p50": round(pct(latencies, 0.5) * 1e3, 1),
                             "p99": round(pct(latencies, 0.99) * 1e3, 1),
                             "max": round(max(latencies, default=0.0) * 1e3, 1),
                             "mean": round(statistics.fmean(latencies) * 1e3, 1)
                             if latencies else None},
        "batches_per_s_per_process": round(len(latencies) / max(len(reports), 1) / seconds, 2),
        "achieved_steps_per_s": round(min((r["steps"] / r["elapsed"] for r in reports),
                                          default=0.0)),
        "log_call_us_mean": round(statistics.fmean([r["log_us"] for r in reports]), 1)
        if reports else None,
        "finish_s_max": round(max((r["finish_s"] for r in reports), default=0.0), 2),
        "wall_s": round(wall, 1),
        "server_cpu_s": round(server_cpu, 1),
        "check": loss,
    }


def check_points(store: Any, run_ids: list[str], steps: int) -> dict[str, Any]:
    """Every series of every run holds steps 0..steps-1 exactly once, and every run finished."""
    import numpy as np

    problems = []
    for run_id in run_ids:
        run = store.get_run(run_id)
        if run["state"] != "finished":
            problems.append(f"{run_id}: state {run['state']}")
        series = {s["key"]: s for s in store.series(run_id) if s["key"].startswith("m")}
        if len(series) != METRICS:
            problems.append(f"{run_id}: {len(series)} metric series")
        for key in sorted(series):
            try:
                points = store.read_series(run_id, key)
            except Exception as err:  # noqa: BLE001 - a damaged chunk is a finding, not a crash
                problems.append(f"{run_id}/{key}: cannot read: {type(err).__name__}: {err}")
                continue
            if not np.array_equal(points.steps, np.arange(steps)):
                problems.append(f"{run_id}/{key}: {len(points.steps)} points, "
                                f"{len(np.unique(points.steps))} distinct steps")
            elif not np.allclose(points.values, points.steps * 0.001 + int(key[1:])):
                problems.append(f"{run_id}/{key}: values differ")
    return {"runs": len(run_ids), "ok": not problems, "problems": problems[:20]}


def seed_runs(store: Any, n: int, project: str = "bench-table") -> float:
    """``n`` finished runs with configs, summaries and tags, written in bulk; returns seconds.

    One run goes through ``store.apply`` (the writer's own path); the rest are copies
    of its row with their own ids, names, configs and summaries, inserted 5,000 at a
    time (``apply`` per run would take minutes for 100,000 runs on PostgreSQL).
    """
    import numpy as np
    from sqlalchemy import insert, select

    from labtrack.runlog import Record
    from labtrack.store import schema

    started = time.perf_counter()
    now = time.time() - n * 10.0
    store.apply("tpl00000", [Record({
        "seq": 0, "time": now, "step": 0,
        "run": {"project": project, "name": "template", "created_at": now, "host": "bench",
                "tags": ["bench"]},
        "config": {"lr": 0.001}, "summary": {"acc": 0.5},
        "state": {"state": "finished", "exit_code": 0, "error": None, "finished_at": now}},
        [])])
    with store.read() as conn:
        template = dict(conn.execute(select(schema.runs).where(
            schema.runs.c.id == "tpl00000")).first()._mapping)
    rng = np.random.default_rng(0)
    lrs = 10 ** rng.uniform(-5, -1, n)
    accs = rng.uniform(0.5, 0.99, n)
    losses = rng.uniform(0.05, 2.0, n)
    batch = []
    for i in range(1, n):
        created = now + i * 10.0
        tags = ["bench", f"t{i % 3}"]
        row = dict(template, id=f"tbl{i:06d}", name=f"run-{i:06d}", created_at=created,
                   updated_at=created + 60, finished_at=created + 60, heartbeat_at=created + 60,
                   tags=tags, tags_text="|" + "|".join(tags) + "|",
                   config={"lr": float(lrs[i]), "batch_size": [32, 64, 128, 256][i % 4],
                           "optimizer": {"name": ["adam", "sgd", "adamw"][(i // 3) % 3]},
                           "layers": 1 + i % 8, "seed": i},
                   summary={"acc": float(accs[i]), "loss": float(losses[i]), "epoch": 10})
        batch.append(row)
        if len(batch) == 5000 or i == n - 1:
            with store.write() as conn:
                conn.execute(insert(schema.runs), batch)
            batch = []
    with store.write() as conn:
        conn.exec_driver_sql("ANALYZE runs")
    return time.perf_counter() - started


def bench_table(server: Server, key: str, n: int, repeat: int,
                project: str = "bench-table") -> dict[str, Any]:
    import httpx

    queries = {
        "first page": {},
        "filter config.lr < 0.001 and summary.acc > 0.9":
            {"filter": "config.lr < 0.001 and summary.acc > 0.9"},
        "filter + order -summary.acc": {"filter": "config.lr < 0.001 and summary.acc > 0.9",
                                         "order": "-summary.acc"},
        'filter "t1" in tags and config.optimizer.name == "adam"':
            {"filter": '"t1" in tags and config.optimizer.name == "adam"'},
        "filter, page 20": {"filter": "summary.loss < 1.0", "offset": 1000},
    }
    out: dict[str, Any] = {"runs": n}
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"},
                      timeout=60) as client:
        for label, params in queries.items():
            samples = []
            total = None
            for _ in range(repeat):
                t = time.perf_counter()
                response = client.get(f"/api/v1/projects/{project}/runs",
                                      params={"limit": 50, **params})
                samples.append(time.perf_counter() - t)
                response.raise_for_status()
                total = response.json().get("total")
            out[label] = {"median_ms": round(statistics.median(samples) * 1e3, 1),
                          "max_ms": round(max(samples) * 1e3, 1), "total": total}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default=DEFAULT_DB, help="PostgreSQL URL (a schema is made)")
    parser.add_argument("--procs", type=int, default=8)
    parser.add_argument("--seconds", type=float, help="logging time (default 60, quick 10)")
    parser.add_argument("--rate", type=int, default=1000, help="steps per second per process")
    parser.add_argument("--runs", type=int, help="runs in the table (default 100,000)")
    parser.add_argument("--repeat", type=int, default=7, help="tries per table query")
    parser.add_argument("--quick", action="store_true", help="10 s of logging, 10,000 runs")
    parser.add_argument("--keep", action="store_true", help="keep the database schema")
    parser.add_argument("--out", type=Path, help="also write the JSON result here")
    args = parser.parse_args()
    args.seconds = args.seconds or (10.0 if args.quick else 60.0)
    args.runs = args.runs or (10_000 if args.quick else 100_000)
    sys.path.insert(0, str(ROOT / "src"))
    from labtrack.server.auth import AuthService
    from labtrack.store import open_store

    db = Database(args.db)
    work = Path(tempfile.mkdtemp(prefix="labtrack-team-bench-"))
    store = open_store(db.url)
    auth = AuthService(store)
    auth.add_user("bench", admin=True)
    key = auth.create_key("bench")
    result: dict[str, Any] = {"cpus": os.cpu_count(), "db": "postgresql"}
    server = Server(db.url, work / "server")
    try:
        result["logging"] = bench_logging(server, store, key, work, args.procs, args.seconds,
                                          args.rate)
        print(json.dumps(result["logging"], indent=2), file=sys.stderr, flush=True)
        result["seed_s"] = round(seed_runs(store, args.runs), 1)
        result["runs_table"] = bench_table(server, key, args.runs, args.repeat)
        result["load_avg"] = os.getloadavg()
    except BaseException:
        print(f"server exit code {server.proc.poll()}; its log:\n{server.log_tail()}",
              file=sys.stderr)
        raise
    finally:
        server.stop()
        store.close()
        if not args.keep:
            db.drop()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
