"""Turning logged values into numbers (or media), and nested dicts into "a/b" keys."""

from __future__ import annotations

from typing import Any

MAX_KEY_LENGTH = 512
FAST_TYPES = frozenset({float, int, bool})


def check_key(key: Any) -> str:
    """Validate a metric key; returns it."""
    if not isinstance(key, str):
        raise TypeError(f"metric keys must be strings, not {type(key).__name__} ({key!r})")
    if not key:
        raise ValueError("metric keys must not be empty")
    if len(key) > MAX_KEY_LENGTH:
        raise ValueError(
            f"metric key {key[:40]!r}... is {len(key)} characters long; the limit is "
            f"{MAX_KEY_LENGTH}"
        )
    if "\x00" in key:
        raise ValueError(f"metric key {key!r} contains a NUL character")
    return key


def is_media(value: Any) -> bool:
    return getattr(type(value), "_labtrack_media", False) is True


def to_number(key: str, value: Any) -> float | int | bool:
    """A scalar from numpy scalars, 0-d arrays and 0-d tensors; TypeError otherwise."""
    t = type(value)
    if t in FAST_TYPES:
        return value  # type: ignore[no-any-return]
    module = t.__module__ or ""
    if module == "numpy" or module.startswith("numpy."):
        if getattr(value, "ndim", None) == 0 or not hasattr(value, "ndim"):
            item = value.item()
            if type(item) in FAST_TYPES:
                return item  # type: ignore[no-any-return]
        else:
            raise TypeError(
                f"cannot log {key!r}: a numpy array of shape {value.shape} is not a scalar; log "
                f"a scalar such as array.mean(), or labtrack.Histogram(array)"
            )
    if module.startswith("torch") and hasattr(value, "dim") and hasattr(value, "item"):
        if value.dim() == 0 or value.numel() == 1:
            item = value.item()
            if type(item) in FAST_TYPES:
                return item  # type: ignore[no-any-return]
        raise TypeError(
            f"cannot log {key!r}: a tensor of shape {tuple(value.shape)} is not a scalar; log "
            "tensor.item() or labtrack.Histogram(tensor)"
        )
    if hasattr(value, "__float__") and not isinstance(value, (str, bytes)) and \
            module.startswith(("decimal", "fractions", "jax", "tensorflow")):
        return float(value)
    hint = ""
    if isinstance(value, str):
        hint = "; put text in run.summary, run.config or a labtrack.Table"
    elif isinstance(value, (list, tuple)):
        hint = "; log each number under its own key, or labtrack.Histogram(values)"
    raise TypeError(f"cannot log {key!r}: values of type {t.__name__} are not supported{hint}")


def flatten(data: Any, prefix: str, out: dict[str, Any], media: dict[str, Any],
            depth: int = 0) -> None:
    """Flatten nested dicts into ``out`` with "/" keys; media objects go to ``media``."""
    if depth > 32:
        raise ValueError(f"cannot log {prefix!r}: nested more than 32 levels deep")
    for key, value in data.items():
        check_key(key)
        full = f"{prefix}/{key}" if prefix else key
        check_key(full)
        if type(value) in FAST_TYPES:
            out[full] = value
        elif isinstance(value, dict):
            flatten(value, full, out, media, depth + 1)
        elif is_media(value):
            media[full] = value
        elif isinstance(value, (list, tuple)) and value and all(map(is_media, value)):
            media[full] = list(value)  # e.g. a gallery of Images under one key
        else:
            out[full] = to_number(full, value)
