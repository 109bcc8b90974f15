"""Hugging Face Transformers: a ``TrainerCallback``, also reachable as ``report_to="labtrack"``.

::

    import labtrack.integrations.transformers   # registers report_to="labtrack"

    args = TrainingArguments(output_dir="out", report_to="labtrack", ...)
    Trainer(model=model, args=args, ...).train()
    # or: Trainer(..., callbacks=[LabtrackCallback(log_model=True)])

* config: the ``TrainingArguments`` (tokens masked by Transformers), the
  model's config under ``model`` and ``model/num_parameters``;
* every log of the Trainer at its global step, named as wandb names them:
  ``eval_loss`` becomes ``eval/loss``, ``test_*`` ``test/*``, others ``train/*``;
  the once-per-training numbers (``train_runtime``, ``train_loss``,
  ``total_flos`` ...) go to the summary;
* with ``log_model=True`` (or ``LABTRACK_LOG_MODEL=true`` for ``report_to``):
  the final model (``save_pretrained`` with its tokenizer or processor) as a
  version of the model artifact ``model-<run id>``, aliased ``final``.

Uses the active run, or starts one (named after ``run_name``); the run stays
open after training so that ``trainer.evaluate()`` logs to it too.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as err:  # pragma: no cover - exercised only without transformers
    raise ImportError("labtrack.integrations.transformers needs transformers: "
                      "pip install transformers") from err

from ._common import active_run, numbers_only, plain_config

SUMMARY_ONLY = ("train_runtime", "train_samples_per_second", "train_steps_per_second",
                "train_loss", "total_flos")


def rewrite_logs(logs: dict[str, Any]) -> dict[str, Any]:
    """Trainer log names as charts group them: eval_x -> eval/x, test_x -> test/x, x -> train/x."""
    out = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            out[f"eval/{key[5:]}"] = value
        elif key.startswith("test_"):
            out[f"test/{key[5:]}"] = value
        else:
            out[f"train/{key}"] = value
    return out


class LabtrackCallback(TrainerCallback):  # type: ignore[misc]
    """Log a Transformers ``Trainer`` to a labtrack run.

    Args:
        run: the run to log to (default: the active run, else a new one).
        log_model: log the final model as a model artifact (default: the
            ``LABTRACK_LOG_MODEL`` environment variable, else False).
        **init_kwargs: ``labtrack.init`` arguments for a run this callback starts.
    """

    def __init__(self, run: Any = None, log_model: bool | None = None,
                 **init_kwargs: Any) -> None:
        self._run_arg = run
        self.run: Any = None
        if log_model is None:
            log_model = os.environ.get("LABTRACK_LOG_MODEL", "").lower() in (
                "1", "true", "yes", "end")
        self.log_model = log_model
        self._init_kwargs = init_kwargs

    def setup(self, args: Any, state: Any, model: Any = None) -> None:
        """Find or start the run and put the arguments and model config in its config."""
        if self.run is not None or not state.is_world_process_zero:
            return
        kwargs = dict(self._init_kwargs)
        run_name = getattr(args, "run_name", None)
        if run_name and run_name != getattr(args, "output_dir", None):
            kwargs.setdefault("name", run_name)
        self.run, _ = active_run(self._run_arg, **kwargs)
        config = plain_config(args.to_dict())
        model_config = getattr(model, "config", None)
        if model_config is not None and hasattr(model_config, "to_dict"):
            config["model"] = plain_config(model_config.to_dict())
        if model is not None and hasattr(model, "num_parameters"):
            config["model/num_parameters"] = int(model.num_parameters())
        self.run.config.update(config, allow_val_change=True)

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None,
                       **kwargs: Any) -> None:
        self.setup(args, state, model)

    def on_log(self, args: Any, state: Any, control: Any, model: Any = None,
               logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        self.setup(args, state, model)
        values = numbers_only(logs)
        for key in SUMMARY_ONLY:
            if key in values:
                self.run.summary[key] = values.pop(key)
        if values:
            self.run.log(rewrite_logs(values), step=int(state.global_step))

    def on_predict(self, args: Any, state: Any, control: Any, metrics: dict[str, Any],
                   **kwargs: Any) -> None:
        if not state.is_world_process_zero or not metrics:
            return
        self.setup(args, state)
        values = numbers_only(metrics)
        if values:
            self.run.log(rewrite_logs(values), step=int(state.global_step))

    def on_train_end(self, args: Any, state: Any, control: Any, model: Any = None,
                     processing_class: Any = None, **kwargs: Any) -> None:
        if not self.log_model or self.run is None or model is None \
                or not state.is_world_process_zero:
            return
        with tempfile.TemporaryDirectory() as tmp:
            _save(model, processing_class or kwargs.get("tokenizer"), tmp)
            self.run.log_model(tmp, name=f"model-{self.run.id}", aliases=["final"])


def _save(model: Any, processor: Any, folder: str) -> None:
    if hasattr(model, "save_pretrained"):
        model.save_pretrained(folder)
    else:
        import torch

        torch.save(model.state_dict(), os.path.join(folder, "pytorch_model.bin"))
    if processor is not None and hasattr(processor, "save_pretrained"):
        processor.save_pretrained(folder)


def register() -> None:
    """Make ``TrainingArguments(report_to="labtrack")`` use :class:`LabtrackCallback`."""
    from transformers.integrations import integration_utils

    integration_utils.INTEGRATION_TO_CALLBACK["labtrack"] = LabtrackCallback


register()

__all__ = ["LabtrackCallback", "register", "rewrite_logs"]
