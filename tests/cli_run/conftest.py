"""Fixtures for ``labtrack run`` tests: the real CLI in a subprocess, scripts in tmp_path."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ENTRY = "import sys; from labtrack.cli import main; main(sys.argv[1:])"

Cli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def labtrack_argv() -> list[str]:
    """argv prefix that runs the labtrack CLI of this checkout."""
    return [sys.executable, "-c", ENTRY]


@pytest.fixture
def cli(labtrack_argv: list[str], child_env: dict[str, str], tmp_path: Path) -> Cli:
    """``cli(*args, env=..., cwd=...)`` runs ``labtrack *args`` and returns the finished process."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*labtrack_argv, *args], env=env or child_env,
                              cwd=cwd or tmp_path, capture_output=True, text=True,
                              timeout=timeout, check=False)

    return run


@pytest.fixture
def script(tmp_path: Path) -> Callable[[str, str], Path]:
    """``script(name, source)`` writes a dedented Python script under tmp_path."""

    def write(name: str, source: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(source))
        return path

    return write


@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in-process may pick up the repository the tests run from."""
    monkeypatch.chdir(tmp_path)
