"""Classifier charts checked against scikit-learn on real data."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn import metrics
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

from labtrack import plot
from labtrack.media import Table


def _area(trace: dict) -> float:
    """Area under a curve, computed from the figure's own points."""
    x, y = np.asarray(trace["x"]), np.asarray(trace["y"])
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def _class_traces(record: dict) -> list[dict]:
    return [t for t in record["figure"]["data"] if "meta" in t]


def test_perfect_classifier_has_roc_area_one(blobs):
    y = np.array([0, 0, 0, 1, 1, 1, 0, 1])
    scores = np.where(y == 1, 0.9, 0.1) + np.linspace(0, 0.05, 8)
    rec = blobs.record(plot.roc_curve(y, scores))
    go.Figure(rec["figure"])
    (trace,) = _class_traces(rec)  # binary 1-D scores: the positive class only
    assert _area(trace) == pytest.approx(1.0)
    assert trace["meta"]["AUC"] == pytest.approx(1.0)


def test_random_classifier_has_roc_area_near_half(blobs):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    probas = rng.random((4000, 2))
    rec = blobs.record(plot.roc_curve(y, probas))
    traces = _class_traces(rec)
    assert len(traces) == 2
    for trace in traces:
        assert len(trace["x"]) <= 1000  # downsampled from ~4000 thresholds
        assert _area(trace) == pytest.approx(0.5, abs=0.04)


def test_roc_and_pr_match_sklearn(blobs):
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 3000)
    scores = np.clip(y * 0.3 + rng.normal(0.35, 0.25, 3000), 0, 1)
    roc = blobs.record(plot.roc_curve(y, scores))
    (trace,) = _class_traces(roc)
    auc = metrics.roc_auc_score(y, scores)
    assert trace["meta"]["AUC"] == pytest.approx(auc, abs=1e-12)
    assert _area(trace) == pytest.approx(auc, abs=0.005)  # from the downsampled points
    assert roc["table"]["columns"] == ["class", "False positive rate", "True positive rate"]
    pr = blobs.record(plot.pr_curve(y, scores))
    (trace,) = _class_traces(pr)
    assert trace["meta"]["AP"] == pytest.approx(metrics.average_precision_score(y, scores))
    go.Figure(pr["figure"])


def test_confusion_matrix_equals_sklearn(blobs):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 4, 500)
    preds = np.where(rng.random(500) < 0.7, y, rng.integers(0, 4, 500))
    rec = blobs.record(plot.confusion_matrix(y_true=y, preds=preds, class_names=list("abcd")))
    heat = rec["figure"]["data"][0]
    np.testing.assert_array_equal(heat["z"], metrics.confusion_matrix(y, preds))
    assert heat["x"] == heat["y"] == ["a", "b", "c", "d"]
    assert rec["table"]["columns"] == ["Actual", "Predicted", "nPredictions"]
    assert sum(row[2] for row in rec["table"]["data"]) == 500
    go.Figure(rec["figure"])
    # The same from scores: the prediction is the arg-max.
    probs = np.eye(4)[preds] * 0.7 + 0.1
    rec = blobs.record(plot.confusion_matrix(probs=probs, y_true=y))
    np.testing.assert_array_equal(rec["figure"]["data"][0]["z"], metrics.confusion_matrix(y, preds))


def test_confusion_matrix_with_string_labels(blobs):
    y = ["cat", "dog", "dog", "bird", "cat"]
    preds = ["cat", "cat", "dog", "bird", "dog"]
    rec = blobs.record(plot.confusion_matrix(y_true=y, preds=preds))
    heat = rec["figure"]["data"][0]
    labels = sorted(set(y))
    assert heat["x"] == labels
    np.testing.assert_array_equal(heat["z"], metrics.confusion_matrix(y, preds, labels=labels))


@pytest.fixture(scope="module")
def digits_model():
    x, y = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x / 16.0, y, test_size=0.3, random_state=0)
    model = LogisticRegression(max_iter=300).fit(x_train, y_train)
    return y_test, model.predict(x_test), model.predict_proba(x_test)


def test_classification_report_on_digits(blobs, digits_model):
    y, pred, probas = digits_model
    names = [f"digit {i}" for i in range(10)]
    report = plot.classification_report(y, pred, probas=probas, labels=names)
    assert set(report) == {"confusion_matrix", "per_class", "roc", "pr", "calibration"}
    records = {key: blobs.record(media) for key, media in report.items()}
    for rec in records.values():
        if rec["_type"] == "plot":
            go.Figure(rec["figure"])
    np.testing.assert_array_equal(
        records["confusion_matrix"]["figure"]["data"][0]["z"], metrics.confusion_matrix(y, pred)
    )
    per_class = report["per_class"]
    assert isinstance(per_class, Table)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(y, pred)
    assert per_class.get_column("class")[:10] == names
    np.testing.assert_allclose(per_class.get_column("precision")[:10], precision)
    np.testing.assert_allclose(per_class.get_column("recall")[:10], recall)
    np.testing.assert_allclose(per_class.get_column("f1")[:10], f1)
    assert per_class.get_column("support")[:10] == support.tolist()
    macro = per_class.data[10]
    assert macro[0] == "macro avg"
    assert macro[3] == pytest.approx(metrics.f1_score(y, pred, average="macro"))
    assert per_class.data[11][3] == pytest.approx(metrics.f1_score(y, pred, average="weighted"))
    roc = _class_traces(records["roc"])
    assert [t["meta"]["class"] for t in roc] == names
    for i, trace in enumerate(roc):
        expected = metrics.roc_auc_score(y == i, probas[:, i])
        assert trace["meta"]["AUC"] == pytest.approx(expected)
        assert _area(trace) == pytest.approx(expected, abs=1e-9)  # few points: none dropped
    calibration = records["calibration"]
    assert sum(row[2] for row in calibration["table"]["data"]) == len(y)
    ece = _class_traces(calibration)[0]["meta"]["ece"]
    assert 0 <= ece < 0.2


def test_report_without_probas_and_with_string_classes(blobs):
    y = ["no", "yes", "yes", "no", "yes"]
    pred = ["no", "yes", "no", "no", "yes"]
    report = plot.classification_report(y, pred)
    assert set(report) == {"confusion_matrix", "per_class"}
    rows = {row[0]: row for row in blobs.record(report["per_class"])["data"]}
    assert rows["yes"][1:] == pytest.approx([1.0, 2 / 3, 0.8, 3])
    assert rows["no"][1:] == pytest.approx([2 / 3, 1.0, 0.8, 2])


def test_binary_string_classes_with_positive_scores(blobs):
    y = np.array(["neg", "pos", "pos", "neg", "pos", "neg"])
    p_pos = np.array([0.2, 0.8, 0.7, 0.3, 0.4, 0.6])
    rec = blobs.record(plot.roc_curve(y, p_pos))
    (trace,) = _class_traces(rec)
    assert trace["meta"]["class"] == "pos"
    assert trace["meta"]["AUC"] == pytest.approx(metrics.roc_auc_score(y == "pos", p_pos))
    rec = blobs.record(plot.roc_curve(y, np.c_[1 - p_pos, p_pos], classes_to_plot=["neg"]))
    assert [t["meta"]["class"] for t in _class_traces(rec)] == ["neg"]


def test_bad_input_names_the_problem():
    y = np.array([0, 1, 2, 1])
    probas = np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match="exactly one of probs or preds"):
        plot.confusion_matrix(probs=probas, y_true=y, preds=y)
    with pytest.raises(ValueError, match="needs y_true"):
        plot.confusion_matrix(preds=y)
    with pytest.raises(ValueError, match="preds has 3 values but y_true has 4"):
        plot.confusion_matrix(y_true=y, preds=y[:3])
    with pytest.raises(ValueError, match="labels has 2 names but there are 3 classes"):
        plot.roc_curve(y, probas, labels=["a", "b"])
    with pytest.raises(ValueError, match="has 3 rows but y_true has 4"):
        plot.roc_curve(y, probas[:3])
    with pytest.raises(ValueError, match="cannot match the classes"):
        plot.roc_curve(np.array([0, 5, 7, 9]), probas)
    with pytest.raises(ValueError, match="classes_to_plot"):
        plot.pr_curve(y, probas, classes_to_plot=[9])
    with pytest.raises(ValueError, match="NaN"):
        plot.roc_curve(y, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="1-D"):
        plot.classification_report(np.zeros((2, 2)), y)
    with pytest.raises(TypeError, match="sequence"):
        plot.classification_report("abc", "abd")
    with pytest.raises(ValueError, match=r"classes found \[0, 1, 2\] to labels \['a', 'b'\]"):
        plot.confusion_matrix(y_true=y, preds=y, class_names=["a", "b"])
