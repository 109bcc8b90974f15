"""``wandb.keras``: not supported by labtrack; importing it raises ImportError."""

raise ImportError(
    "wandb.keras is not supported by labtrack: log metrics with wandb.log() from a Keras "
    "callback instead (see docs/wandb-compat.md)"
)
