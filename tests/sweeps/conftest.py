"""Fixtures of the sweep tests: a quiet, fast environment and the sweep index of the store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labtrack.store import open_store
from labtrack.sweeps.store import SweepIndex


@pytest.fixture(autouse=True)
def fast_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No environment/git capture, no system metrics, quick flushes (children inherit it)."""
    for name in ("LABTRACK_DISABLE_STATS", "LABTRACK_DISABLE_ENV", "LABTRACK_DISABLE_GIT",
                 "LABTRACK_SILENT"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("LABTRACK_FLUSH_INTERVAL", "0.05")
    monkeypatch.delenv("LABTRACK_SWEEP_PARAMS", raising=False)


@pytest.fixture
def index(store_dir: Path) -> Iterator[SweepIndex]:
    store = open_store(store_dir)
    yield SweepIndex(store)
    store.close()


@pytest.fixture
def grid() -> dict[str, Any]:
    """A 3 x 2 grid sweep minimising ``loss``."""
    return {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"a": {"values": [1, 2, 3]}, "b": {"values": ["x", "y"]}},
    }
