"""What the routes share: the store, the blob store, settings and the chart cache.

One :class:`Services` lives on ``app.state.services``; routes get it through
the :func:`services` dependency, so the team server can build the same app
over its own store and blobs (and add auth in front).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from ..settings import Settings
from .cache import ChartCache


@dataclass
class Services:
    """The store and friends, shared by every request."""

    store: Any
    blobs: Any
    settings: Settings
    chart_cache: ChartCache = field(default_factory=ChartCache)

    @property
    def runs_dir(self) -> Path:
        return self.settings.runs_dir


def resolve_settings(store: Any, settings: Settings | None) -> Settings:
    """Settings whose ``dir`` is the store's directory when the store is a SQLite file."""
    if settings is not None:
        return settings
    out = Settings()
    url = str(getattr(store, "url", ""))
    if url.startswith("sqlite:///") and url.endswith("labtrack.db"):
        out.dir = Path(url[len("sqlite:///"):]).parent
    return out


def services(request: Request) -> Services:
    """FastAPI dependency: the app's :class:`Services` (on the team server, the request's
    own, whose store enforces the user's project roles)."""
    scoped = getattr(request.state, "services", None)
    if scoped is not None:
        return scoped  # type: ignore[no-any-return]
    return request.app.state.services  # type: ignore[no-any-return]


Svc = Annotated[Services, Depends(services)]
