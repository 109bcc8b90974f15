"""``wandb.plot``: charts to log, drawn with plotly in labtrack's UI (see labtrack.plot)."""

from typing import Any

from labtrack.compat.names import plot_table, visualize  # noqa: F401
from labtrack.plot import (  # noqa: F401
    Plot,
    bar,
    confusion_matrix,
    histogram,
    line,
    line_series,
    pr_curve,
    roc_curve,
    scatter,
)


def __getattr__(name: str) -> Any:
    raise AttributeError(f"wandb.plot.{name} is not supported by labtrack (supported: line, "
                         "scatter, bar, histogram, line_series, confusion_matrix, roc_curve, "
                         "pr_curve)")
