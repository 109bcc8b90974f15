"""Artifact names, types, aliases, entry paths and references: validation and parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import UsageError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")
_VERSION = re.compile(r"^v(\d+)$")
RESERVED_ALIASES = ("latest",)


def check_name(name: object, what: str = "artifact name") -> str:
    """Return ``name`` if it is a valid artifact name or type.

    Raises:
        UsageError: not 1-128 letters, digits, '-', '_', '.' (starting with a letter,
            digit or '_').
    """
    if not isinstance(name, str) or not _NAME.match(name) or name in (".", ".."):
        raise UsageError(
            f"{what} {name!r} is invalid: use 1-128 letters, digits, '-', '_' and '.', "
            "starting with a letter, digit or '_' (no ':' or '/', which separate the "
            "project and version in references such as 'project/name:v3')"
        )
    return name


def check_alias(alias: object) -> str:
    """Return ``alias`` if users may set it ('latest' and 'vN' are managed by labtrack)."""
    check_name(alias, "alias")
    assert isinstance(alias, str)
    if _VERSION.match(alias):
        raise UsageError(f"alias {alias!r} is reserved: 'vN' names a version number")
    return alias


def version_number(text: str) -> int | None:
    """3 for "v3", None for anything else."""
    match = _VERSION.match(text)
    return int(match.group(1)) if match else None


def check_entry_path(path: object) -> str:
    """Normalise an entry name to a relative POSIX path inside the artifact.

    Raises:
        UsageError: empty, absolute, or leaving the artifact with '..'.
    """
    if not isinstance(path, str) or not path or "\x00" in path:
        raise UsageError(f"artifact entry name {path!r} is invalid: use a relative path")
    text = path.replace("\\", "/")
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if text.startswith("/") or not parts or ".." in parts:
        raise UsageError(
            f"artifact entry name {path!r} is invalid: use a relative path inside the "
            "artifact (no leading '/', no '..')"
        )
    return "/".join(parts)


@dataclass(frozen=True)
class Ref:
    """A parsed reference: ``[entity/][project/]name[:version-or-alias]``."""

    project: str | None
    name: str
    selector: str  # "latest", "v3" or an alias

    def __str__(self) -> str:
        head = f"{self.project}/" if self.project else ""
        return f"{head}{self.name}:{self.selector}"


def parse_ref(ref: str, project: str | None = None) -> Ref:
    """Parse "name", "name:v3", "name:alias", "project/name:latest", "entity/project/name:v1".

    Args:
        project: the project to use when ``ref`` names none.
    Raises:
        UsageError: the reference is malformed.
    """
    if not isinstance(ref, str) or not ref.strip():
        raise UsageError(f"artifact reference {ref!r} is invalid: use 'name:v3' or "
                         "'project/name:alias'")
    text = ref.strip()
    head, sep, selector = text.rpartition(":")
    if not sep:
        head, selector = text, "latest"
    parts = head.split("/")
    if len(parts) > 3:
        raise UsageError(f"artifact reference {ref!r} has too many '/' parts: use "
                         "'[project/]name[:version]'")
    name = check_name(parts[-1])
    if len(parts) >= 2:
        project = parts[-2] or project
    check_name(selector, "version or alias")
    return Ref(project=project, name=name, selector=selector)
