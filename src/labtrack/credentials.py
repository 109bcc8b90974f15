"""The user's team-server credentials file (written by ``labtrack login``), mode 0600.

``$LABTRACK_CONFIG`` or ``~/.config/labtrack/credentials.json``:
``{"url": "https://labtrack.example.com", "api_key": "lt_..."}``.
``LABTRACK_URL`` and ``LABTRACK_API_KEY`` win over the file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def path() -> Path:
    return Path(_path())


def _path() -> str:
    # plain strings: init() looks the file up twice per run (pathlib costs ~10x more)
    raw = os.environ.get("LABTRACK_CONFIG")
    if raw:
        return os.path.expanduser(raw)
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "labtrack", "credentials.json")


_last: tuple[tuple[str, int, int], dict[str, Any]] | None = None


def load() -> dict[str, Any]:
    """The saved credentials (``{}`` without a file). The last answer is reused while
    the file's path, size and modification time are the same (``init()`` asks twice per
    run, and many short runs share a process)."""
    global _last
    target = _path()
    try:
        st = os.stat(target)
    except OSError:
        return {}
    key = (target, st.st_size, st.st_mtime_ns)
    if _last is not None and _last[0] == key:
        return dict(_last[1])
    try:
        with open(target, encoding="utf-8") as fh:
            data = json.loads(fh.read())
    except (OSError, ValueError):
        return {}
    result = data if isinstance(data, dict) else {}
    _last = (key, result)
    return dict(result)


def save(url: str, api_key: str) -> Path:
    """Write the file with mode 0600 (created so, never readable by others in between)."""
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = target.with_name(target.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "api_key": api_key}, fh)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target
