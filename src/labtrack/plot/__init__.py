"""Charts to log, like ``wandb.plot``: each returns a :class:`Plot` holding plotly JSON.

``run.log({"roc": labtrack.plot.roc_curve(y, probas)})`` stores the figure (and the
table behind it); ``classification_report`` and ``regression_report`` return a
dict of several charts to log at once. numpy loads when a chart is built.
"""

from __future__ import annotations

from labtrack.plot._figure import Plot
from labtrack.plot.charts import bar, histogram, line, line_series, scatter
from labtrack.plot.classification import (
    calibration_curve,
    classification_report,
    confusion_matrix,
    pr_curve,
    roc_curve,
)
from labtrack.plot.regression import regression_report

__all__ = [
    "Plot",
    "bar",
    "calibration_curve",
    "classification_report",
    "confusion_matrix",
    "histogram",
    "line",
    "line_series",
    "pr_curve",
    "regression_report",
    "roc_curve",
    "scatter",
]
