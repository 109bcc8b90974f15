"""Bring runs from other trackers into a labtrack store.

Each importer reads its source with the source tool's own library and writes
one labtrack run per source run, keeping steps and wall-clock times::

    from labtrack.importers import import_mlflow, import_tensorboard, import_wandb

    import_mlflow("mlruns/")                # or "mlflow.db", "postgresql://..."
    import_tensorboard("runs/")             # every folder holding event files
    import_wandb("wandb/")                  # offline or synced local run folders

Run ids derive from the source run, so importing again skips runs that are
already there (``replace=True`` re-imports them). The command line is
``labtrack import mlflow|tensorboard|wandb``. Nothing here is imported by
``import labtrack``.
"""

from __future__ import annotations

from typing import Any

from ._imported import ImportedRun, ImportReport, RunWriter, derive_run_id

__all__ = [
    "ImportReport",
    "ImportedRun",
    "RunWriter",
    "derive_run_id",
    "import_mlflow",
    "import_tensorboard",
    "import_wandb",
]

_LAZY = {
    "import_mlflow": "labtrack.importers.mlflow",
    "import_tensorboard": "labtrack.importers.tensorboard",
    "import_wandb": "labtrack.importers.wandb",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labtrack.importers' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
