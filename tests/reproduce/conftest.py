"""Fixtures for reproduce tests: real git repositories and real runs recorded from them."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

Git = Callable[..., str]

TRAIN = """\
import argparse, json, os, labtrack
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
args = parser.parse_args()
run = labtrack.init(project="repro", config={"epochs": args.epochs, "lr": 0.5})
scale = float(open(os.path.join("..", "scale.txt")).read())
for epoch in range(args.epochs):
    labtrack.log({"loss": scale / (epoch + 1)})
print("LABTRACK_CONFIG_JSON=" + os.environ.get("LABTRACK_CONFIG_JSON", ""))
"""


@pytest.fixture
def git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Git:
    """``git(cwd, *args)`` with the user's and system's configuration shut out."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{var}_NAME", "Ada")
        monkeypatch.setenv(f"GIT_{var}_EMAIL", "ada@example.com")

    def run(cwd: Path, *args: str) -> str:
        return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                              text=True).stdout

    return run


@pytest.fixture
def repo(tmp_path: Path, git: Git) -> Path:
    """A repository with one commit: train/train.py, scale.txt, README.md, weights.bin."""
    root = tmp_path / "repo"
    (root / "train").mkdir(parents=True)
    (root / "train" / "train.py").write_text(TRAIN)
    (root / "scale.txt").write_text("1.0\n")
    (root / "README.md").write_text("# demo\n\nline two\n")
    (root / "weights.bin").write_bytes(bytes(range(256)) * 8)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


@pytest.fixture
def record(child_env: dict[str, str], store_dir: Path) -> Callable[..., str]:
    """``record(repo, *args)`` runs train/train.py from repo/train and returns the run id."""

    def run(repo: Path, *args: str) -> str:
        import labtrack

        before = {r.id for r in labtrack.Api(store_dir).runs()}
        subprocess.run([sys.executable, "train.py", *args], cwd=repo / "train", env=child_env,
                       check=True, capture_output=True, timeout=60)
        new = [r.id for r in labtrack.Api(store_dir).runs() if r.id not in before]
        assert len(new) == 1
        return new[0]

    return run



@pytest.fixture(autouse=True)
def _work_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in-process may pick up the repository the tests run from."""
    monkeypatch.chdir(tmp_path)
