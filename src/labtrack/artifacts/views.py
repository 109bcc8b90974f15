"""Plain functions the web UI and CLI call: JSON-able results, no HTML.

Each takes an open store (``SQLStore``); blobs live in the store's directory.

- :func:`list_by_type` -- a project's artifacts grouped by type
- :func:`artifact_detail` -- one artifact with its versions and aliases
- :func:`version_files` -- a version's file list
- :func:`file_preview` -- the head of a small text/CSV file, or an image's bytes
- :func:`lineage_graph` -- runs -> versions -> runs as nodes and edges
- :func:`run_artifacts` -- what a run used and logged
"""

from __future__ import annotations

import base64
import csv
import io
import mimetypes
from typing import Any

from ..errors import NotFoundError
from ._backend import Backend

TEXT_EXTS = {".txt", ".md", ".json", ".yaml", ".yml", ".py", ".log", ".cfg", ".ini", ".toml",
             ".jsonl", ".xml", ".html", ".sh", ".rst"}
CSV_EXTS = {".csv", ".tsv"}
IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".svg"}


def _index(store: Any) -> Any:
    return Backend.for_store(store).index


def list_by_type(store: Any, project: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{type: [collection, ...]}`` for a project (all projects when None)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for coll in _index(store).collections(project):
        out.setdefault(coll["type"], []).append(coll)
    return out


def artifact_detail(store: Any, project: str, name: str) -> dict[str, Any]:
    """``{"project", "name", "type", "versions": [...], "aliases": {alias: version}}``."""
    versions = _index(store).versions(project, name)
    aliases = {a: v["version"] for v in versions for a in v["aliases"]}
    return {"project": project, "name": name, "type": versions[0]["type"],
            "versions": versions, "aliases": aliases}


def _version(store: Any, project: str, name: str, version: str | int) -> dict[str, Any]:
    selector = f"v{version}" if isinstance(version, int) else version
    return _index(store).resolve(f"{project}/{name}:{selector}")  # type: ignore[no-any-return]


def version_files(store: Any, project: str, name: str,
                  version: str | int) -> list[dict[str, Any]]:
    """The files of a version (``version``: 3, "v3" or an alias)."""
    info = _version(store, project, name, version)
    return _index(store).files(info["id"])  # type: ignore[no-any-return]


def file_preview(store: Any, project: str, name: str, version: str | int, path: str,
                 max_bytes: int = 65536, max_rows: int = 50) -> dict[str, Any]:
    """A preview of one stored file.

    Returns ``{"path", "size", "kind": "text"|"csv"|"image"|"binary"|"reference", ...}``
    with ``text`` (the first ``max_bytes``), ``rows`` (CSV, at most ``max_rows``) or
    ``data_base64`` + ``mime`` (images up to ``max_bytes`` * 32), and ``truncated``.
    """
    backend = Backend.for_store(store)
    info = _version(store, project, name, version)
    entry = next((f for f in backend.index.files(info["id"]) if f["path"] == path), None)
    if entry is None:
        raise NotFoundError(f"{project}/{name}:v{info['version']} has no file {path!r}")
    out: dict[str, Any] = {"path": path, "size": entry["size"], "digest": entry["digest"]}
    if entry.get("ref"):
        return {**out, "kind": "reference", "ref": entry["ref"]}
    ext = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    limit = max_bytes * 32 if ext in IMAGE_EXTS else max_bytes
    with backend.blobs.open(entry["digest"]) as fh:
        data = fh.read(limit + 1)
    truncated = len(data) > limit
    data = data[:limit]
    if ext in IMAGE_EXTS:
        if truncated:
            return {**out, "kind": "binary", "truncated": True}
        mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return {**out, "kind": "image", "mime": mime, "truncated": False,
                "data_base64": base64.b64encode(data).decode("ascii")}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        if not truncated:
            return {**out, "kind": "binary", "truncated": False}
        text = data[:-4].decode("utf-8", errors="ignore")  # cut inside a character
    if "\x00" in text:
        return {**out, "kind": "binary", "truncated": truncated}
    if ext in CSV_EXTS:
        delimiter = "\t" if ext == ".tsv" else ","
        rows = []
        for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter)):
            if i >= max_rows:
                truncated = True
                break
            rows.append(row)
        return {**out, "kind": "csv", "rows": rows, "truncated": truncated}
    return {**out, "kind": "text", "text": text, "truncated": truncated}


def _version_node(v: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"artifact:{v['id']}", "kind": "artifact",
            "label": f"{v['name']}:v{v['version']}",
            "project": v["project"], "name": v["name"], "type": v["type"],
            "version": v["version"], "aliases": v["aliases"], "version_id": v["id"]}


def lineage_graph(store: Any, project: str, name: str, version: str | int = "latest",
                  depth: int = 4) -> dict[str, Any]:
    """The lineage around a version: ``{"nodes": [...], "edges": [...], "root": id}``.

    Nodes are ``{"id": "run:<id>" | "artifact:<version id>", "kind", "label", ...}``;
    edges ``{"source", "target", "kind": "logged"|"used"}`` point run -> version
    (logged) and version -> run (used). ``depth`` counts run/version hops each way.
    """
    index = _index(store)
    start = _version(store, project, name, version)
    nodes: dict[str, dict[str, Any]] = {f"artifact:{start['id']}": _version_node(start)}
    edges: dict[tuple[str, str], str] = {}
    frontier_versions: set[int] = {start["id"]}
    frontier_runs: set[str] = set()
    seen_versions, seen_runs = set(frontier_versions), set(frontier_runs)
    for _ in range(max(1, depth)):
        found = index.edges(version_ids=sorted(frontier_versions),
                            run_ids=sorted(frontier_runs))
        frontier_versions, frontier_runs = set(), set()
        for e in found:
            v, run_id = e["version"], e["run_id"]
            vnode, rnode = f"artifact:{v['id']}", f"run:{run_id}"
            nodes.setdefault(vnode, _version_node(v))
            nodes.setdefault(rnode, {"id": rnode, "kind": "run", "run_id": run_id})
            key = (rnode, vnode) if e["direction"] == "logged" else (vnode, rnode)
            edges[key] = e["direction"]
            if v["id"] not in seen_versions:
                seen_versions.add(v["id"])
                frontier_versions.add(v["id"])
            if run_id not in seen_runs:
                seen_runs.add(run_id)
                frontier_runs.add(run_id)
        if not frontier_versions and not frontier_runs:
            break
    runs = index.run_info([n["run_id"] for n in nodes.values() if n["kind"] == "run"])
    for node in nodes.values():
        if node["kind"] == "run":
            info = runs.get(node["run_id"], {})
            node.update(label=info.get("name") or node["run_id"], state=info.get("state"),
                        project=info.get("project"), job_type=info.get("job_type"))
    return {"root": f"artifact:{start['id']}", "nodes": list(nodes.values()),
            "edges": [{"source": s, "target": t, "kind": k} for (s, t), k in edges.items()]}


def run_artifacts(store: Any, run_id: str) -> dict[str, list[dict[str, Any]]]:
    """``{"logged": [version, ...], "used": [version, ...]}`` for one run."""
    out: dict[str, list[dict[str, Any]]] = {"logged": [], "used": []}
    for e in _index(store).edges(run_ids=[run_id]):
        out[e["direction"]].append(e["version"])
    return out
