"""``wandb.wandb_run``: the run class."""

from labtrack._run import Run  # noqa: F401
