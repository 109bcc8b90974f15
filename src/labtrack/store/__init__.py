"""Stores: the index of everything logged. :func:`open_store` is the only factory."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import StoreReadOnlyError

if TYPE_CHECKING:
    from .lite import LiteSink
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


class _Shared:
    """A store kept open for the process; ``close()`` by one run leaves it open."""

    def __init__(self, store: SQLStore | LiteSink) -> None:
        self.store = store

    def __getattr__(self, name: str) -> object:
        return getattr(self.store, name)

    def close(self) -> None:
        return None


_shared: dict[tuple[str, float, float], SQLStore | LiteSink] = {}
_shared_lock = threading.Lock()
MAX_SHARED = 4


def shared_store(directory: str | Path, busy_timeout: float,
                 heartbeat_timeout: float) -> _Shared:
    """The local index of ``directory`` as run writers use it, opened once per process.

    Many short runs in one process (sweeps, notebooks, benchmarks) then share one
    connection with warm caches and no repeated migration check. An index already
    on the current schema is written through :class:`~labtrack.store.lite.LiteSink`
    (stdlib ``sqlite3``: no SQLAlchemy import inside a short run); a new or older one
    through :class:`SQLStore`, which creates or migrates it. At most MAX_SHARED
    stores stay open; the least recently used is closed.
    """
    key = (_resolved(directory), busy_timeout, heartbeat_timeout)
    identity = _file_identity(Path(key[0]) / "labtrack.db")
    with _shared_lock:
        store = _shared.pop(key, None)
        if store is not None and getattr(store, "_identity", None) != identity:
            store.close()  # the file was replaced (sync --rebuild): open the new one
            store = None
        if store is None:
            store = _open_for_writers(Path(key[0]), busy_timeout, heartbeat_timeout)
            store._identity = _file_identity(Path(key[0]) / "labtrack.db")  # type: ignore
        _shared[key] = store  # most recently used last
        while len(_shared) > MAX_SHARED:
            oldest = next(iter(_shared))
            _shared.pop(oldest).close()
    return _Shared(store)


_resolved_dirs: dict[str, str] = {}


def _resolved(directory: str | Path) -> str:
    """``directory`` made absolute with symlinks resolved, remembered per spelling (a
    ``realpath`` walks every component: noticeable for many short runs). Only absolute
    spellings are remembered: a relative one depends on the working directory."""
    spelled = str(directory)
    resolved = _resolved_dirs.get(spelled)
    if resolved is None or not os.path.isdir(resolved):
        resolved = str(Path(directory).expanduser().resolve())
        if os.path.isabs(spelled) and len(_resolved_dirs) < 256:
            _resolved_dirs[spelled] = resolved
    return resolved


def _open_for_writers(directory: Path, busy_timeout: float,
                      heartbeat_timeout: float) -> SQLStore | LiteSink:
    if not os.environ.get("LABTRACK_SQLALCHEMY_SINK"):
        from .lite import open_lite

        try:
            lite = open_lite(directory / "labtrack.db", busy_timeout)
        except Exception:  # noqa: BLE001 - SQLStore below reports what is wrong, clearly
            lite = None
        if lite is not None:
            return lite
    return open_store(directory, busy_timeout=busy_timeout,
                      heartbeat_timeout=heartbeat_timeout)


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def close_shared() -> None:
    """Close the stores kept open for run writers (at exit, and in tests)."""
    with _shared_lock:
        while _shared:
            _shared.popitem()[1].close()


__all__ = ["close_shared", "open_store", "shared_store"]
