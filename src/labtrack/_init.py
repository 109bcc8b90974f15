"""``labtrack.init()``: make (or resume) a run and start its background threads."""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Literal

from . import _current, _lifecycle
from ._hostinfo import hostname, user
from ._names import new_run_id, new_run_name, valid_run_id
from ._run import Run, run_log_path
from ._summary import Stats
from .errors import ConflictError, UsageError
from .runlog import RunLogWriter, iter_records
from .settings import Settings

_warned_kwargs: set[str] = set()

# wandb init arguments that labtrack accepts without acting on them
KNOWN_IGNORED = {
    "entity", "save_code", "anonymous", "allow_val_change", "magic", "monitor_gym",
    "sync_tensorboard", "force", "fork_from", "resume_from", "config_exclude_keys",
    "config_include_keys", "tensorboard", "settings",
}


def init(
    project: str | None = None,
    name: str | None = None,
    config: Any = None,
    tags: Any = None,
    group: str | None = None,
    job_type: str | None = None,
    notes: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    mode: str | None = None,
    reinit: bool | str | None = None,
    settings: Any = None,
    **kwargs: Any,
) -> Run | DisabledRun:
    """Start tracking a run and return it.

    Args:
        project: project name (default ``LABTRACK_PROJECT`` or "uncategorized").
        name: display name; generated when not given.
        config: hyperparameters (dict, argparse Namespace or dataclass).
        tags, group, job_type, notes: run metadata.
        dir: store directory (default ``LABTRACK_DIR`` or ``~/.labtrack``).
        id: run id, for resuming; random when not given.
        resume: "allow" / True (continue ``id`` if it exists), "must" (it must exist),
            "never" (it must not exist).
        mode: "online" (default), "offline" (run log only, index later with
            ``labtrack sync``) or "disabled" (every call is a no-op).
        reinit: with a run active: "finish_previous" (default) or "create_new".
        settings: a :class:`labtrack.Settings`, a dict, or a wandb ``Settings``.
        **kwargs: other wandb arguments are accepted; unknown ones warn once.
    """
    entity = kwargs.pop("entity", None)
    allow_val_change = bool(kwargs.pop("allow_val_change", False))
    exclude = kwargs.pop("config_exclude_keys", None)
    include = kwargs.pop("config_include_keys", None)
    _warn_unknown(kwargs)

    s = Settings()
    unknown = s.update(settings) if settings is not None else []
    if unknown and settings is not None and type(settings).__name__ not in ("Settings",):
        _warn_unknown({k: None for k in unknown})
    if dir is not None:
        s.dir = Path(dir).expanduser()
    if mode is not None:
        if mode not in ("online", "offline", "disabled", "shared"):
            raise UsageError(f"mode must be 'online', 'offline' or 'disabled', not {mode!r}")
        s.mode = "online" if mode == "shared" else mode
    if s.mode == "disabled":
        disabled = DisabledRun(project or s.project, name, config)
        _current.push(disabled)  # type: ignore[arg-type]
        return disabled

    active = _current.get()
    if active is not None and reinit not in ("create_new",) and not (
            s.run_id and active.id == s.run_id and id is None):
        active.finish()
    if active is not None and s.run_id and active.id == s.run_id and id is None \
            and not active.finished:
        if config is not None:
            active.config.update(config, allow_val_change=True)
        return active

    env_attach = id is None and s.run_id is not None
    run_id = id if id is not None else (s.run_id or new_run_id())
    if not isinstance(run_id, str) or not valid_run_id(run_id):
        raise UsageError(f"run id {run_id!r} is invalid: use 1-64 letters, digits, '-', '_', '.'")
    if env_attach:
        resume = resume or "allow"
    side = s.run_stream != "main"
    if side:
        if not env_attach:
            s.run_stream = "main"
            side = False
        else:  # `labtrack run` owns the run: it captures environment and system metrics
            s.disable_stats = s.disable_env = s.disable_git = True
    log_path = run_log_path(s, run_id, s.run_stream)
    exists = _size(log_path) > 0
    if side:
        exists = exists or run_log_path(s, run_id).exists()
    if resume in ("must",) and not exists:
        raise UsageError(f"resume='must' but run {run_id} does not exist in {s.dir}")
    if resume == "never" and exists:
        raise UsageError(f"resume='never' but run {run_id} already exists")
    resuming = exists and resume in (True, "allow", "must", "auto")
    if exists and not resuming:
        raise UsageError(
            f"run {run_id} already exists in {s.dir}; pass resume='allow' to continue it, "
            "or leave id unset for a new run"
        )
    try:
        log = RunLogWriter(log_path, new_folder=not exists and not side)  # makes runs/<id>/
    except ConflictError:
        raise
    except OSError as err:
        from .errors import StoreReadOnlyError

        raise StoreReadOnlyError(
            f"cannot write the run log under {s.dir} ({err}); set LABTRACK_DIR or init(dir=...) "
            "to a writable directory"
        ) from err

    project_arg = project
    state = _read_state(log_path) if resuming and log_path.exists() else {}
    if side and not state.get("run") and run_log_path(s, run_id).exists():
        state["run"] = _read_state(run_log_path(s, run_id)).get("run")
    meta: dict[str, Any] = dict(state.get("run") or {})
    now = time.time()
    project = project or meta.get("project") or s.project
    run_name = name or meta.get("name") or s.run_name or new_run_name()
    meta.update(
        project=project, name=run_name, created_at=meta.get("created_at", now),
        host=hostname(), pid=os.getpid(),
        owner=entity or meta.get("owner") or user(),
    )
    for key, value in (("group", group), ("job_type", job_type), ("notes", notes)):
        if value is not None:
            meta[key] = value
    if tags is not None:
        if isinstance(tags, str):
            tags = [tags]
        meta["tags"] = [str(t) for t in tags]
    sweep_id = os.environ.get("LABTRACK_SWEEP_ID")
    if sweep_id and not meta.get("sweep_id"):
        meta["sweep_id"] = sweep_id
    if os.environ.get("LABTRACK_REPRODUCED_FROM"):
        meta["reproduced_from"] = os.environ["LABTRACK_REPRODUCED_FROM"]

    if side:
        # the wrapper (`labtrack run`) made the run; what this script passes to init()
        # updates it, except what the wrapper's command line set explicitly
        locked = set(filter(None, os.environ.get("LABTRACK_RUN_LOCKED", "").split(",")))
        given = {"project": project_arg, "name": name, "group": group, "job_type": job_type,
                 "notes": notes, "tags": meta.get("tags") if tags is not None else None}
        updates = {k: v for k, v in given.items() if v is not None and k not in locked}
        main_meta = dict(state.get("run") or {})
        meta = {**main_meta, **updates}
        meta["updates"] = updates
        project = meta.get("project") or project
        run_name = meta.get("name") or run_name
    run = Run(run_id=run_id, name=run_name, project=project, settings=s, meta=meta, log=log,
              start_step=int(state.get("step", 0)), resumed=resuming)
    if resuming:
        run.config._load(state.get("config") or {})
        run.summary.explicit.update(state.get("summary_explicit") or {})
        run.defs.load(state.get("metric_defs") or {})
        run._writer.stats.update(state.get("stats") or {})
        run._max_step = int(state.get("step", 0)) - 1
    pending_config = _take_pending_config()
    if pending_config:
        run.config.update(pending_config, allow_val_change=True)
    if sweep_id and env_attach:
        from .sweeps.agent import lock_sweep_params

        lock_sweep_params(run)  # the sweep's values win over the script's defaults
    if config is not None:
        from ._config import _as_mapping

        values = dict(_as_mapping(config))
        if include:
            values = {k: v for k, v in values.items() if k in include}
        if exclude:
            values = {k: v for k, v in values.items() if k not in exclude}
        run.config.update(values, allow_val_change=allow_val_change or resuming)
    forced = os.environ.get("LABTRACK_CONFIG_JSON")
    if forced and os.environ.get("LABTRACK_RUN_ID") == run_id:
        # `labtrack reproduce --exec`: the recorded config wins over the script's defaults
        import json

        run.config.update(json.loads(forced), allow_val_change=True)
    if resuming and state.get("has_environment"):
        s.disable_env = s.disable_git = True  # keep the snapshot taken when the run began
    _current.push(run)
    _lifecycle.install()
    run._start()
    _start_background(run, s)
    if not s.silent:
        verb = "attached to" if env_attach else ("resumed" if resuming else "started")
        print(f"labtrack: {verb} run {run_name} ({run_id}) in project {project}",
              file=sys.stderr)
    return run


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


def _warn_unknown(kwargs: dict[str, Any]) -> None:
    names = sorted(k for k in kwargs if k not in KNOWN_IGNORED and k not in _warned_kwargs)
    if names:
        _warned_kwargs.update(names)
        warnings.warn(f"labtrack.init() ignores the argument(s): {', '.join(names)}",
                      UserWarning, stacklevel=3)


def _take_pending_config() -> dict[str, Any]:
    from . import _proxies

    return _proxies.take_pending_config()


def _read_state(log_path: Path) -> dict[str, Any]:
    """Rebuild a run's state from its log (for resume): the log is the truth."""
    state: dict[str, Any] = {"stats": {}}
    stats: dict[str, Stats] = state["stats"]
    from ._jsonsafe import float_in

    for record in iter_records(log_path, with_blobs=False):
        h = record.header
        for key in ("run", "config", "summary_explicit", "metric_defs", "step"):
            if key in h:
                state[key] = h[key]
        if "environment" in h:
            state["has_environment"] = True
        for entry in h.get("series", ()):
            st = stats.get(entry["key"])
            if st is None:
                st = stats[entry["key"]] = Stats(kind=entry.get("kind", "float"))
                st.first = float_in(entry.get("first"))
            st.count += int(entry["n"])
            st.last = float_in(entry.get("last"))
            lo, hi = float_in(entry.get("min")), float_in(entry.get("max"))
            if lo is not None:
                st.min = min(st.min, lo)
            if hi is not None:
                st.max = max(st.max, hi)
            st.total += float(float_in(entry.get("sum", 0.0)) or 0.0)
            st.finite += int(entry.get("finite", 0))
            st.last_step = max(st.last_step, int(entry["last_step"]))
    return state


def _start_background(run: Run, s: Settings) -> None:
    """Environment capture and the system monitor, if those features are installed."""
    try:
        from ._background import start
    except ImportError:
        return
    start(run, s)


class DisabledRun:
    """What ``init(mode="disabled")`` returns: every call is accepted and does nothing."""

    def __init__(self, project: str, name: str | None, config: Any) -> None:
        from ._config import Config
        from ._summary import Summary

        self.id = "disabled"
        self.name = name or "disabled"
        self.project = project
        self.config = Config()
        if config is not None:
            self.config.update(config)
        self.summary = Summary(lambda: dict(self.summary.explicit), lambda: None)
        self.tags: tuple[str, ...] = ()
        self.notes = None
        self.dir = None
        self.url = ""
        self.step = 0
        self.should_stop = False
        self.disabled = True
        self.finished = False

    def log(self, *args: Any, **kwargs: Any) -> None:
        return None

    def finish(self, *args: Any, **kwargs: Any) -> None:
        _current.forget(self)  # type: ignore[arg-type]
        self.finished = True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> Literal[False]:
        return False



