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
    raw = os.environ.get("LABTRACK_CONFIG")
    if raw:
        return Path(raw).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "labtrack" / "credentials.json"


def load() -> dict[str, Any]:
    try:
        data = json.loads(path().read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


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
