"""Classifier charts: confusion matrix, ROC, precision-recall, calibration, and a report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labtrack.media.base import Media
from labtrack.media.table import Table
from labtrack.plot import _curves
from labtrack.plot._figure import MAX_CURVE_POINTS, Plot, diagonal, downsample_indices, layout

_MAX_FULL_MATRIX = 10_000  # beyond this many cells the table lists only non-zero ones


def _matrix_plot(matrix: Any, names: list[str], title: str | None) -> Plot:
    n = len(names)
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(n):
        for j in range(n):
            if n * n <= _MAX_FULL_MATRIX or matrix[i, j]:
                table.add_data(names[i], names[j], int(matrix[i, j]))
    trace = {
        "type": "heatmap",
        "z": matrix.tolist(),
        "x": names,
        "y": names,
        "colorscale": "Blues",
        "text": [[str(int(v)) for v in row] for row in matrix],
        "texttemplate": "%{text}",
        "hovertemplate": "actual %{y}<br>predicted %{x}<br>%{z}<extra></extra>",
    }
    fig = {
        "data": [trace],
        "layout": layout(
            title,
            "Predicted",
            "Actual",
            xaxis={"title": {"text": "Predicted"}, "type": "category"},
            yaxis={"title": {"text": "Actual"}, "type": "category", "autorange": "reversed"},
        ),
    }
    return Plot("confusion_matrix", fig, table=table, title=title)


def confusion_matrix(
    probs: Any = None,
    y_true: Any = None,
    preds: Any = None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
) -> Plot:
    """A confusion-matrix heatmap, like ``wandb.plot.confusion_matrix``.

    Args:
        probs: (n, k) class scores; the prediction is each row's arg-max. Give
            this or ``preds``, not both.
        y_true: the true classes.
        preds: the predicted classes.
        class_names: class names; with integer classes, ``class_names[i]`` names class i.
        title: the chart title.

    Raises:
        ValueError: for missing or conflicting inputs, unequal lengths, or classes
            that do not match ``class_names``.
    """
    if y_true is None:
        raise ValueError("confusion_matrix needs y_true")
    if (probs is None) == (preds is None):
        raise ValueError("confusion_matrix needs exactly one of probs or preds")
    y = _curves.as_1d(y_true, "y_true")
    n_columns = None
    if probs is not None:
        scores, _ = _curves.as_probas(probs, len(y), "probs")
        pred = scores.argmax(axis=1)
        n_columns = scores.shape[1]
        classes, names = _curves.resolve_classes(y, n_columns, class_names)
        pred_idx = pred
    else:
        pred = _curves.as_1d(preds, "preds")
        if len(pred) != len(y):
            raise ValueError(f"preds has {len(pred)} values but y_true has {len(y)}")
        import numpy as np

        classes, names = _curves.resolve_classes(np.concatenate([y, pred]), None, class_names)
        pred_idx = _curves.class_index(pred, classes, "preds")
    true_idx = _curves.class_index(y, classes, "y_true")
    matrix = _curves.confusion(true_idx, pred_idx, len(classes))
    return _matrix_plot(matrix, names, title if title is not None else "Confusion Matrix")


def _per_class_curves(
    y_true: Any,
    y_probas: Any,
    labels: Sequence[Any] | None,
    classes_to_plot: Sequence[Any] | None,
) -> list[tuple[str, Any, Any]]:
    """``(name, is-positive mask, scores)`` for each class to draw, one-vs-rest."""
    y = _curves.as_1d(y_true, "y_true")
    scores, binary = _curves.as_probas(y_probas, len(y))
    classes, names = _curves.resolve_classes(y, scores.shape[1], labels)
    true_idx = _curves.class_index(y, classes, "y_true")
    if classes_to_plot is None:
        columns = [1] if binary else list(range(len(classes)))
    else:
        lookup = {c: i for i, c in enumerate(classes)}
        unknown = [c for c in classes_to_plot if c not in lookup]
        if unknown:
            raise ValueError(f"classes_to_plot holds unknown classes {unknown}; classes: {classes}")
        columns = [lookup[c] for c in classes_to_plot]
    out = []
    for col in columns:
        positive = true_idx == col
        if 0 < positive.sum() < len(positive):  # a curve needs positives and negatives
            out.append((names[col], positive, scores[:, col]))
    if not out:
        raise ValueError("no class to plot has both positive and negative examples in y_true")
    return out


def _curve_plot(
    kind: str,
    curves: list[tuple[str, Any, Any, float]],
    score_name: str,
    axes: tuple[str, str],
    title: str,
    reference: dict[str, Any] | None,
) -> Plot:
    from labtrack.plot._figure import num_list

    table = Table(columns=["class", axes[0], axes[1]])
    traces = []
    for name, x, y, score in curves:
        idx = downsample_indices(len(x), MAX_CURVE_POINTS)
        x, y = x[idx], y[idx]
        for xv, yv in zip(x.tolist(), y.tolist(), strict=True):
            table.add_data(name, xv, yv)
        traces.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": num_list(x),
                "y": num_list(y),
                "name": f"{name} ({score_name} {score:.3f})",
                "meta": {"class": name, score_name: score},
            }
        )
    if reference is not None:
        traces.append(reference)
    box = {"range": [0, 1.01], "constrain": "domain"}
    fig = {
        "data": traces,
        "layout": layout(
            title,
            xaxis={"title": {"text": axes[0]}, **box},
            yaxis={"title": {"text": axes[1]}, **box},
        ),
    }
    return Plot(kind, fig, table=table, title=title)


def roc_curve(
    y_true: Any,
    y_probas: Any,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    title: str | None = None,
) -> Plot:
    """One-vs-rest ROC curves with their AUC, like ``wandb.plot.roc_curve``.

    Args:
        y_true: the true classes.
        y_probas: (n, k) class scores (column i is class i, or the i-th sorted
            class), or 1-D positive-class scores for a binary problem.
        labels: class names, one per column.
        classes_to_plot: the classes (values of ``y_true``) to draw; default all.
        title: the chart title.

    Raises:
        ValueError: for mismatched shapes or classes.
    """
    curves = [
        (name, *_curves.roc(pos, s))
        for name, pos, s in _per_class_curves(y_true, y_probas, labels, classes_to_plot)
    ]
    return _curve_plot(
        "roc_curve",
        curves,
        "AUC",
        ("False positive rate", "True positive rate"),
        title if title is not None else "ROC",
        diagonal(0.0, 1.0, "chance"),
    )


def pr_curve(
    y_true: Any,
    y_probas: Any,
    labels: Sequence[Any] | None = None,
    classes_to_plot: Sequence[Any] | None = None,
    title: str | None = None,
) -> Plot:
    """One-vs-rest precision-recall curves with average precision, like ``wandb.plot.pr_curve``.

    Arguments as for :func:`roc_curve`.

    Raises:
        ValueError: for mismatched shapes or classes.
    """
    curves = [
        (name, *_curves.precision_recall(pos, s))
        for name, pos, s in _per_class_curves(y_true, y_probas, labels, classes_to_plot)
    ]
    return _curve_plot(
        "pr_curve",
        curves,
        "AP",
        ("Recall", "Precision"),
        title if title is not None else "Precision v. Recall",
        None,
    )


def calibration_curve(
    y_true: Any,
    y_probas: Any,
    labels: Sequence[Any] | None = None,
    n_bins: int = 10,
    title: str | None = None,
) -> Plot:
    """A reliability diagram: accuracy against confidence in ``n_bins`` bins, with the ECE.

    Binary problems (1-D scores) use the positive-class probability; multi-class
    ones use the top-label confidence (the highest score of each row).

    Raises:
        ValueError: for mismatched shapes or classes, or ``n_bins`` below 1.
    """
    import numpy as np

    if not isinstance(n_bins, int) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int, got {n_bins!r}")
    y = _curves.as_1d(y_true, "y_true")
    scores, binary = _curves.as_probas(y_probas, len(y))
    classes, _ = _curves.resolve_classes(y, scores.shape[1], labels)
    true_idx = _curves.class_index(y, classes, "y_true")
    if binary:
        confidence, correct = scores[:, 1], true_idx == 1
        axis_name = "Predicted probability of the positive class"
        y_name = "Fraction of positives"
    else:
        confidence, correct = scores.max(axis=1), scores.argmax(axis=1) == true_idx
        axis_name, y_name = "Confidence", "Accuracy"
    conf, acc, count, ece = _curves.calibration(np.clip(confidence, 0, 1), correct, n_bins)
    title = title if title is not None else f"Calibration (ECE {ece:.3f})"
    table = Table(columns=["confidence", "accuracy", "count"])
    for row in zip(conf.tolist(), acc.tolist(), count.tolist(), strict=True):
        table.add_data(*row)
    traces = [
        {
            "type": "bar",
            "x": conf.tolist(),
            "y": count.tolist(),
            "name": "samples",
            "yaxis": "y2",
            "opacity": 0.25,
            "width": 1.0 / n_bins,
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "x": conf.tolist(),
            "y": acc.tolist(),
            "name": "model",
            "meta": {"ece": ece},
        },
        diagonal(0.0, 1.0, "perfectly calibrated"),
    ]
    lay = layout(
        title,
        xaxis={"title": {"text": axis_name}, "range": [0, 1]},
        yaxis={"title": {"text": y_name}, "range": [0, 1.01]},
        yaxis2={
            "title": {"text": "samples"},
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
    )
    return Plot("calibration", {"data": traces, "layout": lay}, table=table, title=title)


def _per_class_table(matrix: Any, names: list[str]) -> Table:
    """precision/recall/f1/support per class, then macro and weighted averages."""
    import numpy as np

    tp = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    table = Table(columns=["class", "precision", "recall", "f1", "support"])
    for i, name in enumerate(names):
        table.add_data(name, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
    total = int(support.sum())
    weights = support / total if total else np.zeros_like(tp)
    metrics = (precision, recall, f1)
    table.add_data("macro avg", *[float(m.mean()) for m in metrics], total)
    table.add_data("weighted avg", *[float(np.sum(m * weights)) for m in metrics], total)
    return table


def classification_report(
    y_true: Any,
    y_pred: Any,
    probas: Any = None,
    labels: Sequence[Any] | None = None,
) -> dict[str, Media]:
    """Every classifier chart at once, ready for ``run.log(...)``.

    Args:
        y_true: the true classes.
        y_pred: the predicted classes.
        probas: optional (n, k) class scores (or 1-D positive-class scores);
            adds ROC, precision-recall and calibration charts.
        labels: class names (with integer classes, ``labels[i]`` names class i).

    Returns:
        ``{"confusion_matrix", "per_class"}`` (a Table of precision, recall, f1 and
        support per class, then macro and weighted averages), plus ``"roc"``,
        ``"pr"`` and ``"calibration"`` when ``probas`` is given.

    Raises:
        ValueError: for unequal lengths or classes that do not match.
    """
    import numpy as np

    y = _curves.as_1d(y_true, "y_true")
    pred = _curves.as_1d(y_pred, "y_pred")
    if len(pred) != len(y):
        raise ValueError(f"y_pred has {len(pred)} values but y_true has {len(y)}")
    n_columns = None
    if probas is not None:
        n_columns = _curves.as_probas(probas, len(y), "probas")[0].shape[1]
    classes, names = _curves.resolve_classes(np.concatenate([y, pred]), n_columns, labels)
    matrix = _curves.confusion(
        _curves.class_index(y, classes, "y_true"),
        _curves.class_index(pred, classes, "y_pred"),
        len(classes),
    )
    report: dict[str, Media] = {
        "confusion_matrix": _matrix_plot(matrix, names, "Confusion Matrix"),
        "per_class": _per_class_table(matrix, names),
    }
    if probas is not None:
        report["roc"] = roc_curve(y, probas, labels=labels)
        report["pr"] = pr_curve(y, probas, labels=labels)
        report["calibration"] = calibration_curve(y, probas, labels=labels)
    return report
