"""Capture what a run ran: code state (git), command, packages, machine, environment.

:func:`collect` gathers it all in one JSON-safe dict plus the uncommitted diff;
it is meant to run in a background thread after ``init()`` returns, and it
never raises.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..settings import environ_key
from .secrets import scrub, secret_values

if TYPE_CHECKING:
    from ..settings import Settings
    from .git import capture_git, git_diff  # noqa: F401 - re-exported, see __getattr__

__all__ = ["MAX_DIFF_BYTES", "capture_git", "collect", "collect_json_safe", "git_diff"]

MAX_DIFF_BYTES = 50 * 1024 * 1024


def _guard(errors: dict[str, str], name: str, func: Callable[[], Any]) -> Any:
    try:
        return func()
    except Exception as exc:
        errors[name] = f"{type(exc).__name__}: {exc}"
        return None


def _cache_dir(settings: Any) -> str | None:
    """Where package and machine scans are kept between processes: ``<store>/cache``
    (a plain string: asked for once per run)."""
    directory = getattr(settings, "dir", None)
    return os.path.join(os.fspath(directory), "cache") if directory else None


def _git_start(program: str | None) -> list[Path | None]:
    """Where to look for the repository: the entry script's folder, then cwd.

    A script installed under the interpreter prefix (a console script in a
    virtualenv) says nothing about the user's code, so it is skipped.
    """
    candidates: list[Path | None] = []
    if program and program.endswith(".py"):
        prefixes = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)}
        real = os.path.realpath(program)
        if not any(real.startswith(p + os.sep) for p in prefixes):
            candidates.append(Path(program).parent)
    candidates.append(None)  # the current directory
    return candidates


def _capture_git(
    settings: Any, program: str | None, path: str | Path | None, errors: dict[str, str]
) -> tuple[dict[str, Any], bytes | None]:
    from .git import GitError, capture_git, git_diff  # subprocess: only when git is on

    starts = [Path(path)] if path is not None else _git_start(program)
    info: dict[str, Any] = {"available": False, "reason": "not a git repository"}
    for start in starts:
        info = capture_git(start)
        if info.get("available"):
            break
    if not info.get("available") or getattr(settings, "disable_code_diff", False):
        return info, None
    if not info.get("dirty"):
        return info, None
    try:
        diff = git_diff(info["root"], max_bytes=MAX_DIFF_BYTES)
    except GitError as exc:
        errors["diff"] = str(exc)
        return info, None
    info["diff_bytes"] = len(diff)
    import hashlib

    info["diff_sha256"] = hashlib.sha256(diff).hexdigest()
    return info, diff or None


def collect(
    settings: Settings | Any = None, path: str | Path | None = None
) -> tuple[dict[str, Any], bytes | None]:
    """Capture everything about this process's run; never raises.

    Args:
        settings: a :class:`labtrack.settings.Settings` (or any object with
            ``disable_git``, ``disable_code_diff``, ``disable_env``); None = all on.
        path: where to look for the git repository (default: the entry
            script's folder, then the current directory).

    Returns:
        ``(info, diff)``: ``info`` is a JSON-safe dict with keys ``git``,
        ``command``, ``packages``, ``machine``, ``env`` (None when disabled),
        ``errors`` (section -> message) and ``capture_seconds``; ``diff`` is the
        uncommitted patch (``git apply``-able) or None when disabled or clean.
    """
    started = time.perf_counter()
    errors: dict[str, str] = {}
    info: dict[str, Any] = {
        "git": None,
        "command": None,
        "packages": None,
        "machine": None,
        "env": None,
    }
    diff: bytes | None = None
    try:
        from . import environment as env

        info["command"] = _guard(errors, "command", env.capture_command)
        program = (info["command"] or {}).get("program")
        if getattr(settings, "disable_git", False):
            info["git"] = {"available": False, "reason": "disabled"}
        else:
            result = _guard(errors, "git", lambda: _capture_git(settings, program, path, errors))
            if result is not None:
                info["git"], diff = result
                if info["command"] is not None and info["git"].get("available"):
                    info["command"]["program_relpath"] = env.relative_program(
                        program, info["git"]["root"]
                    )
        if not getattr(settings, "disable_env", False):
            cache = _cache_dir(settings)
            info["packages"] = _guard(errors, "packages", lambda: env.capture_packages(cache))
            info["machine"] = _guard(errors, "machine", lambda: env.capture_machine(cache))
            info["env"] = _guard(errors, "env", env.capture_env_vars)
    except Exception as exc:  # pragma: no cover - a bug above; still never raise
        import traceback

        errors["collect"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    info["errors"] = errors
    try:
        # last line of defence: no secret value from the environment survives anywhere
        info = scrub(info, secret_values(os.environ))
    except Exception:  # pragma: no cover
        pass
    info["capture_seconds"] = round(time.perf_counter() - started, 4)
    return info, diff


# (what the answer depends on, the packages it listed, the JSON-safe answer)
_last_json_safe: tuple[tuple[Any, ...], dict[str, str] | None, dict[str, Any]] | None = None


def collect_json_safe(settings: Settings | Any = None) -> dict[str, Any]:
    """:func:`collect` with git off (callers check), made strict-JSON-safe
    (:func:`~labtrack._jsonsafe.to_jsonable`), the last answer reused while what it
    depends on is unchanged: the settings, the working directory, ``sys.argv``, the
    environment variables and the installed packages. The machine is taken as
    unchanged for the process (as :func:`~.environment.capture_machine` does).

    Many short runs in one process (sweeps, notebooks) then pay ~20 us each for
    their snapshot instead of ~0.4 ms. The dict returned is the caller's own
    (a shallow copy: its nested values are shared and must not be changed).
    """
    global _last_json_safe
    from .._jsonsafe import to_jsonable
    from .environment import current_packages

    started = time.perf_counter()
    disable_env = bool(getattr(settings, "disable_env", False))
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    cache = _cache_dir(settings)
    key = (disable_env, str(cache), cwd, tuple(sys.argv), environ_key())
    packages: dict[str, str] | None = None
    if not disable_env:
        try:
            packages = current_packages(cache)
        except Exception:  # noqa: BLE001 - collect() below records the error
            packages = None
    last = _last_json_safe
    if last is not None and packages is not None and last[0] == key and (
            last[1] is packages or last[1] == packages):
        info = dict(last[2])
        info["capture_seconds"] = round(time.perf_counter() - started, 4)
        return info
    collected, _ = collect(settings)
    info = to_jsonable(collected)
    if not info.get("errors"):
        _last_json_safe = (key, packages, info)
    return dict(info)


def __getattr__(name: str) -> Any:
    # capture_git and git_diff, re-exported without importing subprocess with this package
    if name in ("capture_git", "git_diff", "GitError"):
        from . import git

        return getattr(git, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
