"""Render the medians of ``bench/peers.py`` as ``bench/RESULTS.md``.

The hand-written part of the file (between ``<!-- notes -->`` and
``<!-- /notes -->``) is carried over when the tables are regenerated.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

NOTES_START, NOTES_END = "<!-- notes -->", "<!-- /notes -->"
NAMES = {"labtrack": "**labtrack**", "wandb": "wandb", "mlflow": "MLflow", "aim": "Aim",
         "trackio": "trackio", "floor": "floor (json + append)"}
TITLES = {
    "A": "A. Hot loop: 1 run x {a_steps:,} steps x {a_width} scalars",
    "B": "B. Many runs: {b_runs} runs x {b_steps} steps x {b_width} metrics + {b_params} params, "
         "one process",
    "C": "C. Read back one {c_points:,}-point series (fresh process)",
    "D": "D. Query: config.lr < x and summary.acc > y among {d_runs:,} runs (fresh process)",
    "E": "E. Chart data of {e_runs} runs x {e_points:,} points from the tool's own UI server",
    "F": "F. Artifacts: log a {f_mb:,} MiB folder of mixed files, then the same again",
}


def machine_info(python: str) -> dict[str, str]:
    """CPU model, cores, memory, OS and the children's Python version."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        memory = "unknown"
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {"cpu": model, "cores": str(os.cpu_count()), "memory": memory,
            "os": f"{platform.system()} {platform.release()}", "python": version,
            "load at start": load}


def _s(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}" if x < 1 else f"{x:.{max(1, digits - 1)}f}".rstrip("0").rstrip(".")


def _mb(x: float | None) -> str:
    return "–" if x is None else f"{x / 1e6:,.1f}" if x < 1e9 else f"{x / 1e6:,.0f}"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "–"
    r = value / base
    return f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x" if r >= 0.95 else f"**{r:.2f}x**"


# -- the number each workload is judged by (fields added per repetition by peers.derive) --
KEY_FIELD = {"A": "total", "B": "runs_full", "C": "cold", "D": "cold", "E": "cold",
             "F": "both"}
KEY_NAME = {"A": "total", "B": "all runs", "C": "import + read", "D": "import + query",
            "E": "cold chart request", "F": "both logs"}


def key(workload: str, m: dict[str, Any]) -> float | None:
    return m.get(KEY_FIELD[workload])


# -- tables ----------------------------------------------------------------------------------
def _rows(workload: str, summary: dict[str, dict[str, Any]], na: dict[str, str],
          tools: list[str], columns: int,
          cells: Callable[[str, dict[str, Any]], list[str]]) -> list[str]:
    base = key(workload, summary.get("labtrack", {}))
    out = []
    for tool in tools:
        name = NAMES.get(tool, tool)
        if tool in na and tool == "floor":
            continue
        if tool in na:
            out.append(f"| {name} | n/a: {na[tool]} |" + " |" * (columns - 2))
            continue
        m = summary.get(tool)
        if m is None:
            continue
        if m.get("reps", 0) == 0:
            err = (m.get("errors") or ["no result"])[0].replace("|", "/").replace("\n", " ")
            out.append(f"| {name} | error: {err[:300]} |" + " |" * (columns - 2))
            continue
        value = key(workload, m)
        mark = " †" if m.get("scale", 1.0) != 1.0 else ""
        ratio = "1x" if tool == "labtrack" else _ratio(value, base)
        out.append(f"| {name}{mark} | " + " | ".join([*cells(tool, m), ratio]) + " |")
    return out


def _table_a(m: dict[str, Any]) -> list[str]:
    return [_s(m["import"]), _s(m["init"]), f"{m['per_call_us']:,.1f}", _s(m["loop_full"]),
            _s(m["finish"]), _s(m["total"]), _s(m["exit"]), f"{m['rss_mb']:.0f}",
            _mb(m["disk_full"])]


def _table_b(m: dict[str, Any]) -> list[str]:
    return [_s(m["import"]), _s(m["runs_full"]), f"{m['per_run_ms']:,.1f}",
            f"{m['rss_mb']:.0f}", _mb(m["disk_full"])]


def _table_c(m: dict[str, Any]) -> list[str]:
    return [_s(m["import"]), _s(m["read"]), f"{m['points']:,.0f}",
            _s(m["read_rows"]) if "read_rows" in m else "–"]


def _table_d(m: dict[str, Any], expected: int) -> list[str]:
    ok = "" if round(m["matches"]) == expected else f" (expected {expected})"
    return [_s(m["import"]), _s(m["query"]), f"{m['matches']:.0f}{ok}"]


def _table_e(m: dict[str, Any]) -> list[str]:
    return [_s(m["start"]), _s(m["cold"]), _s(m["warm"]), _mb(m["bytes"]),
            _s(m["full"]) if "full" in m else "–",
            _mb(m["full_bytes"]) if "full_bytes" in m else "–"]


def _table_f(m: dict[str, Any], mb: int) -> list[str]:
    return [_s(m["first"]), f"{mb * 1.048576 / m['first']:,.0f}", _s(m["second"]),
            _mb(m["disk"])]


HEADERS = {
    "A": ["import s", "init s", "per log() µs", "loop s", "finish s", "total s",
          "start+exit s", "peak RSS MB", "disk MB"],
    "B": ["import s", "all runs s", "per run ms", "peak RSS MB", "disk MB"],
    "C": ["import s", "read s", "points", "as rows s"],
    "D": ["import s", "query s", "runs found"],
    "E": ["server ready s", "chart cold s", "chart warm s", "MB", "all points s",
          "all points MB"],
    "F": ["first s", "first MB/s", "again s", "disk MB"],
}


def write_results(out: Path, *, summary: dict[str, dict[str, dict[str, Any]]],
                  na: dict[str, dict[str, str]], how: dict[str, dict[str, str]], plan: Any,
                  versions: dict[str, str | None], machine: dict[str, str], command: str,
                  expected: int, minutes: float) -> None:
    """Write the tables, the verdict and the carried-over notes to ``out``."""
    sizes = vars(plan.sizes) if not hasattr(plan.sizes, "__dataclass_fields__") else {
        k: getattr(plan.sizes, k) for k in plan.sizes.__dataclass_fields__}
    lines = ["# labtrack and its peers, side by side", "",
             f"Generated by `bench/peers.py` on {datetime.date.today().isoformat()} in "
             f"{minutes:.1f} min. Medians of {plan.reps} repetition(s), each in a fresh "
             "process, interleaved tool by tool. Lower is better everywhere; the last "
             "column is the tool's time over labtrack's (**bold** where a peer is faster).",
             "", "Command: `" + command + "`", "",
             "| machine | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in machine.items()]
    lines += ["", "| package | version |", "|---|---|"]
    lines += [f"| {t} | {v or 'not installed'} |" for t, v in versions.items()]
    lines += [""]
    lines += _verdict(summary, na)
    for workload in plan.workloads:
        per = summary.get(workload, {})
        head = HEADERS[workload] + [f"vs labtrack ({KEY_NAME[workload]})"]
        lines += ["", "## " + TITLES[workload].format(**sizes), "",
                  "| tool | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
        cells: dict[str, Callable[[str, dict[str, Any]], list[str]]] = {
            "A": lambda t, m: _table_a(m),
            "B": lambda t, m: _table_b(m),
            "C": lambda t, m: _table_c(m),
            "D": lambda t, m: _table_d(m, expected),
            "E": lambda t, m: _table_e(m),
            "F": lambda t, m: _table_f(m, plan.sizes.f_mb),
        }
        lines += _rows(workload, per, na.get(workload, {}), plan.tools, len(head) + 1,
                       cells[workload])
        lines += [""] + [f"- {NAMES.get(t, t)}: {how[t][workload]}"
                         for t in plan.tools if workload in how.get(t, {})
                         and t not in na.get(workload, {})]
        errors = [f"- {t}: {e[:400]}" for t, m in per.items() for e in m.get("errors", [])]
        if errors:
            lines += ["", "Failed repetitions:", *errors]
    lines += ["", *_method_notes(plan)]
    notes = _old_notes(out)
    lines += ["", NOTES_START, notes or "(notes on the results go here)", NOTES_END, ""]
    out.write_text("\n".join(lines))


def _verdict(summary: dict[str, dict[str, dict[str, Any]]],
             na: dict[str, dict[str, str]]) -> list[str]:
    """One line per workload: labtrack against the fastest peer."""
    lines = ["## Verdict", "", "| workload | labtrack | fastest peer | peer / labtrack |",
             "|---|---|---|---|"]
    for workload, per in summary.items():
        base = key(workload, per.get("labtrack", {}))
        peers = sorted((v, t) for t, m in per.items()
                       if t not in ("labtrack", "floor") and (v := key(workload, m)) is not None)
        if base is None:
            continue
        if not peers:
            lines.append(f"| {workload} ({KEY_NAME[workload]}) | {_s(base)} s | "
                         "no peer measured | – |")
            continue
        best, tool = peers[0]
        lines.append(f"| {workload} ({KEY_NAME[workload]}) | {_s(base)} s | "
                     f"{NAMES.get(tool, tool)} {_s(best)} s | {_ratio(best, base)} |")
    floor = summary.get("A", {}).get("floor", {})
    lab = summary.get("A", {}).get("labtrack", {})
    if "total" in floor and "total" in lab:
        lines += ["", f"Against the floor on A: labtrack's total is "
                  f"{lab['total'] / floor['total']:.1f}x the floor's ({_s(lab['total'])} s vs "
                  f"{_s(floor['total'])} s); per `log()` call {lab['per_call_us']:.1f} µs vs "
                  f"{floor['per_call_us']:.1f} µs; loop + finish "
                  f"{(lab['loop'] + lab['finish']) / (floor['loop'] + floor['finish']):.1f}x."]
    return lines


def _method_notes(plan: Any) -> list[str]:
    caps = []
    if not plan.full:
        import importlib

        for tool in plan.tools:
            for k, v in getattr(importlib.import_module(f"peers_{tool}"), "CAPS", {}).items():
                caps.append(f"{tool} {k}={v}")
    lines = [
        "## How it was measured", "",
        "- Every number comes from a fresh `python` process per tool, workload and "
        "repetition (`bench/peers_child.py`); import time is the tool's first import there.",
        "- Before A and B an untimed process creates the tool's store in the job folder, "
        "so init is that of a store in use, not of the very first run on a machine; disk "
        "is what the workload added.",
        "- Telemetry and network are off: wandb `WANDB_MODE=offline`, MLflow on a local "
        "SQLite file with telemetry and system metrics off, Aim on a local repo, trackio "
        "local (`HF_HUB_OFFLINE=1`), `DO_NOT_TRACK=1`. System metrics and git capture are "
        "off for every tool; each tool's other defaults are kept. `HOME` is the job folder.",
        "- finish is until the data is durable and the tool lets go (labtrack `finish()`, "
        "wandb `finish()`, MLflow `end_run()`, Aim `close()`, trackio `finish()`); "
        "start+exit is the process's wall time minus the time spent in the workload "
        "(interpreter start and the tool's exit hooks).",
        "- Peak RSS is `getrusage` of the measured process; helper processes are not "
        "included (wandb logs through a separate `wandb-core` process, the UI servers of E "
        "run apart).",
        "- D checks that every tool finds the same runs; E's server is started fresh for "
        "each repetition, `server ready` is from spawn to the first answer, `cold` the "
        "first chart request, `warm` the median of the next 3 (1 when the first took over "
        "a second); `all points` asks for every point of every line, in the first "
        "repetition only.",
    ]
    if caps:
        lines.append("- † Capped so the whole benchmark stays near 15 minutes ("
                     + ", ".join(caps) + "): its loop time, disk and B total are scaled up "
                     "linearly to the full size (medians of the scaled repetitions), the "
                     "per-call time is measured. "
                     "`--full` removes the caps.")
    return lines


def _old_notes(out: Path) -> str:
    if not out.exists():
        return ""
    text = out.read_text()
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0].strip()
    return ""
