"""``wandb.watch``: histograms of a PyTorch model's gradients and parameters while it trains.

``watch(model, log="all", log_freq=100)`` adds hooks to the model. Every
``log_freq``-th backward pass through a parameter logs its gradient as
``gradients/<name>``, and every ``log_freq``-th forward call in training mode logs
the parameters as ``parameters/<name>`` (as :class:`labtrack.Histogram`, 64 bins,
computed on the tensor's device). They are logged with ``commit=False``, so they
join the step of the script's next ``log()``, as with wandb. The hooks log from the
thread that runs the backward pass, while the training loop waits on it.

Without PyTorch installed, ``watch`` warns and does nothing. Torch is imported
only when ``watch`` is called.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable, Sequence
from typing import Any

LOG_CHOICES = ("gradients", "parameters", "all", None)
NUM_BINS = 64


class Watcher:
    """The hooks ``watch`` put on one model; :meth:`remove` takes them off."""

    def __init__(self, run: Any, model: Any, prefix: str, log: str | None, log_freq: int):
        self.run = run
        self.model = model
        self.prefix = prefix
        self.log_freq = log_freq
        self.forward_calls = 0
        self.logged: dict[str, int] = {"gradients": 0, "parameters": 0}
        self._grad_calls: dict[str, int] = {}
        self._handles: list[Any] = []
        if log in ("parameters", "all"):
            self._handles.append(model.register_forward_hook(self._on_forward))
        if log in ("gradients", "all"):
            for name, param in model.named_parameters():
                if param.requires_grad:
                    self._grad_calls[name] = 0
                    self._handles.append(param.register_hook(self._grad_hook(name)))

    def _due(self, count: int) -> bool:
        return count % self.log_freq == 0

    def _on_forward(self, module: Any, inputs: Any, output: Any) -> None:
        if not module.training:
            return
        self.forward_calls += 1
        if not self._due(self.forward_calls):
            return
        values = {}
        for name, param in module.named_parameters():
            hist = tensor_histogram(param)
            if hist is not None:
                values[f"parameters/{self.prefix}{name}"] = hist
        self._log(values, "parameters")

    def _grad_hook(self, name: str) -> Callable[[Any], None]:
        def hook(grad: Any) -> None:
            self._grad_calls[name] += 1
            if self._due(self._grad_calls[name]):
                hist = tensor_histogram(grad)
                if hist is not None:
                    self._log({f"gradients/{self.prefix}{name}": hist}, "gradients")

        return hook

    def _log(self, values: dict[str, Any], kind: str) -> None:
        if not values or getattr(self.run, "finished", False):
            return
        self.run.log(values, commit=False)
        self.logged[kind] += len(values)

    def remove(self) -> None:
        """Take the hooks off the model."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()


_watchers: list[Watcher] = []


def tensor_histogram(tensor: Any, num_bins: int = NUM_BINS) -> Any:
    """A :class:`labtrack.Histogram` of a tensor's finite values (None if it has none)."""
    import torch

    from labtrack.media import Histogram

    with torch.no_grad():
        t = tensor.detach()
        if t.is_sparse:
            t = t.coalesce().values()
        t = t.reshape(-1)
        if not t.is_floating_point():
            t = t.double()
        t = t[torch.isfinite(t)].float()
        if t.numel() == 0:
            return None
        lo, hi = t.min().item(), t.max().item()
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        counts = torch.histc(t, bins=num_bins, min=lo, max=hi)
        edges = torch.linspace(lo, hi, num_bins + 1)
    return Histogram(np_histogram=(counts.cpu().tolist(), edges.tolist()))


def _watch(run: Any, models: Any, criterion: Any = None, log: str | None = "gradients",
           log_freq: int = 1000, idx: int | None = None, log_graph: bool = False
           ) -> list[Watcher]:
    """Log histograms of a PyTorch model's gradients and/or parameters.

    Args:
        models: a ``torch.nn.Module`` or a list of them.
        criterion: accepted for wandb compatibility; not used.
        log: "gradients" (default), "parameters", "all" or None.
        log_freq: log every ``log_freq`` backward passes (gradients) or training-mode
            forward calls (parameters).
        idx: index of the first model, for the key prefix ``graph_<idx>/`` of models
            after the first.
        log_graph: not supported (warns).

    Returns:
        One :class:`Watcher` per model.

    Raises:
        UsageError: no active run.
        TypeError: a model is not a ``torch.nn.Module``.
        ValueError: a bad ``log`` or ``log_freq``.
    """
    from labtrack import _current
    from labtrack.errors import UsageError

    if log not in LOG_CHOICES:
        raise ValueError(f"wandb.watch(log={log!r}): log must be 'gradients', 'parameters', "
                         "'all' or None")
    if isinstance(log_freq, bool) or not isinstance(log_freq, int) or log_freq < 1:
        raise ValueError(f"wandb.watch(log_freq={log_freq!r}): log_freq must be an int >= 1")
    run = run if run is not None else _current.get()
    if run is None:
        raise UsageError("wandb.watch() needs an active run: call wandb.init() first")
    try:
        import torch
    except ImportError:
        warnings.warn("wandb.watch() needs PyTorch, which is not installed: no gradients or "
                      "parameters are logged", UserWarning, stacklevel=3)
        return []
    if log_graph:
        warnings.warn("wandb.watch(log_graph=True): labtrack does not record model graphs; "
                      "gradients and parameters are still logged", UserWarning, stacklevel=3)
    many = isinstance(models, Sequence) and not isinstance(models, torch.nn.Module)
    models = list(models) if many else [models]
    for model in models:
        if not isinstance(model, torch.nn.Module):
            raise TypeError("wandb.watch() takes torch.nn.Module models, not "
                            f"{type(model).__name__}")
    start = idx if idx is not None else 0
    made = []
    for i, model in enumerate(models):
        prefix = f"graph_{start + i}/" if start + i > 0 else ""
        _unwatch_model(model)
        watcher = Watcher(run, model, prefix, log, log_freq)
        _watchers.append(watcher)
        made.append(watcher)
    return made


def _unwatch_model(model: Any) -> None:
    for watcher in [w for w in _watchers if w.model is model]:
        watcher.remove()
        _watchers.remove(watcher)


def _unwatch(run: Any, models: Any = None) -> None:
    """Remove the hooks ``watch`` added (to ``models``, or to every model of the run)."""
    if models is None:
        targets = [w.model for w in _watchers if run is None or w.run is run]
    elif isinstance(models, (list, tuple)):
        targets = list(models)
    else:
        targets = [models]
    for model in targets:
        _unwatch_model(model)


class _RunMethod:
    """A function that is both ``labtrack.watch(...)`` (acting on the current run) and,
    through ``Run``'s extension lookup (which binds it with ``__get__``), ``run.watch(...)``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        functools.update_wrapper(self, func)
        params = list(inspect.signature(func).parameters.values())[1:]
        self.__signature__ = inspect.Signature(params)
        self.__name__ = self.__qualname__ = func.__name__.lstrip("_")
        self._func = func

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._func(None, *args, **kwargs)

    def __get__(self, run: Any, owner: Any = None) -> Any:
        if run is None:
            return self
        return functools.partial(self._func, run)


watch = _RunMethod(_watch)
unwatch = _RunMethod(_unwatch)

__all__ = ["Watcher", "tensor_histogram", "unwatch", "watch"]
