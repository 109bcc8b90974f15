"""``wandb.util``: the helpers scripts call directly (``labtrack.util`` too)."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_lowercase + string.digits


def generate_id(length: int = 8) -> str:
    """A random run id of lowercase letters and digits, as wandb makes them."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


__all__ = ["generate_id"]
