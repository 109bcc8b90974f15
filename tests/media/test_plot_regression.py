"""regression_report: charts and metrics checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn import metrics
from sklearn.datasets import load_diabetes
from sklearn.linear_model import Ridge

from labtrack import plot
from labtrack.media import Table


@pytest.fixture(scope="module")
def diabetes():
    x, y = load_diabetes(return_X_y=True)
    return y, Ridge(alpha=0.1).fit(x, y).predict(x)


def test_metrics_match_sklearn(blobs, diabetes):
    y, pred = diabetes
    report = plot.regression_report(y, pred)
    assert set(report) == {"pred_vs_actual", "residuals", "error_histogram", "metrics"}
    table = report["metrics"]
    assert isinstance(table, Table)
    values = dict(zip(table.get_column("metric"), table.get_column("value"), strict=True))
    assert values["MAE"] == pytest.approx(metrics.mean_absolute_error(y, pred))
    assert values["RMSE"] == pytest.approx(np.sqrt(metrics.mean_squared_error(y, pred)))
    assert values["R2"] == pytest.approx(metrics.r2_score(y, pred))
    assert values["n"] == len(y)
    for media in report.values():
        rec = blobs.record(media)
        if rec["_type"] == "plot":
            go.Figure(rec["figure"])


def test_charts_hold_the_data(blobs, diabetes):
    y, pred = diabetes
    report = {key: blobs.record(media) for key, media in plot.regression_report(y, pred).items()}
    points, identity = report["pred_vs_actual"]["figure"]["data"]
    np.testing.assert_allclose(points["x"], y)
    np.testing.assert_allclose(points["y"], pred)
    lo, hi = min(y.min(), pred.min()), max(y.max(), pred.max())
    assert identity["x"] == identity["y"] == pytest.approx([lo, hi])
    residuals = report["residuals"]["figure"]["data"][0]
    np.testing.assert_allclose(residuals["x"], pred)
    np.testing.assert_allclose(residuals["y"], y - pred)
    bars = report["error_histogram"]["figure"]["data"][0]
    assert sum(bars["y"]) == len(y)


def test_big_inputs_are_downsampled_in_scatters(blobs):
    rng = np.random.default_rng(0)
    y = rng.normal(size=50_000)
    rec = blobs.record(plot.regression_report(y, y + rng.normal(0, 0.1, y.size))["residuals"])
    assert len(rec["figure"]["data"][0]["x"]) <= 5000


def test_constant_target_follows_sklearn_r2():
    y = np.ones(5)
    values = plot.regression_report(y, y)["metrics"].get_column("value")
    assert values[2] == metrics.r2_score(y, y) == 1.0
    values = plot.regression_report(y, y + 1)["metrics"].get_column("value")
    assert values[2] == metrics.r2_score(y, y + 1) == 0.0


def test_bad_input_names_the_problem():
    with pytest.raises(ValueError, match="y_pred has 2 values but y_true has 3"):
        plot.regression_report([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="y_pred contains NaN"):
        plot.regression_report([1, 2, 3], [1, np.nan, 3])
    with pytest.raises(TypeError, match="y_true must be numbers"):
        plot.regression_report(["a", "b"], [1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        plot.regression_report([1], [1])
