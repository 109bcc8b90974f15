"""Sweep configs: load W&B-compatible sweep configs (YAML or dict) and validate them.

Every :class:`~labtrack.errors.ConfigError` names the key path at fault, for example
``parameters.lr.min must be < max (got min=1, max=0.1)``.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labtrack.errors import ConfigError
from labtrack.sweeps.params import (
    GRID_DISTRIBUTIONS,
    ParamSpec,
    _number,
    parse_parameters,
)

METHODS = ("bayes", "grid", "random")
GOALS = ("maximize", "minimize")
IMPUTE = ("best", "latest", "worst")
#: Whole-chunk command macros, as the wandb agent expands them.
MACROS = (
    "args",
    "args_json",
    "args_json_file",
    "args_no_boolean_flags",
    "args_no_equals",
    "args_no_hyphens",
    "env",
    "interpreter",
    "program",
)
DEFAULT_COMMAND = ("${env}", "${interpreter}", "${program}", "${args}")
_MACRO = re.compile(r"^\$\{([A-Za-z_]+)\}$")

# Keys wandb accepts at top level that labtrack reads.
_KNOWN = {
    "method", "parameters", "metric", "early_terminate", "program", "command", "run_cap",
    "name", "description", "project", "entity",
}
# Keys wandb accepts that have no meaning here: accepted and ignored.
_IGNORED = {"apiVersion", "kind", "controller", "job", "image_uri", "scheduler", "metrics"}


@dataclass(frozen=True)
class Metric:
    """The metric a sweep optimises (``metric:`` section)."""

    name: str
    goal: str = "minimize"
    target: float | None = None
    impute: str = "worst"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` is strictly better than ``b`` for this goal."""
        return a < b if self.goal == "minimize" else a > b

    def reached(self, value: float) -> bool:
        """Whether ``value`` reaches the target (False when there is no target)."""
        if self.target is None:
            return False
        return value <= self.target if self.goal == "minimize" else value >= self.target


@dataclass(frozen=True)
class EarlyTerminate:
    """Hyperband early termination (``early_terminate:`` section); see ``sweeps.hyperband``."""

    type: str = "hyperband"
    min_iter: int | None = None
    max_iter: int | None = None
    eta: float = 3
    s: int | None = None
    strict: bool = True


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep config.

    ``params`` are the leaf parameters sorted by path (nested parameters flattened);
    ``raw`` is the mapping it was built from, to store and reload with
    :func:`load_sweep_config`.
    """

    method: str
    params: tuple[ParamSpec, ...]
    metric: Metric | None = None
    early_terminate: EarlyTerminate | None = None
    program: str | None = None
    command: tuple[str, ...] | None = None
    run_cap: int | None = None
    name: str | None = None
    description: str | None = None
    project: str | None = None
    entity: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def effective_command(self) -> tuple[str, ...]:
        """The command, or wandb's default ``${env} ${interpreter} ${program} ${args}``."""
        return self.command if self.command is not None else DEFAULT_COMMAND


def load_sweep_config(source: Mapping[str, Any] | str | Path) -> SweepConfig:
    """Load and validate a sweep config from a dict, a YAML/JSON file path, or YAML text.

    Raises:
        ConfigError: unreadable file, bad YAML, or an invalid config; the message names
            the key path at fault.
    """
    raw = _read(source)
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f"a sweep config must be a mapping (got {type(raw).__name__}); "
            "if you meant a file path, that file does not exist"
        )
    raw = copy.deepcopy(dict(raw))
    unknown = sorted(str(k) for k in raw if k not in _KNOWN | _IGNORED)
    if unknown:
        raise ConfigError(f"unknown top-level key(s): {', '.join(unknown)}")
    method = raw.get("method")
    if method not in METHODS:
        raise ConfigError(f"method: unknown method {method!r} (expected one of: "
                          f"{', '.join(METHODS)})")
    if "parameters" not in raw:
        raise ConfigError("parameters: a sweep needs a 'parameters' section")
    params = parse_parameters(raw["parameters"])
    metric = _metric(raw.get("metric"))
    early = _early_terminate(raw.get("early_terminate"))
    if method == "bayes" and metric is None:
        raise ConfigError("metric: method bayes needs a metric to optimise, "
                          "e.g. metric: {name: val_loss, goal: minimize}")
    if early is not None and metric is None:
        raise ConfigError("metric: early_terminate (hyperband) needs a metric to compare runs")
    if method == "grid":
        check_grid(params)
    return SweepConfig(
        method=method,
        params=params,
        metric=metric,
        early_terminate=early,
        program=_opt_str(raw, "program"),
        command=_command(raw.get("command")),
        run_cap=_run_cap(raw.get("run_cap")),
        name=_opt_str(raw, "name"),
        description=_opt_str(raw, "description"),
        project=_opt_str(raw, "project"),
        entity=_opt_str(raw, "entity"),
        raw=raw,
    )


def check_grid(params: tuple[ParamSpec, ...]) -> None:
    """Raise ConfigError unless every parameter can be enumerated by a grid search."""
    for p in params:
        key = "parameters." + ".parameters.".join(p.path)
        if p.distribution not in GRID_DISTRIBUTIONS:
            raise ConfigError(
                f"{key}: grid search cannot enumerate the continuous distribution "
                f"{p.distribution}; use 'values', int_uniform or q_uniform"
            )
        if p.probabilities is not None:
            raise ConfigError(f"{key}.probabilities is not allowed with method grid")


def check_program(config: SweepConfig, cwd: str | Path) -> None:
    """Check that the program the command runs exists, relative to ``cwd``.

    Only checked when the command uses ``${program}``; a program run as a module
    (``-m ${program}``) is not looked up as a file.

    Raises:
        ConfigError: no program given although the command needs one, or file not found.
    """
    command = config.effective_command
    if "${program}" not in command:
        return
    if not config.program:
        raise ConfigError("program: the command uses ${program} but no program is given")
    i = command.index("${program}")
    if i > 0 and command[i - 1] == "-m":
        return
    path = Path(cwd) / config.program
    if not path.is_file():
        raise ConfigError(f"program: {config.program!r} not found in {Path(cwd).resolve()}")


def _read(source: Mapping[str, Any] | str | Path) -> Any:
    if isinstance(source, Mapping):
        return source
    if isinstance(source, Path) or (isinstance(source, str) and _looks_like_path(source)):
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot read sweep config {str(source)!r}: {e.strerror}") from e
        return _parse_yaml(text, str(source))
    if isinstance(source, str):
        return _parse_yaml(source, "<text>")
    raise ConfigError(f"a sweep config must be a dict, a path or YAML text (got {source!r})")


def _looks_like_path(text: str) -> bool:
    if "\n" in text:
        return False
    path = Path(text)
    try:
        return path.suffix.lower() in {".yaml", ".yml", ".json"} or path.is_file()
    except OSError:  # e.g. a name too long to be a path
        return False


def _parse_yaml(text: str, origin: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin} is not valid YAML: {e}") from e


@functools.lru_cache(maxsize=1)
def _loader() -> Any:
    """A SafeLoader that reads ``1e-3`` as a float (YAML 1.2), as sweep users expect."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    float_re = re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    )
    Loader.add_implicit_resolver("tag:yaml.org,2002:float", float_re, list("-+0123456789."))
    return Loader


def _metric(raw: Any) -> Metric | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"metric must be a mapping such as {{name: loss, goal: minimize}} "
                          f"(got {raw!r})")
    allowed = {"name", "goal", "target", "impute", "impute_while_running"}
    unknown = sorted(str(k) for k in raw if k not in allowed)
    if unknown:
        raise ConfigError(f"metric has unknown key(s): {', '.join(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"metric.name must be a non-empty string (got {name!r})")
    goal = raw.get("goal", "minimize")
    if goal not in GOALS:
        raise ConfigError(f"metric.goal must be minimize or maximize (got {goal!r})")
    target = raw.get("target")
    if target is not None:
        target = _number(target, "metric.target")
    impute = raw.get("impute", "worst")
    if impute not in IMPUTE:
        raise ConfigError(f"metric.impute must be one of {', '.join(IMPUTE)} (got {impute!r})")
    return Metric(name=name, goal=goal, target=target, impute=impute)


def _early_terminate(raw: Any) -> EarlyTerminate | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError(f"early_terminate must be a mapping (got {raw!r})")
    unknown = sorted(str(k) for k in raw if k not in {"type", "min_iter", "max_iter", "eta",
                                                      "s", "strict"})
    if unknown:
        raise ConfigError(f"early_terminate has unknown key(s): {', '.join(unknown)}")
    if raw.get("type") != "hyperband":
        raise ConfigError(f"early_terminate.type must be hyperband (got {raw.get('type')!r})")
    eta = _number(raw.get("eta", 3), "early_terminate.eta")
    if eta <= 1:
        raise ConfigError(f"early_terminate.eta must be > 1 (got eta={eta})")
    min_iter, max_iter, s = raw.get("min_iter"), raw.get("max_iter"), raw.get("s")
    if max_iter is not None:
        max_iter = _positive_int(max_iter, "early_terminate.max_iter")
        if s is None:
            raise ConfigError("early_terminate.s is required with max_iter "
                              "(the number of bands below max_iter)")
        s = _positive_int(s, "early_terminate.s")
        if max_iter / eta < 1:
            raise ConfigError(f"early_terminate: max_iter={max_iter} with eta={eta} gives no "
                              "band; raise max_iter or lower eta")
    elif min_iter is not None:
        min_iter = _positive_int(min_iter, "early_terminate.min_iter")
    else:
        raise ConfigError("early_terminate needs min_iter, or max_iter and s")
    return EarlyTerminate(min_iter=min_iter, max_iter=max_iter, eta=eta, s=s,
                          strict=bool(raw.get("strict", True)))


def _positive_int(v: Any, key: str) -> int:
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ConfigError(f"{key} must be a positive integer (got {v!r})")
    return v


def _run_cap(v: Any) -> int | None:
    return None if v is None else _positive_int(v, "run_cap")


def _opt_str(raw: Mapping[str, Any], key: str) -> str | None:
    v = raw.get(key)
    if v is not None and not isinstance(v, str):
        raise ConfigError(f"{key} must be a string (got {v!r})")
    return v


def _command(raw: Any) -> tuple[str, ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, (list, tuple)) or not raw:
        raise ConfigError(f"command must be a non-empty list of strings (got {raw!r})")
    out = []
    for i, chunk in enumerate(raw):
        if isinstance(chunk, (dict, list)) or chunk is None:
            raise ConfigError(f"command[{i}] must be a string (got {chunk!r})")
        chunk = str(chunk)
        m = _MACRO.match(chunk)
        if m and m.group(1) not in MACROS:
            raise ConfigError(f"command[{i}]: unknown macro {chunk} "
                              f"(known: {', '.join('${' + k + '}' for k in MACROS)})")
        out.append(chunk)
    return tuple(out)
