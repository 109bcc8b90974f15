"""``wandb.util``: the few helpers scripts call directly."""

from typing import Any


def generate_id(length: int = 8) -> str:
    """A random run id of lowercase letters and digits, as wandb makes them."""
    import secrets
    import string

    alphabet = string.ascii_lowercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def __getattr__(name: str) -> Any:
    raise AttributeError(f"wandb.util.{name} is not supported by labtrack")
