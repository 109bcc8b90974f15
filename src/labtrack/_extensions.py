"""Run methods that live in feature modules, imported only when first used.

``Run.__getattr__`` looks names up here, so ``run.log_artifact(...)`` imports the
artifacts package on first use and ``import labtrack`` stays light. A name that
wandb has but labtrack does not gets a message naming the feature.
"""

from __future__ import annotations

import importlib
from typing import Any

# method name -> "module:function"; the function takes the run as first argument
EXTENSIONS: dict[str, str] = {
    "log_artifact": "labtrack.artifacts.run_api:log_artifact",
    "use_artifact": "labtrack.artifacts.run_api:use_artifact",
    "log_model": "labtrack.artifacts.run_api:log_model",
    "use_model": "labtrack.artifacts.run_api:use_model",
    "use_dataset": "labtrack.artifacts.run_api:use_dataset",
    "link_artifact": "labtrack.artifacts.run_api:link_artifact",
    "watch": "labtrack.compat.watch:watch",
    "unwatch": "labtrack.compat.watch:unwatch",
}

# wandb features with no labtrack equivalent: harmless no-ops with one warning
NOOPS = {"alert", "log_code", "mark_preempting", "status", "display", "to_html", "upsert_artifact",
         "finish_artifact", "restore", "project_name", "get_url", "get_project_url",
         "get_sweep_url"}

_warned: set[str] = set()


def bind(owner: Any, label: str, target: str) -> Any:
    """Import ``"module:function"`` and bind it to ``owner`` as a method."""
    module_name, func_name = target.split(":")
    try:
        func = getattr(importlib.import_module(module_name), func_name)
    except ImportError as err:
        raise AttributeError(f"{label} is not available: {err}") from err
    return func.__get__(owner)


def run_extension(run: Any, name: str) -> Any:
    if name.startswith("_"):
        raise AttributeError(name)
    target = EXTENSIONS.get(name)
    if target is not None:
        return bind(run, f"Run.{name}", target)
    if name in NOOPS:
        def noop(*args: Any, **kwargs: Any) -> None:
            if name not in _warned:
                _warned.add(name)
                import warnings

                warnings.warn(f"wandb's run.{name}() is not supported by labtrack and does "
                              "nothing", UserWarning, stacklevel=2)

        return noop
    raise AttributeError(f"'Run' object has no attribute {name!r}")
