"""``labtrack artifact ls|show|get|put|lineage|rm`` and ``labtrack model ls|promote|get``.

References are ``[project/]name[:vN|:alias]`` (default ``:latest``); ``--project``
names the project when the reference does not and the name is in several.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import (
    console,
    dir_option,
    fmt_time,
    fmt_value,
    handle_errors,
    json_option,
    open_api,
    print_json,
)


def _size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""


def _ref(ref: str, project: str | None) -> str:
    return f"{project}/{ref}" if project and "/" not in ref else ref


def _info(art: Any) -> dict[str, Any]:
    info: dict[str, Any] = art.to_dict()
    info["ref"] = f"{info['project']}/{info['name']}:v{info['version']}"
    return info


project_option = click.option("--project", "-p", help="Project of the artifact (when the "
                                                      "reference names none).")


def _collections_table(rows: list[dict[str, Any]], api: Any, title: str,
                       registry: bool = False) -> Any:
    from rich.table import Table

    cols = ["project", "name", "type", "versions", "latest", "size", "updated"]
    if registry:
        cols = ["project", "name", "versions", "aliases", "updated"]
    table = Table(*cols, title=title)
    for row in rows:
        cells = {"project": row["project"], "name": row["name"], "type": row["type"],
                 "versions": str(row["versions"]), "latest": f"v{row['newest']}",
                 "size": _size(row["size"]), "updated": fmt_time(row["updated_at"])}
        if registry:
            versions = api.artifacts(None, f"{row['project']}/{row['name']}")
            cells["aliases"] = ", ".join(f"{a}: {v.version}" for v in versions
                                         for a in v.to_dict()["aliases"])
        table.add_row(*[cells[c] for c in cols])
    return table


@click.group()
def artifact() -> None:
    """List, show, fetch, add and delete artifacts (versioned datasets, models, files)."""


@artifact.command("ls")
@click.argument("project", required=False)
@click.option("--type", "-t", "type_", help="Only artifacts of this type (dataset, model ...).")
@dir_option
@json_option
@handle_errors
def ls(project: str | None, type_: str | None, store_dir: Path | None, as_json: bool) -> None:
    """List the artifacts of PROJECT (all projects if omitted) with their newest version."""
    api = open_api(store_dir)
    rows = api.artifact_collections(project, type_)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No artifacts yet.")
        return
    console().print(_collections_table(rows, api, f"{len(rows)} artifact(s)"))


@artifact.command("show")
@click.argument("ref")
@project_option
@click.option("--files", "-f", "max_files", type=click.IntRange(min=0), default=20,
              show_default=True, help="List at most this many files.")
@dir_option
@json_option
@handle_errors
def show(ref: str, project: str | None, max_files: int, store_dir: Path | None,
         as_json: bool) -> None:
    """Show one version REF (e.g. mnist:v3, mnist:best): metadata, aliases, files, lineage."""
    api = open_api(store_dir)
    art = api.artifact(_ref(ref, project))
    info = _info(art)
    files = art.manifest
    logged_by, used_by = art.logged_by(), art.used_by()
    if as_json:
        print_json({**info, "files": files, "logged_by": logged_by, "used_by": used_by})
        return
    out = console()
    out.print(f"[bold]{info['ref']}[/] ({info['type']})  aliases: "
              + (", ".join(info["aliases"]) or "-"))
    out.print(f"{info['file_count']} file(s), {_size(info['size'])}, created "
              f"{fmt_time(info['created_at'])}, digest {info['digest'][:16]}")
    if info.get("description"):
        out.print(f"description: {info['description']}")
    out.print(f"logged by run: {logged_by or '-'}; used by: {', '.join(used_by) or '-'}")
    if info["metadata"]:
        for key, value in info["metadata"].items():
            out.print(f"  {key}: {fmt_value(value)}")
    from rich.table import Table

    table = Table("path", "size", "digest / reference", title="files", title_justify="left")
    for entry in files[:max_files]:
        table.add_row(entry["path"], _size(entry["size"]),
                      entry["ref"] or (entry["digest"] or "")[:16])
    if len(files) > max_files:
        table.add_row(f"... {len(files) - max_files} more", "", "")
    out.print(table)


@artifact.command("get")
@click.argument("ref")
@project_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Download into this folder [default: the store's artifacts-cache].")
@dir_option
@handle_errors
def get(ref: str, project: str | None, root: Path | None, store_dir: Path | None) -> None:
    """Download version REF (digests verified, hard links where possible); print its folder."""
    api = open_api(store_dir)
    click.echo(api.artifact(_ref(ref, project)).download(root))


@artifact.command("put")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--name", "-n", help="Artifact name [default: the file or folder name].")
@click.option("--type", "-t", "type_", default="dataset", show_default=True,
              help="Artifact type.")
@click.option("--project", "-p", help="Project [default: LABTRACK_PROJECT].")
@click.option("--alias", "-a", "aliases", multiple=True, help="Alias to set (repeatable).")
@click.option("--description", help="Description of the version.")
@dir_option
@json_option
@handle_errors
def put(path: Path, name: str | None, type_: str, project: str | None,
        aliases: tuple[str, ...], description: str | None, store_dir: Path | None,
        as_json: bool) -> None:
    """Log the file or folder PATH as a new version (no run); identical content is reused."""
    from ..artifacts import Artifact
    from ..artifacts.run_api import _default_name, log_without_run

    art = Artifact(name or _default_name(path.resolve().name), type_, description=description)
    if path.is_dir():
        art.add_dir(path)
    else:
        art.add_file(path)
    art = log_without_run(art, project, list(aliases), store_dir)
    if as_json:
        print_json(_info(art))
        return
    click.echo(f"{_info(art)['ref']}  {art.file_count} file(s), {_size(art.size)}")


@artifact.command("lineage")
@click.argument("ref")
@project_option
@click.option("--depth", type=click.IntRange(min=1), default=4, show_default=True,
              help="How many run/artifact hops to follow each way.")
@dir_option
@json_option
@handle_errors
def lineage(ref: str, project: str | None, depth: int, store_dir: Path | None,
            as_json: bool) -> None:
    """Show which runs logged and used version REF, and what those runs logged and used."""
    from ..artifacts.views import lineage_graph

    api = open_api(store_dir)
    info = _info(api.artifact(_ref(ref, project)))
    graph = lineage_graph(api.store, info["project"], info["name"], info["version"], depth)
    if as_json:
        print_json(graph)
        return
    nodes = {n["id"]: n for n in graph["nodes"]}

    def label(node_id: str) -> str:
        node = nodes[node_id]
        if node["kind"] == "run":
            return f"run {node['label']} ({node['run_id']}, {node.get('state') or 'unknown'})"
        return f"{node['project']}/{node['label']} [{node['type']}]"

    click.echo(f"lineage of {info['ref']}:")
    for edge in graph["edges"]:
        verb = "logged" if edge["kind"] == "logged" else "was used by"
        click.echo(f"  {label(edge['source'])}  --{verb}-->  {label(edge['target'])}")
    if not graph["edges"]:
        click.echo("  (no runs logged or used it)")


@artifact.command("rm")
@click.argument("ref")
@project_option
@click.option("--force", is_flag=True, help="Delete even if runs used this version.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@dir_option
@handle_errors
def rm(ref: str, project: str | None, force: bool, yes: bool, store_dir: Path | None) -> None:
    """Delete version REF; files no other version, run or media uses are freed."""
    api = open_api(store_dir)
    info = _info(api.artifact(_ref(ref, project)))
    if not yes and not click.confirm(f"Delete {info['ref']}?", default=False):
        click.echo("Nothing deleted.")
        raise SystemExit(1)
    result = api.delete_artifact_version(info["ref"], force=force)
    click.echo(f"deleted {info['ref']}; freed {result['freed']} file(s), "
               f"{_size(result['freed_bytes'])}")


@click.group()
def model() -> None:
    """The model registry: models are artifacts of type "model"; aliases such as
    production or staging point at one version each."""


@model.command("ls")
@click.argument("project", required=False)
@dir_option
@json_option
@handle_errors
def model_ls(project: str | None, store_dir: Path | None, as_json: bool) -> None:
    """List registered models of PROJECT (all if omitted) and where their aliases point."""
    api = open_api(store_dir)
    rows = api.artifact_collections(project, "model")
    if as_json:
        for row in rows:
            versions = api.artifacts("model", f"{row['project']}/{row['name']}")
            row["aliases"] = {a: v.version for v in versions for a in v.to_dict()["aliases"]}
        print_json(rows)
        return
    if not rows:
        click.echo("No models yet (log one with run.log_model(path, name)).")
        return
    console().print(_collections_table(rows, api, f"{len(rows)} model(s)", registry=True))


@model.command("promote")
@click.argument("ref")
@click.argument("alias")
@project_option
@dir_option
@handle_errors
def promote(ref: str, alias: str, project: str | None, store_dir: Path | None) -> None:
    """Point ALIAS (e.g. production) at model version REF (e.g. mymodel:v3).

    The alias leaves whichever version held it before.
    """
    api = open_api(store_dir)
    art = api.artifact(_ref(ref, project), type="model")
    before = None
    try:
        before = api.artifact(f"{art.project}/{art.collection_name}:{alias}").version
    except KeyError:
        pass
    art.aliases = [*art.aliases, alias]
    art.save()
    moved = f" (was {before})" if before and before != art.version else ""
    click.echo(f"{art.project}/{art.collection_name}:{alias} -> {art.version}{moved}")


@model.command("get")
@click.argument("ref")
@project_option
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Download into this folder [default: the store's artifacts-cache].")
@dir_option
@handle_errors
def model_get(ref: str, project: str | None, root: Path | None, store_dir: Path | None) -> None:
    """Download model version REF (e.g. mymodel:production) and print its path.

    A model of one file prints the file's path, otherwise the folder's.
    """
    api = open_api(store_dir)
    art = api.artifact(_ref(ref, project), type="model")
    click.echo(art.file(root) if art.file_count == 1 else art.download(root))
