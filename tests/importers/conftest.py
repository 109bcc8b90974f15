"""Helpers for the importer tests: reading back what landed in the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import labtrack


@pytest.fixture
def api(store_dir: Path) -> Any:
    """An Api over the test's store, opened after the import ran (call it)."""
    opened: list[Any] = []

    def make() -> Any:
        opened.append(labtrack.Api(store_dir))
        return opened[-1]

    yield make
    for a in opened:
        a.close()


def blob_bytes(store_dir: Path, digest: str) -> bytes:
    """The content of a blob in the store."""
    from labtrack.blobs import LocalBlobStore

    return LocalBlobStore(store_dir / "blobs").path(digest).read_bytes()


def points(run: Any, key: str) -> list[tuple[int, float, float]]:
    """(step, value, time) of every point of one series."""
    p = run.series(key)
    return list(zip(p.steps.tolist(), p.values.tolist(), p.times.tolist(), strict=True))
