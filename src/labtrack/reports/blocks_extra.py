"""The blocks over other features: ``labtrack-sweep`` (from :mod:`labtrack.sweeps.results`)
and ``labtrack-artifact`` (from :mod:`labtrack.artifacts.views`)."""

from __future__ import annotations

from typing import Any

from ..server.columns import json_value
from ._spec import BlockError, check_keys, flag, integer, require_project, text
from .blocks import BlockContext

SWEEP_KEYS = ("sweep", "top", "title")


def sweep_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """A sweep: progress, best run, best value so far, parameter importance, top runs."""
    from ..sweeps.results import sweep_page

    check_keys(spec, SWEEP_KEYS)
    sweep_id = text(spec, "sweep")
    if not sweep_id:
        raise BlockError("name the sweep: 'sweep: <sweep id>'")
    page = sweep_page(ctx.store, sweep_id)
    summary = page["sweep"]
    require_project(ctx.store, summary["project"])
    top_n = integer(spec, "top", 5, 0, 50)
    metric = summary.get("metric") or {}
    finished = [r for r in page["runs"] if r["value"] is not None]
    maximize = metric.get("goal") == "maximize"
    finished.sort(key=lambda r: r["value"], reverse=maximize)
    keep = ("id", "project", "name", "method", "state", "run_count", "runs_by_state",
            "planned", "metric", "best", "created_at", "updated_at")
    return json_value({
        "sweep": {k: summary.get(k) for k in keep},
        "best_so_far": page["best_so_far"],
        "importance": page["importance"],
        "top": [{"run_id": r["run_id"], "name": r["name"], "number": r["number"],
                 "value": r["value"], "params": r["params"]} for r in finished[:top_n]],
    })


ARTIFACT_KEYS = ("artifact", "project", "files", "lineage", "title")


def _split_ref(ref: str, project: str) -> tuple[str, str, str]:
    """("project", "name", "selector") from "[project/]name[:v3|:alias]"."""
    head, sep, selector = ref.strip().rpartition(":")
    if not sep:
        head, selector = ref.strip(), "latest"
    parts = head.split("/")
    if not parts[-1] or len(parts) > 3:
        raise BlockError(f"artifact reference {ref!r} is invalid: use 'name:v3' or "
                         "'project/name:alias'")
    return (parts[-2] or project) if len(parts) >= 2 else project, parts[-1], selector


def _pick(versions: list[dict[str, Any]], selector: str, ref: str) -> dict[str, Any]:
    digits = selector[1:] if selector[:1] in "vV" else selector
    if digits.isdigit():
        found = [v for v in versions if v["version"] == int(digits)]
    else:
        found = [v for v in versions if selector in v["aliases"]]
        if not found and selector == "latest":
            found = versions[:1]  # versions come newest first
    if not found:
        raise BlockError(f"artifact {ref!r}: no version or alias {selector!r}")
    return found[0]


def artifact_block(ctx: BlockContext, spec: dict[str, Any]) -> dict[str, Any]:
    """One artifact version: type, size, aliases, metadata, its files and its runs."""
    from ..artifacts import views

    check_keys(spec, ARTIFACT_KEYS)
    ref = text(spec, "artifact")
    if not ref:
        raise BlockError("name the artifact: 'artifact: name:v3' or 'project/name:alias'")
    project, name, selector = _split_ref(ref, text(spec, "project", ctx.project) or ctx.project)
    require_project(ctx.store, project)
    detail = views.artifact_detail(ctx.store, project, name)
    version = _pick(detail["versions"], selector, ref)
    limit = integer(spec, "files", 20, 0, 500)
    files = views.version_files(ctx.store, project, name, version["version"]) if limit else []
    out: dict[str, Any] = {
        "version": {k: version.get(k) for k in (
            "project", "name", "type", "version", "digest", "size", "file_count",
            "description", "metadata", "aliases", "created_at", "created_by", "state")},
        "versions": len(detail["versions"]),
        "files": [{"path": f["path"], "size": f.get("size"), "ref": f.get("ref")}
                  for f in files[:limit]],
    }
    if flag(spec, "lineage", True):
        graph = views.lineage_graph(ctx.store, project, name, version["version"], depth=1)
        nodes = {n["id"]: n for n in graph["nodes"]}
        root = graph["root"]
        runs: dict[str, list[dict[str, Any]]] = {"logged": [], "used": []}
        for edge in graph["edges"]:
            other = edge["source"] if edge["target"] == root else edge["target"]
            node = nodes.get(other, {})
            if node.get("kind") == "run" and root in (edge["source"], edge["target"]):
                runs[edge["kind"]].append({"id": node["run_id"], "name": node.get("label"),
                                           "state": node.get("state")})
        out["lineage"] = runs
    return json_value(out)  # type: ignore[no-any-return]
