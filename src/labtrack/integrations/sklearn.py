"""scikit-learn: log every ``fit`` (``labtrack.sklearn.autolog()``), or one (``.fit(...)``).

What a fit logs:

* config: ``get_params()`` (objects as their repr) and ``estimator_class``; a
  search (``GridSearchCV`` ...) adds ``best_params`` and the ``best_score`` summary;
* ``fit_time`` (seconds), and the number of samples and features, in the summary;
* metrics on the training data (``train/...``) and on each eval set
  (``<name>/...``): accuracy, precision, recall and F1 (macro), plus log loss
  and ROC AUC when the model gives probabilities, for classifiers; MAE, MSE,
  RMSE and R2 for regressors;
* charts on each eval set (on the training data when none is given):
  :func:`labtrack.plot.classification_report` or
  :func:`labtrack.plot.regression_report`, under ``<name>/<chart>``.

With no active run, each fit starts a run and finishes it. Only the outermost
fit logs: a ``Pipeline`` or ``GridSearchCV`` fitting inner estimators logs once.
The wandb-style ``labtrack.sklearn.plot_*`` functions (from the wandb
compatibility layer) are reachable here too.
"""

from __future__ import annotations

import functools
import math
import sys
import threading
import time
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from ._common import active_run, plain_config

EvalSets = Mapping[str, tuple[Any, Any]] | Sequence[tuple[Any, Any]] | None

_lock = threading.Lock()
_depth = 0
_patched: dict[type, Any] = {}
_options: dict[str, Any] = {}


def _named(eval_sets: EvalSets) -> list[tuple[str, Any, Any]]:
    if not eval_sets:
        return []
    if isinstance(eval_sets, Mapping):
        return [(str(name), X, y) for name, (X, y) in eval_sets.items()]
    return [(f"eval_{i}" if len(eval_sets) > 1 else "eval", X, y)
            for i, (X, y) in enumerate(eval_sets)]


def fit(estimator: Any, X: Any, y: Any = None, *, eval_sets: EvalSets = None,  # noqa: N803
        run: Any = None, plots: bool = True, log_train: bool = True,
        project: str | None = None, **fit_params: Any) -> Any:
    """Fit ``estimator`` on ``X, y`` and log it (see the module docstring); returns it.

    Args:
        eval_sets: ``{"val": (X_val, y_val)}`` or a list of ``(X, y)`` pairs.
        run: the run to log to (default: the active run, else a new one in ``project``).
        plots: log the classification or regression report charts.
        log_train: also log metrics on the training data.
        **fit_params: passed to ``estimator.fit``.
    """
    return _fit_logged(estimator, estimator.fit, (X, y) if y is not None else (X,),
                       fit_params, _named(eval_sets), run, plots, log_train, project)


def _fit_logged(estimator: Any, fit_method: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any], eval_sets: list[tuple[str, Any, Any]], run: Any,
                plots: bool, log_train: bool, project: str | None) -> Any:
    global _depth
    with _lock:
        _depth += 1  # fits inside this one (and inside the metrics) are not logged
    try:
        run, started = active_run(run, project=project, job_type="sklearn")
        try:
            start = time.perf_counter()
            result = fit_method(*args, **kwargs)
            elapsed = time.perf_counter() - start
        except BaseException:
            if started:
                run.finish(exit_code=1)
            raise
        try:
            X = args[0] if args else kwargs.get("X")  # noqa: N806
            y = args[1] if len(args) > 1 else kwargs.get("y")
            log_fit(run, estimator, elapsed, X, y, eval_sets, plots, log_train)
        except Exception as err:  # noqa: BLE001 - logging must never break the user's fit
            warnings.warn(f"labtrack.sklearn could not log the fit of "
                          f"{type(estimator).__name__}: {type(err).__name__}: {err}",
                          UserWarning, stacklevel=3)
        finally:
            if started:
                run.finish()
        return result
    finally:
        with _lock:
            _depth -= 1


def log_fit(run: Any, estimator: Any, fit_time: float, X: Any, y: Any,  # noqa: N803
            eval_sets: list[tuple[str, Any, Any]], plots: bool = True,
            log_train: bool = True) -> None:
    """Log a fitted estimator: params, fit time, metrics and charts (see the module docstring)."""
    params = plain_config(estimator.get_params(deep=True))
    run.config.update({**params, "estimator_class": type(estimator).__name__},
                      allow_val_change=True)
    if hasattr(estimator, "best_params_"):  # a search (GridSearchCV ...): what it found
        run.config.update({"best_params": plain_config(estimator.best_params_)},
                          allow_val_change=True)
        run.summary["best_score"] = float(estimator.best_score_)
    run.summary["fit_time"] = fit_time
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 1:
        run.summary["n_samples"] = int(shape[0])
        if len(shape) > 1:
            run.summary["n_features"] = int(shape[1])
    sets = list(eval_sets)
    if y is not None and (log_train or not sets):
        sets.insert(0, ("train", X, y))
    values: dict[str, Any] = {}
    for name, Xs, ys in sets:  # noqa: N806
        values.update({f"{name}/{k}": v for k, v in metrics(estimator, Xs, ys).items()})
    if plots:
        chart_sets = [s for s in sets if s[0] != "train"] or sets[:1]
        for name, Xs, ys in chart_sets:  # noqa: N806
            values.update({f"{name}/{k}": v for k, v in charts(estimator, Xs, ys).items()})
    if values:
        run.log(values)


def _kind(estimator: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(estimator):
        return "classifier"
    if is_regressor(estimator):
        return "regressor"
    return "other"


def _probas(estimator: Any, X: Any) -> Any:  # noqa: N803
    if not hasattr(estimator, "predict_proba"):
        return None
    try:
        return estimator.predict_proba(X)
    except (AttributeError, NotImplementedError, ValueError):  # e.g. SVC(probability=False)
        return None


def metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:  # noqa: N803
    """Standard metrics of a fitted classifier or regressor on ``X, y``."""
    from sklearn import metrics as m

    kind = _kind(estimator)
    if kind == "other" or y is None:
        return {}
    pred = estimator.predict(X)
    if kind == "regressor":
        mse = float(m.mean_squared_error(y, pred))
        return {"mae": float(m.mean_absolute_error(y, pred)), "mse": mse,
                "rmse": math.sqrt(mse), "r2": float(m.r2_score(y, pred))}
    out = {"accuracy": float(m.accuracy_score(y, pred))}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undefined precision for a class never predicted
        for name, func in (("precision", m.precision_score), ("recall", m.recall_score),
                           ("f1", m.f1_score)):
            out[name] = float(func(y, pred, average="macro", zero_division=0))
    probas = _probas(estimator, X)
    if probas is not None:
        classes = list(estimator.classes_)
        try:
            out["log_loss"] = float(m.log_loss(y, probas, labels=classes))
            if len(classes) == 2:
                out["roc_auc"] = float(m.roc_auc_score(y, probas[:, 1]))
            else:
                out["roc_auc"] = float(m.roc_auc_score(y, probas, multi_class="ovr",
                                                       labels=classes))
        except ValueError:  # a class missing from y: AUC is undefined
            pass
    return out


def charts(estimator: Any, X: Any, y: Any) -> dict[str, Any]:  # noqa: N803
    """The classification or regression report charts of a fitted estimator on ``X, y``."""
    import numpy as np

    import labtrack

    kind = _kind(estimator)
    if kind == "other" or y is None:
        return {}
    pred = estimator.predict(X)
    if kind == "regressor":
        return dict(labtrack.plot.regression_report(np.asarray(y, dtype=float),
                                                    np.asarray(pred, dtype=float)))
    classes = list(estimator.classes_)
    index = {c: i for i, c in enumerate(classes)}
    y_idx = np.array([index[v] for v in np.asarray(y).tolist()], dtype=np.int64)
    pred_idx = np.array([index[v] for v in np.asarray(pred).tolist()], dtype=np.int64)
    probas = _probas(estimator, X)
    return dict(labtrack.plot.classification_report(y_idx, pred_idx, probas,
                                                    labels=[str(c) for c in classes]))


# -- autolog -------------------------------------------------------------------------
def autolog(eval_sets: EvalSets = None, plots: bool = True, log_train: bool = True,
            project: str | None = None, disable: bool = False) -> None:
    """Log every scikit-learn ``fit`` from now on (``disable=True`` undoes it).

    Args:
        eval_sets: data to score every fitted model on, ``{"val": (X, y)}``.
        plots: log the report charts.
        log_train: log metrics on the training data.
        project: project of the runs started for fits made with no active run.
    """
    if disable:
        for cls, original in _patched.items():
            cls.fit = original  # type: ignore[attr-defined]
        _patched.clear()
        return
    _options.update(eval_sets=_named(eval_sets), plots=plots, log_train=log_train,
                    project=project)
    for cls in _estimator_classes():
        original = cls.__dict__.get("fit")
        if original is None or cls in _patched or not callable(original):
            continue
        _patched[cls] = original
        cls.fit = _patch(original)  # type: ignore[attr-defined]


def _estimator_classes() -> set[type]:
    """Every scikit-learn estimator class, meta-estimators (Pipeline, GridSearchCV) included."""
    from sklearn.base import BaseEstimator
    from sklearn.utils import all_estimators

    all_estimators()  # imports every sklearn module, so that every subclass exists
    found: set[type] = set()
    todo = [BaseEstimator]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in found and sub.__module__.startswith("sklearn."):
                found.add(sub)
                todo.append(sub)
    return found


def _patch(original: Any) -> Any:
    @functools.wraps(original)
    def fit_and_log(self: Any, *args: Any, **kwargs: Any) -> Any:
        if _depth > 0 or not _patched:
            return original(self, *args, **kwargs)
        bound = functools.partial(original, self)
        return _fit_logged(self, bound, args, kwargs, _options["eval_sets"], None,
                           _options["plots"], _options["log_train"], _options["project"])

    fit_and_log._labtrack_original = original  # type: ignore[attr-defined]
    return fit_and_log


def __getattr__(name: str) -> Any:
    """``plot_*``: the wandb.sklearn-style chart functions of the compatibility layer."""
    if name.startswith("plot_"):
        import importlib

        try:
            module = importlib.import_module("labtrack.compat.sklearn")
        except ImportError as err:
            raise AttributeError(f"labtrack.sklearn.{name} is not available: {err}") from None
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ``labtrack.sklearn`` resolves to this attribute (labtrack/__init__.py's lazy table)
sklearn = sys.modules[__name__]

__all__ = ["autolog", "charts", "fit", "log_fit", "metrics", "sklearn"]
