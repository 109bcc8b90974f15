"""capture_git and git_diff against real repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from labtrack.capture.git import GitError, capture_git, find_root, git_diff

Git = Callable[..., str]


def tracked_files(root: Path, git: Git) -> dict[str, bytes]:
    names = git(root, "ls-files", "-z").split("\0")
    return {n: (root / n).read_bytes() for n in names if n and (root / n).exists()}


def test_clean_repo(repo: Path, git: Git) -> None:
    info = capture_git(repo)
    assert info["available"] is True
    assert Path(info["root"]) == repo.resolve()
    assert info["commit"] == git(repo, "rev-parse", "HEAD").strip()
    assert len(info["commit"]) in (40, 64)
    assert info["branch"] == "main"
    assert info["remote"] is None
    assert info["dirty"] is False
    assert info["untracked"] == [] and info["modified"] == []
    assert "diff_stat" not in info
    assert git_diff(repo) == b""
    json.dumps(info)


def test_from_subfolder_and_from_a_file(repo: Path) -> None:
    for start in (repo / "src" / "deep", repo / "src" / "model.py"):
        info = capture_git(start)
        assert info["available"] is True
        assert Path(info["root"]) == repo.resolve()
    assert find_root(repo / "src" / "deep") == repo.resolve()


def test_cwd_is_the_default(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "src")
    assert Path(capture_git()["root"]) == repo.resolve()


def test_dirty_and_untracked(repo: Path) -> None:
    (repo / "src" / "model.py").write_text("def f(x):\n    return x + 2\n\n# more\n")
    (repo / "notes.txt").write_text("scratch\n")
    (repo / "newdir").mkdir()
    (repo / "newdir" / "a.txt").write_text("a\n")
    info = capture_git(repo / "src")
    assert info["dirty"] is True
    assert info["modified"] == ["src/model.py"]
    assert sorted(info["untracked"]) == ["newdir/", "notes.txt"]
    assert info["diff_stat"] == {"files": 1, "insertions": 3, "deletions": 1}


def test_untracked_files_alone_are_not_dirty(repo: Path) -> None:
    (repo / "scratch.py").write_text("print(1)\n")
    info = capture_git(repo)
    assert info["dirty"] is False
    assert info["untracked"] == ["scratch.py"]


def test_remote_credentials_are_stripped(repo: Path, git: Git) -> None:
    git(repo, "remote", "add", "origin", "https://ada:s3cr3t-tok@example.com/org/x.git?t=abc")
    info = capture_git(repo)
    assert info["remote"] == "https://example.com/org/x.git"
    assert "s3cr3t" not in json.dumps(info)
    assert "abc" not in info["remote"]


def test_ssh_remote_and_non_origin_remote(repo: Path, git: Git) -> None:
    git(repo, "remote", "add", "upstream", "git@github.com:org/x.git")
    assert capture_git(repo)["remote"] == "git@github.com:org/x.git"


def test_detached_head_has_no_branch(repo: Path, git: Git) -> None:
    commit = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "--detach", commit)
    info = capture_git(repo)
    assert info["branch"] is None
    assert info["commit"] == commit


def test_not_a_repository(tmp_path: Path, git_env: None) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    info = capture_git(plain)
    assert info["available"] is False
    assert "not a git repository" in info["reason"]
    assert find_root(plain) is None
    missing = capture_git(tmp_path / "does-not-exist")
    assert missing["available"] is False and missing["reason"]


def test_git_not_installed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    monkeypatch.setenv("PATH", str(empty_bin))
    info = capture_git(repo)
    assert info == {"available": False, "reason": "git executable not found"}


def apply_to_clean_clone(repo: Path, diff: bytes, tmp_path: Path, git: Git) -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    patch = tmp_path / "change.patch"
    patch.write_bytes(diff)
    git(clone, "apply", "--index", str(patch))
    return clone


def test_diff_reapplies_on_a_clean_checkout(repo: Path, tmp_path: Path, git: Git) -> None:
    (repo / "data.bin").write_bytes(bytes(reversed(range(256))) * 5 + b"\x00\xff")
    (repo / "README.md").unlink()
    (repo / "src" / "new.py").write_text("NEW = 1\n")
    git(repo, "add", "src/new.py")  # staged new file: part of the diff against HEAD
    git(repo, "mv", "src/model.py", "src/net.py")  # a staged rename ...
    (repo / "src" / "net.py").write_text("def f(x):\n    return x * 4\n")  # ... then edited
    (repo / "untracked.txt").write_text("not in the diff\n")

    diff = git_diff(repo)
    assert b"GIT binary patch" in diff
    clone = apply_to_clean_clone(repo, diff, tmp_path, git)

    expected = tracked_files(repo, git)
    assert "README.md" not in expected and "src/model.py" not in expected
    assert "src/new.py" in expected and "src/net.py" in expected
    assert tracked_files(clone, git) == expected
    assert not (clone / "untracked.txt").exists()


def test_diff_ignores_user_diff_config(repo: Path, tmp_path: Path, git: Git) -> None:
    # settings that would make a plain `git diff` unusable by `git apply`
    git(repo, "config", "diff.noprefix", "true")
    git(repo, "config", "diff.mnemonicPrefix", "true")
    git(repo, "config", "diff.external", "/bin/false")
    git(repo, "config", "color.diff", "always")
    (repo / "src" / "model.py").write_text("changed\n")
    clone = apply_to_clean_clone(repo, git_diff(repo), tmp_path, git)
    assert (clone / "src" / "model.py").read_text() == "changed\n"


def test_repository_without_commits(tmp_path: Path, git: Git) -> None:
    root = tmp_path / "fresh"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "a.py").write_text("A = 1\n")
    git(root, "add", "a.py")
    info = capture_git(root)
    assert info["available"] is True
    assert info["commit"] is None
    assert info["branch"] == "main"
    assert info["dirty"] is True
    diff = git_diff(root)
    target = tmp_path / "target"
    target.mkdir()
    git(target, "init", "-q")
    (tmp_path / "p.patch").write_bytes(diff)
    git(target, "apply", str(tmp_path / "p.patch"))
    assert (target / "a.py").read_text() == "A = 1\n"


def test_diff_size_limit(repo: Path) -> None:
    (repo / "README.md").write_text("x" * 10_000)
    with pytest.raises(GitError, match="larger than"):
        git_diff(repo, max_bytes=1000)
    assert len(git_diff(repo, max_bytes=1_000_000)) > 10_000


def test_git_status_timeout_is_reported_not_raised(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labtrack.capture import git as git_module

    monkeypatch.setattr(git_module, "TIMEOUT", 1e-6)
    info = capture_git(repo)
    assert info["available"] is False
    assert "timed out" in info["reason"]
