"""LightGBM: a callback that logs every iteration's eval metrics, and a summary after training.

::

    from labtrack.integrations.lightgbm import labtrack_callback, log_summary

    booster = lgb.train(params, dtrain, valid_sets=[dtrain, dval], valid_names=["train", "val"],
                        callbacks=[labtrack_callback()])
    log_summary(booster, save_model=True)   # importance, best iteration, the model

Each iteration logs ``<data>_<metric>`` (``val_binary_logloss`` ...) at step =
the iteration; ``lgb.cv`` results also log ``..._stdv``. The first iteration
puts the training parameters in the config. When training runs to its last
iteration the callback also logs the feature importance; with early stopping
call :func:`log_summary` (it is idempotent). Uses the active run, or starts one.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

try:
    import lightgbm
except ImportError as err:  # pragma: no cover - exercised only without lightgbm
    raise ImportError("labtrack.integrations.lightgbm needs lightgbm: pip install lightgbm") \
        from err

from ._common import active_run, importance_table, plain_config


def labtrack_callback(run: Any = None, log_params: bool = True,
                      log_feature_importance: bool = True,
                      importance_type: str = "gain", **init_kwargs: Any) -> Any:
    """A LightGBM callback that logs to a labtrack run.

    Args:
        run: the run to log to (default: the active run, else a new one).
        log_params: put the training parameters in the run's config.
        log_feature_importance: log the importance when the last iteration is reached.
        importance_type: ``gain`` or ``split``.
        **init_kwargs: ``labtrack.init`` arguments for a run this callback starts.
    """
    state: dict[str, Any] = {"run": run}

    def _callback(env: Any) -> None:
        if state.get("run") is None:
            state["run"], _ = active_run(None, **init_kwargs)
        target = state["run"]
        if log_params and env.iteration == env.begin_iteration:
            target.config.update(plain_config(env.params), allow_val_change=True)
        values: dict[str, float] = {}
        for entry in env.evaluation_result_list or ():
            data, metric, result = entry[0], entry[1], entry[2]
            if data == "cv_agg":  # lgb.cv names entries "cv_agg"; the metric holds the set
                data, _, metric = metric.partition(" ")
            values[f"{data}_{metric}"] = float(result)
            if len(entry) > 4 and entry[4] is not None:
                values[f"{data}_{metric}_stdv"] = float(entry[4])
        if values:
            target.log(values, step=int(env.iteration))
        last = env.iteration + 1 >= env.end_iteration
        if last and log_feature_importance and isinstance(env.model, lightgbm.Booster):
            log_summary(env.model, run=target, importance_type=importance_type)

    # before early_stopping (order 30), whose exception ends the iteration: LightGBM runs
    # callbacks of equal order in no fixed order, so ours would miss the last iteration
    _callback.order = 25  # type: ignore[attr-defined]
    return _callback


def log_summary(booster: Any, run: Any = None, feature_importance: bool = True,
                save_model: bool = False, model_name: str | None = None,
                importance_type: str = "gain") -> None:
    """Log a trained booster: best iteration and score, feature importance, the model.

    Args:
        booster: a ``lightgbm.Booster`` or a fitted ``LGBMModel`` (its ``booster_``).
        run: the run to log to (default: the active one).
        save_model: log the model (text format) as a model artifact.
        model_name: the artifact's name (default ``model-<run id>``).
        importance_type: ``gain`` or ``split``.
    """
    booster = getattr(booster, "booster_", booster)
    run, _ = active_run(run)
    best = getattr(booster, "best_iteration", 0)
    if best:
        run.summary["best_iteration"] = int(best)
    for data, metrics in (getattr(booster, "best_score", None) or {}).items():
        for metric, value in metrics.items():
            run.summary[f"best/{data}_{metric}"] = float(value)
    if feature_importance and not getattr(booster, "_labtrack_importance_logged", False):
        booster._labtrack_importance_logged = True  # the callback and log_summary: log once
        scores = booster.feature_importance(importance_type=importance_type)
        charts = importance_table(list(booster.feature_name()), [float(s) for s in scores],
                                  f"Feature importance ({importance_type})")
        run.log({f"feature_importance/{k}": v for k, v in charts.items()}, commit=False)
    if save_model:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.txt")
            booster.save_model(path)
            run.log_model(path, name=model_name or f"model-{run.id}")


__all__ = ["labtrack_callback", "log_summary"]
