"""PyTorch Lightning: ``LabtrackLogger``, a Lightning logger that writes to a labtrack run.

::

    from labtrack.integrations.lightning import LabtrackLogger

    trainer = Trainer(logger=LabtrackLogger(project="mnist", log_model=True),
                      callbacks=[ModelCheckpoint(monitor="val_loss")])
    trainer.fit(model, datamodule)

* hyperparameters (``save_hyperparameters()``, ``log_hyperparams``) go to the
  config;
* metrics (``self.log`` in the module) are logged at Lightning's global step;
* with ``log_model=True`` the checkpoints of every ``ModelCheckpoint`` are
  logged as versions of the model artifact ``model-<run id>`` when training
  ends (``log_model="all"``: as soon as each is saved); the best one gets the
  alias ``best``.

The run is the active one, or one this logger starts on first use with the
given ``labtrack.init`` arguments; it stays open after ``fit`` (so that
``test`` logs to it too) until ``labtrack.finish()`` or the end of the process.
Works with ``lightning`` and the older ``pytorch_lightning`` package.
"""

from __future__ import annotations

from argparse import Namespace
from collections.abc import Mapping
from pathlib import Path
from typing import Any

try:
    from lightning.fabric.loggers.logger import rank_zero_experiment
    from lightning.pytorch.loggers.logger import Logger
    from lightning.pytorch.utilities.rank_zero import rank_zero_only
except ImportError:  # pragma: no cover - the standalone pytorch_lightning package
    try:
        from pytorch_lightning.loggers.logger import (  # type: ignore[assignment]
            Logger,
            rank_zero_experiment,
        )
        from pytorch_lightning.utilities.rank_zero import rank_zero_only
    except ImportError as err:
        raise ImportError("labtrack.integrations.lightning needs lightning: "
                          "pip install lightning") from err

from ._common import active_run, numbers_only, plain_config


class LabtrackLogger(Logger):
    """A Lightning logger that logs to a labtrack run.

    Args:
        project, name, id, dir, config, tags, group, job_type, notes: passed to
            ``labtrack.init`` when the logger starts the run.
        run: log to this run instead (default: the active run, if any).
        log_model: False, True (checkpoints at the end of training) or "all"
            (each checkpoint when it is saved).
        checkpoint_name: the model artifact's name (default ``model-<run id>``).
        prefix: put before every metric name (e.g. "fold1/").
        **init_kwargs: other ``labtrack.init`` arguments.
    """

    def __init__(self, project: str | None = None, name: str | None = None,
                 id: str | None = None, dir: str | None = None,
                 config: Mapping[str, Any] | None = None, run: Any = None,
                 log_model: bool | str = False, checkpoint_name: str | None = None,
                 prefix: str = "", **init_kwargs: Any) -> None:
        super().__init__()
        if log_model not in (False, True, "all"):
            raise ValueError(f"log_model must be False, True or 'all', not {log_model!r}")
        self._init_kwargs = dict(init_kwargs, project=project, name=name, id=id, dir=dir,
                                 config=dict(config) if config else None)
        self._run = run
        self._started = False
        self._log_model = log_model
        self._checkpoint_name = checkpoint_name
        self._prefix = prefix
        self._pending: dict[int, Any] = {}
        self._logged: dict[str, float] = {}  # checkpoint path -> mtime when logged

    # -- Logger interface -----------------------------------------------------------
    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The labtrack run (started on first use)."""
        if self._run is None:
            self._run, self._started = active_run(None, **self._init_kwargs)
        return self._run

    @property
    def name(self) -> str | None:
        return self._init_kwargs.get("project") or getattr(self._run, "project", None)

    @property
    def version(self) -> str | None:
        run = self._run if self._run is not None else self.experiment
        return getattr(run, "id", None)

    @rank_zero_only
    def log_hyperparams(self, params: Mapping[str, Any] | Namespace, *args: Any,
                        **kwargs: Any) -> None:
        values = vars(params) if isinstance(params, Namespace) else dict(params or {})
        self.experiment.config.update(plain_config(values), allow_val_change=True)

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        values = numbers_only(metrics, self._prefix)
        if values:
            self.experiment.log(values, step=step)

    @rank_zero_only
    def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
        if self._log_model == "all":
            self._log_checkpoints(checkpoint_callback)
        elif self._log_model:
            self._pending[id(checkpoint_callback)] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        if status != "success":
            return
        for callback in list(self._pending.values()):
            self._log_checkpoints(callback)
        self._pending.clear()

    # -- checkpoints ---------------------------------------------------------------------
    def _log_checkpoints(self, callback: Any) -> None:
        """Log the callback's checkpoint files that are new or changed since last time."""
        run = self.experiment
        best = getattr(callback, "best_model_path", "") or ""
        found: dict[str, list[str]] = {}
        for path in (getattr(callback, "best_k_models", None) or {}):
            found.setdefault(str(path), [])
        last = getattr(callback, "last_model_path", "") or ""
        if last:
            found.setdefault(last, [])
        if best:
            found.setdefault(best, []).append("best")
        files = sorted(((Path(p).stat().st_mtime, p, aliases) for p, aliases in found.items()
                        if Path(p).is_file()))
        for mtime, path, aliases in files:  # oldest first, so the best ends up "best"
            if self._logged.get(path, -1.0) >= mtime:
                continue
            name = self._checkpoint_name or f"model-{run.id}"
            run.log_model(path, name=name, aliases=sorted(set(aliases)) or None)
            self._logged[path] = mtime


__all__ = ["LabtrackLogger"]
