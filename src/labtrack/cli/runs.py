"""``labtrack runs ls|show|compare|rm``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ._common import (
    STATE_STYLE,
    console,
    dir_option,
    fmt_duration,
    fmt_time,
    fmt_value,
    get_path,
    handle_errors,
    json_option,
    open_api,
    print_json,
)

DEFAULT_COLUMNS = ["name", "state", "created_at", "duration", "tags"]


@click.group()
def runs() -> None:
    """List, show, compare and delete runs."""


def _cell(row: dict[str, Any], column: str) -> str:
    if column == "created_at":
        return fmt_time(row.get("created_at"))
    if column == "duration":
        return fmt_duration(row.get("duration"))
    if column == "tags":
        return ", ".join(row.get("tags") or [])
    if column == "state":
        state = row.get("state", "")
        return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"
    return fmt_value(get_path(row, column))


def _auto_columns(rows: list[dict[str, Any]], limit: int = 6) -> list[str]:
    """A few config keys that differ between runs and the first summary metrics."""
    config_keys: list[str] = []
    for key in (rows[0]["config"] if rows else {}):
        values = {repr(r["config"].get(key)) for r in rows}
        if len(values) > 1 and not isinstance(rows[0]["config"].get(key), (dict, list)):
            config_keys.append(f"config.{key}")
    summary_keys = [f"summary.{k}" for k in (rows[0]["summary"] if rows else {})
                    if isinstance(rows[0]["summary"][k], (int, float))
                    and not isinstance(rows[0]["summary"][k], bool)]
    # evaluation metrics first: they are what people compare
    summary_keys.sort(key=lambda k: (not any(w in k for w in ("val", "test", "acc", "f1")), k))
    return config_keys[: limit // 2] + summary_keys[: limit - min(len(config_keys), limit // 2)]


@runs.command("ls")
@click.argument("project", required=False)
@click.option("--filter", "-f", "filter_", metavar="EXPR",
              help='Filter, e.g. \'config.lr < 0.01 and "baseline" in tags\'.')
@click.option("--sort", "-s", metavar="KEY", help="Sort key, '-' for descending: -summary.acc")
@click.option("--columns", "-c", metavar="COLS",
              help="Comma-separated columns, e.g. name,state,config.lr,summary.acc")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=None,
              help="Show at most this many runs.")
@dir_option
@json_option
@handle_errors
def ls(project: str | None, filter_: str | None, sort: str | None, columns: str | None,
       limit: int | None, store_dir: Path | None, as_json: bool) -> None:
    """List runs of PROJECT (all projects if omitted), newest first."""
    api = open_api(store_dir)
    rows = [r.as_dict() for r in api.runs(project, filter=filter_, order=sort, limit=limit)]
    if not rows and project is not None and project not in {p["name"] for p in api.projects()}:
        from ..errors import NotFoundError

        known = ", ".join(p["name"] for p in api.projects()) or "none yet"
        raise NotFoundError(f"no project named {project!r} (projects: {known})")
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No runs match." if filter_ else "No runs yet.")
        return
    from rich.table import Table

    cols = [c.strip() for c in columns.split(",")] if columns else \
        ["id"] + DEFAULT_COLUMNS + (["project"] if project is None else []) + _auto_columns(rows)
    table = Table(*cols, title=f"{len(rows)} run(s)" + (f" in {project}" if project else ""))
    for row in rows:
        table.add_row(*[_cell(row, c) for c in cols])
    console().print(table)


@runs.command("show")
@click.argument("run")
@click.option("--project", "-p", help="Project, to disambiguate run names.")
@dir_option
@json_option
@handle_errors
def show(run: str, project: str | None, store_dir: Path | None, as_json: bool) -> None:
    """Show one RUN (id, id prefix or name): state, config, summary, metrics."""
    api = open_api(store_dir)
    r = api.run(f"{project}/{run}" if project else run)
    data = r.as_dict()
    series = r.series_info()
    if as_json:
        print_json({**data, "series": series})
        return
    from rich.table import Table

    out = console()
    state = data["state"]
    out.print(f"[bold]{data['name']}[/] ({data['id']}) in [bold]{data['project']}[/]  "
              f"[{STATE_STYLE.get(state, 'white')}]{state}[/]")
    out.print(f"created {fmt_time(data['created_at'])}, duration "
              f"{fmt_duration(data['duration'])}, host {data.get('host') or '?'}")
    if data.get("tags"):
        out.print("tags: " + ", ".join(data["tags"]))
    if data.get("notes"):
        out.print(f"notes: {data['notes']}")
    env = data.get("environment") or {}
    git = env.get("git") or {}
    if git.get("commit"):
        out.print(f"git: {git.get('branch') or ''} {git['commit'][:12]}"
                  + (" (dirty)" if git.get("dirty") else ""))
    if data.get("error"):
        out.print("[red]error:[/]\n" + data["error"].strip().splitlines()[-1])
    for title, mapping in (("config", _flat(data["config"])), ("summary", data["summary"])):
        table = Table("key", "value", title=title, title_justify="left")
        for key, value in mapping.items():
            table.add_row(key, fmt_value(value))
        out.print(table)
    table = Table("metric", "points", "last", "min", "max", title="metrics", title_justify="left")
    for s in series:
        flag = " (steps go back)" if s["backwards"] else ""
        table.add_row(s["key"] + flag, str(s["count"]), fmt_value(s["last"]),
                      fmt_value(s["min"]), fmt_value(s["max"]))
    out.print(table)


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value:
            out.update(_flat(value, full))
        else:
            out[full] = value
    return out


def _best(values: list[Any], key: str) -> int | None:
    nums = [(v, i) for i, v in enumerate(values)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v]
    if len(nums) < 2 or len({v for v, _ in nums}) == 1:
        return None
    lower = any(w in key.lower() for w in ("loss", "error", "err", "mse", "mae", "rmse", "time"))
    return (min(nums) if lower else max(nums))[1]


@runs.command("compare")
@click.argument("run_refs", nargs=-1, required=True)
@click.option("--all", "show_all", is_flag=True, help="Show config keys that are equal too.")
@dir_option
@json_option
@handle_errors
def compare(run_refs: tuple[str, ...], show_all: bool, store_dir: Path | None,
            as_json: bool) -> None:
    """Compare two or more runs: config differences and summary metrics side by side.

    The best value of each metric is marked (lowest for loss/error-like names,
    highest otherwise).
    """
    if len(run_refs) < 2:
        raise click.UsageError("give at least two runs to compare")
    api = open_api(store_dir)
    rows = [api.run(ref).as_dict() for ref in run_refs]
    configs = [_flat(r["config"]) for r in rows]
    keys = sorted(set().union(*configs))
    differing = [k for k in keys if len({repr(c.get(k)) for c in configs}) > 1]
    metric_keys = sorted(set().union(*(r["summary"] for r in rows)))
    if as_json:
        print_json({
            "runs": [{"id": r["id"], "name": r["name"]} for r in rows],
            "config": {k: [c.get(k) for c in configs] for k in keys},
            "differing": differing,
            "summary": {k: [r["summary"].get(k) for r in rows] for k in metric_keys},
        })
        return
    from rich.table import Table

    out = console()
    names = [f"{r['name']}\n{r['id']}" for r in rows]
    table = Table("config", *names, title="config" + ("" if show_all else " (differences)"),
                  title_justify="left")
    for key in keys if show_all else differing:
        style = "bold yellow" if key in differing else ""
        table.add_row(f"[{style}]{key}[/]" if style else key,
                      *[fmt_value(c.get(key)) for c in configs])
    if not differing and not show_all:
        table.add_row("(no differences)", *["" for _ in rows])
    out.print(table)
    table = Table("metric", *names, title="summary (best marked *)", title_justify="left")
    for key in metric_keys:
        values = [r["summary"].get(key) for r in rows]
        best = _best(values, key)
        table.add_row(key, *[("[bold green]* " + fmt_value(v) + "[/]") if i == best
                             else fmt_value(v) for i, v in enumerate(values)])
    out.print(table)


@runs.command("rm")
@click.argument("run_refs", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@dir_option
@handle_errors
def rm(run_refs: tuple[str, ...], yes: bool, store_dir: Path | None) -> None:
    """Delete runs from the index and their run logs."""
    import shutil

    api = open_api(store_dir)
    targets = [api.run(ref) for ref in run_refs]
    for r in targets:
        click.echo(f"  {r.id}  {r.name}  ({r.project}, {r.state})")
    if not yes and not click.confirm(f"Delete {len(targets)} run(s)?", default=False):
        click.echo("Nothing deleted.")
        raise SystemExit(1)
    from ..settings import Settings

    root = Path(store_dir) if store_dir else Settings().dir
    for r in targets:
        api.store.delete_run(r.id)
        shutil.rmtree(root / "runs" / r.id, ignore_errors=True)
    click.echo(f"Deleted {len(targets)} run(s).")
