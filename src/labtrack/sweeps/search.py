"""Choose the next parameters of a sweep from the trials so far (grid, random, bayes).

There is no controller process: whoever starts a run (an agent, inside a store transaction)
calls :func:`next_params` with the sweep's trials and gets the parameters to run, or None
when the sweep is done.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from labtrack.sweeps._sampling import grid_values, sample, value_key
from labtrack.sweeps.config import SweepConfig, check_grid
from labtrack.sweeps.params import ParamSpec

#: Trial states; any other string is treated like "failed".
STATES = ("running", "finished", "failed", "crashed", "killed", "early_terminated")


@dataclass
class Trial:
    """One run of a sweep, as the search methods see it.

    Attributes:
        params: the parameters the run was given (nested parameters as dicts).
        state: one of ``STATES``.
        value: the metric's final (summary) value, None if never logged.
        run_id: the run's id, for the caller's bookkeeping.
    """

    params: dict[str, Any]
    state: str = "finished"
    value: float | None = None
    run_id: str | None = None


def next_params(
    config: SweepConfig, trials: Sequence[Trial], rng: random.Random | None = None
) -> dict[str, Any] | None:
    """The parameters of the next run, or None when the sweep is done.

    The sweep is done when ``run_cap`` trials exist, when a trial has reached
    ``metric.target``, or (grid) when every combination has been used. Every grid
    combination used by a trial counts, whatever its state: crashed points are not retried.

    Args:
        config: the sweep config.
        trials: every run of the sweep so far, in any state.
        rng: source of randomness (random and bayes); seeds Optuna for bayes.
    """
    if config.run_cap is not None and len(trials) >= config.run_cap:
        return None
    if config.metric is not None and config.metric.target is not None:
        if any(t.value is not None and config.metric.reached(t.value) for t in trials):
            return None
    rng = rng or random.Random()
    if config.method == "grid":
        return _next_grid(config, trials)
    if config.method == "random":
        return assemble(config.params, [sample(p, rng) for p in config.params])
    from labtrack.sweeps._bayes import suggest

    return suggest(config, trials, rng)


def count_grid(config: SweepConfig) -> int:
    """The number of combinations a grid search over ``config`` runs.

    Raises:
        ConfigError: a parameter cannot be enumerated (continuous distribution).
    """
    check_grid(config.params)
    n = 1
    for p in config.params:
        n *= len(grid_values(p))
    return n


def iter_grid(config: SweepConfig) -> Iterator[dict[str, Any]]:
    """Every grid combination in order: parameters sorted by path, the last varying fastest."""
    check_grid(config.params)
    for combo in itertools.product(*(grid_values(p) for p in config.params)):
        yield assemble(config.params, list(combo))


def _next_grid(config: SweepConfig, trials: Sequence[Trial]) -> dict[str, Any] | None:
    check_grid(config.params)
    used = {_combo_key(config.params, t.params) for t in trials}
    columns = [[(value_key(v), v) for v in grid_values(p)] for p in config.params]
    for combo in itertools.product(*columns):
        if tuple(k for k, _ in combo) not in used:
            return assemble(config.params, [v for _, v in combo])
    return None


def _combo_key(params: tuple[ParamSpec, ...], values: dict[str, Any]) -> tuple[str | None, ...]:
    missing = object()
    return tuple(
        None if (v := lookup(values, p.path, missing)) is missing else value_key(v)
        for p in params
    )


def lookup(values: dict[str, Any], path: tuple[str, ...], default: Any = None) -> Any:
    """The value at ``path`` in nested parameter dicts, or ``default``."""
    node: Any = values
    for name in path:
        if not isinstance(node, dict) or name not in node:
            return default
        node = node[name]
    return node


def assemble(params: tuple[ParamSpec, ...], values: Sequence[Any]) -> dict[str, Any]:
    """Nested parameter dict from leaf specs and their values."""
    out: dict[str, Any] = {}
    for p, v in zip(params, values, strict=True):
        node = out
        for name in p.path[:-1]:
            node = node.setdefault(name, {})
        node[p.path[-1]] = v
    return out
