"""``wandb.integration.catboost``: not supported by labtrack; importing it raises ImportError."""

raise ImportError(
    "wandb.integration.catboost is not supported by labtrack: log metrics with wandb.log() "
    "from the framework's callback instead (see docs/wandb-compat.md)"
)
