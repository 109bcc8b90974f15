"""``labtrack reproduce``: rebuild real runs recorded from real git repositories."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import labtrack
from labtrack.cli import cli as labtrack_cli
from labtrack.errors import UsageError
from labtrack.reproduce import package_diff, write_requirements

Git = Callable[..., str]
Record = Callable[..., str]


def reproduce(*args: str) -> Result:
    return CliRunner().invoke(labtrack_cli, ["reproduce", *args])


def tracked_hashes(root: Path, git: Git) -> dict[str, str]:
    """sha256 of every tracked file present in ``root``'s working tree (edits included)."""
    names = git(root, "ls-files", "-z", "--cached").split("\0")
    return {n: hashlib.sha256((root / n).read_bytes()).hexdigest()
            for n in names if n and (root / n).is_file()}


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` except git's own."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and ".git" not in p.relative_to(root).parts}


def make_dirty(repo: Path, git: Git) -> None:
    """Edits (staged, unstaged, binary), a deletion, a new tracked file, an untracked file."""
    (repo / "scale.txt").write_text("3.0\n")
    (repo / "README.md").unlink()
    (repo / "weights.bin").write_bytes(bytes(reversed(range(256))) * 8)
    (repo / "train" / "extra.py").write_text("VALUE = 42\n")
    git(repo, "add", "train/extra.py")
    (repo / "notes.txt").write_text("untracked scratch\n")


def test_rebuilt_tree_has_the_original_working_tree_files(repo: Path, git: Git,
                                                          record: Record, tmp_path: Path) -> None:
    make_dirty(repo, git)
    run_id = record(repo, "--epochs", "3")
    original = tracked_hashes(repo, git)
    status_before = git(repo, "status", "--porcelain")
    head_before = git(repo, "rev-parse", "HEAD")
    into = tmp_path / "rebuilt"
    result = reproduce(run_id, "--into", str(into))
    assert result.exit_code == 0, result.output
    assert tree_hashes(into) == original
    assert "README.md" not in original and "train/extra.py" in original
    assert "git worktree of" in result.output and "uncommitted diff applied" in result.output
    assert "notes.txt" in result.output  # untracked files are named as not restored
    assert f"cd {into / 'train'} && " in result.output
    assert "train.py --epochs 3" in result.output
    # the user's repository is untouched
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "rev-parse", "HEAD") == head_before


def test_rebuild_clones_the_remote_when_the_repository_is_gone(repo: Path, git: Git,
                                                                record: Record,
                                                                tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    make_dirty(repo, git)
    run_id = record(repo)
    original = tracked_hashes(repo, git)
    shutil.rmtree(repo)
    into = tmp_path / "from-remote"
    result = reproduce(run_id, "--into", str(into), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["rebuilt"]["source"] == "clone" and out["rebuilt"]["origin"] == str(remote)
    assert out["rebuilt"]["diff_applied"] is True
    assert tree_hashes(into) == original


def _lose_head_commit(repo: Path, git: Git) -> None:
    """Drop the last commit and garbage-collect it, as a rebase + gc would."""
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")


def test_commit_gone_is_a_clear_error(repo: Path, git: Git, record: Record,
                                      tmp_path: Path) -> None:
    (repo / "scale.txt").write_text("2.0\n")
    git(repo, "commit", "-q", "-am", "second")
    lost = git(repo, "rev-parse", "HEAD").strip()
    run_id = record(repo)
    _lose_head_commit(repo, git)
    with pytest.raises(subprocess.CalledProcessError):
        git(repo, "cat-file", "-e", lost)
    into = tmp_path / "nope"
    result = reproduce(run_id, "--into", str(into))
    assert result.exit_code == 3  # NotFoundError
    assert f"commit {lost[:12]} is no longer in {repo}" in result.output
    assert "no remote" in result.output and "git fetch" in result.output
    assert not into.exists()


def test_commit_not_in_the_remote_either(repo: Path, git: Git, record: Record,
                                         tmp_path: Path) -> None:
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "origin", "main")
    (repo / "scale.txt").write_text("2.0\n")
    git(repo, "commit", "-q", "-am", "never pushed")
    run_id = record(repo)
    _lose_head_commit(repo, git)
    into = tmp_path / "nope"
    result = reproduce(run_id, "--into", str(into))
    assert result.exit_code == 3
    assert "is not in" in result.output and "never pushed" in result.output
    assert not into.exists()


def test_diff_that_no_longer_applies_is_a_clear_error(repo: Path, git: Git, record: Record,
                                                      tmp_path: Path, store_dir: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "scale.txt").write_text("5.0\n")
    run_id = record(repo)
    # the run's saved diff is replaced by one made against other content
    bad = tmp_path / "bad" / "code" / "uncommitted.diff"
    bad.parent.mkdir(parents=True)
    bad.write_text("diff --git a/README.md b/README.md\n--- a/README.md\n+++ b/README.md\n"
                   "@@ -1 +1 @@\n-# not what the commit has\n+# edited\n")
    monkeypatch.chdir(tmp_path)
    run = labtrack.init(id=run_id, resume="allow",
                        settings={"disable_git": True, "disable_env": True})
    run.save(str(bad), base_path=str(tmp_path / "bad"))
    run.finish()
    into = tmp_path / "rebuilt"
    result = reproduce(run_id, "--into", str(into))
    assert result.exit_code == 2  # UsageError
    assert "does not apply to commit" in result.output and "README.md" in result.output
    saved = tmp_path / "rebuilt.uncommitted.diff"
    assert saved.read_bytes() == bad.read_bytes()
    assert "git -C" in result.output and "apply --3way" in result.output
    # the checkout is there, at the commit, without edits
    assert (into / "README.md").read_text() == "# demo\n\nline two\n"
    assert (into / "scale.txt").read_text() == "1.0\n"


def test_exec_reruns_the_command_as_a_new_linked_run(repo: Path, git: Git, record: Record,
                                                     tmp_path: Path, store_dir: Path) -> None:
    (repo / "scale.txt").write_text("4.0\n")  # the result depends on the uncommitted edit
    orig_id = record(repo, "--epochs", "3")
    into = tmp_path / "again"
    result = reproduce(orig_id, "--into", str(into), "--exec")
    assert result.exit_code == 0, result.output
    api = labtrack.Api(store_dir)
    orig = api.run(orig_id)
    (new,) = [r for r in api.runs() if r.id != orig_id]
    new = api.run(new.id)
    assert new.as_dict()["reproduced_from"] == orig_id
    assert new.state == "finished" and new.project == orig.project
    assert new.config == orig.config == {"epochs": 3, "lr": 0.5}
    _, orig_loss, _ = orig.series("loss")
    _, new_loss, _ = new.series("loss")
    assert list(new_loss) == list(orig_loss) == [4.0, 2.0, 4.0 / 3]
    assert new.environment["command"]["cwd"] == str(into / "train")
    assert new.environment["git"]["commit"] == orig.environment["git"]["commit"]
    console = CliRunner().invoke(labtrack_cli, ["runs", "compare", "--json", orig_id, new.id])
    compared = json.loads(console.stdout)
    assert [r["id"] for r in compared["runs"]] == [orig_id, new.id]
    assert compared["differing"] == []
    assert compared["summary"]["loss"] == [pytest.approx(4 / 3)] * 2
    assert f"compare: labtrack runs compare {orig_id} {new.id}" in result.output


def test_exec_passes_the_recorded_config(repo: Path, git: Git, record: Record,
                                         tmp_path: Path, store_dir: Path) -> None:
    orig_id = record(repo)
    result = reproduce(orig_id, "--into", str(tmp_path / "x"), "--exec")
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("LABTRACK_CONFIG_JSON="))
    assert json.loads(line.partition("=")[2]) == {"epochs": 2, "lr": 0.5}


def test_requirements_file_pins_the_recorded_packages(repo: Path, git: Git, record: Record,
                                                      tmp_path: Path) -> None:
    run_id = record(repo)
    req = tmp_path / "requirements.txt"
    result = reproduce(run_id, "--into", str(tmp_path / "x"), "--requirements", str(req))
    assert result.exit_code == 0, result.output
    assert "same versions as the recorded environment" in result.output
    pins = dict(line.split("==", 1) for line in req.read_text().splitlines()
                if line and not line.startswith("#"))
    recorded = labtrack.Api().run(run_id).environment["packages"]
    assert pins == {k: v for k, v in recorded.items()
                    if k.lower() not in ("pip", "setuptools", "wheel")}
    assert pins["click"] == recorded["click"] and "numpy" in pins


def test_run_without_git_is_a_clear_error(child_env: dict[str, str], tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "s.py").write_text("import labtrack\nlabtrack.init()\n")
    subprocess.run([sys.executable, "s.py"], cwd=plain, env=child_env, check=True)
    (run,) = labtrack.Api().runs()
    result = reproduce(run.id, "--into", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "recorded no git state" in result.output


def test_into_must_be_empty(repo: Path, record: Record, tmp_path: Path) -> None:
    run_id = record(repo)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    result = reproduce(run_id, "--into", str(tmp_path / "full"))
    assert result.exit_code == 2 and "not empty" in result.output
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"


def test_package_diff_normalises_names_and_finds_each_kind() -> None:
    recorded = {"NumPy": "1.26.4", "scikit_learn": "1.4.0", "torch": "2.2.0", "six": "1.16.0"}
    current = {"numpy": "2.0.1", "scikit-learn": "1.4.0", "six": "1.16.0", "rich": "13.7.0"}
    diff = package_diff(recorded, current)
    assert diff.changed == {"NumPy": ("1.26.4", "2.0.1")}
    assert diff.missing == {"torch": "2.2.0"}
    assert diff.extra == {"rich": "13.7.0"}
    assert not package_diff(recorded, recorded)


def test_write_requirements_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "req.txt"
    count = write_requirements({"b-pkg": "2", "A": "1.0", "pip": "24", "setuptools": "70"},
                               path, header="from run x")
    assert count == 2
    assert path.read_text() == "# from run x\nA==1.0\nb-pkg==2\n"


def test_api_errors_are_typed() -> None:
    from labtrack.reproduce import code_state

    with pytest.raises(UsageError, match="without any commit"):
        code_state({"git": {"available": True, "root": "/r", "commit": None}}, "abc")
