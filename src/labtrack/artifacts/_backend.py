"""What artifact operations need from a store directory: the index, blobs and caches."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..blobs import LocalBlobStore
from ..settings import Settings
from ._hashcache import DigestCache

_lock = threading.Lock()
_by_dir: dict[str, Backend] = {}
PROGRESS_MIN_BYTES = 32 << 20


class Backend:
    """The artifact index, blob store, digest cache and download cache of one store.

    Args:
        dir: the store directory (``LABTRACK_DIR``).
        store: an open store to use (default: opened on first use).
    """

    def __init__(self, dir: str | Path, store: Any = None) -> None:
        self.dir = Path(dir).expanduser()
        self._store = store
        self._index: Any = None
        self._remote: Any = None
        self._remote_checked = False
        settings = Settings(dir=self.dir)
        self.busy_timeout = settings.busy_timeout
        self.blobs = LocalBlobStore(settings.blobs_dir)
        self.cache_root = self.dir / "artifacts-cache"
        self.digests = DigestCache(self.cache_root / "digests.sqlite")

    @classmethod
    def for_dir(cls, dir: str | Path) -> Backend:
        """The shared backend of a store directory (one per process and directory)."""
        key = str(Path(dir).expanduser().resolve())
        with _lock:
            backend = _by_dir.get(key)
            if backend is None:
                backend = _by_dir[key] = cls(key)
            return backend

    @classmethod
    def for_store(cls, store: Any) -> Backend:
        """A backend over an open store (an ``Api``'s); its directory holds the blobs."""
        from .remote import is_remote

        if is_remote(store):  # a team server: one backend per client (its key decides)
            return cls(Settings().dir, store=store)
        if getattr(store, "dialect", "") == "sqlite":
            directory = Path(store.where).parent
        else:
            directory = Settings().dir
        key = str(directory.resolve())
        with _lock:
            backend = _by_dir.get(key)
            if backend is None or backend._store is None:
                backend = _by_dir[key] = cls(directory, store=store)
            return backend

    @property
    def store(self) -> Any:
        if self._store is None:
            from ..store import open_store

            self._store = open_store(self.dir)
        return self._store

    @property
    def index(self) -> Any:
        """The :class:`~labtrack.artifacts.index.ArtifactIndex` of this store."""
        if self._index is None:
            self._index = self._remote_index()  # team server (LABTRACK_URL), else local
        if self._index is None:
            from .index import ArtifactIndex

            self._index = ArtifactIndex(self.store, self.blobs)
        return self._index

    def _remote_index(self) -> Any:
        """The team server's index when this backend logs to one, else None (asked once)."""
        if not self._remote_checked:
            from .remote import remote_index

            self._remote = remote_index(self)
            self._remote_checked = True
        return self._remote

    def commit(self, project: str, name: str, type: str, entries: list[dict[str, Any]],
               digest: str, **options: Any) -> dict[str, Any]:
        """Commit a version: :meth:`ArtifactIndex.commit
        <labtrack.artifacts.index.ArtifactIndex.commit>`, same arguments and result.

        A local SQLite index on the current schema, opened by directory (not an
        ``Api``'s open store), is written with the standard library's ``sqlite3``
        (:mod:`._litecommit`): a process that only logs artifacts never imports
        SQLAlchemy. ``LABTRACK_SQLALCHEMY_SINK=1`` turns that off (for comparisons).
        """
        if self._store is None and not os.environ.get("LABTRACK_SQLALCHEMY_SINK") \
                and self._remote_index() is None:
            from . import _litecommit

            info = _litecommit.commit(self.dir / "labtrack.db", self.blobs, self.busy_timeout,
                                      project, name, type, entries, digest, **options)
            if info is not None:
                return info
        result: dict[str, Any] = self.index.commit(project, name, type, entries, digest,
                                                   **options)
        return result

    def default_root(self, project: str, name: str, version: int) -> Path:
        """Where a version is downloaded when no root is given."""
        return self.cache_root / _safe(project) / name / f"v{version}"


def _safe(project: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in project) or "_"


@contextmanager
def progress(total: int, description: str, enabled: bool | None = None
             ) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on stderr for long transfers; yields ``advance(nbytes)`` or None.

    Shown when stderr is a terminal, ``LABTRACK_SILENT`` is not set and ``total``
    is at least 32 MiB (or when ``enabled`` forces it either way).
    """
    if enabled is None:
        enabled = (total >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
                   and os.environ.get("LABTRACK_SILENT", "") not in ("1", "true", "yes"))
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    lock = threading.Lock()
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(n: int) -> None:
            with lock:
                bar.advance(task, n)

        yield advance
