"""The base class of rich media and the JSON helpers every media type shares.

A media object is pure data until a run logs it: ``Run.log`` calls
``media.to_record(put_blob)``, where ``put_blob(data, ext)`` stores bytes
content-addressed and returns their sha256 hex digest. The record is a JSON-safe
dict (no NaN: non-finite floats become the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"``) whose ``_type`` names the kind; big payloads are referred to by
``digest`` + ``ext`` + ``size``.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

PutBlob = Callable[[bytes, str], str]
"""``put_blob(data, ext) -> sha256 hex digest``: stores ``data`` content-addressed."""

_NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


class Media(ABC):
    """A rich value (image, table, plot ...) that a run can log.

    Subclasses set ``_type`` and implement :meth:`to_record`.
    """

    _type: ClassVar[str] = "media"
    # how Run.log recognises media without importing this package
    _labtrack_media: ClassVar[bool] = True

    @abstractmethod
    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Serialise to a JSON-safe dict, storing big payloads through ``put_blob``."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def blob_ref(put_blob: PutBlob, data: bytes, ext: str) -> dict[str, Any]:
    """Store ``data`` through ``put_blob`` and return ``{"digest", "ext", "size"}``."""
    digest = put_blob(bytes(data), ext)
    if not isinstance(digest, str):
        raise TypeError(f"put_blob must return the hex digest as str, not {type(digest).__name__}")
    return {"digest": digest, "ext": ext, "size": len(data)}


def finite_or_str(value: float) -> float | str:
    """Return ``value``, or its JSON-safe string when it is NaN or infinite."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return _NON_FINITE[value]


def json_safe(value: Any, put_blob: PutBlob | None = None) -> Any:
    """Convert ``value`` to something ``json.dumps(..., allow_nan=False)`` accepts.

    numpy scalars and arrays become Python numbers and lists, tuples and sets
    become lists, mapping keys become strings, dates become ISO strings and
    non-finite floats become ``"NaN"``/``"Infinity"``/``"-Infinity"``. A
    :class:`Media` becomes its record when ``put_blob`` is given.

    Raises:
        TypeError: for a value with no JSON form (or a Media without ``put_blob``).
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return finite_or_str(float(value))
    if isinstance(value, Media):
        if put_blob is None:
            raise TypeError(f"cannot serialise {type(value).__name__} here without a blob store")
        return value.to_record(put_blob)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, put_blob) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(v, put_blob) for v in value]
    type_name = type(value).__name__
    if type_name in ("NAType", "NaTType"):  # pandas missing values
        return None
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    module = type(value).__module__ or ""
    if module.startswith("numpy"):
        if hasattr(value, "tolist"):  # ndarray or numpy scalar
            return json_safe(value.tolist(), put_blob)
    if hasattr(value, "detach") and hasattr(value, "tolist"):  # a torch tensor
        return json_safe(value.detach().cpu().tolist(), put_blob)
    raise TypeError(f"value of type {type_name} cannot be stored as JSON: {value!r:.80}")
