"""``wandb.util``: the helpers scripts call directly (see labtrack.compat.util)."""

from typing import Any

from labtrack.compat.util import generate_id  # noqa: F401


def __getattr__(name: str) -> Any:
    raise AttributeError(f"wandb.util.{name} is not supported by labtrack")
