"""Every ``LABTRACK_*`` environment setting, in one place.

A :class:`Settings` is built from the environment and then overridden by the
``settings=`` argument of :func:`labtrack.init` (a ``Settings``, a dict, or a
wandb ``Settings`` object, whose unknown fields are ignored).

=============================  ========================================================
Variable                       Meaning
=============================  ========================================================
LABTRACK_DIR                   store directory (default ``~/.labtrack``)
LABTRACK_MODE                  ``online`` (default), ``offline`` or ``disabled``
LABTRACK_PROJECT               default project name (default ``uncategorized``)
LABTRACK_RUN_ID                attach ``init()`` to this run (set by ``labtrack run``/agents)
LABTRACK_RUN_NAME              default run name
LABTRACK_RUN_STREAM            log into a side stream of the run (set by ``labtrack run``)
LABTRACK_FLUSH_INTERVAL        seconds between writer flushes (default 1.0, at most 1.0)
LABTRACK_MAX_BUFFER            rows buffered before ``log()`` waits for the writer
LABTRACK_FINISH_TIMEOUT        seconds ``finish()`` waits for the index (default 10)
LABTRACK_HEARTBEAT_TIMEOUT     seconds without heartbeat before a run shows crashed (60)
LABTRACK_BUSY_TIMEOUT          seconds to wait for a locked SQLite database (30)
LABTRACK_DISABLE_GIT           ``1`` to skip git capture
LABTRACK_DISABLE_CODE_DIFF     ``1`` to skip storing the uncommitted diff
LABTRACK_DISABLE_ENV           ``1`` to skip environment capture (packages, machine)
LABTRACK_DISABLE_STATS         ``1`` to skip system metrics
LABTRACK_STATS_INTERVAL        seconds between system metric samples (default 2)
LABTRACK_CONSOLE               ``off`` to skip console capture under ``labtrack run``
LABTRACK_CONSOLE_MAX_BYTES     cap of captured console output per run (default 10 MiB)
LABTRACK_URL                   team server URL (remote mode); else ``labtrack login``'s file
LABTRACK_API_KEY               team server API key; else ``labtrack login``'s file
LABTRACK_CONFIG                where ``labtrack login`` keeps URL and key (mode 0600)
LABTRACK_SILENT                ``1`` to print nothing on init/finish
=============================  ========================================================
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError

_TRUE = {"1", "true", "yes", "on"}


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None


def _credential(name: str) -> str | None:
    """From the file ``labtrack login`` writes, unless LABTRACK_URL is set to ''."""
    if os.environ.get("LABTRACK_URL") == "":
        return None
    from .credentials import load

    value = load().get(name)
    return str(value) if value else None


def default_dir() -> Path:
    """The store directory: ``LABTRACK_DIR``, else ``~/.labtrack``."""
    raw = os.environ.get("LABTRACK_DIR")
    return Path(raw).expanduser() if raw else Path.home() / ".labtrack"


@dataclasses.dataclass
class Settings:
    """Run settings; each field defaults to its ``LABTRACK_*`` variable."""

    dir: Path = dataclasses.field(default_factory=default_dir)
    mode: str = dataclasses.field(default_factory=lambda: os.environ.get("LABTRACK_MODE", "online"))
    project: str = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_PROJECT", "uncategorized")
    )
    run_id: str | None = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_RUN_ID") or None
    )
    run_stream: str = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_RUN_STREAM") or "main"
    )
    run_name: str | None = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_RUN_NAME") or None
    )
    flush_interval: float = dataclasses.field(
        default_factory=lambda: min(1.0, _float("LABTRACK_FLUSH_INTERVAL", 1.0))
    )
    max_buffer: int = dataclasses.field(
        default_factory=lambda: int(_float("LABTRACK_MAX_BUFFER", 200_000))
    )
    finish_timeout: float = dataclasses.field(
        default_factory=lambda: _float("LABTRACK_FINISH_TIMEOUT", 10.0)
    )
    heartbeat_timeout: float = dataclasses.field(
        default_factory=lambda: _float("LABTRACK_HEARTBEAT_TIMEOUT", 60.0)
    )
    busy_timeout: float = dataclasses.field(
        default_factory=lambda: _float("LABTRACK_BUSY_TIMEOUT", 30.0)
    )
    disable_git: bool = dataclasses.field(default_factory=lambda: _flag("LABTRACK_DISABLE_GIT"))
    disable_code_diff: bool = dataclasses.field(
        default_factory=lambda: _flag("LABTRACK_DISABLE_CODE_DIFF")
    )
    disable_env: bool = dataclasses.field(default_factory=lambda: _flag("LABTRACK_DISABLE_ENV"))
    disable_stats: bool = dataclasses.field(
        default_factory=lambda: _flag("LABTRACK_DISABLE_STATS")
    )
    stats_interval: float = dataclasses.field(
        default_factory=lambda: _float("LABTRACK_STATS_INTERVAL", 2.0)
    )
    console: str = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_CONSOLE", "auto")
    )
    console_max_bytes: int = dataclasses.field(
        default_factory=lambda: int(_float("LABTRACK_CONSOLE_MAX_BYTES", 10 * 1024 * 1024))
    )
    url: str | None = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_URL") or _credential("url")
    )
    api_key: str | None = dataclasses.field(
        default_factory=lambda: os.environ.get("LABTRACK_API_KEY") or _credential("api_key")
    )
    silent: bool = dataclasses.field(default_factory=lambda: _flag("LABTRACK_SILENT"))

    def __post_init__(self) -> None:
        if not hasattr(self, "extra"):
            self.extra: dict[str, Any] = {}
        self.dir = Path(self.dir).expanduser()
        if self.mode not in ("online", "offline", "disabled", "shared", "run"):
            raise ConfigError(
                f"mode={self.mode!r} is not one of 'online', 'offline', 'disabled'"
            )
        if self.flush_interval <= 0:
            raise ConfigError("flush_interval must be > 0")
        if self.max_buffer < 1:
            raise ConfigError("max_buffer must be >= 1")

    def update(self, overrides: Any) -> list[str]:
        """Apply overrides (a Settings, dict or object with attributes).

        Returns the names that were not understood (so the caller can warn once).
        """
        if overrides is None:
            return []
        items: Any
        if isinstance(overrides, Settings):
            items = dataclasses.asdict(overrides).items()
        elif isinstance(overrides, dict):
            items = overrides.items()
        else:
            items = ((k, v) for k, v in vars(overrides).items() if not k.startswith("_"))
        names = {f.name for f in dataclasses.fields(self)}
        unknown = []
        for key, value in items:
            if key in names:
                setattr(self, key, value)
            else:
                unknown.append(key)
        self.__post_init__()
        return unknown

    @property
    def db_path(self) -> Path:
        return self.dir / "labtrack.db"

    @property
    def runs_dir(self) -> Path:
        return self.dir / "runs"

    @property
    def blobs_dir(self) -> Path:
        return self.dir / "blobs"


_dataclass_init = Settings.__init__


_FIELD_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))


def _tolerant_init(self: Settings, *args: Any, **kwargs: Any) -> None:
    """Names labtrack does not know are kept in ``extra`` (wandb scripts pass many)."""
    extra = {k: kwargs.pop(k) for k in list(kwargs) if k not in _FIELD_NAMES}
    if args or kwargs:
        _dataclass_init(self, *args, **kwargs)
    else:
        _init_from_environment(self)
    self.extra = extra


def environ_key() -> tuple[Any, ...]:
    """An equality key for ``os.environ``: its raw items where the platform keeps them
    (no decoding: ~50x cheaper than ``tuple(os.environ.items())``)."""
    raw = getattr(os.environ, "_data", None)
    return tuple(raw.items()) if isinstance(raw, dict) else tuple(os.environ.items())


# (environment key, credentials file path, its stamp, the field values they gave)
_from_environment: tuple[tuple[Any, ...], str, tuple[int, int] | None, dict[str, Any]] | None \
    = None


def _init_from_environment(self: Settings) -> None:
    """``Settings()``: every field from its variable. The values are kept and reused
    while the environment variables and the credentials file are unchanged: the ~35
    variable lookups and two credential file checks cost ~80 us, and ``init()`` builds
    a Settings per run (many short runs in one process: sweeps, notebooks)."""
    global _from_environment
    env = environ_key()
    known = _from_environment
    if known is not None and known[0] == env:
        if _stamp(known[1]) == known[2]:
            self.__dict__.update(known[3])  # validated when they were computed
            return
        target = known[1]
    else:
        from .credentials import _path as credentials_path

        target = credentials_path()
    stamp = _stamp(target)
    _dataclass_init(self)
    _from_environment = (env, target, stamp,
                         {k: v for k, v in vars(self).items() if k != "extra"})


def _stamp(path: str) -> tuple[int, int] | None:
    """(size, mtime) of the credentials file, None without one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


Settings.__init__ = _tolerant_init  # type: ignore[method-assign]
