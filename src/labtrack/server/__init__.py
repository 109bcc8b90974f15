"""The web UI and JSON API: one FastAPI app for ``labtrack ui`` and the team server.

Importing this package is light; FastAPI is imported by :func:`create_app`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

    from ..settings import Settings


def create_app(store: Any, blobs: Any = None, *, settings: Settings | None = None) -> FastAPI:
    """Build the ASGI app serving ``store`` (JSON API under ``/api/v1`` and the UI).

    Args:
        store: a :class:`labtrack.store.sql.SQLStore` (anything with its read/edit methods).
        blobs: a blob store with ``open(digest)``; default ``LocalBlobStore(settings.blobs_dir)``.
        settings: where the store directory is (run logs, blobs); default: the directory
            of a SQLite store, else ``LABTRACK_DIR``.
    """
    from ._app import build_app

    return build_app(store, blobs, settings=settings)


__all__ = ["create_app"]
