"""Stores: the index of everything logged. :func:`open_store` is the only factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreReadOnlyError

if TYPE_CHECKING:
    from .sql import SQLStore


def open_store(
    uri: str | Path | None = None,
    *,
    busy_timeout: float | None = None,
    heartbeat_timeout: float | None = None,
    migrate: bool = True,
) -> SQLStore:
    """Open a store.

    Args:
        uri: a store directory (its ``labtrack.db`` is used), a ``sqlite:///`` or
            ``postgresql://`` URL; default: ``LABTRACK_DIR`` or ``~/.labtrack``.
    Raises:
        StoreReadOnlyError: the directory cannot be created.
    """
    from ..settings import Settings
    from .sql import SQLStore, sqlite_url

    settings = Settings()
    if uri is None:
        uri = settings.dir
    text = str(uri)
    if "://" in text:
        url = text
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
    else:
        directory = Path(text).expanduser()
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise StoreReadOnlyError(f"cannot create the store directory {directory}: {err}") \
                from err
        if not os.access(directory, os.W_OK) and not (directory / "labtrack.db").exists():
            raise StoreReadOnlyError(f"the store directory {directory} is not writable")
        url = sqlite_url(directory / "labtrack.db")
    return SQLStore(
        url,
        busy_timeout=settings.busy_timeout if busy_timeout is None else busy_timeout,
        heartbeat_timeout=(settings.heartbeat_timeout if heartbeat_timeout is None
                           else heartbeat_timeout),
        migrate=migrate,
    )


__all__ = ["open_store"]
