"""``labtrack sync``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import dir_option, handle_errors, json_option, print_json


@click.command("sync")
@click.argument("run_ids", nargs=-1)
@click.option("--rebuild", is_flag=True,
              help="Move the index database aside and rebuild it from every run log.")
@dir_option
@json_option
@handle_errors
def sync_cmd(run_ids: tuple[str, ...], rebuild: bool, store_dir: Path | None,
             as_json: bool) -> None:
    """Apply run logs to the index (all runs, or RUN_IDS).

    Safe to run any time, also while runs are logging: records already in the
    index are skipped. Use --rebuild when the database is damaged; runs that are
    logging during a rebuild keep writing to the old file, so run `labtrack sync`
    again once they have finished.
    """
    from rich.progress import Progress

    from ..sync import sync

    with Progress(transient=True, disable=as_json) as bar:
        task = bar.add_task("syncing run logs", total=None)

        def progress(done: int, total: int, run_id: str) -> None:
            bar.update(task, total=total, completed=done, description=f"syncing {run_id}")

        report = sync(store_dir, list(run_ids) or None, rebuild=rebuild, progress=progress)
    if as_json:
        print_json(vars(report))
        return
    click.echo(f"Synced {report.runs} run(s), applied {report.records} record(s).")
    for run_id in report.torn:
        click.echo(f"  {run_id}: its run log ends in a torn record (skipped; the rest is indexed)")
    for run_id, error in report.errors.items():
        click.echo(f"  {run_id}: {error}", err=True)
    if report.errors:
        raise SystemExit(1)
