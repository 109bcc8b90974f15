"""``labtrack import mlflow|tensorboard|wandb``: bring runs from other trackers along."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ._common import dir_option, handle_errors, json_option, print_json

F = TypeVar("F", bound=Callable[..., Any])


def _shared(func: F) -> F:
    """--project, --replace, --dir and --json, shared by every importer."""
    func = click.option("--project", default=None,
                        help="Put every run in this project (default: the source's).")(func)
    func = click.option("--replace", is_flag=True,
                        help="Re-import runs that were imported before (default: skip them).")(
        func)
    return json_option(dir_option(handle_errors(func)))  # type: ignore[return-value]


@click.group("import")
def import_cmd() -> None:
    """Import runs from MLflow, TensorBoard or wandb into the store.

    Steps, wall-clock times, config, tags, media and files come along. Run ids
    derive from the source's, so importing again skips what is already there
    (--replace imports it again).
    """


def _run(importer: Callable[..., Any], source: str, as_json: bool, **kwargs: Any) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    # on stderr, so that stdout holds only the report (or the --json document)
    with Progress(*columns, transient=True, disable=as_json,
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("reading the source", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, total=total or None, completed=done,
                       description=f"importing {label}" if label else "done")

        report = importer(source, progress=progress, **kwargs)
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.errors:
        raise SystemExit(1)


def _print_report(report: Any) -> None:
    click.echo(f"Imported {len(report.imported)} run(s), skipped {len(report.skipped)} "
               "already imported" + (f", {len(report.errors)} failed." if report.errors else "."))
    if report.skipped and not report.imported:
        click.echo("  (use --replace to import them again)")
    for note in report.notes:
        click.echo(f"  note: {note}")
    for run_id, error in report.errors.items():
        click.echo(f"  {run_id}: {error}", err=True)


def _store(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs["store_dir"] = kwargs.pop("store_dir", None)
    return kwargs


@import_cmd.command("mlflow")
@click.argument("source")
@click.option("--experiment", "experiments", multiple=True,
              help="Only this experiment (name or id); repeat for several.")
@click.option("--no-artifacts", is_flag=True, help="Leave artifacts and logged models out.")
@click.option("--include-deleted", is_flag=True, help="Also import deleted experiments and runs.")
@_shared
def mlflow_cmd(source: str, experiments: tuple[str, ...], no_artifacts: bool,
               include_deleted: bool, as_json: bool, **kwargs: Any) -> None:
    """Import an MLflow store: an mlruns folder, an SQLite file or a tracking URI.

    Experiments become projects, params config, metrics series (with steps and
    timestamps), tags tags, artifacts run files. SOURCE examples: ./mlruns,
    mlflow.db, sqlite:///mlflow.db, postgresql://user:pass@host/db.
    """
    from ..importers.mlflow import import_mlflow

    _run(import_mlflow, source, as_json, experiments=list(experiments) or None,
         artifacts=not no_artifacts, include_deleted=include_deleted, **_store(kwargs))


@import_cmd.command("tensorboard")
@click.argument("logdir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_shared
def tensorboard_cmd(logdir: Path, as_json: bool, **kwargs: Any) -> None:
    """Import TensorBoard event files: scalars, histograms, images and hparams.

    Each folder under LOGDIR holding event files becomes a run named by its path;
    the project is LOGDIR's name unless --project is given.
    """
    from ..importers.tensorboard import import_tensorboard

    _run(import_tensorboard, str(logdir), as_json, **_store(kwargs))


@import_cmd.command("wandb")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--no-system", is_flag=True, help="Leave system metrics out.")
@_shared
def wandb_cmd(path: Path, no_system: bool, as_json: bool, **kwargs: Any) -> None:
    """Import local wandb run folders (offline runs, or local copies of synced runs).

    PATH is a run folder, a wandb/ folder or a folder holding wandb/. Config,
    history (with steps and times), summary, histograms, images, system metrics,
    files and console output come along.
    """
    from ..importers.wandb import import_wandb

    _run(import_wandb, str(path), as_json, system=not no_system, **_store(kwargs))


__all__ = ["import_cmd"]
