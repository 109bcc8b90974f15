"""Regression charts: predicted against actual, residuals, error histogram, and metrics."""

from __future__ import annotations

from typing import Any

from labtrack.media.base import Media
from labtrack.media.table import Table
from labtrack.plot._curves import as_1d
from labtrack.plot._figure import (
    MAX_SCATTER_POINTS,
    Plot,
    diagonal,
    downsample_indices,
    layout,
    num_list,
)
from labtrack.plot.charts import histogram_figure


def _numbers(values: Any, what: str) -> Any:
    import numpy as np

    arr = as_1d(values, what)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr


def regression_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """MAE, RMSE and R² (sklearn's convention: 1.0 or 0.0 when y_true is constant)."""
    import numpy as np

    error = y_true - y_pred
    ss_res = float(np.sum(error**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot > 0:
        r2 = 1.0 - ss_res / ss_tot
    else:
        r2 = 1.0 if ss_res == 0 else 0.0
    return {
        "MAE": float(np.mean(np.abs(error))),
        "RMSE": float(np.sqrt(np.mean(error**2))),
        "R2": r2,
    }


def _scatter(x: Any, y: Any, name: str) -> dict[str, Any]:
    idx = downsample_indices(len(x), MAX_SCATTER_POINTS)
    return {
        "type": "scatter",
        "mode": "markers",
        "x": num_list(x[idx]),
        "y": num_list(y[idx]),
        "name": name,
        "marker": {"size": 5, "opacity": 0.6},
    }


def regression_report(y_true: Any, y_pred: Any) -> dict[str, Media]:
    """Every regression chart at once, ready for ``run.log(...)``.

    Returns:
        ``{"pred_vs_actual"`` (scatter with the y = x line), ``"residuals"``
        (actual - predicted against predicted, with the zero line),
        ``"error_histogram"`` (of the residuals) and ``"metrics"`` (a Table of
        MAE, RMSE, R2 and n)``}``. Scatters show at most 5,000 points.

    Raises:
        TypeError: for non-numeric values.
        ValueError: for unequal lengths, fewer than 2 values, or NaN/infinite values.
    """
    actual = _numbers(y_true, "y_true")
    predicted = _numbers(y_pred, "y_pred")
    if len(actual) != len(predicted):
        raise ValueError(f"y_pred has {len(predicted)} values but y_true has {len(actual)}")
    if len(actual) < 2:
        raise ValueError("regression_report needs at least 2 values")
    residual = actual - predicted
    lo = float(min(actual.min(), predicted.min()))
    hi = float(max(actual.max(), predicted.max()))
    pva = {
        "data": [_scatter(actual, predicted, "samples"), diagonal(lo, hi, "y = x")],
        "layout": layout("Predicted vs actual", "Actual", "Predicted"),
    }
    zero = {
        "type": "scatter",
        "mode": "lines",
        "x": [float(predicted.min()), float(predicted.max())],
        "y": [0.0, 0.0],
        "name": "zero",
        "line": {"dash": "dash", "color": "grey", "width": 1},
        "hoverinfo": "skip",
    }
    res = {
        "data": [_scatter(predicted, residual, "residuals"), zero],
        "layout": layout("Residuals", "Predicted", "Actual - predicted"),
    }
    metrics = Table(columns=["metric", "value"])
    for name, value in regression_metrics(actual, predicted).items():
        metrics.add_data(name, value)
    metrics.add_data("n", len(actual))
    return {
        "pred_vs_actual": Plot("pred_vs_actual", pva, title="Predicted vs actual"),
        "residuals": Plot("residuals", res, title="Residuals"),
        "error_histogram": Plot(
            "error_histogram",
            histogram_figure(residual, "Actual - predicted", "Error histogram"),
            title="Error histogram",
        ),
        "metrics": metrics,
    }
