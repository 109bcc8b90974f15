"""The workloads' data, identical for every tool: built from fixed seeds with the stdlib only.

Imported by the benchmark children before the tool under test, so it must stay light
(no numpy): its import is not part of any timing, but its memory is part of every RSS.
"""

from __future__ import annotations

import math
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# D: the query every tool answers; the expected count is computed from the same data
LR_BELOW = 1e-3
ACC_ABOVE = 0.9


@dataclass(frozen=True)
class Sizes:
    """How big each workload is (``--quick`` shrinks them)."""

    a_steps: int = 20_000
    a_width: int = 10
    b_runs: int = 100
    b_steps: int = 200
    b_width: int = 5
    b_params: int = 10
    c_points: int = 20_000
    d_runs: int = 1_000
    e_runs: int = 50
    e_points: int = 10_000
    e_max_points: int = 2_000
    f_mb: int = 1024

    @classmethod
    def quick(cls) -> Sizes:
        return cls(a_steps=2_000, b_runs=10, b_steps=50, c_points=2_000, d_runs=100,
                   e_runs=5, e_points=2_000, e_max_points=500, f_mb=32)


def metric_keys(width: int) -> list[str]:
    """``train/m0`` ... : slash-separated names, as real scripts use."""
    return [f"train/m{j}" for j in range(width)]


def hot_rows(steps: int, width: int, seed: int = 0) -> list[dict[str, float]]:
    """Smooth decaying curves plus noise (incompressible low bits), one dict per step."""
    rng = random.Random(seed)
    keys = metric_keys(width)
    return [{k: math.exp(-step / steps * (j + 1)) + rng.random() * 0.01
             for j, k in enumerate(keys)} for step in range(steps)]


def run_params(index: int, count: int = 10) -> dict[str, Any]:
    """``count`` hyper-parameters of mixed types for run ``index``."""
    rng = random.Random(1000 + index)
    base: dict[str, Any] = {
        "lr": 10 ** rng.uniform(-5, -1), "batch_size": rng.choice([32, 64, 128, 256]),
        "optimizer": rng.choice(["adam", "sgd", "adamw"]), "layers": rng.randint(1, 8),
        "dropout": round(rng.uniform(0, 0.5), 3), "seed": index, "warmup": rng.randint(0, 500),
        "weight_decay": 10 ** rng.uniform(-6, -2), "activation": rng.choice(["relu", "gelu"]),
        "scheduler": rng.choice(["cosine", "linear", "none"]),
    }
    for extra in range(len(base), count):
        base[f"p{extra}"] = rng.random()
    return dict(list(base.items())[:count])


def query_runs(count: int) -> list[dict[str, Any]]:
    """The D runs: ``{"name", "lr", "batch_size", "acc", "loss"}``, fixed by seed."""
    rng = random.Random(7)
    out = []
    for i in range(count):
        out.append({"name": f"q{i:05d}", "lr": 10 ** rng.uniform(-5, -1),
                    "batch_size": rng.choice([32, 64, 128, 256]),
                    "acc": rng.uniform(0.5, 0.99), "loss": rng.uniform(0.05, 2.0)})
    return out


def expected_matches(count: int) -> int:
    """How many D runs have lr < LR_BELOW and acc > ACC_ABOVE."""
    return sum(1 for r in query_runs(count) if r["lr"] < LR_BELOW and r["acc"] > ACC_ABOVE)


def chart_series(run_index: int, points: int) -> list[float]:
    """The E series ``loss`` of chart run ``run_index``."""
    rng = random.Random(500 + run_index)
    scale = points / 5
    return [math.exp(-s / scale) + rng.gauss(0, 0.05) + run_index * 0.01
            for s in range(points)]


def make_artifact_dir(root: Path, total_mb: int) -> tuple[int, int]:
    """A folder of mixed files totalling about ``total_mb`` MiB; returns (files, bytes).

    Half the bytes in 4 big binary files, 35% in medium ones (~6 MiB), 15% in small
    ones (4-200 KiB, a third of them text): like a dataset with shards and a model
    with its tokenizer files.
    """
    rng = random.Random(11)
    total = total_mb << 20
    files = 0
    written = 0

    def put(rel: str, size: int, text: bool = False) -> None:
        nonlocal files, written
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            left = size
            while left:
                n = min(left, 8 << 20)
                if text:
                    line = b"".join(rng.choice([b"alpha ", b"beta ", b"gamma ", b"0.125 ",
                                                b"\n"]) for _ in range(256))
                    chunk = (line * (n // len(line) + 1))[:n]
                else:
                    chunk = rng.randbytes(n)
                fh.write(chunk)
                left -= n
        files += 1
        written += size

    big = total // 2 // 4
    for i in range(4):
        put(f"shards/shard-{i:02d}.bin", big)
    medium_total = total * 35 // 100
    medium = 6 << 20 if total >= (256 << 20) else max(64 << 10, medium_total // 16)
    for i in range(max(1, medium_total // medium)):
        put(f"model/layer-{i:03d}.pt", medium)
    i = 0
    while written < total:
        size = min(rng.randint(4 << 10, 200 << 10), total - written)
        put(f"meta/{i % 20:02d}/item-{i:05d}.{'txt' if i % 3 == 0 else 'npy'}", size,
            text=i % 3 == 0)
        i += 1
    return files, written


def disk_bytes(path: str | os.PathLike[str]) -> int:
    """Bytes of every file under ``path`` (apparent sizes; links counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                st = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_size
    return total


class Clock:
    """Successive phase timings: ``clock.mark("import")`` records the time since the last mark."""

    def __init__(self) -> None:
        self.out: dict[str, float] = {}
        self._t = time.perf_counter()

    def reset(self) -> None:
        self._t = time.perf_counter()

    def mark(self, name: str) -> float:
        now = time.perf_counter()
        self.out[name] = self.out.get(name, 0.0) + now - self._t
        self._t = now
        return self.out[name]


def tool_bytes(job: str | os.PathLike[str]) -> int:
    """What a tool wrote under a job folder: everything except the harness's own files
    (spec, result, state and log files at its top level)."""
    total = disk_bytes(job)
    for entry in os.scandir(job):
        if entry.is_file(follow_symlinks=False) and entry.name.endswith((".json", ".log")):
            total -= entry.stat(follow_symlinks=False).st_size
    return total
