"""The ``labtrack`` command line. Each command group lives in its own module, loaded on use."""

from __future__ import annotations

import importlib
from typing import Any

import click

from .._version import VERSION

COMMANDS = {
    "projects": ("labtrack.cli.projects:projects", "List projects with run counts."),
    "runs": ("labtrack.cli.runs:runs", "List, show, compare and delete runs."),
    "sync": ("labtrack.cli.sync:sync_cmd", "Apply run logs to the index (or rebuild it)."),
    "demo": ("labtrack.cli.demo:demo", "Train small real models and log them as a demo project."),
    "ui": ("labtrack.cli.ui:ui", "Serve the web UI over the local store."),
    "run": ("labtrack.cli.run_cmd:run_cmd", "Track any command: labtrack run -- python train.py"),
    "reproduce": ("labtrack.cli.reproduce:reproduce", "Rebuild a run's code state and rerun it."),
    "sweep": ("labtrack.cli.sweep:sweep", "Create and manage hyperparameter sweeps."),
    "agent": ("labtrack.cli.sweep:agent", "Run a sweep agent."),
    "artifact": ("labtrack.cli.artifact:artifact", "List, show, fetch and delete artifacts."),
    "model": ("labtrack.cli.artifact:model", "The model registry: list, promote, get."),
    "report": ("labtrack.cli.report:report", "Write, list and export reports."),
    "server": ("labtrack.cli.server:server", "Run the team server; manage users and keys."),
    "login": ("labtrack.cli.login:login", "Store a team server URL and API key."),
    "import": ("labtrack.cli.importers:import_cmd", "Import runs from MLflow, TensorBoard, wandb."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported only when used (keeps --help fast)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._available(name))

    @staticmethod
    def _available(name: str) -> bool:
        module = COMMANDS[name][0].split(":")[0]
        return importlib.util.find_spec(module) is not None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None or not self._available(name):
            return None
        module_name, attr = entry[0].split(":")
        return getattr(importlib.import_module(module_name), attr)  # type: ignore[no-any-return]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(VERSION, prog_name="labtrack")
def cli() -> None:
    """labtrack: local-first ML experiment tracking.

    Data lives in LABTRACK_DIR (default ~/.labtrack); every command takes --dir.
    """


def main(argv: Any = None) -> None:
    """Console entry point."""
    import importlib.util  # noqa: F401 - used by LazyGroup

    cli.main(args=argv, prog_name="labtrack")
