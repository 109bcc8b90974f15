"""``wandb.tensorboard``: not supported; the functions raise an error that says so."""

from typing import Any

from labtrack.compat.errors import unsupported

_HINT = "TensorBoard event files are not copied into labtrack runs; log with wandb.log() too"


def patch(*args: Any, **kwargs: Any) -> None:
    """``wandb.tensorboard.patch``: not supported (raises)."""
    raise unsupported("wandb.tensorboard.patch()", _HINT)


def unpatch(*args: Any, **kwargs: Any) -> None:
    """``wandb.tensorboard.unpatch``: nothing to undo."""


def log(*args: Any, **kwargs: Any) -> None:
    """``wandb.tensorboard.log``: not supported (raises)."""
    raise unsupported("wandb.tensorboard.log()", _HINT)
