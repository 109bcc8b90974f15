"""labtrack: local-first ML experiment tracking.

Shaped like wandb's API so that ``import labtrack as wandb`` runs existing scripts::

    import labtrack
    run = labtrack.init(project="mnist", config={"lr": 1e-3})
    for step in range(1000):
        labtrack.log({"train/loss": loss})
    run.finish()

Importing this package starts no thread, writes no file and imports no heavy
library; features load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._proxies import ConfigProxy, SummaryProxy
from ._version import VERSION as __version__  # noqa: F401 - public attribute
from .errors import (
    ConfigError,
    LabtrackError,
    NotFoundError,
    StoreError,
    UsageError,
)
from .settings import Settings

config = ConfigProxy()
summary = SummaryProxy()

if TYPE_CHECKING:
    from ._init import init
    from ._run import Run
    from .api import Api

# public name -> module that defines it (imported on first access)
_LAZY = {
    "init": "labtrack._init",
    "Run": "labtrack._run",
    "Api": "labtrack.api",
    "Artifact": "labtrack.artifacts",
    "Table": "labtrack.media",
    "Image": "labtrack.media",
    "Histogram": "labtrack.media",
    "Html": "labtrack.media",
    "Audio": "labtrack.media",
    "Video": "labtrack.media",
    "Object3D": "labtrack.compat.object3d",
    "sweep": "labtrack.sweeps.api",
    "agent": "labtrack.sweeps.api",
    "plot": "labtrack.plot",
    "sklearn": "labtrack.integrations.sklearn",
    "watch": "labtrack.compat.watch",
    "unwatch": "labtrack.compat.watch",
    # wandb names with a small labtrack meaning, or that fail naming the wandb feature
    **dict.fromkeys(
        ("AlertLevel", "Bokeh", "BoundingBoxes2D", "Classes", "Graph", "ImageMask",
         "JoinedTable", "Molecule", "PartitionedTable", "Plotly", "alert", "controller",
         "link_model", "log_code", "log_model", "mark_preempting", "plot_table", "require",
         "restore", "setup", "teardown", "termerror", "termwarn", "use_model", "visualize"),
        "labtrack.compat.names",
    ),
    "Error": "labtrack.compat.errors",
    "util": "labtrack.compat.util",
}

__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "ConfigError",
    "Histogram",
    "Html",
    "Image",
    "LabtrackError",
    "NotFoundError",
    "Run",
    "Settings",
    "StoreError",
    "Table",
    "UsageError",
    "Video",
    "agent",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "login",
    "plot",
    "run",
    "save",
    "summary",
    "sweep",
    "termlog",
    "unwatch",
    "use_artifact",
    "log_artifact",
    "watch",
]
__all__.sort()


def __getattr__(name: str) -> Any:
    if name == "run":
        from . import _current

        return _current.get()
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'labtrack' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if name in ("plot", "util") and module_name.endswith(name) \
        else getattr(module, name)
    if name != "run":
        globals()[name] = value
    return value


def _active() -> Any:
    from . import _current

    run = _current.get()
    if run is None:
        raise UsageError("no active run: call labtrack.init() first")
    return run


def log(data: dict[str, Any], step: int | None = None, commit: bool | None = None) -> None:
    """Log metrics to the current run (see :meth:`Run.log`)."""
    _active().log(data, step=step, commit=commit)


def finish(exit_code: int | None = None, quiet: bool | None = None) -> None:
    """Finish the current run, if any."""
    from . import _current

    run = _current.get()
    if run is not None:
        run.finish(exit_code=exit_code)


def define_metric(name: str, step_metric: str | None = None, summary: str | None = None,
                  goal: str | None = None, **kwargs: Any) -> Any:
    """Set how a metric is summarised and charted (see :meth:`Run.define_metric`)."""
    return _active().define_metric(name, step_metric=step_metric, summary=summary, goal=goal,
                                   **kwargs)


def save(path: str, base_path: str | None = None, policy: str = "now") -> list[str]:
    """Keep files with the current run."""
    return _active().save(path, base_path=base_path, policy=policy)  # type: ignore[no-any-return]


def log_artifact(artifact: Any, aliases: list[str] | None = None, **kwargs: Any) -> Any:
    """Log an artifact from the current run."""
    return _active().log_artifact(artifact, aliases=aliases, **kwargs)


def use_artifact(ref: Any, type: str | None = None, **kwargs: Any) -> Any:
    """Use an artifact in the current run."""
    return _active().use_artifact(ref, type=type, **kwargs)


def login(*args: Any, **kwargs: Any) -> bool:
    """Accepted for wandb compatibility; local mode needs no login (see ``labtrack login``)."""
    return True


def termlog(message: str = "", *args: Any, **kwargs: Any) -> None:
    """Print a message the way labtrack does (to stderr)."""
    import sys

    print(f"labtrack: {message}", file=sys.stderr)
