"""Fixtures for the artifact tests: a quiet environment, a store dir, runs and files."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import labtrack


@pytest.fixture(autouse=True)
def quiet_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LABTRACK_DISABLE_STATS", "LABTRACK_DISABLE_ENV", "LABTRACK_DISABLE_GIT",
                 "LABTRACK_SILENT"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("LABTRACK_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("LABTRACK_RUN_ID", raising=False)
    monkeypatch.delenv("LABTRACK_PROJECT", raising=False)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def make_run(store_dir: Path) -> Iterator[Callable[..., Any]]:
    """``make_run(project="p", **init_kwargs)``: a run in the test's store, finished afterwards."""
    runs: list[Any] = []

    def make(project: str = "proj", **kwargs: Any) -> Any:
        run = labtrack.init(project=project, dir=store_dir, reinit="create_new", **kwargs)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.finish()


def write_files(root: Path, files: dict[str, bytes | str], age: float = 0.0) -> Path:
    """Create files under ``root``; ``age`` seconds back-dates their mtimes."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        path.write_bytes(data)
        if age:
            then = time.time() - age
            os.utime(path, (then, then))
    return root


def blob_count(store_dir: Path) -> int:
    root = store_dir / "blobs" / "sha256"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


@pytest.fixture
def files() -> Callable[..., Path]:
    """The :func:`write_files` helper."""
    return write_files


@pytest.fixture
def blobs(store_dir: Path) -> Callable[[], int]:
    """How many blobs the store holds now."""
    return lambda: blob_count(store_dir)
