"""``wandb.integration.huggingface``: not supported by labtrack; importing it raises ImportError."""

raise ImportError(
    "wandb.integration.huggingface is not supported by labtrack: log metrics with wandb.log() "
    "from the framework's callback instead (see docs/wandb-compat.md)"
)
