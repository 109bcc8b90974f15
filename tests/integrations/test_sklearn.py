"""labtrack.sklearn: the fit wrapper and autolog, on real scikit-learn estimators and data."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import labtrack

pytest.importorskip("sklearn")

from sklearn import metrics  # noqa: E402
from sklearn.datasets import load_diabetes, load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402


@pytest.fixture(scope="module")
def iris() -> tuple[Any, ...]:
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]  # string classes
    rng = np.random.RandomState(0)
    order = rng.permutation(len(y))
    train, test = order[:100], order[100:]
    return X[train], names[train], X[test], names[test]


def _only_run() -> Any:
    api = labtrack.Api()
    (run,) = api.runs()
    return run


def test_labtrack_sklearn_is_the_integration_module() -> None:
    from labtrack.integrations import sklearn as module

    assert labtrack.sklearn is module
    assert callable(labtrack.sklearn.autolog) and callable(labtrack.sklearn.fit)


def test_fit_logs_params_time_metrics_and_report_charts(iris: tuple[Any, ...]) -> None:
    X, y, X_test, y_test = iris
    model = LogisticRegression(C=0.5, max_iter=300)
    fitted = labtrack.sklearn.fit(model, X, y, eval_sets={"test": (X_test, y_test)},
                                  project="sk")
    assert fitted is model and hasattr(model, "coef_")
    run = _only_run()
    assert run.project == "sk" and run.state == "finished"
    assert run.config["C"] == 0.5 and run.config["max_iter"] == 300
    assert run.config["estimator_class"] == "LogisticRegression"
    assert 0 < run.summary["fit_time"] < 60
    assert (run.summary["n_samples"], run.summary["n_features"]) == (100, 4)
    pred = model.predict(X_test)
    proba = model.predict_proba(X_test)
    expected = {
        "test/accuracy": metrics.accuracy_score(y_test, pred),
        "test/f1": metrics.f1_score(y_test, pred, average="macro"),
        "test/log_loss": metrics.log_loss(y_test, proba, labels=model.classes_),
        "train/accuracy": metrics.accuracy_score(y, model.predict(X)),
    }
    for key, value in expected.items():
        assert run.summary[key] == pytest.approx(value), key
    media = {m["key"]: m for m in run.media()}
    assert {"test/confusion_matrix", "test/per_class", "test/roc", "test/pr",
            "test/calibration"} <= set(media)
    assert not any(k.startswith("train/") for k in media)  # charts on the eval set only
    rows = media["test/per_class"]["record"]
    assert "setosa" in str(rows)


def test_regressor_metrics_and_regression_report() -> None:
    X, y = load_diabetes(return_X_y=True)
    run = labtrack.init(project="reg")
    labtrack.sklearn.fit(Ridge(alpha=0.3), X[:300], y[:300], eval_sets=[(X[300:], y[300:])])
    assert labtrack.run is run  # an active run is used, not finished
    run.finish()
    logged = _only_run()
    model = Ridge(alpha=0.3).fit(X[:300], y[:300])
    pred = model.predict(X[300:])
    assert logged.summary["eval/r2"] == pytest.approx(metrics.r2_score(y[300:], pred))
    assert logged.summary["eval/rmse"] == pytest.approx(
        math.sqrt(metrics.mean_squared_error(y[300:], pred)))
    keys = {m["key"] for m in logged.media()}
    assert {"eval/pred_vs_actual", "eval/residuals", "eval/error_histogram",
            "eval/metrics"} <= keys


def test_autolog_logs_outer_fits_once_and_disable_restores(iris: tuple[Any, ...]) -> None:
    X, y, X_test, y_test = iris
    original = LogisticRegression.fit
    labtrack.sklearn.autolog(project="auto", eval_sets={"val": (X_test, y_test)})
    try:
        assert LogisticRegression.fit is not original
        make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
        search = GridSearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1.0]}, cv=3)
        search.fit(X, y)
    finally:
        labtrack.sklearn.autolog(disable=True)
    assert LogisticRegression.fit is original
    LogisticRegression(max_iter=300).fit(X, y)  # not logged any more
    runs = {r.config["estimator_class"]: r for r in labtrack.Api().runs(project="auto")}
    assert set(runs) == {"Pipeline", "GridSearchCV"}  # inner and CV fits are not runs
    assert runs["Pipeline"].summary["val/accuracy"] > 0.8
    grid = runs["GridSearchCV"]
    assert grid.config["best_params"] == search.best_params_
    assert grid.summary["best_score"] == pytest.approx(search.best_score_)
    assert len(labtrack.Api().runs()) == 2


def test_a_failing_fit_marks_the_run_failed_and_raises(iris: tuple[Any, ...]) -> None:
    X, y, _, _ = iris
    with pytest.raises(ValueError):
        labtrack.sklearn.fit(LogisticRegression(), X, y[:10], project="bad")
    assert _only_run().state == "failed"
