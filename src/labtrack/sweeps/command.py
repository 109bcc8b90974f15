"""Build the command a sweep agent runs for one set of parameters, like the wandb agent.

The command (default ``${env} ${interpreter} ${program} ${args}``) is a list of chunks; a chunk
that is exactly a macro is replaced by zero or more arguments:

=========================  =====================================================
``${env}``                 ``/usr/bin/env`` (dropped on Windows)
``${interpreter}``         the Python interpreter (``python=`` argument)
``${program}``             the config's ``program``
``${args}``                ``--key=value`` per top-level parameter
``${args_no_hyphens}``     ``key=value``
``${args_no_equals}``      ``--key value``
``${args_no_boolean_flags}`` ``--key`` for true booleans, nothing for false ones
``${args_json}``           the parameters as one JSON argument
``${args_json_file}``      the path of a JSON file holding the parameters
=========================  =====================================================

``${envvar:NAME}`` inside any chunk is replaced by the environment variable ``NAME``.
Values are formatted with ``str()`` as wandb does (``True``, ``[1, 2]``; a nested
parameter gives its dict).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labtrack.errors import ConfigError
from labtrack.sweeps.config import SweepConfig, check_program

_ENVVAR = re.compile(r"\$\{envvar:([A-Za-z0-9_]*)\}")


def build_command(
    config: SweepConfig,
    params: Mapping[str, Any],
    cwd: str | Path,
    python: str = sys.executable,
    *,
    json_dir: str | Path | None = None,
) -> list[str]:
    """Expand the sweep's command for ``params`` (the nested dict from ``next_params``).

    Args:
        config: the sweep config.
        params: parameter values, nested parameters as dicts.
        cwd: the directory the command will run in; ``program`` is checked there.
        python: what ``${interpreter}`` expands to.
        json_dir: where ``${args_json_file}`` writes its file (default: the temp dir).

    Raises:
        ConfigError: the program is missing, or an ``${envvar:NAME}`` is not set.
    """
    check_program(config, cwd)
    values = dict(params)
    flags = [f"--{k}={v}" for k, v in values.items()]
    macros: dict[str, list[str]] = {
        "env": [] if os.name == "nt" else ["/usr/bin/env"],
        "interpreter": [python],
        "program": [config.program] if config.program else [],
        "args": flags,
        "args_no_hyphens": [f.removeprefix("--") for f in flags],
        "args_no_equals": [x for k, v in values.items() for x in (f"--{k}", str(v))],
        "args_no_boolean_flags": [
            f"--{k}" if isinstance(v, bool) else f"--{k}={v}"
            for k, v in values.items()
            if v is not False
        ],
        "args_json": [json.dumps(values)],
    }
    command: list[str] = []
    for i, chunk in enumerate(config.effective_command):
        if chunk.startswith("${") and chunk.endswith("}") and chunk[2:-1] in macros:
            command.extend(macros[chunk[2:-1]])
        elif chunk == "${args_json_file}":
            command.append(_write_json(values, json_dir))
        else:
            command.append(_expand_envvars(chunk, i))
    return command


def _write_json(values: dict[str, Any], json_dir: str | Path | None) -> str:
    fd, path = tempfile.mkstemp(prefix="labtrack-sweep-args-", suffix=".json", dir=json_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(values, f)
    return path


def _expand_envvars(chunk: str, index: int) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in os.environ:
            raise ConfigError(f"command[{index}]: environment variable {name} is not set")
        return os.environ[name]

    return _ENVVAR.sub(sub, chunk)


def flatten_params(
    params: Mapping[str, Any], sep: str = ".", config: SweepConfig | None = None
) -> dict[str, Any]:
    """Flatten nested parameter dicts into ``{"optimizer.lr": 0.1}``.

    With ``config``, only the nesting declared by nested ``parameters:`` sections is
    flattened, so a categorical value that happens to be a dict stays whole.
    """
    nested = None
    if config is not None:
        nested = {p.path[:i] for p in config.params for i in range(1, len(p.path))}
    out: dict[str, Any] = {}

    def walk(d: Mapping[str, Any], prefix: tuple[str, ...]) -> None:
        for k, v in d.items():
            path = (*prefix, str(k))
            if isinstance(v, Mapping) and v and (nested is None or path in nested):
                walk(v, path)
            else:
                out[sep.join(path)] = v

    walk(params, ())
    return out


def unflatten(flat: Mapping[str, Any], sep: str = ".") -> dict[str, Any]:
    """Rebuild nested dicts from flat keys: the inverse of :func:`flatten_params`."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = key.split(sep)
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"{key!r} clashes with the value of {part!r}")
            node = child
        node[parts[-1]] = value
    return out
