"""Fixtures of the report tests: a quiet store with real runs, a TestClient, a CLI runner."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import labtrack
from labtrack.reports.index import ReportIndex
from labtrack.store import open_store

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture(autouse=True)
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LABTRACK_DISABLE_STATS", "LABTRACK_DISABLE_ENV", "LABTRACK_DISABLE_GIT",
                 "LABTRACK_SILENT"):
        monkeypatch.setenv(name, "1")


MakeRun = Callable[..., str]


@pytest.fixture
def make_run(store_dir: Path) -> MakeRun:
    """Log a finished run: ``metrics`` maps key -> values (one per step)."""

    def make(project: str = "proj", name: str | None = None,
             config: dict[str, Any] | None = None,
             metrics: dict[str, list[float]] | None = None,
             summary: dict[str, Any] | None = None) -> str:
        run = labtrack.init(project=project, name=name, config=config or {}, dir=store_dir,
                            reinit="create_new")
        series = metrics or {}
        for i in range(max((len(v) for v in series.values()), default=0)):
            run.log({k: v[i] for k, v in series.items() if i < len(v)})
        for key, value in (summary or {}).items():
            run.summary[key] = value
        run.finish()
        return run.id

    return make


@pytest.fixture
def lr_runs(make_run: MakeRun) -> dict[str, str]:
    """Three runs of project "study": loss decays faster with a larger learning rate."""
    ids = {}
    for name, lr, opt in (("slow", 0.01, "sgd"), ("mid", 0.05, "adam"), ("fast", 0.1, "adam")):
        losses = [math.exp(-lr * 10 * i) for i in range(60)]
        ids[name] = make_run("study", name, {"lr": lr, "optimizer": opt, "seed": 1},
                             {"loss": losses, "acc": [1 - v for v in losses]},
                             {"best_loss": losses[-1], "final_acc": 1 - losses[-1]})
    return ids


@pytest.fixture
def store(store_dir: Path) -> Iterator[Any]:
    s = open_store(store_dir)
    yield s
    s.close()


@pytest.fixture
def index(store: Any) -> ReportIndex:
    return ReportIndex(store)


@pytest.fixture
def client(store: Any) -> Iterator[TestClient]:
    from labtrack.server import create_app

    with TestClient(create_app(store)) as c:
        yield c
