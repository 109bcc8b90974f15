"""``wandb.init`` and ``wandb.Settings`` as the shim offers them to unchanged wandb scripts.

The shim's ``init`` is :func:`labtrack.init` with wandb's meaning of a few arguments:

* ``dir`` is where wandb writes its local files; labtrack keeps everything in its store
  (``LABTRACK_DIR``), so ``dir`` is ignored rather than taken as a store directory.
* ``mode="offline"`` asks wandb not to upload. A local labtrack store never uploads, so
  offline runs are indexed at once and show in ``labtrack ui``; with a team server
  (``LABTRACK_URL``) they stay offline until ``labtrack sync``.
* ``WANDB_*`` environment variables (project, entity, name, notes, tags, group, job
  type, run id, resume, mode, silent, disabled) fill arguments the call leaves out;
  the ``LABTRACK_*`` variables win over them.
* ``settings=wandb.Settings(...)`` takes any wandb setting; the few with a labtrack
  meaning (mode, project, run name/id/group/tags/notes, silent, disable_git,
  disable_code, x_disable_stats, x_disable_meta, console) are applied, the rest are
  kept and readable.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

# wandb setting -> labtrack Settings field
_SETTING_FIELDS = {
    "mode": "mode",
    "project": "project",
    "silent": "silent",
    "quiet": "silent",
    "disable_git": "disable_git",
    "disable_code": "disable_code_diff",
    "x_disable_stats": "disable_stats",
    "_disable_stats": "disable_stats",
    "x_disable_meta": "disable_env",
    "_disable_meta": "disable_env",
    "console": "console",
}
# wandb setting -> wandb.init argument
_SETTING_ARGS = {
    "run_id": "id",
    "run_name": "name",
    "run_notes": "notes",
    "run_tags": "tags",
    "run_group": "group",
    "run_job_type": "job_type",
    "entity": "entity",
    "resume": "resume",
    "reinit": "reinit",
}
# wandb environment variable -> wandb.init argument, unless a LABTRACK_ variable is set
_ENV_ARGS = {
    "WANDB_PROJECT": ("project", "LABTRACK_PROJECT"),
    "WANDB_ENTITY": ("entity", None),
    "WANDB_NAME": ("name", "LABTRACK_RUN_NAME"),
    "WANDB_NOTES": ("notes", None),
    "WANDB_TAGS": ("tags", None),
    "WANDB_RUN_GROUP": ("group", None),
    "WANDB_JOB_TYPE": ("job_type", None),
    "WANDB_RUN_ID": ("id", "LABTRACK_RUN_ID"),
    "WANDB_RESUME": ("resume", None),
    "WANDB_MODE": ("mode", "LABTRACK_MODE"),
}
_TRUE = {"1", "true", "yes", "on"}
# wandb.init's parameters in their documented order (for positional calls)
_POSITIONAL = ("entity", "project", "dir", "id", "name", "notes", "tags", "config",
               "config_exclude_keys", "config_include_keys", "allow_val_change", "group",
               "job_type", "mode", "force", "anonymous", "reinit", "resume", "resume_from",
               "fork_from", "save_code", "tensorboard", "sync_tensorboard", "monitor_gym",
               "settings")


class Settings(Mapping[str, Any]):
    """``wandb.Settings``: accepts any wandb setting as a keyword.

    Settings with a labtrack meaning are applied by ``wandb.init(settings=...)``; the
    others are kept (``Settings(start_method="thread").start_method == "thread"``)
    and have no effect. Unset settings read as None.
    """

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_values", dict(kwargs))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._values.get(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._values[name] = value

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"wandb.Settings({inner})"

    def update(self, settings: Any = None, **kwargs: Any) -> None:
        """Set more settings from a mapping, another Settings or keywords."""
        if settings is not None:
            self._values.update(_as_dict(settings))
        self._values.update(kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The settings given, as a dict."""
        return dict(self._values)

    def labtrack_overrides(self) -> dict[str, Any]:
        """The settings that map to :class:`labtrack.Settings` fields, under their names."""
        out: dict[str, Any] = {}
        for name, value in self._values.items():
            field = _SETTING_FIELDS.get(name)
            if field is None or value is None:
                continue
            if field == "mode":
                value = _mode(str(value))
            elif field == "console":
                value = "off" if value == "off" else "auto"
            elif field != "project":
                value = bool(value)
            out[field] = value
        return out

    def init_arguments(self) -> dict[str, Any]:
        """Settings that wandb treats as ``wandb.init`` arguments (run_id -> id ...)."""
        return {arg: self._values[name] for name, arg in _SETTING_ARGS.items()
                if self._values.get(name) is not None}


def _as_dict(settings: Any) -> dict[str, Any]:
    if isinstance(settings, Settings):
        return settings.to_dict()
    if isinstance(settings, Mapping):
        return dict(settings)
    return {k: v for k, v in vars(settings).items() if not k.startswith("_")}


def _mode(mode: str) -> str:
    """wandb's mode, in labtrack's terms (see the module docstring)."""
    if mode in ("offline", "dryrun"):
        return "offline" if os.environ.get("LABTRACK_URL") else "online"
    if mode in ("online", "run", "shared"):
        return "online"
    return mode  # "disabled", or a wrong value that labtrack.init reports


def _env_arguments() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for var, (arg, labtrack_var) in _ENV_ARGS.items():
        value = os.environ.get(var)
        if not value or (labtrack_var and os.environ.get(labtrack_var)):
            continue
        if arg == "tags":
            out[arg] = [t.strip() for t in value.split(",") if t.strip()]
        else:
            out[arg] = value
    if os.environ.get("WANDB_DISABLED", "").lower() in _TRUE:
        out["mode"] = "disabled"
    return out


_UNSUPPORTED_FLAGS = {
    "sync_tensorboard": "wandb.init(sync_tensorboard=True) is not supported by labtrack: "
                        "TensorBoard event files are not copied into the run; log the "
                        "values with wandb.log() as well",
    "monitor_gym": "wandb.init(monitor_gym=True) is not supported by labtrack: gym videos are "
                   "not recorded; log them with wandb.Video()",
    "fork_from": "wandb.init(fork_from=...) is not supported by labtrack: a new run starts "
                 "instead of a fork",
    "resume_from": "wandb.init(resume_from=...) is not supported by labtrack: the run is not "
                   "rewound; use resume='allow' with id= to continue a run",
}


def init(*args: Any, **kwargs: Any) -> Any:
    """``wandb.init``: start a labtrack run, reading the arguments as wandb does.

    Every documented wandb argument is accepted. See the module docstring for the
    ones whose meaning differs; ``reinit="return_previous"`` returns the active run.

    Returns:
        The :class:`labtrack.Run` (or a no-op run for ``mode="disabled"``).
    """
    import labtrack
    from labtrack import _current

    if len(args) > len(_POSITIONAL):
        raise TypeError(f"wandb.init() takes at most {len(_POSITIONAL)} positional arguments")
    for name, value in zip(_POSITIONAL[:len(args)], args, strict=True):
        if name in kwargs:
            raise TypeError(f"wandb.init() got multiple values for argument {name!r}")
        kwargs[name] = value
    call: dict[str, Any] = _env_arguments()
    settings = kwargs.pop("settings", None)
    overrides: dict[str, Any] = {}
    if settings is not None:
        wb = settings if isinstance(settings, Settings) else Settings(**_as_dict(settings))
        overrides = wb.labtrack_overrides()
        call.update(wb.init_arguments())
        if "mode" in overrides:
            call["mode"] = overrides.pop("mode")
    call.update({k: v for k, v in kwargs.items() if v is not None})
    call.pop("dir", None)
    for flag, message in _UNSUPPORTED_FLAGS.items():
        if call.pop(flag, None):
            warnings.warn(message, UserWarning, stacklevel=2)
    if "mode" in call:
        call["mode"] = _mode(str(call["mode"]))
    if os.environ.get("WANDB_SILENT", "").lower() in _TRUE:
        overrides.setdefault("silent", True)
    reinit = call.get("reinit")
    active = _current.get()
    if reinit == "return_previous" and active is not None:
        return active
    if reinit in (True, False, "default", "return_previous"):
        call.pop("reinit")
    if overrides:
        call["settings"] = overrides
    return labtrack.init(**call)
