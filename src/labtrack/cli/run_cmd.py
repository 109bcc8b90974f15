"""``labtrack run -- COMMAND``: track any command as a run, with no code change."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import UsageError
from ._common import dir_option, handle_errors


def parse_config(items: tuple[str, ...]) -> dict[str, Any]:
    """``("lr=0.1", "opt=adam", "layers=[64,32]")`` -> ``{"lr": 0.1, "opt": "adam", ...}``.

    Values are read as JSON when they parse (numbers, true/false, null, lists),
    else kept as strings.
    """
    config: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--config {item!r}: expected KEY=VALUE")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        config[key.strip()] = value
    return config


@click.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
@click.option("--project", "-p", default=None, help="Project [env LABTRACK_PROJECT].")
@click.option("--name", "-n", default=None, help="Run name (generated when omitted).")
@click.option("--tag", "-t", "tags", multiple=True, help="A tag; repeat for more.")
@click.option("--group", "-g", default=None, help="Group of related runs.")
@click.option("--notes", default=None, help="Free-text notes.")
@click.option("--config", "-c", "config_items", multiple=True, metavar="KEY=VALUE",
              help="A config value recorded with the run (JSON values parsed); repeatable.")
@click.option("--wandb", "wandb_shim", is_flag=True,
              help="Put the wandb shim first on the command's PYTHONPATH, so `import wandb` "
                   "logs to labtrack.")
@dir_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@handle_errors
def run_cmd(project: str | None, name: str | None, tags: tuple[str, ...], group: str | None,
            notes: str | None, config_items: tuple[str, ...], wandb_shim: bool,
            store_dir: Path | None, command: tuple[str, ...]) -> None:
    """Run COMMAND as a tracked run: labtrack run -p mnist -- python train.py --lr 0.1

    Records the command's code state (git commit, uncommitted diff), packages,
    machine and system metrics of its process tree; captures its stdout and
    stderr (still printed here) as the run file console/output.log, capped at
    LABTRACK_CONSOLE_MAX_BYTES (default 10 MiB: beyond it the first and last
    halves are kept). A labtrack.init() inside the command attaches to the same
    run. The state follows the exit: 0 finished, other codes failed (the error
    holds the tail of stderr), a signal killed. SIGTERM, SIGINT and SIGHUP are
    passed on to the command; a third signal kills it. Exits with the command's
    exit code (128 + N after signal N).
    """
    from ..launch import track_command

    args = list(command)
    if args and args[0] == "--":
        args = args[1:]
    if not args:
        raise UsageError("no command given: labtrack run [OPTIONS] -- COMMAND [ARGS]...")
    result = track_command(
        args, project=project, name=name, tags=tags, group=group, notes=notes,
        config=parse_config(config_items), dir=store_dir, wandb_shim=wandb_shim,
    )
    sys.exit(result.exit_code)
