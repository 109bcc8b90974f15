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
    full = n // size  # buckets holding exactly `size` points; the rest form one short bucket
    if np.isfinite(values).all():
        lo = hi = values
    else:  # NaN/inf never win a bucket (a bucket of only NaN keeps its first point: a gap)
        finite = np.isfinite(values)
        lo = np.where(finite, values, np.inf)
        hi = np.where(finite, values, -np.inf)
    starts = np.arange(full) * size
    grid_lo = lo[: full * size].reshape(full, size)
    grid_hi = hi[: full * size].reshape(full, size)
    parts = [grid_lo.argmin(axis=1) + starts, grid_hi.argmax(axis=1) + starts]
    if full * size < n:
        tail = full * size
        parts.append(np.array([tail + int(lo[tail:].argmin()), tail + int(hi[tail:].argmax())]))
    return np.unique(np.concatenate(parts))


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


def to_json_array(values: np.ndarray) -> str:
    """A JSON array of numbers with NaN and infinities as ``null`` (gaps in plotly)."""
    if values.dtype.kind in "iu":
        return "[" + ",".join(map(str, values.tolist())) + "]"
    text = repr(values.tolist()) if len(values) else "[]"
    if "n" in text:  # nan / inf
        text = text.replace("-inf", "null").replace("inf", "null").replace("nan", "null")
    return text


def to_base64(values: np.ndarray) -> str:
    """Little-endian float64 bytes, base64-encoded, as a JSON string (NaN stays NaN)."""
    import base64

    data = np.ascontiguousarray(values, dtype="<f8").tobytes()
    return '"' + base64.b64encode(data).decode("ascii") + '"'


def line_payload(x: np.ndarray, y: np.ndarray, max_points: int, encoding: str = "json"
                 ) -> dict[str, Any]:
    """Downsample one line; returns its arrays as JSON fragments plus counts."""
    idx = minmax_indices(y, max_points)
    sampled = len(idx) < len(y)
    if sampled:
        x, y = x[idx], y[idx]
    enc = to_base64 if encoding == "base64" else to_json_array
    return {"x": enc(x), "y": enc(y), "points": int(len(y)), "sampled": sampled}
