"""Content-addressed blob stores: the same bytes are stored once, named by sha256."""

from .local import LocalBlobStore

__all__ = ["LocalBlobStore"]
