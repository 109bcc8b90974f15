"""labtrack's wandb shim: ``import wandb`` here is labtrack under wandb's names.

``labtrack run --wandb -- python train.py`` puts the folder holding this package
first on the command's ``PYTHONPATH`` (``labtrack.compat.shim_dir()``), so an
unchanged wandb script logs to labtrack. What is supported, and how it differs from
wandb, is in docs/wandb-compat.md. A wandb name labtrack lacks fails with a message
that names it.
"""

from __future__ import annotations

import importlib
from typing import Any

from labtrack import (
    config,
    define_metric,
    finish,
    log,
    log_artifact,
    login,
    save,
    summary,
    termlog,
    use_artifact,
)
from labtrack.compat import SHIM_VERSION
from labtrack.compat.errors import Error
from labtrack.compat.init import Settings, init
from labtrack.compat.names import (
    AlertLevel,
    Bokeh,
    BoundingBoxes2D,
    Classes,
    Graph,
    ImageMask,
    JoinedTable,
    Molecule,
    PartitionedTable,
    Plotly,
    alert,
    controller,
    link_model,
    log_code,
    log_model,
    mark_preempting,
    plot_table,
    require,
    restore,
    setup,
    teardown,
    termerror,
    termwarn,
    use_model,
    visualize,
)
from labtrack.compat.watch import unwatch, watch

__version__ = SHIM_VERSION
__labtrack__ = True  # lets code tell the shim from wandb itself

# name -> (module, attribute); imported on first use so `import wandb` stays light
_LAZY: dict[str, tuple[str, str]] = {
    "Api": ("labtrack.compat.api", "Api"),
    "Artifact": ("labtrack.artifacts", "Artifact"),
    "Audio": ("labtrack.media", "Audio"),
    "Histogram": ("labtrack.media", "Histogram"),
    "Html": ("labtrack.media", "Html"),
    "Image": ("labtrack.media", "Image"),
    "Object3D": ("labtrack.compat.object3d", "Object3D"),
    "Run": ("labtrack._run", "Run"),
    "Table": ("labtrack.media", "Table"),
    "Video": ("labtrack.media", "Video"),
    "agent": ("labtrack.sweeps.api", "agent"),
    "sweep": ("labtrack.sweeps.api", "sweep"),
}
_SUBMODULES = {"apis", "data_types", "errors", "integration", "plot", "sdk", "sklearn",
               "tensorboard", "util", "wandb_run"}


def __getattr__(name: str) -> Any:
    if name == "run":  # the active run, or None: looked up at each access
        from labtrack import _current

        return _current.get()
    if name in _SUBMODULES:
        return importlib.import_module(f"wandb.{name}")
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(
            f"wandb.{name} is not supported by labtrack (this `wandb` is labtrack's "
            "compatibility shim; see docs/wandb-compat.md)"
        )
    value = getattr(importlib.import_module(target[0]), target[1])
    globals()[name] = value
    return value


__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Bokeh",
    "BoundingBoxes2D",
    "Classes",
    "Error",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "ImageMask",
    "JoinedTable",
    "Molecule",
    "Object3D",
    "PartitionedTable",
    "Plotly",
    "Run",
    "Settings",
    "Table",
    "Video",
    "agent",
    "alert",
    "config",
    "controller",
    "define_metric",
    "finish",
    "init",
    "link_model",
    "log",
    "log_artifact",
    "log_code",
    "log_model",
    "login",
    "mark_preempting",
    "plot_table",
    "require",
    "restore",
    "run",
    "save",
    "setup",
    "summary",
    "sweep",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "use_model",
    "visualize",
    "watch",
]
