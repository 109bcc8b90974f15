"""Sweeps through a team server: :class:`RemoteSweepIndex`.

The same methods as :class:`~labtrack.sweeps.store.SweepIndex`, each one call of
``/api/v1/remote/sweeps`` that the server runs in the same transaction as a local
store would (``claim`` locks the sweep row), so agents on several machines share
one sweep. :func:`open_index` and :func:`index_for` pick the remote index when
``LABTRACK_URL`` (or ``labtrack login``) names a server, or for an ``Api`` on one.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .._jsonsafe import float_in


def _is_remote(store: Any) -> bool:
    from ..store.http import HTTPStore

    return isinstance(store, HTTPStore)


def index_for(store: Any) -> Any:
    """The sweep index of an open store: remote for a server client, else SQL."""
    if _is_remote(store):
        return RemoteSweepIndex(store)
    from .store import SweepIndex

    return SweepIndex(store)


def open_index(store_dir: str | os.PathLike[str] | None = None) -> Any:
    """The sweep index agents and ``labtrack.sweep`` use: the team server when a URL is
    set and the mode is online (``store_dir`` then only holds the run logs), else the
    local store in ``store_dir`` (default ``LABTRACK_DIR``)."""
    from ..settings import Settings

    settings = Settings()
    directory = Path(store_dir).expanduser() if store_dir is not None else settings.dir
    if settings.url and settings.mode == "online":
        from ..store.http import HTTPStore

        return RemoteSweepIndex(HTTPStore(settings.url, settings.api_key,
                                          blobs_dir=directory / "blobs"))
    from ..store import open_store

    return index_for(open_store(directory))


def _trial(row: dict[str, Any]) -> dict[str, Any]:
    row["summary"] = {k: float_in(v) for k, v in (row.get("summary") or {}).items()}
    return row


class RemoteSweepIndex:
    """:class:`~labtrack.sweeps.store.SweepIndex` over HTTP; ``store`` is the
    :class:`~labtrack.store.http.HTTPStore` (agents send heartbeats and logs with it)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.store._request(method, "/remote/sweeps" + path, **kwargs)

    @staticmethod
    def _id(sweep_id: str) -> str:
        return "/" + quote(sweep_id, safe="")

    def create(self, config: dict[str, Any], project: str, *, name: str | None = None,
               description: str | None = None) -> dict[str, Any]:
        """Record a new sweep on the server (the config is validated there)."""
        from .._jsonsafe import to_jsonable

        return self._call("POST", "", json={  # type: ignore[no-any-return]
            "config": to_jsonable(config), "project": project, "name": name,
            "description": description})

    def get(self, sweep_id: str) -> dict[str, Any]:
        return self._call("GET", self._id(sweep_id))  # type: ignore[no-any-return]

    def list_sweeps(self, project: str | None = None) -> list[dict[str, Any]]:
        params = {"project": project} if project is not None else {}
        return self._call("GET", "", params=params)  # type: ignore[no-any-return]

    def resolve(self, ref: str, project: str | None = None) -> str:
        params = {"ref": ref, **({"project": project} if project is not None else {})}
        return str(self._call("GET", "/resolve", params=params)["id"])

    def set_state(self, sweep_id: str, state: str) -> dict[str, Any]:
        return self._call("POST", self._id(sweep_id) + "/state",  # type: ignore[no-any-return]
                          json={"state": state})

    def claim(self, sweep_id: str, agent: str | None = None) -> dict[str, Any] | None:
        """Claim the next run (server-side transaction); None when nothing is left."""
        import socket

        agent = agent or f"{socket.gethostname()}:{os.getpid()}"
        answer = self._call("POST", self._id(sweep_id) + "/claim", json={"agent": agent})
        return answer["claim"]  # type: ignore[no-any-return]

    def trials(self, sweep_id: str) -> list[dict[str, Any]]:
        return [_trial(t) for t in self._call("GET", self._id(sweep_id) + "/trials")]

    def metric_at(self, sweep_id: str, key: str, iterations: Sequence[int]
                  ) -> dict[str, dict[str, Any]]:
        return self._call("POST", self._id(sweep_id) + "/metric_at",  # type: ignore
                          json={"key": key, "iterations": [int(i) for i in iterations]})

    def close(self) -> None:
        self.store.close()
