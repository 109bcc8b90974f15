"""Keras 3: a callback that logs epoch and batch metrics and model checkpoints.

::

    from labtrack.integrations.keras import LabtrackCallback

    model.fit(x, y, validation_split=0.2, epochs=10,
              callbacks=[LabtrackCallback(log_freq="batch", save_model=True)])

* every epoch: Keras' logs (``loss``, ``val_loss``, ``accuracy`` ...) and ``epoch``;
* with ``log_freq="batch"`` (or every N batches with an int): ``batch/<name>``;
  the step is then the number of batches trained, for epoch metrics too, so
  both share one x axis; with ``log_freq="epoch"`` the step is the epoch;
* config: ``epochs``, ``steps_per_epoch`` and the optimizer's config;
* summary: ``best_<monitor>`` and ``best_epoch``;
* ``save_model=True``: the model (``.keras`` file) as a version of the model
  artifact ``model-<run id>`` when ``monitor`` improves (every epoch with
  ``save_best_only=False``), aliased ``epoch-<n>`` and, when it is the best so
  far, ``best``.

Uses the active run, or starts one (and finishes it when training ends).
"""

from __future__ import annotations

import math
import os
import tempfile
from typing import Any

try:
    import keras
except ImportError as err:  # pragma: no cover - exercised only without keras
    raise ImportError("labtrack.integrations.keras needs keras 3: pip install keras") from err

from ._common import active_run, numbers_only, plain_config


class LabtrackCallback(keras.callbacks.Callback):
    """Log Keras training to a labtrack run.

    Args:
        run: the run to log to (default: the active run, else a new one).
        log_freq: "epoch", "batch", or an int N to log every N batches too.
        save_model: log model checkpoints as model artifact versions.
        monitor: the metric that decides the best epoch (default ``val_loss``,
            ``loss`` when there is no validation).
        mode: "min", "max" or "auto" (max for names with acc, auc, precision,
            recall or f1; min otherwise).
        save_best_only: log a checkpoint only when ``monitor`` improves.
        model_name: the artifact's name (default ``model-<run id>``).
        **init_kwargs: ``labtrack.init`` arguments for a run this callback starts.
    """

    def __init__(self, run: Any = None, log_freq: str | int = "epoch", save_model: bool = False,
                 monitor: str = "val_loss", mode: str = "auto", save_best_only: bool = True,
                 model_name: str | None = None, **init_kwargs: Any) -> None:
        super().__init__()
        if log_freq not in ("epoch", "batch") and not (isinstance(log_freq, int)
                                                       and log_freq > 0):
            raise ValueError(f"log_freq must be 'epoch', 'batch' or a positive int, "
                             f"not {log_freq!r}")
        self._run_arg = run
        self.run: Any = None
        self._started = False
        self.batch_every = 1 if log_freq == "batch" else (
            log_freq if isinstance(log_freq, int) else 0)
        self.save_model = save_model
        self.monitor = monitor
        self.mode = mode
        self.save_best_only = save_best_only
        self.model_name = model_name
        self._init_kwargs = init_kwargs
        self._batches = 0
        self.best: float | None = None

    # -- keras hooks -------------------------------------------------------------
    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.run, self._started = active_run(self._run_arg, **self._init_kwargs)
        params = self.params or {}
        config: dict[str, Any] = {k: params[k] for k in ("epochs", "steps") if
                                  params.get(k) is not None}
        if "steps" in config:
            config["steps_per_epoch"] = config.pop("steps")
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "get_config"):
            config["optimizer"] = plain_config(optimizer.get_config())
        self.run.config.update(config, allow_val_change=True)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches += 1
        if self.batch_every and self._batches % self.batch_every == 0 and logs:
            self.run.log(numbers_only(logs, "batch/"), step=self._batches)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        values = numbers_only(logs or {})
        values["epoch"] = epoch
        step = self._batches if self.batch_every else epoch
        improved = self._track_best(epoch, values)
        self.run.log(values, step=step)
        if self.save_model and (improved or not self.save_best_only):
            self._log_checkpoint(epoch, improved)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._started and self.run is not None:
            self.run.finish()
            self.run, self._started = None, False

    # -- helpers ---------------------------------------------------------------------
    def _monitored(self, values: dict[str, Any]) -> str | None:
        if self.monitor in values:
            return self.monitor
        fallback = self.monitor[4:] if self.monitor.startswith("val_") else None
        return fallback if fallback in values else None

    def _track_best(self, epoch: int, values: dict[str, Any]) -> bool:
        name = self._monitored(values)
        if name is None:
            return False
        value = float(values[name])
        if not math.isfinite(value):
            return False
        maximize = self.mode == "max" or (self.mode == "auto" and any(
            s in name for s in ("acc", "auc", "precision", "recall", "f1")))
        if self.best is not None and (value <= self.best if maximize else value >= self.best):
            return False
        self.best = value
        self.run.summary[f"best_{name}"] = value
        self.run.summary["best_epoch"] = epoch
        return True

    def _log_checkpoint(self, epoch: int, best: bool) -> None:
        aliases = [f"epoch-{epoch}"] + (["best"] if best else [])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            self.model.save(path)
            self.run.log_model(path, name=self.model_name or f"model-{self.run.id}",
                               aliases=aliases)


__all__ = ["LabtrackCallback"]
