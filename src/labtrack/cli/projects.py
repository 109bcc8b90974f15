"""``labtrack projects``."""

from __future__ import annotations

from pathlib import Path

import click

from ._common import console, dir_option, fmt_time, handle_errors, json_option, open_api, print_json


@click.command()
@dir_option
@json_option
@handle_errors
def projects(store_dir: Path | None, as_json: bool) -> None:
    """List projects with their run counts and last activity."""
    rows = open_api(store_dir).projects()
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No projects yet. Log a run with labtrack.init(), or try `labtrack demo`.")
        return
    from rich.table import Table

    table = Table("project", "runs", "last activity", "created")
    for row in rows:
        table.add_row(row["name"], str(row["run_count"]), fmt_time(row["last_activity"]),
                      fmt_time(row["created_at"]))
    console().print(table)
