"""labtrack side by side with wandb, MLflow, Aim and trackio (issue 11).

Every measurement runs in a fresh process (``bench/peers_child.py``) with the
tool's telemetry and network off, and the repetitions are interleaved (rep 1 of
every tool, then rep 2 ...) so that ratios hold on a busy machine. Medians are
written to ``bench/RESULTS.md``.

    python3.11 -m venv .venv-bench             # the peers get their own virtualenv
    .venv-bench/bin/pip install -e '.[bench]'
    .venv-bench/bin/python bench/peers.py      # everything: ~9 min on 2 cores, +5 min
                                               # the first time (setups, then cached)
    .venv-bench/bin/python bench/peers.py --quick          # small sizes, 1 repetition
    .venv-bench/bin/python bench/peers.py --only A,B --tools labtrack,wandb
    .venv-bench/bin/python bench/peers.py --render bench/out/RESULTS.json  # tables only

Workloads: A hot loop, B many runs, C read back a series, D query runs,
E chart data from the tool's own UI server, F log a 1 GB folder twice (``--no-artifacts``
skips it). The floor is the hot loop doing ``json.dumps`` + a file append.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from peers_data import Sizes, expected_matches, make_artifact_dir  # noqa: E402
from peers_report import machine_info, write_results  # noqa: E402

TOOLS = ("labtrack", "wandb", "mlflow", "aim", "trackio", "floor")
PEERS = ("wandb", "mlflow", "aim", "trackio")
# workload -> (function in peers_<tool>, what it needs)
WORKLOADS = {
    "A": "hot_loop", "B": "many_runs", "C": "read_series", "D": "query", "E": "chart",
    "F": "artifacts",
}
PREPARE = {"C": "prepare_series", "D": "prepare_query", "E": "prepare_chart"}
PREPARE_VERSION = 1  # bump when a prepare_* function changes what it writes
COMMON_ENV = {
    "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1",
}


@dataclasses.dataclass
class Plan:
    tools: list[str]
    workloads: list[str]
    reps: int
    sizes: Sizes
    python: str
    root: Path
    full: bool
    job_timeout: float
    cache: Path | None


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def adapter(tool: str) -> Any:
    return importlib.import_module(f"peers_{tool}")


def sizes_for(plan: Plan, tool: str) -> Sizes:
    """The plan's sizes, with the tool's caps applied unless ``--full``."""
    caps = {} if plan.full else getattr(adapter(tool), "CAPS", {})
    return dataclasses.replace(plan.sizes, **{k: min(v, getattr(plan.sizes, k))
                                              for k, v in caps.items()})


def run_job(plan: Plan, tool: str, function: str, job: Path, *, source: Path | None = None,
            artifact_src: Path | None = None, sizes: Sizes | None = None,
            rep: int = 0) -> dict[str, Any]:
    """Run ``peers_<tool>.<function>`` in a fresh process; returns its result dict."""
    job.mkdir(parents=True, exist_ok=True)
    (job / "home").mkdir(exist_ok=True)
    spec = {"tool": tool, "workload": function, "function": function, "job": str(job),
            "sizes": dataclasses.asdict(sizes or sizes_for(plan, tool)),
            "source": str(source) if source else None,
            "artifact_src": str(artifact_src) if artifact_src else None, "rep": rep}
    spec_path = job / f"spec-{function}.json"
    spec_path.write_text(json.dumps(spec))
    result_path = job / "result.json"
    result_path.unlink(missing_ok=True)
    env = {**os.environ, **COMMON_ENV, **adapter(tool).ENV, "HOME": str(job / "home"),
           "PYTHONPATH": str(HERE)}
    env.pop("VIRTUAL_ENV", None)
    if hasattr(os, "sync"):
        # untimed: writes left by the previous job (F writes 1 GB per tool) reach the disk
        # now, not during this job, where they slowed every fsync (labtrack's B: 0.24 s
        # before the first F, 0.43 s after it, in the same run)
        os.sync()
    started = time.perf_counter()
    with open(job / f"{function}.log", "ab") as out:
        proc = subprocess.Popen([plan.python, str(HERE / "peers_child.py"), str(spec_path)],
                                cwd=job, stdout=out, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        try:
            proc.wait(plan.job_timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
            return {"error": f"timed out after {plan.job_timeout:.0f} s"}
    wall = time.perf_counter() - started
    _kill_group(proc.pid, signal.SIGTERM)  # helpers left behind (none expected)
    if not result_path.exists():
        tail = (job / f"{function}.log").read_text(errors="replace")[-800:]
        return {"error": f"exit {proc.returncode} without a result: {tail}"}
    result = json.loads(result_path.read_text())
    result["wall"] = wall
    return result


def _kill_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tool_versions(plan: Plan) -> dict[str, str | None]:
    """Installed version of each tool in the children's interpreter (None: missing)."""
    names = {t: adapter(t).PACKAGE for t in plan.tools if adapter(t).PACKAGE}
    code = ("import json, importlib.metadata as m\n"
            "def v(n):\n"
            "    try: return m.version(n)\n"
            "    except Exception: return None\n"
            f"print(json.dumps({{k: v(n) for k, n in {names!r}.items()}}))")
    out = subprocess.run([plan.python, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def not_applicable(tool: str, workload: str, versions: dict[str, str | None]) -> str | None:
    if tool != "floor" and versions.get(tool) is None:
        return f"{tool} is not installed (pip install -e '.[bench]')"
    return adapter(tool).NA.get(workload)


def _cache_key(plan: Plan, workload: str, tool: str, version: str | None) -> str:
    s = plan.sizes
    size = {"C": (s.c_points, s.a_width), "D": (s.d_runs,),
            "E": (s.e_runs, s.e_points)}[workload]
    raw = json.dumps([workload, tool, version, size, PREPARE_VERSION])
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def prepare(plan: Plan, versions: dict[str, str | None]) -> dict[tuple[str, str], Any]:
    """Untimed setup shared by all repetitions: D and E stores, C where A is capped.

    They are kept in the cache folder (keyed by tool version and size) so that a rerun
    skips them; ``--no-cache`` rebuilds them.
    """
    prepared: dict[tuple[str, str], Any] = {}
    for workload in ("C", "D", "E"):
        if workload not in plan.workloads:
            continue
        for tool in plan.tools:
            if not_applicable(tool, workload, versions):
                continue
            if workload == "C" and sizes_for(plan, tool).a_steps >= plan.sizes.c_points \
                    and "A" in plan.workloads:
                continue  # C reads the run that A of the same repetition logged
            key = _cache_key(plan, workload, tool, versions.get(tool))
            job = (plan.cache or plan.root / "prepared") / f"{workload}-{tool}-{key}"
            if (job / "prepared.ok").exists():
                log(f"prepare {workload} {tool}: cached in {job}")
                prepared[(workload, tool)] = job
                continue
            shutil.rmtree(job, ignore_errors=True)
            t0 = time.perf_counter()
            result = run_job(plan, tool, PREPARE[workload], job)
            log(f"prepare {workload} {tool}: {time.perf_counter() - t0:.1f} s"
                + (f"  ERROR {result['error']}" if "error" in result else ""))
            if "error" in result:
                prepared[(workload, tool)] = result
            else:
                (job / "prepared.ok").write_text(json.dumps(result))
                prepared[(workload, tool)] = job
    return prepared


def make_templates(plan: Plan, versions: dict[str, str | None]) -> dict[str, Path | str]:
    """Each tool's empty store, made once (untimed) and copied into every A and B job."""
    out: dict[str, Path | str] = {}
    if not {"A", "B"} & set(plan.workloads):
        return out
    for tool in plan.tools:
        if not_applicable(tool, "A", versions) and not_applicable(tool, "B", versions):
            continue
        job = plan.root / "templates" / tool
        result = run_job(plan, tool, "init_store", job)
        out[tool] = job if "error" not in result else f"store setup failed: {result['error']}"
    return out


def _from_template(template: Path, job: Path) -> None:
    for part in ("data", "home"):
        if (template / part).exists():
            shutil.copytree(template / part, job / part, symlinks=True)


def measure(plan: Plan, versions: dict[str, str | None], prepared: dict[tuple[str, str], Any],
            templates: dict[str, Path | str], artifact_src: Path | None
            ) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """All repetitions, interleaved; returns results[workload][tool] = [rep results]."""
    results: dict[str, dict[str, list[dict[str, Any]]]] = {w: {} for w in plan.workloads}
    for rep in range(plan.reps):
        order = plan.tools[rep % len(plan.tools):] + plan.tools[:rep % len(plan.tools)]
        a_jobs: dict[str, Path] = {}
        for workload in plan.workloads:
            for tool in order:
                if not_applicable(tool, workload, versions):
                    continue
                job = plan.root / f"rep{rep}" / f"{workload}-{tool}"
                result = _one(plan, tool, workload, job, prepared, templates, a_jobs,
                              artifact_src, rep)
                if workload == "A" and "error" not in result:
                    a_jobs[tool] = job
                results[workload].setdefault(tool, []).append(result)
                shown = ", ".join(f"{k}={v:.3g}" for k, v in result.items()
                                  if isinstance(v, float) and k != "wall")
                log(f"rep {rep + 1}/{plan.reps} {workload} {tool}: {result.get('wall', 0):.1f} s"
                    f"  {result.get('error') or shown}")
                if workload in ("B", "F"):
                    shutil.rmtree(job, ignore_errors=True)
        shutil.rmtree(plan.root / f"rep{rep}", ignore_errors=True)
    return results


def _one(plan: Plan, tool: str, workload: str, job: Path,
         prepared: dict[tuple[str, str], Any], templates: dict[str, Path | str],
         a_jobs: dict[str, Path], artifact_src: Path | None, rep: int) -> dict[str, Any]:
    function = WORKLOADS[workload]
    if workload in ("A", "B"):
        template = templates.get(tool)
        if not isinstance(template, Path):
            return {"error": str(template)}
        _from_template(template, job)
        result = run_job(plan, tool, function, job)
        if "error" not in result:
            result["scale"] = _scale(plan, tool, workload)
        return result
    if workload == "C":
        source = prepared.get(("C", tool)) or a_jobs.get(tool)
        if not isinstance(source, Path):
            return {"error": "no source run (A failed or was not run)"}
        return run_job(plan, tool, function, job, source=source)
    if workload in ("D", "E"):
        source = prepared.get((workload, tool))
        if not isinstance(source, Path):
            return {"error": f"setup failed: {(source or {}).get('error')}"}
        return run_job(plan, tool, function, job, source=source, rep=rep)
    return run_job(plan, tool, function, job, artifact_src=artifact_src)


def _scale(plan: Plan, tool: str, workload: str) -> float:
    """How much bigger the full workload is than what a capped tool ran."""
    used = sizes_for(plan, tool)
    if workload == "A":
        return plan.sizes.a_steps / used.a_steps
    return plan.sizes.b_runs / used.b_runs


def derive(workload: str, r: dict[str, Any], sizes: Sizes) -> dict[str, Any]:
    """Add the numbers the tables show, per repetition (their medians are then taken)."""
    if "error" in r:
        return r
    scale = r.get("scale", 1.0)
    out = dict(r)
    if workload == "A":
        out["per_call_us"] = r["loop"] / r["steps"] * 1e6
        out["loop_full"] = r["loop"] * scale
        out["disk_full"] = r["disk"] * scale
        out["total"] = r["import"] + r["init"] + out["loop_full"] + r["finish"]
        out["exit"] = r["wall"] - r["elapsed"]
    elif workload == "B":
        out["runs_full"] = r["runs"] * scale
        out["per_run_ms"] = out["runs_full"] / sizes.b_runs * 1000
        out["disk_full"] = r["disk"] * scale
    elif workload == "C":
        out["cold"] = r["import"] + r["read"]
    elif workload == "D":
        out["cold"] = r["import"] + r["query"]
    elif workload == "F":
        out["both"] = r["first"] + r["second"]
    return out


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of the numeric fields over the successful repetitions (a field measured in
    fewer repetitions, like E's all points, is the median of those)."""
    ok = [r for r in results if "error" not in r]
    out: dict[str, Any] = {"reps": len(ok), "errors": [r["error"] for r in results
                                                       if "error" in r]}
    for key in dict.fromkeys(k for r in ok for k in r):
        values = [r[key] for r in ok if isinstance(r.get(key), int | float)]
        if values:
            out[key] = statistics.median(values)
    return out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="small sizes and 1 repetition (a smoke run, not for the table)")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3; 1 if --quick)")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset")
    p.add_argument("--only", default="A,B,C,D,E,F", help="workloads, e.g. A,B")
    p.add_argument("--no-artifacts", action="store_true", help="skip F (1 GB written per tool)")
    p.add_argument("--artifact-mb", type=int, default=None, help="size of F's folder")
    p.add_argument("--full", action="store_true",
                   help="no caps: run slow peers on the whole of A and B (adds many minutes)")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter with labtrack and the peers installed")
    p.add_argument("--workdir", default=None, help="where stores are written (default: temp)")
    p.add_argument("--keep", action="store_true", help="keep the work folder")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    p.add_argument("--cache", default=str(cache / "labtrack-bench" / "peers"),
                   help="where the untimed C/D/E setups are kept between runs "
                        "(default %(default)s; about 1 GB)")
    p.add_argument("--no-cache", action="store_true", help="rebuild the setups in the work "
                   "folder (and drop them at the end)")
    p.add_argument("--out", default=None,
                   help="results file (default bench/RESULTS.md; bench/out/peers-quick.md "
                        "with --quick)")
    p.add_argument("--job-timeout", type=float, default=600.0)
    p.add_argument("--render", metavar="JSON", default=None,
                   help="only rewrite the tables from a recorded bench/out/*.json")
    return p.parse_args(argv)


def _shown(python: str) -> str:
    """The interpreter as the command line shows it (relative inside the repository)."""
    path = Path(python).absolute()
    try:
        return str(path.relative_to(HERE.parent))
    except ValueError:
        return str(path)


def render(record: dict[str, Any], out: Path) -> None:
    """Write the tables of a recorded run (``--render`` redoes this from the JSON)."""
    sizes = Sizes(**record["sizes"])
    plan = Plan(tools=record["tools"], workloads=record["workloads"], reps=record["reps"],
                sizes=sizes, python=sys.executable, root=Path("."), full=record["full"],
                job_timeout=0, cache=None)
    results = {w: {t: [derive(w, r, sizes) for r in rs] for t, rs in per.items()}
               for w, per in record["raw"].items()}
    summary = {w: {t: summarize(r) for t, r in per.items()} for w, per in results.items()}
    versions = record["versions"]
    na = {w: {t: reason for t in plan.tools if (reason := not_applicable(t, w, versions))}
          for w in plan.workloads}
    how = {t: adapter(t).HOW for t in plan.tools}
    write_results(out, summary=summary, na=na, how=how, plan=plan, versions=versions,
                  machine=record["machine"], command=record["command"],
                  expected=expected_matches(sizes.d_runs), minutes=record["minutes"])


def compile_labtrack(python: str) -> None:
    """Byte-compile labtrack's modules, as pip does for the peers it installs.

    An editable install (``pip install -e``) runs from the source tree, where Python
    writes ``__pycache__`` at the first import unless ``PYTHONDONTWRITEBYTECODE`` is
    set (as on some CI machines): then every fresh process would compile labtrack
    from source (~50 ms) while the peers load their compiled files.
    """
    subprocess.run([python, "-c", "import compileall, os, labtrack; "
                    "compileall.compile_dir(os.path.dirname(labtrack.__file__), quiet=1)"],
                   check=True, env={**os.environ, "PYTHONDONTWRITEBYTECODE": ""})


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = Path(args.out) if args.out else (
        HERE / "out" / "peers-quick.md" if args.quick else HERE / "RESULTS.md")
    raw = HERE / "out" / f"{out.stem}.json"  # every repetition, for a closer look
    if args.render:
        render(json.loads(Path(args.render).read_text()), out)
        log(f"wrote {out}")
        return 0
    sizes = Sizes.quick() if args.quick else Sizes()
    workloads = [w.strip().upper() for w in args.only.split(",") if w.strip()]
    if args.no_artifacts and "F" in workloads:
        workloads.remove("F")
    root = Path(args.workdir or tempfile.mkdtemp(prefix="labtrack-peers-"))
    if "F" in workloads:
        want = args.artifact_mb or sizes.f_mb
        free_mb = shutil.disk_usage(root).free >> 20
        # the folder + each tool's copy of it twice at most, one tool at a time
        fit = max(16, (free_mb - 2048) // 4)
        if want > fit:
            log(f"only {free_mb} MiB free under {root}: F scaled down to {fit} MiB")
        sizes = dataclasses.replace(sizes, f_mb=min(want, fit))
    plan = Plan(tools=[t.strip() for t in args.tools.split(",") if t.strip()],
                workloads=workloads, reps=args.reps or (1 if args.quick else 3), sizes=sizes,
                python=args.python, root=root, full=args.full, job_timeout=args.job_timeout,
                cache=None if args.no_cache else Path(args.cache))
    unknown = set(plan.tools) - set(TOOLS) or set(workloads) - set(WORKLOADS)
    if unknown:
        log(f"unknown: {sorted(unknown)}")
        return 2
    started = time.time()
    compile_labtrack(plan.python)
    machine = machine_info(plan.python)
    versions = tool_versions(plan)
    log(f"work folder {root}; versions {versions}")
    artifact_src = None
    try:
        if "F" in workloads:
            artifact_src = root / "artifact-src"
            files, size = make_artifact_dir(artifact_src, sizes.f_mb)
            log(f"F: {files} files, {size >> 20} MiB in {artifact_src}")
        prepared = prepare(plan, versions)
        templates = make_templates(plan, versions)
        results = measure(plan, versions, prepared, templates, artifact_src)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    record = {
        "command": " ".join([_shown(plan.python), "bench/peers.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine, "versions": versions, "minutes": (time.time() - started) / 60,
        "tools": plan.tools, "workloads": plan.workloads, "reps": plan.reps,
        "full": plan.full, "sizes": dataclasses.asdict(sizes), "raw": results,
    }
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text(json.dumps(record, indent=1, default=str))
    out.parent.mkdir(parents=True, exist_ok=True)
    render(record, out)
    log(f"wrote {out} and {raw} in {record['minutes']:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
