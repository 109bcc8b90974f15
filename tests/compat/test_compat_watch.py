"""``wandb.watch``: gradient and parameter histograms of a PyTorch model."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import labtrack
from labtrack.compat.watch import tensor_histogram, unwatch, watch


def _media(run_id: str) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for m in labtrack.Api().run(run_id).media():
        out.setdefault(m["key"], []).append(m["step"])
    return out


def test_without_torch_watch_warns_and_does_nothing(store_dir: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    run = labtrack.init(project="w")
    with pytest.warns(UserWarning, match=r"wandb.watch\(\) needs PyTorch"):
        assert watch(object(), log="all") == []
    run.finish()


def test_watch_needs_a_run_and_valid_arguments() -> None:
    with pytest.raises(labtrack.UsageError, match="needs an active run"):
        watch(object())
    with pytest.raises(ValueError, match="log must be"):
        watch(object(), log="weights")
    with pytest.raises(ValueError, match="log_freq"):
        watch(object(), log_freq=0)


torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")


def _train(model: Any, steps: int, run: Any) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(8, 3), torch.randn(8, 1)
    for _ in range(steps):
        model.train()
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
        model.eval()
        model(x)  # evaluation forward calls are not counted
        run.log({"step_done": 1.0})


def test_watch_all_logs_every_log_freq_steps(store_dir: Path) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    run = labtrack.init(project="w")
    (watcher,) = labtrack.watch(model, log="all", log_freq=2)
    _train(model, 5, run)
    assert watcher.forward_calls == 5
    unwatch(model)
    _train(model, 2, run)  # no hooks any more
    run.finish()
    media = _media(run.id)
    keys = {f"{kind}/{name}" for kind in ("gradients", "parameters")
            for name in ("0.weight", "0.bias", "2.weight", "2.bias")}
    assert set(media) == keys
    assert all(steps == [1, 3] for steps in media.values())
    records = {m["key"]: m["record"] for m in labtrack.Api().run(run.id).media()}
    assert sum(records["gradients/0.weight"]["values"]) == 12
    assert sum(records["parameters/2.bias"]["values"]) == 1


def test_parameter_histogram_spans_the_weights(store_dir: Path) -> None:
    model = torch.nn.Linear(6, 5)
    run = labtrack.init(project="w")
    watch(model, log="parameters", log_freq=1)
    model(torch.randn(2, 6))  # a training-mode forward call logs the parameters
    run.log({"loss": 0.0})
    run.finish()
    (record,) = [m["record"] for m in labtrack.Api().run(run.id).media("parameters/weight")]
    weights = model.weight.detach()
    assert record["bins"][0] == pytest.approx(float(weights.min()), abs=1e-6)
    assert record["bins"][-1] == pytest.approx(float(weights.max()), abs=1e-6)
    assert sum(record["values"]) == 30


def test_run_watch_gradients_only_and_model_prefixes(store_dir: Path) -> None:
    first, second = torch.nn.Linear(3, 1), torch.nn.Linear(3, 1)
    run = labtrack.init(project="w")
    watchers = run.watch([first, second], log="gradients", log_freq=1)
    assert [w.prefix for w in watchers] == ["", "graph_1/"]
    with pytest.warns(UserWarning, match="log_graph"):
        run.watch(first, log="parameters", log_freq=1, log_graph=True)  # replaces its hooks
    _train(first, 1, run)
    _train(second, 1, run)
    run.unwatch()
    run.finish()
    assert set(_media(run.id)) == {"parameters/weight", "parameters/bias",
                                   "gradients/graph_1/weight", "gradients/graph_1/bias"}


def test_watch_rejects_models_that_are_not_modules(store_dir: Path) -> None:
    run = labtrack.init(project="w")
    with pytest.raises(TypeError, match="torch.nn.Module"):
        watch(object())
    run.finish()


def test_tensor_histogram_edge_cases() -> None:
    constant = tensor_histogram(torch.full((5,), 2.0))
    assert sum(constant.histogram) == 5 and constant.bins[0] < 2.0 < constant.bins[-1]
    with_nan = tensor_histogram(torch.tensor([1.0, float("nan"), float("inf"), 3.0]))
    assert sum(with_nan.histogram) == 2
    assert tensor_histogram(torch.tensor([float("nan")])) is None
    ints = tensor_histogram(torch.arange(10))
    assert sum(ints.histogram) == 10 and len(ints.histogram) == 64
    sparse = torch.sparse_coo_tensor([[0, 3]], [1.0, -1.0], (5,), check_invariants=True)
    assert sum(tensor_histogram(sparse).histogram) == 2
