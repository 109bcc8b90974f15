"""``wandb.apis.public``: ``Api`` and ``Run`` over the labtrack store (see labtrack.compat.api)."""

from typing import Any

from labtrack.compat.api import Api, Run  # noqa: F401


def __getattr__(name: str) -> Any:
    raise AttributeError(f"wandb.apis.public.{name} is not supported by labtrack (available: "
                         "Api, Run)")
