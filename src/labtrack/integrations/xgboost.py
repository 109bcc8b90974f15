"""XGBoost: a training callback that logs every boosting round's eval metrics.

::

    from labtrack.integrations.xgboost import LabtrackCallback

    xgb.train(params, dtrain, evals=[(dtrain, "train"), (dval, "val")],
              callbacks=[LabtrackCallback()])
    # or XGBClassifier(callbacks=[LabtrackCallback()]).fit(X, y, eval_set=[(X_val, y_val)])

Each round logs ``<data>-<metric>`` (``val-logloss`` ...) at step = the round.
After training: the booster's config (``config["xgboost"]``), ``best_iteration``
and ``best_score`` (with early stopping) in the summary, a feature importance
table and bar chart (``feature_importance/*``) and, with ``log_model=True``,
the model file as a model artifact. Uses the active run, or starts one (and
finishes it after training).
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

try:
    from xgboost.callback import TrainingCallback
except ImportError as err:  # pragma: no cover - exercised only without xgboost
    raise ImportError("labtrack.integrations.xgboost needs xgboost: pip install xgboost") \
        from err

from ._common import active_run, importance_table


class LabtrackCallback(TrainingCallback):
    """Log XGBoost training to a labtrack run.

    Args:
        run: the run to log to (default: the active run, else a new one).
        log_model: log the trained booster (JSON) as a model artifact.
        model_name: the artifact's name (default ``model-<run id>``).
        importance_type: ``gain``, ``weight``, ``cover``, ``total_gain`` or ``total_cover``.
        log_feature_importance: log the importance table and chart.
        **init_kwargs: ``labtrack.init`` arguments for a run this callback starts.
    """

    def __init__(self, run: Any = None, log_model: bool = False, model_name: str | None = None,
                 importance_type: str = "gain", log_feature_importance: bool = True,
                 **init_kwargs: Any) -> None:
        super().__init__()
        self._run_arg = run
        self.run: Any = None
        self._started = False
        self.log_model = log_model
        self.model_name = model_name
        self.importance_type = importance_type
        self.log_feature_importance = log_feature_importance
        self._init_kwargs = init_kwargs

    def before_training(self, model: Any) -> Any:
        self.run, self._started = active_run(self._run_arg, **self._init_kwargs)
        try:
            config = json.loads(model.save_config())
        except Exception:  # noqa: BLE001 - a booster without a config is still trained
            config = None
        if config is not None:
            self.run.config.update({"xgboost": config}, allow_val_change=True)
        return model

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
        values: dict[str, float] = {}
        for data, metrics in evals_log.items():
            for metric, history in metrics.items():
                if not history:
                    continue
                last = history[-1]
                if isinstance(last, tuple):  # xgb.cv: (mean, std)
                    values[f"{data}-{metric}"] = float(last[0])
                    values[f"{data}-{metric}-std"] = float(last[1])
                else:
                    values[f"{data}-{metric}"] = float(last)
        if values and self.run is not None:
            self.run.log(values, step=int(epoch))
        return False

    def after_training(self, model: Any) -> Any:
        if self.run is None:
            return model
        best_iteration = _attr(model, "best_iteration")
        if best_iteration is not None:
            self.run.summary["best_iteration"] = int(best_iteration)
        best_score = _attr(model, "best_score")
        if best_score is not None:
            self.run.summary["best_score"] = float(best_score)
        if self.log_feature_importance:
            scores = model.get_score(importance_type=self.importance_type)
            if scores:
                charts = importance_table(list(scores), list(scores.values()),
                                          f"Feature importance ({self.importance_type})")
                self.run.log({f"feature_importance/{k}": v for k, v in charts.items()},
                             commit=False)
        if self.log_model:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.json")
                model.save_model(path)
                self.run.log_model(path, name=self.model_name or f"model-{self.run.id}")
        if self._started:
            self.run.finish()
            self.run, self._started = None, False
        return model


def _attr(model: Any, name: str) -> Any:
    """A booster attribute set by early stopping (None when absent)."""
    try:
        value = getattr(model, name)
    except (AttributeError, KeyError, ValueError, TypeError):
        value = None
    if value is None:
        raw = model.attr(name) if hasattr(model, "attr") else None
        value = raw
    return value


__all__ = ["LabtrackCallback"]
