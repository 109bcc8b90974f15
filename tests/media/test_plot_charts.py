"""plot.line/scatter/bar/histogram/line_series: valid plotly figures holding the table's data."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from labtrack import plot
from labtrack.media import Media, Table


def _valid(record: dict) -> go.Figure:
    """plotly validates every trace and layout property; an invalid one raises."""
    assert record["_type"] == "plot"
    return go.Figure(record["figure"])


@pytest.fixture
def runs_table() -> Table:
    table = Table(columns=["step", "loss", "run"])
    for run, scale in (("a", 1.0), ("b", 2.0)):
        for step in range(5):
            table.add_data(step, scale / (step + 1), run)
    return table


def test_line_one_trace_per_stroke(blobs, runs_table):
    chart = plot.line(runs_table, "step", "loss", stroke="run", title="Loss")
    assert isinstance(chart, Media)
    rec = blobs.record(chart)
    fig = _valid(rec)
    assert rec["kind"] == "line" and rec["title"] == "Loss"
    assert [t.name for t in fig.data] == ["a", "b"]
    assert list(fig.data[1].y) == [2.0 / (s + 1) for s in range(5)]
    assert fig.layout.xaxis.title.text == "step" and fig.layout.title.text == "Loss"
    assert rec["table"]["data"] == runs_table.data


def test_long_lines_are_downsampled_keeping_the_ends(blobs):
    n = 10_000
    table = Table(columns=["x", "y"], data=[[i, float(i * i)] for i in range(n)])
    trace = blobs.record(plot.line(table, "x", "y"))["figure"]["data"][0]
    assert len(trace["x"]) <= 2000
    assert trace["x"][0] == 0 and trace["x"][-1] == n - 1
    assert all(y == x * x for x, y in zip(trace["x"], trace["y"], strict=True))


def test_nan_values_become_gaps(blobs):
    table = Table(columns=["x", "y"], data=[[0, 1.0], [1, float("nan")], [2, 3.0]])
    rec = blobs.record(plot.line(table, "x", "y"))
    assert rec["figure"]["data"][0]["y"] == [1.0, None, 3.0]
    assert rec["table"]["data"][1] == [1, "NaN"]
    _valid(rec)


def test_scatter_and_bar(blobs):
    table = Table(columns=["label", "x", "y"], data=[["p", 1, 2.5], ["q", 3, -1.0]])
    fig = _valid(blobs.record(plot.scatter(table, "x", "y", title="s")))
    assert fig.data[0].mode == "markers" and list(fig.data[0].x) == [1, 3]
    fig = _valid(blobs.record(plot.bar(table, "label", "y")))
    assert fig.data[0].type == "bar" and list(fig.data[0].x) == ["p", "q"]
    assert list(fig.data[0].y) == [2.5, -1.0]


def test_histogram_counts_every_value(blobs):
    values = np.random.default_rng(3).exponential(size=3000)
    table = Table(columns=["v"], data=[[float(v)] for v in values] + [[None]])
    rec = blobs.record(plot.histogram(table, "v", title="h"))
    fig = _valid(rec)
    counts = list(fig.data[0].y)
    assert sum(counts) == 3000 and len(counts) <= 64
    lo, hi = fig.data[0].customdata[0][0], fig.data[0].customdata[-1][1]
    assert lo == pytest.approx(values.min()) and hi == pytest.approx(values.max())


def test_line_series_shared_and_separate_xs(blobs):
    rec = blobs.record(
        plot.line_series(
            [0, 1, 2], [[1, 2, 3], [3, 2, 1]], keys=["up", "down"], title="t", xname="epoch"
        )
    )
    fig = _valid(rec)
    assert [t.name for t in fig.data] == ["up", "down"]
    assert list(fig.data[1].y) == [3, 2, 1] and fig.layout.xaxis.title.text == "epoch"
    assert rec["table"]["columns"] == ["lineKey", "lineVal", "step"]
    assert rec["table"]["nrows"] == 6 and ["down", 1, 2] in rec["table"]["data"]
    rec = blobs.record(plot.line_series([[0, 1], [5, 6, 7]], [[1, 2], [3, 4, 5]]))
    fig = _valid(rec)
    assert [t.name for t in fig.data] == ["key_0", "key_1"] and list(fig.data[1].x) == [5, 6, 7]


def test_plotly_figure_can_be_wrapped(blobs):
    figure = go.Figure(go.Scatter(x=np.arange(3), y=np.array([1.0, np.nan, 2.0])))
    rec = blobs.record(plot.Plot.from_figure(figure, title="mine"))
    assert rec["kind"] == "plotly" and rec["title"] == "mine"
    assert rec["figure"]["data"][0]["y"] == [1.0, None, 2.0]
    assert len(_valid(rec).data) == 1
    heat = go.Figure(go.Heatmap(z=np.arange(6).reshape(2, 3)))
    assert blobs.record(plot.Plot.from_figure(heat))["figure"]["data"][0]["z"] == [
        [0, 1, 2],
        [3, 4, 5],
    ]


def test_bad_arguments_name_the_problem(runs_table):
    with pytest.raises(TypeError, match="Table"):
        plot.line({"step": [1]}, "step", "loss")
    with pytest.raises(ValueError, match="y='acc' is not a column"):
        plot.line(runs_table, "step", "acc")
    with pytest.raises(ValueError, match="stroke='color'"):
        plot.line(runs_table, "step", "loss", stroke="color")
    with pytest.raises(TypeError, match="must hold numbers"):
        plot.histogram(runs_table, "run")
    with pytest.raises(ValueError, match="list of series"):
        plot.line_series([0, 1], [1, 2])
    with pytest.raises(ValueError, match="xs has 3 series but ys has 2"):
        plot.line_series([[0], [1], [2]], [[1], [2]])
    with pytest.raises(ValueError, match="2 x values but 3 y values"):
        plot.line_series([0, 1], [[1, 2, 3]])
    with pytest.raises(ValueError, match="keys has 1 names"):
        plot.line_series([0], [[1], [2]], keys=["only"])
