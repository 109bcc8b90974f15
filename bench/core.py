"""Core SDK and store benchmark: the figures of the core issue, medians on this machine.

    python bench/core.py            # all, writes bench/CORE_RESULTS.md
    python bench/core.py --quick    # smaller sizes, for a smoke run

Each timing that includes imports runs in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ENV = {**os.environ, "LABTRACK_SILENT": "1", "LABTRACK_DISABLE_STATS": "1",
       "LABTRACK_DISABLE_ENV": "1", "LABTRACK_DISABLE_GIT": "1"}


def child(code: str, store: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], env={**ENV, "LABTRACK_DIR": store},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


IMPORT_INIT = """
import json, time
t = time.perf_counter(); import labtrack; t_import = time.perf_counter() - t
t = time.perf_counter(); run = labtrack.init(project="bench"); t_init = time.perf_counter() - t
run.finish()
print(json.dumps({"import": t_import, "init": t_init}))
"""

LOG_LOOP = """
import json, time, statistics
import labtrack
run = labtrack.init(project="bench")
import math, random
keys = ["m%d" % i for i in range(10)]
n = {n}
rng = random.Random(0)
# realistic values: smooth curves plus noise (incompressible low bits), built before timing
rows = [{{k: math.exp(-step / n * (j + 1)) + rng.random() * 0.01 for j, k in enumerate(keys)}}
        for step in range(n)]
# a training script spends a moment building its model before the first log(); the writer
# uses it to import numpy and open the index in the background (see docs/architecture.md)
time.sleep(1.0)
per = []
t0 = time.perf_counter()
if {timed}:
    for data in rows:
        t = time.perf_counter_ns()
        run.log(data)
        per.append(time.perf_counter_ns() - t)
else:
    for data in rows:
        run.log(data)
    per = [0]
t_loop = time.perf_counter() - t0
t = time.perf_counter(); run.finish(); t_finish = time.perf_counter() - t
total = time.perf_counter() - t0
print(json.dumps({{"log_us_median": statistics.median(per) / 1000, "loop_s": t_loop,
                  "finish_s": t_finish, "total_s": total, "points": n * 10,
                  "run_id": run.id}}))
"""

READ = """
import json, time, labtrack
api = labtrack.Api()
r = api.run("{run_id}")
times = []
for _ in range(5):
    t = time.perf_counter(); p = r.series("m0"); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({{"read_s": times[2], "points": len(p.values)}}))
"""

QUERY = """
import json, time, labtrack
api = labtrack.Api()
times = []
for _ in range(5):
    t = time.perf_counter()
    rows = api.runs("many", filter="config.lr < 0.005 and summary.acc > 0.5")
    times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"query_s": times[2], "matched": len(rows)}))
"""


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def make_many_runs(store: str, count: int) -> None:
    sys.path.insert(0, str(HERE.parent / "src"))
    import random

    from labtrack.runlog import Record
    from labtrack.store import open_store

    s = open_store(store)
    rng = random.Random(0)
    now = time.time()
    for i in range(count):
        header = {"seq": 0, "time": now, "run": {"project": "many", "name": f"run-{i}",
                                                 "created_at": now - i},
                  "config": {"lr": rng.choice([0.001, 0.003, 0.01, 0.03]),
                             "depth": rng.randint(1, 8)},
                  "summary": {"acc": rng.random(), "loss": rng.random()},
                  "state": {"state": "finished", "exit_code": 0, "finished_at": now}}
        s.apply(f"r{i:06d}", [Record(header, [])])
    s.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    reps = 3 if args.quick else 5
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        ii = [child(IMPORT_INIT, f"{tmp}/ii{i}") for i in range(reps)]
        results["import_ms"] = statistics.median(x["import"] for x in ii) * 1000
        results["init_ms"] = statistics.median(x["init"] for x in ii) * 1000

        loops = []
        for i in range(reps):
            store = f"{tmp}/loop{i}"
            loops.append((child(LOG_LOOP.format(n=20_000 if args.quick else 100_000,
                                                timed=False), store), store))
        timed = [child(LOG_LOOP.format(n=20_000, timed=True), f"{tmp}/timed{i}")
                 for i in range(reps)]
        results["log_us_median"] = statistics.median(x["log_us_median"] for x in timed)
        results["durable_points_per_s"] = statistics.median(x["points"] / x["total_s"]
                                                            for x, _ in loops)
        sample, sample_store = loops[0]
        results["bytes_per_point"] = dir_size(Path(sample_store)) / sample["points"]

        fin = [child(LOG_LOOP.format(n=20_000, timed=False), f"{tmp}/fin{i}")
               for i in range(reps)]
        results["finish_ms_after_200k_points"] = statistics.median(
            x["finish_s"] for x in fin) * 1000

        big = f"{tmp}/big"
        loop = child(LOG_LOOP.format(n=100_000 if args.quick else 1_000_000, timed=False), big)
        read = child(READ.format(run_id=loop["run_id"]), big)
        results["read_ms"] = read["read_s"] * 1000
        results["read_points"] = read["points"]

        many = f"{tmp}/many"
        make_many_runs(many, 2_000 if args.quick else 10_000)
        q = child(QUERY, many)
        results["filter_runs_ms"] = q["query_s"] * 1000
        results["filter_runs_total"] = 2_000 if args.quick else 10_000

    targets = {
        "import_ms": ("<=", 150), "init_ms": ("<=", 100), "log_us_median": ("<=", 10),
        "durable_points_per_s": (">=", 1_000_000), "finish_ms_after_200k_points": ("<=", 200),
        "bytes_per_point": ("<=", 20), "read_ms": ("<=", 100), "filter_runs_ms": ("<=", 300),
    }
    lines = ["| measure | result | target | ok |", "|---|---:|---:|:-:|"]
    for key, (op, target) in targets.items():
        value = results[key]
        ok = value <= target if op == "<=" else value >= target
        lines.append(f"| {key} | {value:,.2f} | {op} {target:,} | {'yes' if ok else 'NO'} |")
    extra = (f"\nread: {results['read_points']:,} points; filter over "
             f"{results['filter_runs_total']:,} runs. Machine: {platform.machine()}, "
             f"{os.cpu_count()} cores, Python {platform.python_version()}.\n"
             f"Command: `python bench/core.py{' --quick' if args.quick else ''}` "
             f"({time.strftime('%Y-%m-%d')}).\n")
    table = "\n".join(lines) + "\n" + extra
    print(table)
    if not args.quick:
        (HERE / "CORE_RESULTS.md").write_text("# Core benchmark\n\n" + table)


if __name__ == "__main__":
    main()
