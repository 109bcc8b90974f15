"""Shared CLI options (``--dir``, ``--json``), output helpers and the error -> exit code table."""

from __future__ import annotations

import functools
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import (
    AuthError,
    ConfigError,
    ConflictError,
    FilterError,
    LabtrackError,
    NotFoundError,
    StoreError,
    UsageError,
)

F = TypeVar("F", bound=Callable[..., Any])

# One place maps errors to exit codes (documented in docs/cli.md).
EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 3),
    (FilterError, 2),
    (ConfigError, 2),
    (UsageError, 2),
    (StoreError, 4),
    (ConflictError, 5),
    (AuthError, 6),
    (LabtrackError, 1),
]


def dir_option(func: F) -> F:
    """--dir: the store directory (default LABTRACK_DIR or ~/.labtrack)."""
    return click.option(
        "--dir", "store_dir", type=click.Path(file_okay=False, path_type=Path),
        envvar="LABTRACK_DIR", default=None,
        help="Store directory [env LABTRACK_DIR; default ~/.labtrack].",
    )(func)


def json_option(func: F) -> F:
    """--json: machine-readable output."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(func)


def handle_errors(func: F) -> F:
    """Turn labtrack errors into a one-line message and the matching exit code."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LabtrackError as err:
            code = next(c for cls, c in EXIT_CODES if isinstance(err, cls))
            click.echo(f"Error: {err}", err=True)
            sys.exit(code)

    return wrapper  # type: ignore[return-value]


def open_api(store_dir: Path | None) -> Any:
    from ..api import Api

    return Api(store_dir)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if value != value else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def print_json(data: Any) -> None:
    click.echo(json.dumps(_clean(data), indent=2, default=str, allow_nan=False))


def fmt_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    return str(value)


def fmt_time(ts: float | None) -> str:
    if not ts:
        return ""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 9.95:
        return f"{max(0.0, seconds):.1f}s"  # short runs: 0.4s, not 0s
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


STATE_STYLE = {"running": "cyan", "finished": "green", "failed": "red", "crashed": "red",
               "killed": "yellow", "early_terminated": "yellow", "paused": "yellow",
               "stopped": "magenta"}


def console() -> Any:
    from rich.console import Console

    return Console()


def get_path(data: dict[str, Any], dotted: str) -> Any:
    """config.optimizer.name -> data["config"]["optimizer"]["name"] (summary keys are flat)."""
    root, _, rest = dotted.partition(".")
    value: Any = data.get(root)
    if not rest:
        return value
    if root == "summary":
        return (value or {}).get(rest)
    for part in rest.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
