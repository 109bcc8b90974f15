"""Fixtures for the API tests: real runs logged into a fresh store, a TestClient over it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

import labtrack
from labtrack.server import create_app
from labtrack.store import open_store


@pytest.fixture(autouse=True)
def _quiet_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    # environment capture (git, packages) is not what these tests are about; keep them fast
    monkeypatch.setenv("LABTRACK_DISABLE_GIT", "1")
    monkeypatch.setenv("LABTRACK_DISABLE_ENV", "1")


MakeRun = Callable[..., str]


@pytest.fixture
def make_run(store_dir: Path) -> MakeRun:
    """Log a finished run; returns its id. ``metrics`` maps key -> list of values per step."""

    def make(project: str = "proj", name: str | None = None, config: dict[str, Any] | None = None,
             metrics: dict[str, list[float]] | None = None, summary: dict[str, Any] | None = None,
             tags: list[str] | None = None, notes: str | None = None,
             finish: bool = True, setup: Callable[[Any], None] | None = None) -> str:
        run = labtrack.init(project=project, name=name, config=config or {}, tags=tags,
                            notes=notes, dir=store_dir, reinit="create_new")
        if setup is not None:
            setup(run)
        series = metrics or {}
        steps = max((len(v) for v in series.values()), default=0)
        for i in range(steps):
            run.log({k: v[i] for k, v in series.items() if i < len(v)})
        for key, value in (summary or {}).items():
            run.summary[key] = value
        if finish:
            run.finish()
        return run.id

    return make


@pytest.fixture
def store(store_dir: Path) -> Iterator[Any]:
    s = open_store(store_dir)
    yield s
    s.close()


@pytest.fixture
def client(store: Any) -> Iterator[TestClient]:
    with TestClient(create_app(store)) as c:
        yield c
