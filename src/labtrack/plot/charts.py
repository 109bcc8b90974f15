"""Charts drawn from a Table's columns, like ``wandb.plot.line/scatter/bar/histogram``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labtrack.media.table import Table
from labtrack.plot._figure import (
    MAX_LINE_POINTS,
    MAX_SCATTER_POINTS,
    Plot,
    column,
    downsample_indices,
    layout,
    num_list,
    value_list,
)


def _pick(values: list[Any], idx: Any) -> list[Any]:
    return [values[i] for i in idx.tolist()]


def line(table: Table, x: str, y: str, stroke: str | None = None, title: str | None = None) -> Plot:
    """A line chart of column ``y`` against column ``x``, one line per ``stroke`` value.

    Lines longer than 2,000 points are downsampled evenly in the figure; the
    table keeps every row.

    Raises:
        TypeError: when ``table`` is not a Table.
        ValueError: for an unknown column.
    """
    xs, ys = column(table, x, "x"), column(table, y, "y")
    keys = column(table, stroke, "stroke") if stroke is not None else [None] * len(xs)
    groups: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    traces = []
    for key, rows in groups.items():
        keep = [rows[i] for i in downsample_indices(len(rows), MAX_LINE_POINTS).tolist()]
        trace = {
            "type": "scatter",
            "mode": "lines",
            "x": value_list([xs[i] for i in keep]),
            "y": value_list([ys[i] for i in keep]),
            "name": y if stroke is None else str(key),
        }
        traces.append(trace)
    fig = {"data": traces, "layout": layout(title, x, y, showlegend=stroke is not None)}
    return Plot("line", fig, table=table, title=title)


def scatter(table: Table, x: str, y: str, title: str | None = None) -> Plot:
    """A scatter plot of column ``y`` against column ``x`` (at most 5,000 points drawn).

    Raises:
        TypeError: when ``table`` is not a Table.
        ValueError: for an unknown column.
    """
    xs, ys = column(table, x, "x"), column(table, y, "y")
    idx = downsample_indices(len(xs), MAX_SCATTER_POINTS)
    trace = {
        "type": "scatter",
        "mode": "markers",
        "x": value_list(_pick(xs, idx)),
        "y": value_list(_pick(ys, idx)),
        "name": y,
        "marker": {"size": 6, "opacity": 0.7},
    }
    return Plot("scatter", {"data": [trace], "layout": layout(title, x, y)}, table, title)


def bar(table: Table, label: str, value: str, title: str | None = None) -> Plot:
    """A bar chart: one bar per row, named by column ``label``, as high as column ``value``.

    Raises:
        TypeError: when ``table`` is not a Table.
        ValueError: for an unknown column.
    """
    labels, values = column(table, label, "label"), column(table, value, "value")
    trace = {
        "type": "bar",
        "x": [str(v) for v in labels],
        "y": value_list(values),
        "name": value,
    }
    return Plot("bar", {"data": [trace], "layout": layout(title, label, value)}, table, title)


def histogram(table: Table, value: str, title: str | None = None, num_bins: int = 64) -> Plot:
    """A histogram of the numbers in column ``value`` (missing values left out).

    The bins are computed here (numpy's "auto" rule, at most ``num_bins``) and
    drawn as bars, so the figure stays small for any number of rows.

    Raises:
        TypeError: when ``table`` is not a Table or the column is not numeric.
        ValueError: for an unknown column.
    """
    values = column(table, value, "value")
    if any(
        isinstance(v, (str, bool)) or (v is not None and not isinstance(v, (int, float)))
        for v in values
    ):
        raise TypeError(f"histogram column {value!r} must hold numbers")
    return Plot("histogram", histogram_figure(values, value, title, num_bins), table, title)


def histogram_figure(values: Any, name: str, title: str | None, num_bins: int = 64) -> dict:
    """A bar-chart figure of the histogram of ``values`` (non-finite values left out)."""
    import numpy as np

    arr = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    if arr.size:
        edges = np.histogram_bin_edges(arr, bins="auto")
        if len(edges) - 1 > num_bins:
            edges = np.histogram_bin_edges(arr, bins=num_bins)
    else:
        edges = np.linspace(0.0, 1.0, 2)
    counts, edges = np.histogram(arr, bins=edges)
    trace = {
        "type": "bar",
        "x": num_list((edges[:-1] + edges[1:]) / 2),
        "y": counts.tolist(),
        "width": num_list(np.diff(edges)),
        "name": name,
        "customdata": [[float(a), float(b)] for a, b in zip(edges[:-1], edges[1:], strict=True)],
        "hovertemplate": "[%{customdata[0]:.4g}, %{customdata[1]:.4g}): %{y}<extra></extra>",
    }
    return {"data": [trace], "layout": layout(title, name, "count", bargap=0)}


def _is_series(value: Any) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, (str, bytes))


def line_series(
    xs: Sequence[Any],
    ys: Sequence[Sequence[float]],
    keys: Sequence[str] | None = None,
    title: str | None = None,
    xname: str | None = None,
) -> Plot:
    """Several lines on one chart, like ``wandb.plot.line_series``.

    Args:
        xs: one sequence of x values shared by every line, or one per line.
        ys: one sequence of y values per line.
        keys: the line names (default ``key_0``, ``key_1`` ...).
        title: the chart title.
        xname: the x axis title (default ``"x"``).

    Raises:
        ValueError: when lengths or counts do not match.
    """
    if not _is_series(ys) or not all(_is_series(y) for y in ys):
        raise ValueError("ys must be a list of series, one sequence of numbers per line")
    n_lines = len(ys)
    shared = _is_series(xs) and not any(_is_series(x) for x in xs)
    x_list = [xs] * n_lines if shared else list(xs)
    if len(x_list) != n_lines:
        raise ValueError(f"xs has {len(x_list)} series but ys has {n_lines}")
    keys = [f"key_{i}" for i in range(n_lines)] if keys is None else [str(k) for k in keys]
    if len(keys) != n_lines:
        raise ValueError(f"keys has {len(keys)} names but ys has {n_lines} series")
    xname = xname or "x"
    table = Table(columns=["lineKey", "lineVal", "step"])
    traces = []
    for key, x, y in zip(keys, x_list, ys, strict=True):
        x, y = list(x), list(y)
        if len(x) != len(y):
            raise ValueError(f"line {key!r} has {len(x)} x values but {len(y)} y values")
        for xv, yv in zip(x, y, strict=True):
            table.add_data(key, yv, xv)
        idx = downsample_indices(len(x), MAX_LINE_POINTS)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": value_list(_pick(x, idx)),
                "y": num_list(_pick(y, idx)) if y else [],
                "name": key,
            }
        )
    fig = {"data": traces, "layout": layout(title, xname, None)}
    return Plot("line_series", fig, table=table, title=title)
