"""``wandb.sdk``: the names integrations import from it."""

import importlib
from typing import Any

from labtrack.compat.init import Settings, init  # noqa: F401


def __getattr__(name: str) -> Any:
    if name in ("lib", "wandb_run", "wandb_settings"):
        return importlib.import_module(f"wandb.sdk.{name}")
    if name == "Artifact":
        from labtrack.artifacts import Artifact

        return Artifact
    if name == "Run":
        from labtrack._run import Run

        return Run
    raise AttributeError(f"wandb.sdk.{name} is not supported by labtrack")
