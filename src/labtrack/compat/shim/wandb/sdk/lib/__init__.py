"""``wandb.sdk.lib``: ``RunDisabled``, what ``wandb.init(mode="disabled")`` returns."""

from labtrack._init import DisabledRun as RunDisabled  # noqa: F401
