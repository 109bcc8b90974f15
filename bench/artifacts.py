"""Artifact throughput: add + log of many small files and of one big file.

Targets (issue 6): >= 200 MB/s end to end, peak RSS <= 200 MB, logging the same
content again <= 20% of the first time, downloading a cached version near-instant.

    python bench/artifacts.py [--small 10000] [--small-size 10240] [--big-mb 2048]
                              [--dir /tmp/somewhere] [--json] [--only small|big]
                              [--repeat 3]

Each scenario runs in a fresh child process (so its peak RSS is its own), on
files just written (so they sit in the page cache: this measures labtrack, not
the disk). Before it, a bare Python loop pushes the same bytes through
read + sha256 + write + rename: the floor the file system allows at that moment,
reported next to labtrack's time (on a shared machine both move with other load).
Phases per scenario: log (add_dir/add_file + log_artifact), re-log of the same
content from a new Artifact, first download into a new folder (every blob
verified, then hard-linked; files of at most 256 KiB, kept in the blob store's
SQLite file, are written out as copies), download of that cached version again.
``--small-size 262144`` and ``262145`` put the same number of files just below and
above that threshold (database versus one file per blob).
If the disk lacks room for the big file twice (source + blob), it is scaled down
and the output says so. ``--repeat N`` runs the small scenario N times (each with
a fresh store, floor right before) and reports the median run by log time, with
the range of the log's throughput over all N (the machine is shared: one run can
land on a busy moment).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1024 * 1024


def make_small(root: Path, count: int, size: int) -> int:
    """``count`` files of ``size`` random bytes in 100 folders; returns total bytes."""
    blob = os.urandom(size + count)
    for i in range(count):
        folder = root / f"d{i % 100:02d}"
        if i < 100:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(blob[i:i + size])
    return count * size


def make_big(path: Path, size_mb: int) -> int:
    """A file of ``size_mb`` MiB: a random 16 MiB block, varied per block."""
    block = bytearray(os.urandom(16 * MB))
    with open(path, "wb") as fh:
        for i in range(0, size_mb, 16):
            block[:8] = i.to_bytes(8, "little")
            fh.write(block if size_mb - i >= 16 else block[:(size_mb - i) * MB])
    return size_mb * MB


def child(kind: str, source: str, store: str, work: str) -> dict[str, Any]:
    """Run one scenario in this process and return its timings."""
    import labtrack

    t0 = time.perf_counter()
    run = labtrack.init(project="bench", dir=store)
    init_s = time.perf_counter() - t0

    def log_once() -> tuple[float, Any]:
        start = time.perf_counter()
        art = labtrack.Artifact(f"bench-{kind}", "dataset")
        if kind == "small":
            art.add_dir(source)
        else:
            art.add_file(source)
        run.log_artifact(art)
        return time.perf_counter() - start, art

    first_s, art = log_once()
    again_s, again = log_once()
    assert again.version == art.version, "identical content must give the same version"
    sqlalchemy = "sqlalchemy" in sys.modules  # the logs commit through stdlib sqlite3
    start = time.perf_counter()
    folder = run.use_artifact(f"bench-{kind}:latest").download(os.path.join(work, "dl"))
    download_s = time.perf_counter() - start
    start = time.perf_counter()
    run.use_artifact(f"bench-{kind}:latest").download(folder)
    cached_s = time.perf_counter() - start
    some = next(p for p in Path(folder).rglob("*") if p.is_file())
    linked = os.stat(some).st_nlink > 1
    run.finish()
    return {"init_s": init_s, "log_s": first_s, "relog_s": again_s, "download_s": download_s,
            "cached_download_s": cached_s, "files": art.file_count, "bytes": art.size,
            "hard_links": linked, "sqlalchemy_imported_by_logs": sqlalchemy,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            # the pack worker process (10,000 small files): memory the log uses too
            "worker_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def floor(kind: str, source: str, work: str) -> dict[str, Any]:
    """The same bytes through a bare loop (read, sha256, write a temp file, rename).

    This is the floor the file system allows right now; on a shared machine it
    moves with other load, so the report gives labtrack's time relative to it.
    """
    import hashlib

    paths = [str(p) for p in sorted(Path(source).rglob("*")) if p.is_file()] \
        if kind == "small" else [source]
    out_dir = Path(work) / "floor"
    start = time.perf_counter()
    for i, path in enumerate(paths):
        hasher = hashlib.sha256()
        tmp = out_dir / f".tmp-{i}"
        tmp.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "rb", buffering=0) as src, open(tmp, "wb", buffering=0) as dst:
            while True:
                block = src.read(4 * MB)
                if not block:
                    break
                hasher.update(block)
                dst.write(block)
        digest = hasher.hexdigest()
        folder = out_dir / digest[:2]
        folder.mkdir(exist_ok=True)
        os.replace(tmp, folder / digest[2:])
    return {"floor_s": time.perf_counter() - start}


def run_child(kind: str, source: Path, store: Path, work: Path) -> dict[str, Any]:
    env = {**os.environ, "LABTRACK_DISABLE_STATS": "1", "LABTRACK_DISABLE_ENV": "1",
           "LABTRACK_DISABLE_GIT": "1", "LABTRACK_SILENT": "1"}
    # the store exists already, as on any machine that has used labtrack before (as in
    # bench/peers.py): creating it (schema, migrations) is a one-time cost, not the log's
    subprocess.run([sys.executable, "-c", "import labtrack, sys; "
                    "labtrack.init(project='setup', dir=sys.argv[1]).finish()", str(store)],
                   env=env, check=True)
    result: dict[str, Any] = {}
    for mode in ("--floor", "--child"):
        out = subprocess.run([sys.executable, __file__, mode, kind, str(source), str(store),
                              str(work)], env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            raise SystemExit(f"{kind} scenario failed:\n{out.stderr}")
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))
        shutil.rmtree(work / "floor", ignore_errors=True)
        if hasattr(os, "sync"):
            os.sync()  # the floor's writes go to disk now, not during labtrack's run
    return result


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median log time, with every run's log time beside it."""
    ordered = sorted(runs, key=lambda r: r["log_s"])
    return {**ordered[(len(ordered) - 1) // 2], "all_log_s": [r["log_s"] for r in ordered]}


def report(name: str, r: dict[str, Any]) -> dict[str, Any]:
    mb = r["bytes"] / MB
    row = {
        "scenario": name, "files": r["files"], "MB": round(mb, 1),
        "log_s": round(r["log_s"], 3), "log_MB_per_s": round(mb / r["log_s"], 1),
        "files_per_s": round(r["files"] / r["log_s"]),
        "fs_floor_s": round(r["floor_s"], 3),
        "floor_MB_per_s": round(mb / r["floor_s"], 1),
        "log_vs_floor": round(r["log_s"] / r["floor_s"], 2),
        "relog_s": round(r["relog_s"], 3), "relog_pct": round(100 * r["relog_s"] / r["log_s"], 1),
        "download_s": round(r["download_s"], 3),
        "cached_download_s": round(r["cached_download_s"], 4),
        "hard_links": r["hard_links"], "peak_rss_mb": round(r["peak_rss_mb"], 1),
        "worker_rss_mb": round(r.get("worker_rss_mb", 0.0), 1),
        "sqlalchemy_imported_by_logs": r.get("sqlalchemy_imported_by_logs"),
        **({"runs": len(r["all_log_s"]),
            "log_MB_per_s_all": [round(mb / t, 1) for t in r["all_log_s"]]}
           if len(r.get("all_log_s", [])) > 1 else {}),
        "targets_met": {
            "throughput>=200MB/s": mb / r["log_s"] >= 200,
            "rss<=200MB": r["peak_rss_mb"] + r.get("worker_rss_mb", 0.0) <= 200,
            "relog<=20%": r["relog_s"] <= 0.2 * r["log_s"],
        },
    }
    return row


def main() -> None:
    """Make the inputs, run both scenarios and print a table (or JSON)."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(*sys.argv[2:6])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--floor":
        print(json.dumps(floor(sys.argv[2], sys.argv[3], sys.argv[5])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="number of small files")
    parser.add_argument("--small-size", type=int, default=10_240, help="bytes per small file")
    parser.add_argument("--big-mb", type=int, default=2048, help="size of the big file, MiB")
    parser.add_argument("--dir", help="work folder (default: a temp folder, removed after)")
    parser.add_argument("--json", action="store_true", help="print JSON lines only")
    parser.add_argument("--only", choices=("small", "big"),
                        help="run one scenario (default: both)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the small scenario; the median is reported (default 3)")
    args = parser.parse_args()

    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="labtrack-bench-"))
    base.mkdir(parents=True, exist_ok=True)
    notes = []
    free_mb = shutil.disk_usage(base).free // MB
    big_mb = args.big_mb
    if free_mb < 2 * big_mb + 1024:  # source + blob + headroom
        big_mb = max(64, (free_mb - 1024) // 2 // 16 * 16)
        notes.append(f"disk has {free_mb} MiB free: big file scaled down to {big_mb} MiB")
    rows = []
    try:
        small_src, big_src = base / "small", base / "big.bin"
        if args.only != "big":
            make_small(small_src, args.small, args.small_size)
            runs = []
            for _ in range(max(1, args.repeat)):
                runs.append(run_child("small", small_src, base / "store-small", base / "w1"))
                shutil.rmtree(base / "store-small", ignore_errors=True)
                shutil.rmtree(base / "w1", ignore_errors=True)
            rows.append(report(f"{args.small} files x {args.small_size} B", median_run(runs)))
        if args.only != "small":
            make_big(big_src, big_mb)
            rows.append(report(f"1 file x {big_mb} MiB",
                               run_child("big", big_src, base / "store-big", base / "w2")))
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    for note in notes:
        print("note:", note)
    for row in rows:
        print(f"\n{row['scenario']}:")
        for key, value in row.items():
            if key != "scenario":
                print(f"  {key:18} {value}")


if __name__ == "__main__":
    main()
