"""``wandb.errors``: wandb's exception names over labtrack's (see labtrack.compat.errors)."""

from labtrack.compat.errors import (  # noqa: F401
    AuthenticationError,
    CommError,
    DependencyError,
    Error,
    UnsupportedError,
    UsageError,
)
