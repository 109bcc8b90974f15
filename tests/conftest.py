"""Fixtures shared by every test: each test gets its own store directory; nothing is shared."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """LABTRACK_DIR points at a fresh directory; leftover runs are finished afterwards."""
    store = tmp_path / "store"
    monkeypatch.setenv("LABTRACK_DIR", str(store))
    monkeypatch.setenv("LABTRACK_SILENT", "1")
    monkeypatch.setenv("LABTRACK_DISABLE_STATS", "1")
    monkeypatch.setenv("LABTRACK_CONFIG", str(tmp_path / "credentials.json"))
    for name in ("LABTRACK_RUN_ID", "LABTRACK_RUN_STREAM", "LABTRACK_SWEEP_ID", "LABTRACK_URL",
                 "LABTRACK_API_KEY", "LABTRACK_MODE", "LABTRACK_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    yield store
    from labtrack import _current
    from labtrack.store import close_shared

    for run in _current.all_active():
        try:
            run.finish()
        except Exception:  # noqa: BLE001 - a broken test run must not break the next test
            _current.forget(run)
    close_shared()  # no test sees another test's open database


@pytest.fixture
def store_dir(isolated_store: Path) -> Path:
    return isolated_store


@pytest.fixture
def child_env(store_dir: Path) -> dict[str, str]:
    """Environment for a child Python process logging into the same store."""
    env = dict(os.environ)
    env["LABTRACK_DIR"] = str(store_dir)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
