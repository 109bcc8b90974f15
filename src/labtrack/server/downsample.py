"""Downsampling of metric lines with numpy, keeping extremes.

A line of ``n`` points becomes at most ``max_points``: the points are cut into
``max_points // 2`` buckets of consecutive points and each bucket keeps its
minimum and its maximum, in their original order. Spikes survive (unlike
taking every k-th point), and a line of 1,000,000 points draws as fast as one
of 2,000. NaN and infinite values are kept as gaps where they fall.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def minmax_indices(values: np.ndarray, max_points: int) -> np.ndarray:
    """Indices (sorted) of the points to keep: min and max of each bucket.

    Returns every index when ``len(values) <= max_points``.
    """
    n = len(values)
    if n <= max_points or max_points < 4:
        return np.arange(n)
    buckets = max_points // 2
    size = -(-n // buckets)  # ceil
    buckets = -(-n // size)
    padded = buckets * size
    finite = np.isfinite(values)
    lo = np.where(finite, values, np.inf)
    hi = np.where(finite, values, -np.inf)
    if padded > n:
        lo = np.concatenate([lo, np.full(padded - n, np.inf)])
        hi = np.concatenate([hi, np.full(padded - n, -np.inf)])
    starts = np.arange(buckets) * size
    imin = lo.reshape(buckets, size).argmin(axis=1) + starts
    imax = hi.reshape(buckets, size).argmax(axis=1) + starts
    keep = np.concatenate([imin, imax])
    keep = keep[keep < n]
    # a bucket of only NaN keeps its first point so the gap stays visible
    return np.unique(keep)


def join_by_step(x_steps: np.ndarray, x_values: np.ndarray, y_steps: np.ndarray,
                 y_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair each y point with the x metric logged at the same step.

    Returns ``(x, y, steps)`` for the steps present in both series, in y's
    order. When a step holds several x values the last one logged wins.
    """
    if len(x_steps) == 0 or len(y_steps) == 0:
        empty = np.zeros(0)
        return empty, empty, np.zeros(0, dtype=np.int64)
    # last occurrence of each step in x: sort stably, then keep the last of equal runs
    order = np.argsort(x_steps, kind="stable")
    xs = x_steps[order]
    last = np.ones(len(xs), dtype=bool)
    last[:-1] = xs[1:] != xs[:-1]
    xs, xv = xs[last], x_values[order][last]
    pos = np.searchsorted(xs, y_steps)
    pos_c = np.minimum(pos, len(xs) - 1)
    hit = xs[pos_c] == y_steps
    return xv[pos_c[hit]], y_values[hit], y_steps[hit]


def to_json_array(values: np.ndarray, decimals: int | None = None) -> str:
    """A JSON array of numbers with NaN and infinities as ``null`` (gaps in plotly)."""
    if values.dtype.kind in "iu":
        return "[" + ",".join(map(str, values.tolist())) + "]"
    arr = values if decimals is None else np.round(values, decimals)
    text = repr(arr.tolist()) if len(arr) else "[]"
    if "n" in text or "i" in text:  # nan / inf
        text = text.replace("-inf", "null").replace("inf", "null").replace("nan", "null")
    return text


def line_payload(x: np.ndarray, y: np.ndarray, steps: np.ndarray, max_points: int
                 ) -> dict[str, Any]:
    """Downsample one line; returns its arrays as JSON fragments plus counts."""
    idx = minmax_indices(y, max_points)
    sampled = len(idx) < len(y)
    if sampled:
        x, y, steps = x[idx], y[idx], steps[idx]
    return {"x": to_json_array(x), "y": to_json_array(y), "steps": to_json_array(steps),
            "points": int(len(y)), "sampled": sampled}
