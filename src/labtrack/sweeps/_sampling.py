"""Random sampling and grid enumeration of single parameters (pure Python, stdlib only)."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from typing import Any

from labtrack.sweeps.params import ParamSpec


def quantize(x: float, q: float) -> int | float:
    """Round ``x`` to the nearest multiple of ``q`` (an int when ``q`` is an int, as wandb).

    The product is taken in decimal so that ``q=0.1`` gives ``0.3``, not ``0.30000000000000004``.
    """
    k = round(x / q)
    if isinstance(q, int):
        return int(k * q)
    return float(Decimal(repr(float(q))) * k)


def sample(p: ParamSpec, rng: random.Random) -> Any:
    """Draw one value of ``p`` from its distribution, with wandb's semantics.

    ``log_uniform`` and ``q_log_uniform`` take natural-log exponents as min/max; the
    ``*_values`` variants take the values themselves.
    """
    d = p.distribution
    if d == "constant":
        return p.value
    if d == "categorical":
        assert p.values is not None
        if p.probabilities is not None:
            return rng.choices(p.values, weights=p.probabilities)[0]
        return rng.choice(p.values)
    if d == "int_uniform":
        return rng.randint(int(p.arg("min")), int(p.arg("max")))
    x = _continuous(p, rng)
    if d.startswith("q_"):
        return quantize(x, p.arg("q"))
    return x


def _continuous(p: ParamSpec, rng: random.Random) -> float:
    d = p.distribution.removeprefix("q_")
    if d in ("normal", "log_normal"):
        x = rng.gauss(p.arg("mu"), p.arg("sigma"))
        return math.exp(x) if d == "log_normal" else x
    if d == "beta":
        return rng.betavariate(p.arg("a"), p.arg("b"))
    lo, hi = p.arg("min"), p.arg("max")
    if d == "uniform":
        return rng.uniform(lo, hi)
    if d == "log_uniform":
        return math.exp(rng.uniform(lo, hi))
    if d in ("log_uniform_values", "inv_log_uniform_values"):
        return math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if d == "inv_log_uniform":
        return math.exp(-rng.uniform(lo, hi))
    raise ValueError(f"no sampler for distribution {p.distribution}")


def grid_values(p: ParamSpec) -> list[Any]:
    """The values a grid search takes for ``p`` (in order).

    ``int_uniform`` gives ``min..max`` inclusive; ``q_uniform`` gives ``min, min+q, ...``
    strictly below ``max``, as wandb (numpy.arange) does.
    """
    d = p.distribution
    if d == "constant":
        return [p.value]
    if d == "categorical":
        assert p.values is not None
        return list(p.values)
    if d == "int_uniform":
        return list(range(int(p.arg("min")), int(p.arg("max")) + 1))
    if d == "q_uniform":
        lo, hi, q = p.arg("min"), p.arg("max"), p.arg("q")
        n = math.ceil((hi - lo) / q - 1e-9)
        if isinstance(q, int) and isinstance(lo, int):
            return [lo + i * q for i in range(n)]
        start, step = Decimal(repr(float(lo))), Decimal(repr(float(q)))
        return [float(start + i * step) for i in range(n)]
    raise ValueError(f"grid search cannot enumerate distribution {d}")


def value_key(value: Any) -> str:
    """A canonical text form of a parameter value, to compare values across a store round trip.

    Integral floats compare equal to ints (``3e6 == 3000000``), tuples to lists, and dict
    key order does not matter.
    """
    return json.dumps(_normalise(value), sort_keys=True, default=repr)


def _normalise(v: Any) -> Any:
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, (list, tuple)):
        return [_normalise(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _normalise(x) for k, x in v.items()}
    return v
