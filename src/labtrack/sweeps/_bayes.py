"""Bayesian search: Optuna's TPE sampler, rebuilt from the sweep's trials on every call.

Imported only when a bayes sweep asks for parameters (Optuna is heavy).

Each leaf parameter maps to an Optuna distribution through a codec: categorical values by
index, int_uniform as integers, uniform and log-uniform families natively (``log=True``),
normal and log-normal families in CDF space (a uniform on (0, 1) mapped through the
inverse CDF, as wandb's own bayes search does), beta on [0, 1]. Quantised variants are
searched continuously and rounded to ``q`` afterwards.

Trials: finished (and early-terminated) runs with a value are COMPLETE; running runs are
RUNNING (TPE's constant liar keeps parallel agents apart); failed, crashed and killed runs
get an imputed value per ``metric.impute`` (wandb's default ``worst``), so the search
learns to avoid regions that crash; a trial whose parameters no longer fit the config is
left out.
"""

from __future__ import annotations

import math
import random
import statistics
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from labtrack.sweeps._sampling import quantize, value_key
from labtrack.sweeps.config import SweepConfig
from labtrack.sweeps.params import ParamSpec
from labtrack.sweeps.search import Trial, assemble, lookup

_EPS = 1e-6


class _Skip(Exception):
    """A trial value that cannot be expressed in the current search space."""


@dataclass
class _Codec:
    distribution: Any
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


def suggest(config: SweepConfig, trials: Sequence[Trial], rng: random.Random) -> dict[str, Any]:
    """Ask a freshly rebuilt TPE study for the next parameters."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    codecs = {f"{i}:{p.name}": (p, _codec(p, optuna)) for i, p in enumerate(config.params)
              if p.distribution != "constant"}
    assert config.metric is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.TPESampler(seed=rng.getrandbits(31), multivariate=True,
                                             constant_liar=True)
        direction: Any = config.metric.goal
        study = optuna.create_study(direction=direction, sampler=sampler)
        for frozen in _frozen_trials(config, trials, codecs, optuna):
            study.add_trial(frozen)
        asked = study.ask({name: c.distribution for name, (_, c) in codecs.items()})
    chosen = {name: c.decode(asked.params[name]) for name, (_, c) in codecs.items()}
    values = [
        p.value if p.distribution == "constant" else chosen[f"{i}:{p.name}"]
        for i, p in enumerate(config.params)
    ]
    return assemble(config.params, values)


def _frozen_trials(
    config: SweepConfig,
    trials: Sequence[Trial],
    codecs: dict[str, tuple[ParamSpec, _Codec]],
    optuna: Any,
) -> list[Any]:
    metric = config.metric
    assert metric is not None
    done = [float(t.value) for t in trials if t.value is not None and _observed(t)]
    worst = best = None
    if done:
        worst = max(done) if metric.goal == "minimize" else min(done)
        best = min(done) if metric.goal == "minimize" else max(done)
    State = optuna.trial.TrialState
    out = []
    for t in trials:
        try:
            params = {name: c.encode(lookup(t.params, p.path, None))
                      for name, (p, c) in codecs.items()}
        except (_Skip, TypeError, ValueError):
            continue
        dists = {name: c.distribution for name, (_, c) in codecs.items()}
        if t.state == "running":
            state, value = State.RUNNING, None
        elif _observed(t):
            state, value = State.COMPLETE, t.value
        else:
            value = {"worst": worst, "best": best}.get(metric.impute, worst)
            if metric.impute == "latest" and _finite(t.value):
                value = t.value
            state = State.FAIL if value is None else State.COMPLETE
        try:
            out.append(optuna.trial.create_trial(
                state=state, value=value, params=params, distributions=dists))
        except ValueError:
            continue
    return out


def _observed(t: Trial) -> bool:
    return t.state in ("finished", "early_terminated") and _finite(t.value)


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _codec(p: ParamSpec, optuna: Any) -> _Codec:
    d = optuna.distributions
    dist = p.distribution
    if dist == "categorical":
        assert p.values is not None
        keys = [value_key(v) for v in p.values]
        values = p.values

        def encode_cat(v: Any) -> int:
            try:
                return keys.index(value_key(v))
            except ValueError:
                raise _Skip from None

        return _Codec(d.CategoricalDistribution(list(range(len(keys)))), encode_cat,
                      lambda i: values[i])
    if dist == "int_uniform":
        imin, imax = int(p.arg("min")), int(p.arg("max"))
        return _Codec(d.IntDistribution(imin, imax), lambda v: _clip(int(_num(v)), imin, imax),
                      int)
    base = dist.removeprefix("q_")

    def rounded(f: Callable[[float], float]) -> Callable[[float], Any]:
        if dist.startswith("q_"):
            return lambda x: quantize(f(x), p.arg("q"))
        return lambda x: float(f(x))

    if base in ("normal", "log_normal"):
        nd = statistics.NormalDist(p.arg("mu"), p.arg("sigma"))
        log = base == "log_normal"

        def to_u(v: Any) -> float:
            x = float(_num(v))
            if log:
                x = math.log(x) if x > 0 else -math.inf
            return _clip(nd.cdf(x) if math.isfinite(x) else 0.0, _EPS, 1 - _EPS)

        def from_u(u: float) -> float:
            x = nd.inv_cdf(u)
            return math.exp(x) if log else x

        return _Codec(d.FloatDistribution(_EPS, 1 - _EPS), to_u, rounded(from_u))
    lo, hi, log = _float_range(p)
    return _Codec(d.FloatDistribution(lo, hi, log=log),
                  lambda v: _clip(float(_num(v)), lo, hi), rounded(lambda x: x))


def _float_range(p: ParamSpec) -> tuple[float, float, bool]:
    base = p.distribution.removeprefix("q_")
    if base == "beta":
        return 0.0, 1.0, False
    lo, hi = float(p.arg("min")), float(p.arg("max"))
    if base == "uniform":
        return lo, hi, False
    if base == "log_uniform":
        return math.exp(lo), math.exp(hi), True
    if base in ("log_uniform_values", "inv_log_uniform_values"):
        return lo, hi, True
    if base == "inv_log_uniform":
        return math.exp(-hi), math.exp(-lo), True
    raise ValueError(f"no bayes codec for distribution {p.distribution}")


def _num(v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise _Skip
    return v


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    return min(max(x, lo), hi)
