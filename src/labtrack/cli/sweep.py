"""``labtrack sweep create|ls|show|pause|resume|stop`` and ``labtrack agent``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ._common import (
    STATE_STYLE,
    console,
    dir_option,
    fmt_time,
    fmt_value,
    handle_errors,
    json_option,
    print_json,
)


def _index(store_dir: Path | None) -> Any:
    from ..sweeps.remote import open_index

    return open_index(store_dir)  # the team server when LABTRACK_URL is set


project_option = click.option("--project", "-p", metavar="P",
                              help="Project to look the sweep up in (names are per project).")


@click.group()
def sweep() -> None:
    """Create and manage hyperparameter sweeps (W&B-compatible sweep configs).

    \b
    labtrack sweep create sweep.yaml --project mnist
    labtrack agent SWEEP_ID --count 20 --workers 2
    labtrack sweep show SWEEP_ID
    """


@sweep.command("create")
@click.argument("config_file", metavar="CONFIG", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--project", "-p", metavar="P",
              help="Project of the sweep's runs [default: the config's, LABTRACK_PROJECT, "
                   "or uncategorized].")
@click.option("--name", "-n", help="Sweep name [default: the config's name].")
@dir_option
@json_option
@handle_errors
def create(config_file: Path, project: str | None, name: str | None, store_dir: Path | None,
           as_json: bool) -> None:
    """Create a sweep from CONFIG (a YAML or JSON file) and print its id.

    The config is validated first; a bad key is named in the error. A program sweep's
    program must exist in the current directory, where `labtrack agent` runs it.
    """
    from ..settings import Settings
    from ..sweeps.config import check_program, load_sweep_config

    if not config_file.is_file():
        raise click.BadParameter(f"{config_file} does not exist", param_hint="CONFIG")
    config = load_sweep_config(config_file)
    if config.program is not None:
        check_program(config, Path.cwd())
    created = _index(store_dir).create(config.raw, project or config.project
                                       or Settings().project, name=name)
    if as_json:
        print_json(created)
        return
    click.echo(f"Created sweep {created['id']} ({config.method}) in project "
               f"{created['project']}.")
    click.echo(f"Run an agent: labtrack agent {created['id']}", err=True)


@sweep.command("ls")
@project_option
@dir_option
@json_option
@handle_errors
def ls(project: str | None, store_dir: Path | None, as_json: bool) -> None:
    """List sweeps (of one project with --project), newest first."""
    rows = _index(store_dir).list_sweeps(project)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No sweeps yet. Create one with: labtrack sweep create sweep.yaml")
        return
    from rich.table import Table

    table = Table("id", "name", "project", "method", "state", "runs", "created",
                  title=f"{len(rows)} sweep(s)")
    for r in rows:
        table.add_row(r["id"], r["name"] or "", r["project"], r["method"], _state(r["state"]),
                      _counts(r["runs_by_state"]), fmt_time(r["created_at"]))
    console().print(table)


@sweep.command("show")
@click.argument("sweep_ref", metavar="SWEEP")
@project_option
@click.option("--top", type=click.IntRange(min=0), default=10, show_default=True,
              help="How many of the best runs to list.")
@dir_option
@json_option
@handle_errors
def show(sweep_ref: str, project: str | None, top: int, store_dir: Path | None,
         as_json: bool) -> None:
    """Show SWEEP: progress, best run and parameters, parameter importance."""
    from ..sweeps.results import sweep_page

    index = _index(store_dir)
    page = sweep_page(index.store, index.resolve(sweep_ref, project))
    if as_json:
        print_json(page)
        return
    from rich.table import Table

    s, out = page["sweep"], console()
    out.print(f"[bold]sweep {s['id']}[/]" + (f" ({s['name']})" if s["name"] else "")
              + f" in [bold]{s['project']}[/]: {s['method']}, {_state(s['state'])}")
    metric = s["metric"]
    if metric:
        out.print(f"metric: {metric['name']} ({metric['goal']})"
                  + (f", target {fmt_value(metric['target'])}" if metric["target"] is not None
                     else ""))
    planned = f" of {s['planned']}" if s["planned"] is not None else ""
    out.print(f"progress: {s['run_count']}{planned} runs"
              + (f" ({_counts(s['runs_by_state'])})" if s["run_count"] else ""))
    best = s["best"]
    if best is not None:
        out.print(f"best: run {best['number']} {best['name'] or ''} ({best['run_id']}) "
                  f"{metric['name']}={fmt_value(best['value'])}")
        from ..sweeps.command import flatten_params

        for key, value in flatten_params(best["params"]).items():
            out.print(f"  {key} = {fmt_value(value)}")
    if page["importance"]:
        table = Table("parameter", "importance", "correlation", title="parameter importance "
                      f"to {metric['name']} ({page['importance'][0]['runs']} runs)",
                      title_justify="left")
        for row in page["importance"]:
            table.add_row(row["param"], fmt_value(row["importance"]),
                          fmt_value(row["correlation"]))
        out.print(table)
    runs = [r for r in page["runs"] if r["value"] is not None]
    if metric and runs and top:
        runs.sort(key=lambda r: r["value"], reverse=metric["goal"] == "maximize")
        names = sorted({k for r in runs for k in r["params"]})
        table = Table("#", "run", "state", metric["name"], *names,
                      title=f"best {min(top, len(runs))} runs", title_justify="left")
        for r in runs[:top]:
            table.add_row(str(r["number"]), r["name"] or r["run_id"], _state(r["state"]),
                          fmt_value(r["value"]), *[fmt_value(r["params"].get(n)) for n in names])
        out.print(table)


def _set_state(name: str, state: str, help_text: str) -> click.Command:
    @sweep.command(name, help=help_text)
    @click.argument("sweep_ref", metavar="SWEEP")
    @project_option
    @dir_option
    @json_option
    @handle_errors
    def command(sweep_ref: str, project: str | None, store_dir: Path | None,
                as_json: bool) -> None:
        index = _index(store_dir)
        row = index.set_state(index.resolve(sweep_ref, project), state)
        if as_json:
            print_json(row)
        else:
            click.echo(f"Sweep {row['id']} is {row['state']}.")

    return command


pause = _set_state("pause", "paused", "Pause SWEEP: agents finish their current run, then wait.")
resume = _set_state("resume", "running", "Resume a paused or stopped SWEEP.")
stop = _set_state("stop", "stopped",
                  "Stop SWEEP: agents finish their current run, then exit.")


@click.command()
@click.argument("sweep_ref", metavar="SWEEP")
@click.option("--count", "-c", type=click.IntRange(min=1), default=None,
              help="Start at most this many runs [default: until the sweep ends].")
@click.option("--workers", "-w", type=click.IntRange(min=1), default=1, show_default=True,
              help="Runs to execute in parallel on this machine.")
@project_option
@dir_option
@handle_errors
def agent(sweep_ref: str, count: int | None, workers: int, project: str | None,
          store_dir: Path | None) -> None:
    """Run a sweep agent: claim parameters from SWEEP and run its program, repeatedly.

    Each run executes the sweep's command (default: python PROGRAM --key=value ...) in
    the current directory, with LABTRACK_RUN_ID and LABTRACK_SWEEP_ID set so that the
    program's labtrack.init() joins the sweep. Any number of agents, on one machine or
    several sharing the store, can work on one sweep.
    """
    from ..sweeps.agent import Agent

    runner = Agent(sweep_ref, count=count, project=project, dir=store_dir, workers=workers)
    try:
        report = runner.run()
    except KeyboardInterrupt:
        click.echo("Agent interrupted.", err=True)
        sys.exit(130)
    if runner.quiet:  # LABTRACK_SILENT: still say why the agent ended
        click.echo(f"labtrack agent: {report.message}", err=True)
    if report.reason == "failing":
        sys.exit(1)


def _state(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{state}[/]"


def _counts(by_state: dict[str, int]) -> str:
    return ", ".join(f"{n} {state}" for state, n in by_state.items()) or "0"
