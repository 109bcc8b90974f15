"""``wandb.apis``: the public read API (``wandb.apis.public.Api``)."""

from typing import Any

from wandb.apis import public  # noqa: F401
from wandb.apis.public import Api as PublicApi  # noqa: F401


def __getattr__(name: str) -> Any:
    raise AttributeError(f"wandb.apis.{name} is not supported by labtrack (only "
                         "wandb.apis.public)")
