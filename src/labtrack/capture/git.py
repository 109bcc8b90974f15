"""Code state of a run from the ``git`` command line (no GitPython).

Everything here is safe to call from a background thread: each ``git`` call has
a timeout, never prompts, takes no index lock (``GIT_OPTIONAL_LOCKS=0``) and a
failure becomes ``{"available": False, "reason": ...}``, never an exception.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

from .secrets import clean_remote_url, strip_url_credentials

TIMEOUT = 10.0
MAX_UNTRACKED = 1000

# Settings that make `git diff` output unusable by `git apply`, overridden for our calls.
_DIFF_CONFIG = (
    "-c", "diff.noprefix=false",
    "-c", "diff.mnemonicPrefix=false",
    "-c", "core.quotePath=false",
)  # fmt: skip


class GitError(Exception):
    """A ``git`` command that failed (internal; callers get a reason string)."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GIT_OPTIONAL_LOCKS="0",
        GIT_PAGER="cat",
        LC_ALL="C",
        LANGUAGE="C",
    )
    return env


def _git(args: list[str], cwd: str | Path, timeout: float | None = None) -> bytes:
    """Run ``git args`` in ``cwd`` and return stdout; raise GitError on any failure."""
    timeout = TIMEOUT if timeout is None else timeout
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            env=_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} timed out after {timeout:g}s") from None
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = message[-1] if message else f"git {args[0]} exited {proc.returncode}"
        raise GitError(strip_url_credentials(reason))
    return proc.stdout


def _text(args: list[str], cwd: str | Path) -> str:
    return _git(args, cwd).decode("utf-8", "replace").strip()


def _optional(args: list[str], cwd: str | Path) -> str | None:
    try:
        return _text(args, cwd) or None
    except GitError:
        return None


def _start_dir(path: str | Path | None) -> Path:
    start = Path(path) if path is not None else Path.cwd()
    start = start.expanduser()
    if start.is_file():
        start = start.parent
    return start


def find_root(path: str | Path | None = None) -> Path | None:
    """The top folder of the git work tree holding ``path`` (default: cwd), or None."""
    if shutil.which("git") is None:
        return None
    start = _start_dir(path)
    if not start.is_dir():
        return None
    try:
        return Path(_text(["rev-parse", "--show-toplevel"], start))
    except GitError:
        return None


def _remote(root: Path) -> str | None:
    url = _optional(["config", "--get", "remote.origin.url"], root)
    if url is None:
        names = (_optional(["remote"], root) or "").split()
        if names:
            url = _optional(["config", "--get", f"remote.{names[0]}.url"], root)
    return clean_remote_url(url) if url else None


def _status(root: Path) -> tuple[list[str], list[str]]:
    """(changed tracked paths, untracked paths) from ``git status --porcelain -z``."""
    raw = _git(["status", "--porcelain=v1", "-z", "--untracked-files=normal"], root)
    changed: list[str] = []
    untracked: list[str] = []
    entries = raw.decode("utf-8", "surrogateescape").split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code == "??":
            untracked.append(path)
        elif code == "!!":
            continue
        else:
            changed.append(path)
            if "R" in code or "C" in code:
                i += 1  # the rename/copy source follows as its own entry
    return changed, untracked


_SHORTSTAT = re.compile(r"(\d+) (file|insertion|deletion)")


def _diff_stat(root: Path, base: str) -> dict[str, int]:
    text = _optional(["diff", base, "--shortstat", "--no-ext-diff"], root) or ""
    stat = {"files": 0, "insertions": 0, "deletions": 0}
    for count, kind in _SHORTSTAT.findall(text):
        stat["files" if kind == "file" else kind + "s"] = int(count)
    return stat


def _diff_base(root: Path) -> str:
    """``HEAD``, or the empty tree in a repository with no commit yet."""
    if _optional(["rev-parse", "--verify", "-q", "HEAD"], root):
        return "HEAD"
    # the empty tree's id depends on the hash algorithm (sha1 or sha256)
    return _text(["hash-object", "-t", "tree", os.devnull], root)


def capture_git(path: str | Path | None = None) -> dict[str, Any]:
    """Describe the git work tree holding ``path`` (default: the current directory).

    Returns a JSON-safe dict: ``available``, ``root``, ``commit``, ``branch``
    (None when detached), ``remote`` (credentials stripped), ``dirty`` (tracked
    files differ from HEAD; untracked files do not count), ``modified``,
    ``untracked`` (at most ``MAX_UNTRACKED``, folders collapsed as ``dir/``) and
    ``diff_stat``. Outside a repository, or without git:
    ``{"available": False, "reason": ...}``.
    """
    if shutil.which("git") is None:
        return {"available": False, "reason": "git executable not found"}
    start = _start_dir(path)
    if not start.is_dir():
        return {"available": False, "reason": f"{start} is not a directory"}
    try:
        root = Path(_text(["rev-parse", "--show-toplevel"], start))
    except GitError as exc:
        return {"available": False, "reason": str(exc)}
    info: dict[str, Any] = {
        "available": True,
        "root": str(root),
        "commit": _optional(["rev-parse", "--verify", "-q", "HEAD"], root),
        "branch": _optional(["symbolic-ref", "--short", "-q", "HEAD"], root),
        "remote": _remote(root),
    }
    if info["commit"]:
        info["commit_time"] = _optional(["log", "-1", "--format=%cI", "HEAD"], root)
    try:
        changed, untracked = _status(root)
    except GitError as exc:
        info.update(dirty=None, modified=[], untracked=[], error=f"git status: {exc}")
        return info
    info["dirty"] = bool(changed)
    info["modified"] = changed[:MAX_UNTRACKED]
    info["untracked"] = untracked[:MAX_UNTRACKED]
    if len(untracked) > MAX_UNTRACKED:
        info["untracked_truncated"] = len(untracked)
    if changed:
        try:
            info["diff_stat"] = _diff_stat(root, _diff_base(root))
        except GitError:
            pass
    return info


def git_diff(root: str | Path, max_bytes: int | None = None, timeout: float = 60.0) -> bytes:
    """The uncommitted changes of tracked files against HEAD, as a binary patch.

    Staged and unstaged changes together (``git diff HEAD --binary``); applying
    it with ``git apply`` on a clean checkout of HEAD restores the working tree's
    tracked files. Untracked files are not included.

    Raises:
        GitError: git failed, timed out, or the patch exceeds ``max_bytes``.
    """
    root = Path(root)
    base = _diff_base(root)
    args = [
        "git", *_DIFF_CONFIG, "diff", base, "--binary", "--no-color", "--no-ext-diff",
        "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/", "--",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(
            args,
            cwd=str(root),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_env(),
        )
    except OSError as exc:
        raise GitError(f"cannot run git: {exc}") from None
    return _read_limited(proc, max_bytes, timeout)


def _read_limited(proc: subprocess.Popen[bytes], max_bytes: int | None, timeout: float) -> bytes:
    """Read a process's stdout, killing it when it is too large or too slow."""
    timer = threading.Timer(timeout, proc.kill)
    timer.daemon = True
    timer.start()
    chunks: list[bytes] = []
    size = 0
    try:
        assert proc.stdout is not None
        while True:
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                proc.kill()
                raise GitError(f"the uncommitted diff is larger than {max_bytes} bytes")
            chunks.append(chunk)
        code = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if code != 0:
        raise GitError(f"git diff failed (exit {code}, timeout {timeout:g}s)")
    return b"".join(chunks)
