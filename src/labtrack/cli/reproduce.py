"""``labtrack reproduce RUN``: rebuild a run's code state, compare packages, rerun it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ._common import dir_option, handle_errors, json_option, open_api, print_json


def _load_diff(api_run: Any, environment: dict[str, Any], store_dir: Path | None) -> bytes | None:
    from ..blobs import LocalBlobStore
    from ..errors import StoreError
    from ..reproduce import DIFF_FILE
    from ..settings import Settings

    name = (environment.get("git") or {}).get("diff_file") or DIFF_FILE
    entry = next((f for f in api_run.files() if f["path"] == name), None)
    if entry is None:
        return None
    settings = Settings() if store_dir is None else Settings(dir=store_dir)
    try:
        return LocalBlobStore(settings.blobs_dir).get_bytes(entry["digest"])
    except Exception as err:  # noqa: BLE001 - a missing or damaged blob
        raise StoreError(f"the run's saved diff ({name}, blob {entry['digest'][:12]}) cannot "
                         f"be read from {settings.blobs_dir}: {err}") from None


@click.command("reproduce")
@click.argument("run_ref", metavar="RUN")
@click.option("--into", "into", type=click.Path(path_type=Path), default=None,
              help="Directory to create (default ./<repo>-<run id>); must not exist or be empty.")
@click.option("--requirements", "requirements", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the run's packages, pinned, to this requirements file.")
@click.option("--exec", "execute", is_flag=True,
              help="Rerun the recorded command in the rebuilt tree as a new run linked to RUN.")
@dir_option
@json_option
@handle_errors
def reproduce(run_ref: str, into: Path | None, requirements: Path | None, execute: bool,
              store_dir: Path | None, as_json: bool) -> None:
    """Rebuild RUN's code: a git worktree (or clone) at its commit plus its uncommitted diff.

    Prints the packages that differ between RUN's environment and this one.
    With --exec, runs the recorded command with the recorded config in the
    matching working directory of the new tree, as a new run whose
    reproduced_from is RUN (compare them with `labtrack runs compare`).
    """
    from .. import reproduce as rp

    api = open_api(store_dir)
    run = api.run(run_ref)
    environment = run.environment
    git = rp.code_state(environment, run.id)
    diff = _load_diff(run, environment, store_dir)
    target = into if into is not None else rp.default_path(git, run.id)
    rebuilt = rp.rebuild(run.id, environment, diff, target)
    recorded = environment.get("packages") or {}
    packages = rp.package_diff(recorded) if recorded else None
    written = None
    if requirements is not None and recorded:
        written = rp.write_requirements(
            recorded, requirements,
            header=f"packages of run {run.name} ({run.id}), written by labtrack reproduce")
    command = _command_or_none(environment, rebuilt)
    if as_json:
        print_json({"run": run.id, "rebuilt": rebuilt.as_dict(),
                    "packages": packages.as_dict() if packages is not None else None,
                    "requirements": str(requirements) if written is not None else None,
                    "command": command})
    else:
        _report(run, rebuilt, packages, requirements, written, command, execute)
    if requirements is not None and not recorded:
        click.echo("warning: the run recorded no packages; no requirements file written",
                   err=True)
    if execute:
        _execute(run, environment, rebuilt, store_dir)


def _command_or_none(environment: dict[str, Any], rebuilt: Any) -> list[str] | None:
    from ..errors import UsageError
    from ..reproduce import recorded_command

    try:
        return recorded_command(environment, rebuilt)
    except UsageError:
        return None


def _report(run: Any, rebuilt: Any, packages: Any, requirements: Path | None,
            written: int | None, command: list[str] | None, execute: bool) -> None:
    how = (f"git worktree of {rebuilt.origin}" if rebuilt.source == "worktree"
           else f"clone of {rebuilt.origin}")
    click.echo(f"Rebuilt run {run.name} ({run.id}) in {rebuilt.path}")
    click.echo(f"  {how} at {rebuilt.commit[:12]}"
               + (", uncommitted diff applied" if rebuilt.diff_applied else ""))
    if rebuilt.workdir != rebuilt.path:
        click.echo(f"  working directory: {rebuilt.workdir}")
    for warning in rebuilt.warnings:
        click.echo(f"  warning: {warning}", err=True)
    if packages is None:
        click.echo("Packages: none recorded")
    elif not packages:
        click.echo("Packages: same versions as the recorded environment")
    else:
        count = len(packages.changed) + len(packages.missing) + len(packages.extra)
        click.echo(f"Packages: {count} differ from the recorded environment")
        for name, (old, new) in packages.changed.items():
            click.echo(f"  changed  {name} {old} -> {new}")
        for name, version in packages.missing.items():
            click.echo(f"  missing  {name}=={version} (recorded, not installed here)")
        for name, version in packages.extra.items():
            click.echo(f"  extra    {name}=={version} (installed here, not recorded)")
    if written is not None:
        click.echo(f"Requirements ({written} packages) written to {requirements}")
    if command and not execute:
        import shlex

        click.echo(f"Rerun it: cd {shlex.quote(str(rebuilt.workdir))} && "
                   f"{shlex.join(command)}   (or add --exec)")


def _execute(run: Any, environment: dict[str, Any], rebuilt: Any,
             store_dir: Path | None) -> None:
    from ..launch import track_command
    from ..reproduce import masked_arguments, recorded_command

    argv = recorded_command(environment, rebuilt)
    masked = masked_arguments(argv)
    if masked:
        click.echo("warning: arguments holding secrets were recorded masked and are passed as "
                   f"'***': {' '.join(masked)}", err=True)
    config = dict(run.config or {})
    result = track_command(
        argv, project=run.project, name=f"{run.name}-repro", tags=run.tags, group=run.group,
        notes=f"reproduces run {run.id}", config=config, dir=store_dir, cwd=rebuilt.workdir,
        reproduced_from=run.id, extra_env={"LABTRACK_CONFIG_JSON": json.dumps(config)},
    )
    click.echo(f"New run {result.run_id} ({result.state}, exit code {result.exit_code}); "
               f"compare: labtrack runs compare {run.id} {result.run_id}", err=True)
    sys.exit(result.exit_code)
