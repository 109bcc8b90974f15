"""Parameter specs of a sweep config: parsing and validation of the ``parameters`` section.

A W&B ``parameters`` mapping is a tree: each entry is either a leaf (``value``, ``values``,
``min``/``max`` or ``distribution`` ...) or a nested ``{parameters: {...}}`` whose sampled
value is a dict. :func:`parse_parameters` turns the tree into a flat, sorted tuple of
:class:`ParamSpec` leaves, each knowing its path (``("optimizer", "lr")``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labtrack.errors import ConfigError

# distribution -> (required keys, optional keys with their defaults)
_NUMERIC = ("min", "max", "mu", "sigma", "q", "a", "b")
_SPECS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "constant": (("value",), {}),
    "categorical": (("values",), {"probabilities": None}),
    "int_uniform": (("min", "max"), {}),
    "uniform": (("min", "max"), {}),
    "q_uniform": (("min", "max"), {"q": 1.0}),
    "log_uniform": (("min", "max"), {}),
    "log_uniform_values": (("min", "max"), {}),
    "q_log_uniform": (("min", "max"), {"q": 1.0}),
    "q_log_uniform_values": (("min", "max"), {"q": 1.0}),
    "inv_log_uniform": (("min", "max"), {}),
    "inv_log_uniform_values": (("min", "max"), {}),
    "normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "log_normal": ((), {"mu": 0.0, "sigma": 1.0}),
    "q_log_normal": ((), {"mu": 0.0, "sigma": 1.0, "q": 1.0}),
    "beta": ((), {"a": 1.0, "b": 1.0}),
    "q_beta": ((), {"a": 1.0, "b": 1.0, "q": 1.0}),
}
_ALIASES = {"categorical_w_probabilities": "categorical"}

#: Every distribution name accepted in a config.
DISTRIBUTIONS: tuple[str, ...] = tuple(sorted([*_SPECS, *_ALIASES]))
#: Distributions whose min/max are values that must be > 0 (the bounds are logged).
POSITIVE_BOUNDS = frozenset(
    {"log_uniform_values", "q_log_uniform_values", "inv_log_uniform_values"}
)
#: Distributions a grid search can enumerate.
GRID_DISTRIBUTIONS = frozenset({"constant", "categorical", "int_uniform", "q_uniform"})


@dataclass(frozen=True)
class ParamSpec:
    """One leaf parameter of a sweep.

    Attributes:
        path: names from the top-level parameter down to this leaf.
        distribution: canonical distribution name (aliases resolved, inferred when omitted).
        value: the constant value (``constant`` only).
        values: the allowed values (``categorical`` only).
        probabilities: optional weights of ``values``; they sum to 1.
        min, max, mu, sigma, q, a, b: distribution arguments (defaults filled in).
    """

    path: tuple[str, ...]
    distribution: str
    value: Any = None
    values: tuple[Any, ...] | None = None
    probabilities: tuple[float, ...] | None = None
    min: float | None = None
    max: float | None = None
    mu: float | None = None
    sigma: float | None = None
    q: float | None = None
    a: float | None = None
    b: float | None = None

    def arg(self, key: str) -> float:
        """A numeric argument (min, max, mu, sigma, q, a, b); ints stay ints."""
        v = getattr(self, key)
        if v is None:
            raise ValueError(f"{self.name}: distribution {self.distribution} has no {key}")
        return v

    @property
    def name(self) -> str:
        """The dotted path, for messages and flat keys (``optimizer.lr``)."""
        return ".".join(self.path)


def parse_parameters(raw: Any, where: str = "parameters") -> tuple[ParamSpec, ...]:
    """Validate a ``parameters`` mapping and return its leaves sorted by path.

    Raises:
        ConfigError: the message names the key path of the first problem found.
    """
    leaves: list[ParamSpec] = []
    _collect(raw, where, (), leaves)
    return tuple(sorted(leaves, key=lambda p: p.path))


def _collect(raw: Any, where: str, prefix: tuple[str, ...], out: list[ParamSpec]) -> None:
    if not isinstance(raw, Mapping) or not raw:
        raise ConfigError(f"{where} must be a non-empty mapping of parameter names to specs")
    for name, spec in raw.items():
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{where}: parameter names must be non-empty strings (got {name!r})")
        key = f"{where}.{name}"
        if not isinstance(spec, Mapping):
            raise ConfigError(
                f"{key} must be a mapping such as {{value: ...}}, {{values: [...]}} or "
                f"{{min: ..., max: ...}} (got {spec!r})"
            )
        if "parameters" in spec:
            extra = sorted(str(k) for k in spec if k != "parameters")
            if extra:
                raise ConfigError(
                    f"{key} has unknown key(s) next to 'parameters': {', '.join(extra)}"
                )
            _collect(spec["parameters"], f"{key}.parameters", (*prefix, name), out)
        else:
            out.append(parse_param((*prefix, name), spec, key))


def _infer(spec: Mapping[str, Any], key: str) -> str:
    if "distribution" in spec:
        dist = spec["distribution"]
        if not isinstance(dist, str) or _ALIASES.get(dist, dist) not in _SPECS:
            raise ConfigError(
                f"{key}.distribution: unknown distribution {dist!r} "
                f"(expected one of: {', '.join(DISTRIBUTIONS)})"
            )
        return _ALIASES.get(dist, dist)
    if "value" in spec:
        return "constant"
    if "values" in spec:
        return "categorical"
    if "min" in spec and "max" in spec:
        lo, hi = _number(spec["min"], f"{key}.min"), _number(spec["max"], f"{key}.max")
        return "int_uniform" if isinstance(lo, int) and isinstance(hi, int) else "uniform"
    raise ConfigError(
        f"{key}: cannot tell the distribution; give 'value', 'values', 'min' and 'max', "
        "or 'distribution'"
    )


def parse_param(path: tuple[str, ...], spec: Mapping[str, Any], key: str) -> ParamSpec:
    """Validate one leaf spec (``key`` is its config path, used in messages)."""
    dist = _infer(spec, key)
    required, optional = _SPECS[dist]
    allowed = {"distribution", *required, *optional}
    unknown = sorted(str(k) for k in spec if k not in allowed)
    if unknown:
        raise ConfigError(
            f"{key} has unknown key(s) for distribution {dist}: {', '.join(unknown)} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )
    missing = [k for k in required if k not in spec]
    if missing:
        raise ConfigError(f"{key}: distribution {dist} requires {' and '.join(missing)}")
    fields: dict[str, Any] = dict(optional)
    fields.update({k: v for k, v in spec.items() if k != "distribution"})
    for k in _NUMERIC:
        if k in fields:
            fields[k] = _number(fields[k], f"{key}.{k}")
    if dist == "categorical":
        _check_values(fields, key)
    elif dist == "int_uniform":
        for k in ("min", "max"):
            fields[k] = _integer(fields[k], f"{key}.{k}")
    _check_ranges(dist, fields, key)
    return ParamSpec(path=path, distribution=dist, **fields)


def _check_values(fields: dict[str, Any], key: str) -> None:
    values = fields["values"]
    if not isinstance(values, (list, tuple)) or not values:
        raise ConfigError(f"{key}.values must be a non-empty list (got {values!r})")
    fields["values"] = tuple(values)
    probs = fields.get("probabilities")
    if probs is None:
        return
    if not isinstance(probs, (list, tuple)) or len(probs) != len(values):
        raise ConfigError(
            f"{key}.probabilities must be a list with one number per value "
            f"({len(values)} values)"
        )
    probs = tuple(_number(p, f"{key}.probabilities[{i}]") for i, p in enumerate(probs))
    if any(p < 0 for p in probs):
        raise ConfigError(f"{key}.probabilities must all be >= 0 (got {list(probs)})")
    if not math.isclose(sum(probs), 1.0, rel_tol=0, abs_tol=1e-6):
        raise ConfigError(f"{key}.probabilities must sum to 1 (got {sum(probs):g})")
    fields["probabilities"] = probs


def _check_ranges(dist: str, f: dict[str, Any], key: str) -> None:
    if "min" in f and "max" in f:
        if dist in POSITIVE_BOUNDS and f["min"] <= 0:
            raise ConfigError(f"{key}.min must be > 0 for {dist} (got min={f['min']})")
        if f["min"] >= f["max"]:
            raise ConfigError(f"{key}.min must be < max (got min={f['min']}, max={f['max']})")
    for k in ("q", "sigma", "a", "b"):
        if k in f and f[k] <= 0:
            raise ConfigError(f"{key}.{k} must be > 0 (got {k}={f[k]})")


def _number(v: Any, key: str) -> int | float:
    """A real number; numeric strings such as ``"1e-3"`` (YAML 1.1 leaves them as text) pass."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            pass
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"{key} must be a finite number (got {v!r})")
    return v


def _integer(v: int | float, key: str) -> int:
    if isinstance(v, float):
        if not v.is_integer():
            raise ConfigError(f"{key} must be an integer for int_uniform (got {v!r})")
        return int(v)
    return v
