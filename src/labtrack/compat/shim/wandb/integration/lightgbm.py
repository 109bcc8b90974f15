"""``wandb.integration.lightgbm``: not supported by labtrack; importing it raises ImportError."""

raise ImportError(
    "wandb.integration.lightgbm is not supported by labtrack: log metrics with wandb.log() "
    "from the framework's callback instead (see docs/wandb-compat.md)"
)
