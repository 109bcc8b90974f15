"""``wandb.sdk.wandb_settings``: the settings class."""

from labtrack.compat.init import Settings  # noqa: F401
