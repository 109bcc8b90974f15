"""``labtrack demo``."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ._common import dir_option, handle_errors


@click.command()
@click.option("--project", "-p", default="demo", show_default=True, help="Project to log into.")
@click.option("--runs", "count", type=click.IntRange(1, 12), default=None,
              help="Train only the first N of the 12 configurations.")
@click.option("--ui/--no-ui", default=True, show_default=True,
              help="Open the web UI on the project when done.")
@click.option("--port", type=int, default=8765, show_default=True, help="UI port.")
@dir_option
@handle_errors
def demo(project: str, count: int | None, ui: bool, port: int, store_dir: Path | None) -> None:
    """Train a dozen small real models (numpy MLPs on scikit-learn's digits) and log them.

    Each run logs per-epoch loss/accuracy and a classification report, so a new
    user sees a realistic project at once. Then the UI opens on it.
    """
    os.environ.setdefault("LABTRACK_SILENT", "1")
    from rich.progress import BarColumn, Progress, TextColumn

    from ..demo import run_demo

    with Progress(TextColumn("{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}")) as bar:
        task = bar.add_task("training", total=count or 12)

        def progress(done: int, total: int, name: str, acc: float) -> None:
            bar.update(task, completed=done, description=f"{name}: test acc {acc:.3f}")

        ids = run_demo(project, dir=str(store_dir) if store_dir else None, count=count,
                       progress=progress)
    click.echo(f"Logged {len(ids)} runs to project {project!r}.")
    click.echo(f"  labtrack runs ls {project} --sort=-summary.val/acc")
    if ui:
        from .ui import serve

        serve(store_dir, host="127.0.0.1", port=port, open_browser=True,
              path=f"/projects/{project}")
