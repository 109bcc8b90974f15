"""``Plot`` (a plotly figure as media) and the helpers that build figure dicts by hand.

Figures are plain plotly JSON (``{"data": [...], "layout": {...}}``) that
``Plotly.newPlot`` draws; plotly itself is never imported. Non-finite numbers in
trace arrays become ``null``, which plotly draws as a gap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from labtrack.media.base import Media, PutBlob, json_safe
from labtrack.media.table import Table

MAX_LINE_POINTS = 2000
MAX_CURVE_POINTS = 1000
MAX_SCATTER_POINTS = 5000


class Plot(Media):
    """A chart: a plotly figure dict, with the table it was drawn from.

    Args:
        kind: what chart it is (``"line"``, ``"roc_curve"`` ...).
        figure: a plotly figure as a dict, ``{"data": [...], "layout": {...}}``.
        table: the data behind the chart, logged with it.
        title: the chart's title.
    """

    _type = "plot"

    def __init__(
        self,
        kind: str,
        figure: Mapping[str, Any],
        table: Table | None = None,
        title: str | None = None,
    ) -> None:
        if not isinstance(figure, Mapping) or not isinstance(figure.get("data"), list):
            raise TypeError("figure must be a dict with a 'data' list of traces")
        self.kind = kind
        self.figure = dict(figure)
        self.table = table
        self.title = title

    @classmethod
    def from_figure(cls, figure: Any, title: str | None = None) -> Plot:
        """Wrap a plotly ``Figure`` (or its dict form) as a loggable plot.

        Raises:
            TypeError: for anything that is not a plotly figure or figure dict.
        """
        if hasattr(figure, "to_plotly_json"):
            figure = figure.to_plotly_json()
        if not isinstance(figure, Mapping):
            raise TypeError(f"expected a plotly figure or dict, got {type(figure).__name__}")
        figure = _decode_typed_arrays(figure)
        fig = {"data": list(figure.get("data", [])), "layout": dict(figure.get("layout", {}))}
        return cls("plotly", fig, title=title)

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Return ``{"_type": "plot", "kind", "title", "figure", "table"?}``."""
        record: dict[str, Any] = {
            "_type": self._type,
            "kind": self.kind,
            "title": self.title,
            "figure": figure_safe(self.figure),
        }
        if self.table is not None:
            record["table"] = self.table.to_record(put_blob)
        return record

    def __repr__(self) -> str:
        return f"<Plot {self.kind} title={self.title!r}>"


def _decode_typed_arrays(value: Any) -> Any:
    """Turn plotly's base64 typed arrays (``{"dtype": "f8", "bdata": ...}``) into lists."""
    if isinstance(value, Mapping):
        if set(value) in ({"dtype", "bdata"}, {"dtype", "bdata", "shape"}):
            import base64

            import numpy as np

            arr = np.frombuffer(base64.b64decode(value["bdata"]), dtype="<" + value["dtype"])
            if "shape" in value:
                arr = arr.reshape([int(n) for n in str(value["shape"]).split(",") if n.strip()])
            return arr.tolist()
        return {k: _decode_typed_arrays(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_decode_typed_arrays(v) for v in value]
    return value


def figure_safe(value: Any) -> Any:
    """Like :func:`json_safe`, but NaN and infinities become None (a gap in plotly)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): figure_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [figure_safe(v) for v in value]
    if (type(value).__module__ or "").startswith("numpy") and hasattr(value, "tolist"):
        return figure_safe(value.tolist())  # a numpy array or scalar
    return json_safe(value)


def num_list(values: Any) -> list[float | None]:
    """Numbers as a list of floats, NaN and infinities as None."""
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).ravel()
    out = arr.astype(object)
    out[~np.isfinite(arr)] = None
    return out.tolist()


def value_list(values: list[Any]) -> list[Any]:
    """A column's values for a trace: numbers via :func:`num_list`, others JSON-safe."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return num_list(values)
    return [None if isinstance(v, float) and not math.isfinite(v) else json_safe(v) for v in values]


def downsample_indices(n: int, max_points: int) -> Any:
    """Evenly spaced indices into ``n`` points, at most ``max_points``, keeping both ends."""
    import numpy as np

    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).round().astype(np.int64))


def axis(title: str | None, **extra: Any) -> dict[str, Any]:
    """A layout axis with a title."""
    return {"title": {"text": title or ""}, **extra}


def layout(
    title: str | None, xname: str | None = None, yname: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A figure layout with a title and axis titles."""
    out: dict[str, Any] = {
        "title": {"text": title or ""},
        "xaxis": axis(xname),
        "yaxis": axis(yname),
        "margin": {"t": 48 if title else 24, "r": 16, "b": 48, "l": 56},
    }
    out.update(extra)
    return out


def diagonal(lo: float, hi: float, name: str) -> dict[str, Any]:
    """A dashed grey y = x reference line from ``lo`` to ``hi``."""
    return {
        "type": "scatter",
        "mode": "lines",
        "x": [lo, hi],
        "y": [lo, hi],
        "name": name,
        "line": {"dash": "dash", "color": "grey", "width": 1},
        "hoverinfo": "skip",
    }


def column(table: Any, name: str, what: str) -> list[Any]:
    """The values of ``table`` column ``name``.

    Raises:
        TypeError: when ``table`` is not a Table.
        ValueError: for an unknown column, naming the argument.
    """
    if not isinstance(table, Table):
        raise TypeError(f"table must be a labtrack Table, got {type(table).__name__}")
    if not isinstance(name, str) or name not in table.columns:
        raise ValueError(f"{what}={name!r} is not a column of the table {table.columns}")
    return table.get_column(name)
