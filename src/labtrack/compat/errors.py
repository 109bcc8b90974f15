"""``wandb.errors``: wandb's exception names over labtrack's exception tree.

``except wandb.Error`` catches every labtrack error; ``wandb.errors.CommError`` is
labtrack's :class:`~labtrack.errors.StoreError` (the backend cannot be used), and
``wandb.errors.AuthenticationError`` its :class:`~labtrack.errors.AuthError`.
"""

from __future__ import annotations

from labtrack.errors import AuthError, LabtrackError, StoreError, UsageError

Error = LabtrackError
CommError = StoreError
AuthenticationError = AuthError


class UnsupportedError(UsageError):
    """A wandb feature that labtrack does not have; the message names it."""


class DependencyError(LabtrackError, ImportError):
    """A feature needs a package that is not installed."""


def unsupported(feature: str, hint: str = "") -> UnsupportedError:
    """The error for a wandb feature labtrack lacks: ``"wandb.X is not supported by labtrack"``."""
    text = f"{feature} is not supported by labtrack"
    return UnsupportedError(f"{text}: {hint}" if hint else text)


__all__ = [
    "AuthenticationError",
    "CommError",
    "DependencyError",
    "Error",
    "UnsupportedError",
    "UsageError",
    "unsupported",
]
