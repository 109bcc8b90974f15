"""Small wandb names with a labtrack meaning, and the wandb features labtrack lacks.

Each function here is reachable as ``wandb.<name>`` through the shim and as
``labtrack.<name>``. Features with no labtrack equivalent are still importable, so
scripts that only mention them keep working, and fail when used with an
:class:`~labtrack.compat.errors.UnsupportedError` that names the feature.
"""

from __future__ import annotations

import enum
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from labtrack.compat.errors import unsupported

_warned: set[str] = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, UserWarning, stacklevel=3)


def _active_run(feature: str) -> Any:
    from labtrack import _current
    from labtrack.errors import UsageError

    run = _current.get()
    if run is None:
        raise UsageError(f"{feature} needs an active run: call wandb.init() first")
    return run


# -- terminal helpers ------------------------------------------------------------------
def termwarn(message: str = "", repeat: bool = True, **kwargs: Any) -> None:
    """Print a warning line to stderr (``wandb.termwarn``)."""
    if repeat or ("termwarn:" + message) not in _warned:
        _warned.add("termwarn:" + message)
        print(f"labtrack: WARNING {message}", file=sys.stderr)


def termerror(message: str = "", repeat: bool = True, **kwargs: Any) -> None:
    """Print an error line to stderr (``wandb.termerror``)."""
    print(f"labtrack: ERROR {message}", file=sys.stderr)


# -- process setup: nothing to set up locally ------------------------------------------
def setup(settings: Any = None) -> None:
    """``wandb.setup``: accepted; labtrack needs no service process."""


def teardown(exit_code: int | None = None) -> None:
    """``wandb.teardown``: finish the current run, if any."""
    import labtrack

    labtrack.finish(exit_code=exit_code)


def require(requirement: Any = None, experiment: Any = None) -> None:
    """``wandb.require``: accepted; labtrack has no experimental feature flags."""


def mark_preempting() -> None:
    """``wandb.mark_preempting``: accepted; a preempted run shows as crashed or killed."""


# -- alerts ----------------------------------------------------------------------------
class AlertLevel(str, enum.Enum):
    """``wandb.AlertLevel``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def alert(title: str, text: str, level: str | AlertLevel | None = None,
          wait_duration: Any = None) -> None:
    """``wandb.alert``: print the alert to stderr (labtrack sends no Slack or email).

    Under ``labtrack run`` the line lands in the run's captured console.
    """
    name = level.value if isinstance(level, AlertLevel) else (level or "INFO")
    _warn_once("alert", "wandb.alert() sends no notification with labtrack: alerts are "
                        "printed to stderr")
    print(f"labtrack: ALERT [{name}] {title}: {text}", file=sys.stderr)


# -- model artifacts -------------------------------------------------------------------
def log_model(path: str | os.PathLike[str], name: str | None = None,
              aliases: list[str] | None = None) -> Any:
    """``wandb.log_model``: log a model file or folder as an artifact of the current run."""
    run = _active_run("wandb.log_model()")
    return run.log_model(path, name=name, aliases=aliases)


def use_model(name: str) -> str:
    """``wandb.use_model``: download a logged model; returns its local path."""
    return _active_run("wandb.use_model()").use_model(name)  # type: ignore[no-any-return]


def link_model(path: str | os.PathLike[str], registered_model_name: str,
               name: str | None = None, aliases: list[str] | None = None) -> Any:
    """``wandb.link_model``: log a model and link it into the registry."""
    run = _active_run("wandb.link_model()")
    artifact = run.log_model(path, name=name, aliases=aliases)
    return run.link_artifact(artifact, registered_model_name, aliases=aliases)


# -- code and files --------------------------------------------------------------------
_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "env", "__pycache__", "node_modules",
              "site-packages", "wandb", ".labtrack", ".tox", ".mypy_cache"}


def log_code(root: str | os.PathLike[str] = ".", name: str | None = None,
             include_fn: Callable[..., bool] | None = None,
             exclude_fn: Callable[..., bool] | None = None) -> list[str]:
    """``wandb.log_code``: keep the source files under ``root`` (``*.py`` by default) as run files.

    labtrack already records the git commit and uncommitted diff of every run; this
    stores the files themselves (at most 1,000). Returns the names they are kept under.
    """
    run = _active_run("wandb.log_code()")
    base = Path(root).resolve()
    include = include_fn or (lambda path, root=None: str(path).endswith(".py"))
    saved: list[str] = []
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for file in sorted(files):
            path = os.path.join(folder, file)
            if not _call(include, path, str(base)) or (
                    exclude_fn is not None and _call(exclude_fn, path, str(base))):
                continue
            saved.extend(run.save(path, base_path=str(base)))
            if len(saved) >= 1000:
                return saved
    return saved


def _call(fn: Callable[..., bool], path: str, root: str) -> bool:
    try:
        return bool(fn(path, root))
    except TypeError:  # wandb accepts one-argument filters too
        return bool(fn(path))


def restore(name: str, run_path: str | None = None, replace: bool = False,
            root: str | os.PathLike[str] | None = None) -> IO[str] | None:
    """``wandb.restore``: fetch a file kept with a run (``wandb.save``) and open it.

    Args:
        name: the file's name in the run.
        run_path: ``"project/run_id"`` (or ``"entity/project/run_id"``); default the
            current run.
        replace: overwrite a local file of the same name.
        root: where to write it (default: the current run's directory, else ``.``).

    Returns:
        The file opened for reading, or None when the run has no such file.
    """
    import labtrack
    from labtrack import _current
    from labtrack.blobs import LocalBlobStore
    from labtrack.settings import Settings

    run = _current.get()
    if run_path is None and run is None:
        raise unsupported("wandb.restore() without run_path outside a run",
                          "pass run_path='project/run_id'")
    if os.environ.get("LABTRACK_URL"):
        raise unsupported("wandb.restore() from a team server", "use labtrack.Api() instead")
    ref = run_path or run.id  # type: ignore[union-attr]
    api = labtrack.Api()
    try:
        entries = {f["path"]: f for f in api.run(ref).files()}
    finally:
        api.close()
    entry = entries.get(name)
    if entry is None:
        return None
    folder = Path(root) if root is not None else (Path(run.dir) if run is not None else Path())
    target = folder / name
    if replace or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        blobs = LocalBlobStore(Settings().blobs_dir)
        target.write_bytes(blobs.get_bytes(entry["digest"]))
    return open(target, encoding="utf-8")


# -- media with a labtrack form --------------------------------------------------------
def Plotly(figure: Any) -> Any:  # noqa: N802 - wandb's class name
    """``wandb.Plotly(fig)``: a plotly figure to log; shown as the chart it is."""
    from labtrack.plot import Plot

    return Plot.from_figure(figure)


class Classes:
    """``wandb.Classes``: the class set of an image's masks and boxes.

    Args:
        class_set: a list of ``{"id": int, "name": str}``.
    """

    def __init__(self, class_set: list[dict[str, Any]]) -> None:
        self._class_set = list(class_set)


# -- features labtrack does not have ---------------------------------------------------
_UNSUPPORTED_TYPES = {
    "Molecule": "save the structure file with wandb.save() or add it to a wandb.Artifact",
    "Graph": "model graphs are not recorded",
    "Bokeh": "log the figure as wandb.Html(bokeh.embed.file_html(figure, bokeh.resources.CDN))",
    "JoinedTable": "log the tables separately",
    "PartitionedTable": "log the parts as separate tables",
    "ImageMask": "pass masks= to wandb.Image",
    "BoundingBoxes2D": "pass boxes= to wandb.Image",
}


def _unsupported_type(name: str, hint: str) -> type:
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        raise unsupported(f"wandb.{name}", hint)

    doc = f"``wandb.{name}``: not supported by labtrack; making one raises UnsupportedError."
    return type(name, (), {"__init__": __init__, "__doc__": doc, "__module__": "wandb"})


Molecule = _unsupported_type("Molecule", _UNSUPPORTED_TYPES["Molecule"])
Graph = _unsupported_type("Graph", _UNSUPPORTED_TYPES["Graph"])
Bokeh = _unsupported_type("Bokeh", _UNSUPPORTED_TYPES["Bokeh"])
JoinedTable = _unsupported_type("JoinedTable", _UNSUPPORTED_TYPES["JoinedTable"])
PartitionedTable = _unsupported_type("PartitionedTable", _UNSUPPORTED_TYPES["PartitionedTable"])
ImageMask = _unsupported_type("ImageMask", _UNSUPPORTED_TYPES["ImageMask"])
BoundingBoxes2D = _unsupported_type("BoundingBoxes2D", _UNSUPPORTED_TYPES["BoundingBoxes2D"])


def controller(sweep_id_or_config: Any = None, entity: str | None = None,
               project: str | None = None) -> Any:
    """``wandb.controller``: not needed, labtrack's agents plan the sweep themselves."""
    raise unsupported("wandb.controller()", "labtrack sweeps need no controller; start "
                                            "wandb.agent(sweep_id) processes directly")


def visualize(*args: Any, **kwargs: Any) -> Any:
    """``wandb.visualize``: Vega custom charts are not supported."""
    raise unsupported("wandb.visualize()", "use wandb.plot.* or wandb.Plotly(figure)")


def plot_table(*args: Any, **kwargs: Any) -> Any:
    """``wandb.plot_table``: Vega custom charts are not supported."""
    raise unsupported("wandb.plot_table()", "use wandb.plot.* or wandb.Plotly(figure)")


__all__ = [
    "AlertLevel",
    "Bokeh",
    "BoundingBoxes2D",
    "Classes",
    "Graph",
    "ImageMask",
    "JoinedTable",
    "Molecule",
    "PartitionedTable",
    "Plotly",
    "alert",
    "controller",
    "link_model",
    "log_code",
    "log_model",
    "mark_preempting",
    "plot_table",
    "require",
    "restore",
    "setup",
    "teardown",
    "termerror",
    "termwarn",
    "use_model",
    "visualize",
]
