"""Fixtures for the artifact tests: a quiet environment, a store dir, runs and files."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import labtrack
from labtrack.blobs import LocalBlobStore


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
    """Distinct blobs stored, as files or in the small-blob database."""
    root = store_dir / "blobs" / "sha256"
    files = {p.parent.name + p.name for p in root.rglob("*") if p.is_file()} \
        if root.exists() else set()
    return len(files | set(read_small_blobs(store_dir)))


def read_small_blobs(store_dir: Path) -> dict[str, bytes]:
    """``{digest: bytes}`` of the small blobs: read from the packs the index names (and
    rows of the older in-database layout); empty when there is no index."""
    db = store_dir / "blobs" / "small.sqlite"
    if not db.exists():
        return {}
    with contextlib.closing(sqlite3.connect(db)) as conn:
        out = {bytes(d).hex(): bytes(data)
               for d, data in conn.execute("SELECT digest, data FROM blobs")}
        for digest, name, offset, size in conn.execute(
                "SELECT k.digest, p.name, k.offset, k.size FROM packed k "
                "JOIN packs p ON p.id = k.pack"):
            with open(store_dir / "blobs" / "packs" / name, "rb") as fh:
                fh.seek(offset)
                out[bytes(digest).hex()] = fh.read(size)
    return out


def tamper_blob(store_dir: Path, digest: str, data: bytes) -> None:
    """Replace a stored blob's bytes (in its pack, or its file) behind labtrack's back.

    Bytes of another size go to the end of the pack, and the index row follows them.
    """
    db = store_dir / "blobs" / "small.sqlite"
    if digest in read_small_blobs(store_dir):
        with contextlib.closing(sqlite3.connect(db)) as conn, conn:
            name, offset, size = conn.execute(
                "SELECT p.name, k.offset, k.size FROM packed k JOIN packs p ON p.id = k.pack "
                "WHERE k.digest = ?", (bytes.fromhex(digest),)).fetchone()
            pack = store_dir / "blobs" / "packs" / name
            pack.chmod(0o644)
            with open(pack, "r+b") as fh:
                if len(data) != size:
                    offset = fh.seek(0, os.SEEK_END)
                    conn.execute("UPDATE packed SET offset = ?, size = ? WHERE digest = ?",
                                 (offset, len(data), bytes.fromhex(digest)))
                fh.seek(offset)
                fh.write(data)
        return
    path = LocalBlobStore(store_dir / "blobs").path(digest)
    path.chmod(0o644)
    path.write_bytes(data)


@pytest.fixture
def files() -> Callable[..., Path]:
    """The :func:`write_files` helper."""
    return write_files


@pytest.fixture
def blobs(store_dir: Path) -> Callable[[], int]:
    """How many blobs the store holds now."""
    return lambda: blob_count(store_dir)


@pytest.fixture
def small_blobs(store_dir: Path) -> Callable[[], dict[str, bytes]]:
    """``{digest: bytes}`` now in the store's small-blob database."""
    return lambda: read_small_blobs(store_dir)


@pytest.fixture
def tamper(store_dir: Path) -> Callable[[str, bytes], None]:
    """``tamper(digest, data)``: :func:`tamper_blob` in the test's store."""
    return lambda digest, data: tamper_blob(store_dir, digest, data)


def race(script: str, go: Path, argvs: list[list[str]], timeout: float = 120) -> list[str]:
    """Run ``python -c script *argv`` once per argv, let them all start, then create
    ``go`` (the scripts wait for it) so they race; returns their stdouts (each must exit 0)."""
    procs = [subprocess.Popen([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv in argvs]
    time.sleep(0.5)
    go.write_text("go")
    outputs = [p.communicate(timeout=timeout) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    return [out for out, _ in outputs]
