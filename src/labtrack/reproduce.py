"""Rebuild a run's code state in a new directory, compare packages, and rerun it.

What a run recorded (``run.environment``: ``git`` root/commit/remote/dirty,
``command`` argv/cwd, ``packages``, plus the run file ``code/uncommitted.diff``)
is enough to get its exact tracked files back:

1. a ``git worktree`` of the recorded repository at the recorded commit when the
   repository is on this machine and has the commit, else a clone of the recorded
   remote checked out at the commit;
2. the saved uncommitted diff applied with ``git apply``.

Untracked files were never recorded and are not restored (they are listed).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import NotFoundError, UsageError

DIFF_FILE = "code/uncommitted.diff"
FREEZE_SKIP = frozenset({"pip", "setuptools", "wheel", "distribute"})  # as `pip freeze` does
GIT_TIMEOUT = 600.0


@dataclasses.dataclass
class Rebuilt:
    """A rebuilt code state: where it is and how it was made."""

    run_id: str
    path: Path
    commit: str
    source: str  # "worktree" (of the local repository) or "clone" (of the remote)
    origin: str  # the repository path or remote URL it came from
    diff_applied: bool
    workdir: Path
    warnings: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["path"], out["workdir"] = str(self.path), str(self.workdir)
        return out


@dataclasses.dataclass
class PackageDiff:
    """Packages of a run's environment compared with the current one."""

    missing: dict[str, str]  # recorded, not installed now: name -> recorded version
    extra: dict[str, str]  # installed now, not recorded: name -> current version
    changed: dict[str, tuple[str, str]]  # name -> (recorded version, current version)

    def __bool__(self) -> bool:
        return bool(self.missing or self.extra or self.changed)

    def as_dict(self) -> dict[str, Any]:
        return {"missing": self.missing, "extra": self.extra,
                "changed": {k: list(v) for k, v in self.changed.items()}}


class _GitFailed(Exception):
    pass


def _git(args: Sequence[str], cwd: str | Path | None = None) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C", LANGUAGE="C")
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise _GitFailed(f"git {args[0]}: {err}") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise _GitFailed("; ".join(lines[-3:]) or f"git {args[0]} exited {proc.returncode}")
    return proc.stdout.decode("utf-8", "replace").strip()


def _has_commit(repo: Path, commit: str) -> bool:
    try:
        _git(["cat-file", "-e", f"{commit}^{{commit}}"], repo)
        return True
    except _GitFailed:
        return False


def code_state(environment: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """The recorded git section of a run, checked to be rebuildable.

    Raises:
        UsageError: the run recorded no git repository or no commit.
    """
    git = environment.get("git") or {}
    if not git.get("available"):
        why = git.get("reason") or ("environment capture did not finish"
                                     if not environment else "git capture was off")
        raise UsageError(f"run {run_id} recorded no git state ({why}); there is no code "
                         "state to rebuild")
    if not git.get("commit"):
        raise UsageError(f"run {run_id} ran in a git repository without any commit "
                         f"({git.get('root')}); only committed code can be rebuilt")
    return dict(git)


def default_path(git: Mapping[str, Any], run_id: str) -> Path:
    """``./<repository name>-<run id>`` in the current directory."""
    name = Path(str(git.get("root") or "run")).name or "run"
    return Path.cwd() / f"{name}-{run_id}"


def rebuild(run_id: str, environment: Mapping[str, Any], diff: bytes | None,
            into: str | os.PathLike[str]) -> Rebuilt:
    """Check out the run's commit into ``into`` and apply its uncommitted diff.

    Raises:
        UsageError: no git state recorded, ``into`` is not empty, or the saved
            diff does not apply (the checkout is kept; the diff is saved next to it).
        NotFoundError: the commit is neither in the local repository nor in the remote.
    """
    git = code_state(environment, run_id)
    commit = str(git["commit"])
    path = Path(into).expanduser().resolve()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise UsageError(f"{path} already exists and is not empty; choose another --into")
    source, origin = _checkout(run_id, git, commit, path)
    result = Rebuilt(run_id=run_id, path=path, commit=commit, source=source, origin=origin,
                     diff_applied=False, workdir=path)
    if diff:
        _apply_diff(path, diff, commit, git)
        result.diff_applied = True
    elif git.get("dirty"):
        result.warnings.append(
            "the run had uncommitted changes but their diff was not stored "
            "(LABTRACK_DISABLE_CODE_DIFF, or larger than the capture limit): the tree "
            "has the commit only")
    result.workdir = _workdir(environment, git, path, result.warnings)
    untracked = list(git.get("untracked") or [])
    if untracked:
        shown = ", ".join(untracked[:5]) + (" ..." if len(untracked) > 5 else "")
        result.warnings.append(f"{len(untracked)} untracked file(s) were not in git and are "
                               f"not restored: {shown}")
    return result


def _checkout(run_id: str, git: Mapping[str, Any], commit: str, path: Path) -> tuple[str, str]:
    root = Path(str(git.get("root") or ""))
    remote = git.get("remote")
    local_note = ""
    if git.get("root") and (root / ".git").exists():
        if _has_commit(root, commit):
            try:
                _git(["worktree", "add", "--detach", str(path), commit], root)
                return "worktree", str(root)
            except _GitFailed as err:
                raise UsageError(f"git worktree add {path} failed: {err}") from None
        local_note = f"commit {commit[:12]} is no longer in {root}"
    elif git.get("root"):
        local_note = f"the repository {root} is not on this machine"
    if not remote:
        raise NotFoundError(
            f"cannot rebuild run {run_id}: {local_note}, and the run recorded no remote to "
            f"clone. If the commit exists elsewhere, fetch it into {root} "
            f"(git fetch <remote> {commit}) and run reproduce again.")
    _clone(run_id, str(remote), commit, path, local_note)
    return "clone", str(remote)


def _clone(run_id: str, remote: str, commit: str, path: Path, local_note: str) -> None:
    try:
        _git(["clone", "--quiet", "--no-checkout", remote, str(path)])
    except _GitFailed as err:
        _remove(path)
        raise NotFoundError(
            f"cannot rebuild run {run_id}: {local_note}; cloning {remote} failed ({err}). "
            "Check access to the remote (credentials are never recorded), or fetch the "
            "commit into the local repository.") from None
    if not _has_commit(path, commit):
        try:  # an unpushed or unadvertised commit: some servers still serve it by id
            _git(["fetch", "--quiet", "origin", commit], path)
        except _GitFailed:
            pass
    try:
        _git(["checkout", "--quiet", "--detach", commit], path)
    except _GitFailed:
        _remove(path)
        raise NotFoundError(
            f"cannot rebuild run {run_id}: {local_note}, and commit {commit[:12]} is not in "
            f"{remote} either (never pushed, or removed by a force-push). Push or fetch the "
            "commit, then run reproduce again.") from None


def _remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _apply_diff(path: Path, diff: bytes, commit: str, git: Mapping[str, Any]) -> None:
    saved = path.with_name(path.name + ".uncommitted.diff")
    saved.write_bytes(diff)
    try:
        _git(["apply", "--binary", "--whitespace=nowarn", str(saved)], path)
    except _GitFailed as err:
        raise UsageError(
            f"the run's uncommitted diff does not apply to commit {commit[:12]} ({err}). "
            f"{path} has the commit without the edits; the diff is saved as {saved}. Try "
            f"`git -C {path} apply --3way {saved}` and resolve the conflicts by hand.") from None
    saved.unlink()


def _workdir(environment: Mapping[str, Any], git: Mapping[str, Any], path: Path,
             warnings: list[str]) -> Path:
    command = environment.get("command") or {}
    rel = command.get("cwd_relpath")
    if rel is None and command.get("cwd") and git.get("root"):
        try:
            rel = Path(command["cwd"]).resolve().relative_to(
                Path(str(git["root"])).resolve()).as_posix()
        except ValueError:
            rel = None
    if rel is None:
        if command.get("cwd"):
            warnings.append(f"the run's working directory {command['cwd']} was outside the "
                            "repository; using the repository root")
        return path
    workdir = (path / rel).resolve()
    if not workdir.is_dir():
        workdir.mkdir(parents=True, exist_ok=True)
        warnings.append(f"the working directory {rel} is not in git; created it empty")
    return workdir


# -- packages ------------------------------------------------------------------------
def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_diff(recorded: Mapping[str, str], current: Mapping[str, str] | None = None
                 ) -> PackageDiff:
    """Compare recorded ``{name: version}`` with the current environment's (names normalised)."""
    if current is None:
        from .capture.environment import capture_packages

        current = capture_packages()
    rec = {_canonical(k): (k, str(v)) for k, v in recorded.items()}
    cur = {_canonical(k): (k, str(v)) for k, v in current.items()}
    missing = {rec[k][0]: rec[k][1] for k in sorted(rec.keys() - cur.keys())}
    extra = {cur[k][0]: cur[k][1] for k in sorted(cur.keys() - rec.keys())}
    changed = {rec[k][0]: (rec[k][1], cur[k][1]) for k in sorted(rec.keys() & cur.keys())
               if rec[k][1] != cur[k][1]}
    return PackageDiff(missing, extra, changed)


def write_requirements(packages: Mapping[str, str], path: str | os.PathLike[str],
                       header: str = "") -> int:
    """Write ``name==version`` lines (pip, setuptools and wheel left out, as ``pip freeze``).

    Returns the number of packages written.
    """
    lines = [f"# {line}" for line in header.splitlines()]
    names = sorted((n for n in packages if _canonical(n) not in FREEZE_SKIP), key=str.lower)
    lines += [f"{name}=={packages[name]}" for name in names]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(names)


# -- rerunning ------------------------------------------------------------------------
def recorded_command(environment: Mapping[str, Any], rebuilt: Rebuilt) -> list[str]:
    """The command to rerun in the rebuilt tree (paths into the old tree moved to the new).

    Raises:
        UsageError: the run was not started from a command that can be rerun.
    """
    command = environment.get("command") or {}
    if command.get("launcher") == "labtrack run":
        argv = list(command.get("argv") or [])
    else:
        orig = list(command.get("orig_argv") or [])
        argv = [sys.executable, *orig[1:]] if orig else \
            [sys.executable, *(command.get("argv") or [])]
        if not command.get("program") and "-m" not in orig:
            raise UsageError(f"run {rebuilt.run_id} was not started from a script (python -c, "
                             "a notebook or an interactive session); there is no command to "
                             "rerun")
    if not argv:
        raise UsageError(f"run {rebuilt.run_id} recorded no command to rerun")
    old_root = str((environment.get("git") or {}).get("root") or "")
    return [_move_path(arg, old_root, rebuilt.path) for arg in argv]


def _move_path(arg: str, old_root: str, new_root: Path) -> str:
    if old_root and os.path.isabs(arg):
        try:
            rel = Path(arg).relative_to(old_root)
        except ValueError:
            return arg
        return str(new_root / rel)
    return arg


def masked_arguments(argv: Sequence[str]) -> list[str]:
    """Arguments that were masked as secrets when recorded (they hold ``***``)."""
    return [a for a in argv if "***" in a]
