"""``wandb.sklearn``: the common scikit-learn plots, logged to the current run.

Each function computes the chart with :mod:`labtrack.plot` and logs it under wandb's
key (``confusion_matrix``, ``roc``, ``pr`` ...). The wandb plots that fit models
themselves (learning curve, elbow, silhouette, outlier candidates, summary metrics)
are not supported and raise an error naming them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labtrack.compat.errors import unsupported


def _log(values: dict[str, Any]) -> None:
    from labtrack.compat.names import _active_run

    _active_run("wandb.sklearn").log(values)


def plot_confusion_matrix(y_true: Any = None, y_pred: Any = None,
                          labels: Sequence[Any] | None = None, true_labels: Any = None,
                          pred_labels: Any = None, normalize: bool = False) -> None:
    """Log a confusion matrix of ``y_true`` against ``y_pred`` as ``confusion_matrix``."""
    from labtrack import plot

    _log({"confusion_matrix": plot.confusion_matrix(y_true=y_true, preds=y_pred,
                                                    class_names=_names(labels))})


def plot_roc(y_true: Any = None, y_probas: Any = None, labels: Sequence[Any] | None = None,
             plot_micro: bool = True, plot_macro: bool = True,
             classes_to_plot: Sequence[Any] | None = None) -> None:
    """Log per-class ROC curves from class probabilities as ``roc``."""
    from labtrack import plot

    _log({"roc": plot.roc_curve(y_true, y_probas, labels=_names(labels),
                                classes_to_plot=classes_to_plot)})


def plot_precision_recall(y_true: Any = None, y_probas: Any = None,
                          labels: Sequence[Any] | None = None, plot_micro: bool = True,
                          classes_to_plot: Sequence[Any] | None = None) -> None:
    """Log per-class precision-recall curves as ``pr``."""
    from labtrack import plot

    _log({"pr": plot.pr_curve(y_true, y_probas, labels=_names(labels),
                              classes_to_plot=classes_to_plot)})


def plot_calibration_curve(clf: Any = None, X: Any = None, y: Any = None,  # noqa: N803
                           clf_name: str = "Classifier") -> None:
    """Log the calibration curve of a *fitted* classifier on ``X``, ``y`` as ``calibration_curve``.

    Unlike wandb, the classifier is not refitted with calibration variants.
    """
    from labtrack import plot

    _log({"calibration_curve": plot.calibration_curve(y, clf.predict_proba(X),
                                                      title=f"Calibration: {clf_name}")})


def plot_feature_importances(model: Any = None, feature_names: Sequence[str] | None = None,
                             title: str = "Feature Importance", max_num_features: int = 50
                             ) -> None:
    """Log a bar chart of ``feature_importances_`` (or ``coef_``) as ``feature_importances``."""
    import numpy as np

    from labtrack import Table, plot

    values = getattr(model, "feature_importances_", None)
    if values is None and getattr(model, "coef_", None) is not None:
        values = np.abs(np.asarray(model.coef_, dtype=float)).reshape(-1, model.coef_.shape[-1])
        values = values.mean(axis=0)
    if values is None:
        raise ValueError("plot_feature_importances needs a fitted model with "
                         "feature_importances_ or coef_")
    values = np.asarray(values, dtype=float)
    names = list(feature_names) if feature_names is not None else [
        f"feature_{i}" for i in range(len(values))]
    order = np.argsort(-values)[:max_num_features]
    table = Table(columns=["feature", "importance"],
                  data=[[str(names[i]), float(values[i])] for i in order])
    _log({"feature_importances": plot.bar(table, "feature", "importance", title=title)})


def plot_class_proportions(y_train: Any = None, y_test: Any = None,
                           labels: Sequence[Any] | None = None) -> None:
    """Log the share of each class in the train and test labels as ``class_proportions``."""
    import numpy as np

    from labtrack import Table, plot

    train, test = np.asarray(y_train), np.asarray(y_test)
    classes = np.unique(np.concatenate([train, test]))
    names = _names(labels)
    table = Table(columns=["class", "split", "count"])
    for split, values in (("train", train), ("test", test)):
        for c in classes:
            name = names[int(c)] if names and np.issubdtype(classes.dtype, np.integer) else str(c)
            table.add_data(f"{name} ({split})", split, int((values == c).sum()))
    _log({"class_proportions": plot.bar(table, "class", "count", title="Class Proportions")})


def plot_residuals(model: Any = None, X: Any = None, y: Any = None) -> None:  # noqa: N803
    """Log the residual charts of a fitted regressor on ``X``, ``y``."""
    from labtrack import plot

    report = plot.regression_report(y, model.predict(X))
    _log({"residuals": report["residuals"], "error_histogram": report["error_histogram"]})


def plot_regressor(model: Any = None, X_train: Any = None, X_test: Any = None,  # noqa: N803
                   y_train: Any = None, y_test: Any = None, model_name: str = "Ridge") -> None:
    """Log labtrack's regression report of a fitted regressor on the test split."""
    from labtrack import plot

    _log(plot.regression_report(y_test, model.predict(X_test)))


def plot_classifier(model: Any = None, X_train: Any = None, X_test: Any = None,  # noqa: N803
                    y_train: Any = None, y_test: Any = None, y_pred: Any = None,
                    y_probas: Any = None, labels: Sequence[Any] | None = None,
                    is_binary: bool = False, model_name: str = "Classifier",
                    feature_names: Sequence[str] | None = None, log_learning_curve: bool = False
                    ) -> None:
    """Log labtrack's classification report (confusion matrix, ROC, PR, calibration, per class)."""
    from labtrack import plot

    if y_pred is None:
        y_pred = model.predict(X_test)
    if y_probas is None and hasattr(model, "predict_proba"):
        y_probas = model.predict_proba(X_test)
    _log(plot.classification_report(y_test, y_pred, y_probas, labels=_names(labels)))
    if feature_names is not None and (hasattr(model, "feature_importances_")
                                      or hasattr(model, "coef_")):
        plot_feature_importances(model, feature_names)


def _names(labels: Sequence[Any] | None) -> list[str] | None:
    return None if labels is None else [str(x) for x in labels]


def _unsupported(name: str) -> Any:
    def plot(*args: Any, **kwargs: Any) -> None:
        raise unsupported(f"wandb.sklearn.{name}()", "log the values with wandb.log() or a "
                                                     "chart from wandb.plot")

    plot.__name__ = name
    plot.__doc__ = f"``wandb.sklearn.{name}``: not supported by labtrack (raises)."
    return plot


plot_learning_curve = _unsupported("plot_learning_curve")
plot_summary_metrics = _unsupported("plot_summary_metrics")
plot_elbow_curve = _unsupported("plot_elbow_curve")
plot_silhouette = _unsupported("plot_silhouette")
plot_clusterer = _unsupported("plot_clusterer")
plot_outlier_candidates = _unsupported("plot_outlier_candidates")

__all__ = [
    "plot_calibration_curve",
    "plot_class_proportions",
    "plot_classifier",
    "plot_clusterer",
    "plot_confusion_matrix",
    "plot_elbow_curve",
    "plot_feature_importances",
    "plot_learning_curve",
    "plot_outlier_candidates",
    "plot_precision_recall",
    "plot_regressor",
    "plot_residuals",
    "plot_roc",
    "plot_silhouette",
    "plot_summary_metrics",
]
