"""Hyperband early termination, in the style of wandb sweeps.

Bands are the iterations at which runs are compared:

* ``min_iter`` given: ``int(min_iter * eta**k)`` for k = 0, 1, 2, ...
  (min_iter=3, eta=3: 3, 9, 27, 81 ...).
* ``max_iter`` and ``s`` given (wandb's other form, which wins when both are set): divide
  max_iter by eta up to ``s`` times, keeping ``int(band)`` while it is >= 1
  (max_iter=27, eta=3, s=2: 3, 9).

An *iteration* is an index in a run's metric history: ``history[i]`` is the i-th value the
run logged for the sweep's metric (0-based), so a run has reached band ``b`` once
``len(history) > b``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from labtrack.sweeps.config import EarlyTerminate, SweepConfig

History = Sequence[float | None]


def bands(et: EarlyTerminate, up_to: int | None = None) -> list[int]:
    """The band iterations of ``et``, ascending; min_iter bands stop past ``up_to``."""
    out: set[int] = set()
    if et.max_iter is not None:
        band: float = et.max_iter
        for _ in range(et.s or 0):
            band /= et.eta
            if band < 1:
                break
            out.add(int(band))
        return sorted(b for b in out if up_to is None or b <= up_to)
    assert et.min_iter is not None
    limit = up_to if up_to is not None else et.min_iter * et.eta**10
    k = 0
    while (b := int(et.min_iter * et.eta**k)) <= limit:
        out.add(b)
        k += 1
    return sorted(out)


def thresholds(config: SweepConfig, history_by_run: Mapping[str, History]) -> dict[int, float]:
    """The threshold of every band some run has reached (in minimisation terms).

    At band ``b``, take the value at index ``b`` of every run that reached it (negated when
    the goal is maximize; a missing or NaN value counts as the worst, +inf). With ``n`` such
    values, the threshold is the ``k``-th smallest, ``k = max(1, ceil(n / eta))``: the
    runs at or below it are the top 1/eta.
    """
    et = config.early_terminate
    if et is None or not history_by_run:
        return {}
    longest = max(len(h) for h in history_by_run.values())
    out: dict[int, float] = {}
    for b in bands(et, longest - 1):
        values = sorted(_score(config, h[b]) for h in history_by_run.values() if len(h) > b)
        if values:
            k = max(1, math.ceil(len(values) / et.eta - 1e-9))
            out[b] = values[k - 1]
    return out


def should_stop(config: SweepConfig, history_by_run: Mapping[str, History], run_id: str) -> bool:
    """Whether hyperband stops run ``run_id`` now.

    The rule: for every band ``b`` the run has reached (``len(history) > b``), compare its
    value at iteration ``b`` with the values at ``b`` of all runs in ``history_by_run``
    that reached ``b`` (finished, stopped and running alike, the run itself included).
    The run is stopped if, at any of those bands, it is not in the top 1/eta: that is,
    its value is strictly worse than the ``ceil(n / eta)``-th best of the ``n`` values
    (ties with the threshold survive; a run alone at a band is never stopped). NaN or
    missing values count as the worst possible.

    Differences from wandb: wandb checks only the latest band reached, and keeps
    ``floor(n / eta) + 1`` runs per band, one more than here when ``eta`` divides ``n``.

    Returns False when the config has no ``early_terminate`` or the run is unknown.
    """
    return run_id in runs_to_stop(config, history_by_run, [run_id])


def runs_to_stop(
    config: SweepConfig, history_by_run: Mapping[str, History], run_ids: Iterable[str]
) -> list[str]:
    """The runs among ``run_ids`` that :func:`should_stop` would stop (thresholds computed once)."""
    limits = thresholds(config, history_by_run)
    stop = []
    for run_id in run_ids:
        history = history_by_run.get(run_id)
        if history is None:
            continue
        if any(len(history) > b and _score(config, history[b]) > t for b, t in limits.items()):
            stop.append(run_id)
    return stop


def stop_reason(
    config: SweepConfig, history_by_run: Mapping[str, History], run_id: str
) -> tuple[int, float | None, float] | None:
    """Why hyperband stops ``run_id``: ``(band, its value there, the band's threshold)``.

    The first band (in order) at which the run is outside the top 1/eta, with the value
    and threshold in the metric's own terms (not negated); None if the run goes on.
    """
    history = history_by_run.get(run_id)
    if history is None:
        return None
    sign = -1.0 if config.metric is not None and config.metric.goal == "maximize" else 1.0
    for b, t in sorted(thresholds(config, history_by_run).items()):
        if len(history) > b and _score(config, history[b]) > t:
            return b, history[b], sign * t
    return None


def _score(config: SweepConfig, value: float | None) -> float:
    """The value in minimisation terms; missing or NaN is the worst."""
    if value is None or math.isnan(value):
        return math.inf
    assert config.metric is not None
    return -value if config.metric.goal == "maximize" else float(value)
