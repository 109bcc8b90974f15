"""labtrack.sweep + labtrack.agent end to end, with real training functions in this process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labtrack
from labtrack.sweeps.agent import Agent, EarlyTerminationWarning
from labtrack.sweeps.results import sweep_summary
from labtrack.sweeps.store import SweepIndex

RNG = np.random.default_rng(0)
X = RNG.normal(size=(240, 5))
Y = (X @ RNG.normal(size=5) + 0.3 * RNG.normal(size=240) > 0).astype(float)
XTR, YTR, XVA, YVA = X[:180], Y[:180], X[180:], Y[180:]


def _log_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(1 / (1 + np.exp(-(x @ w))), 1e-9, 1 - 1e-9)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def train_logreg() -> None:
    """Logistic regression by gradient descent; the sweep sets lr, l2 and maybe epochs."""
    run = labtrack.init(config={"lr": 123.0, "l2": 0.0, "epochs": 12})
    cfg = run.config
    w = np.zeros(X.shape[1])
    for _ in range(int(cfg.epochs)):
        p = 1 / (1 + np.exp(-(XTR @ w)))
        w -= cfg.lr * (XTR.T @ (p - YTR) / len(YTR) + cfg.l2 * w)
        run.log({"val_loss": _log_loss(XVA, YVA, w)})
    run.summary["val_acc"] = float(np.mean(((XVA @ w) > 0) == YVA))


def _runs(sweep_id: str) -> list[Any]:
    return labtrack.Api().runs(filter=f'sweep == "{sweep_id}"')


def test_grid_sweep_runs_every_point_with_its_parameters() -> None:
    sweep_id = labtrack.sweep({
        "method": "grid", "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.01, 0.1, 1.0]}, "l2": {"values": [0.0, 0.1]}},
    }, project="grid")
    report = labtrack.agent(sweep_id, function=train_logreg)
    assert report.reason == "finished" and len(report.runs) == 6
    runs = _runs(sweep_id)
    assert sorted((r.config["lr"], r.config["l2"]) for r in runs) == sorted(
        (lr, l2) for lr in (0.01, 0.1, 1.0) for l2 in (0.0, 0.1))
    for r in runs:
        assert r.state == "finished" and r.project == "grid" and r.sweep_id == sweep_id
        assert r.config["epochs"] == 12  # the code's default where the sweep sets nothing
        assert len(r.series("val_loss").values) == 12
    # the sweep's best run is the store's best run, and a large step size wins here
    best = sweep_summary(labtrack.Api().store, sweep_id)["best"]
    lowest = min(runs, key=lambda r: r.summary["val_loss"])
    assert best["run_id"] == lowest.id and best["value"] == lowest.summary["val_loss"]
    assert best["params"]["lr"] == 1.0
    assert labtrack.Api().sweep(sweep_id).state == "finished"


SPACE = {
    "lr": {"distribution": "log_uniform_values", "min": 0.001, "max": 1.0},
    "l2": {"min": 0.0, "max": 0.1},
    "epochs": {"min": 3, "max": 8},
}


def _check_space(runs: list[Any]) -> None:
    for r in runs:
        c = r.config
        assert 0.001 <= c["lr"] <= 1.0 and 0.0 <= c["l2"] <= 0.1
        assert isinstance(c["epochs"], int) and 3 <= c["epochs"] <= 8
        assert len(r.series("val_loss").values) == c["epochs"]  # training used the params


def test_random_sweep_samples_within_the_distributions() -> None:
    sweep_id = labtrack.sweep({"method": "random", "parameters": SPACE}, project="rnd")
    report = labtrack.agent(sweep_id, function=train_logreg, count=5)
    assert report.reason == "count" and len(report.runs) == 5
    runs = _runs(sweep_id)
    assert len(runs) == 5 and len({r.config["lr"] for r in runs}) == 5
    _check_space(runs)


def test_bayes_sweep_with_run_cap() -> None:
    sweep_id = labtrack.sweep({
        "method": "bayes", "metric": {"name": "val_loss", "goal": "minimize"},
        "parameters": SPACE, "run_cap": 6,
    }, project="bayes")
    report = labtrack.agent(sweep_id, function=train_logreg)
    assert report.reason == "finished" and len(report.runs) == 6
    runs = _runs(sweep_id)
    assert all(r.state == "finished" for r in runs)
    _check_space(runs)
    summary = sweep_summary(labtrack.Api().store, sweep_id)
    assert summary["planned"] == 6 and summary["runs_by_state"] == {"finished": 6}


def test_a_crash_is_recorded_failed_and_the_sweep_goes_on() -> None:
    def train() -> None:
        run = labtrack.init()
        run.log({"loss": float(run.config["a"])})
        if run.config["a"] == 2:
            raise ValueError("diverged")

    sweep_id = labtrack.sweep({"method": "grid", "metric": {"name": "loss"},
                               "parameters": {"a": {"values": [1, 2, 3]}}})
    report = labtrack.agent(sweep_id, function=train)
    assert [r["state"] for r in report.runs] == ["finished", "failed", "finished"]
    states = {r.config["a"]: r for r in _runs(sweep_id)}
    assert states[2].state == "failed" and "ValueError: diverged" in states[2].error
    assert states[1].state == states[3].state == "finished"
    assert labtrack.Api().sweep(sweep_id).state == "finished"


def test_an_agent_gives_up_when_the_first_runs_all_fail() -> None:
    def broken() -> None:
        raise RuntimeError("typo in the training code")

    sweep_id = labtrack.sweep({"method": "random", "parameters": {"x": {"min": 0.0,
                                                                         "max": 1.0}}})
    report = labtrack.agent(sweep_id, function=broken)
    assert report.reason == "failing" and len(report.runs) == 5
    assert {r.state for r in _runs(sweep_id)} == {"failed"}


def test_agent_on_a_stopped_sweep_exits_with_a_message(store_dir: Path) -> None:
    sweep_id = labtrack.sweep({"method": "random", "parameters": {"x": {"values": [1]}}})
    labtrack.Api().sweep(sweep_id)  # resolvable
    index = SweepIndex(labtrack.Api().store)
    index.set_state(sweep_id, "stopped")
    report = labtrack.agent(sweep_id, function=train_logreg)
    assert report.reason == "stopped" and report.runs == []
    assert "stopped" in report.message and "resume" in report.message
    assert _runs(sweep_id) == []


def test_agent_waits_while_paused() -> None:
    sweep_id = labtrack.sweep({"method": "random", "parameters": {"lr": {"values": [0.1]}}})
    index = SweepIndex(labtrack.Api().store)
    index.set_state(sweep_id, "paused")
    resumer = threading.Timer(0.4, index.set_state, args=(sweep_id, "running"))
    resumer.start()
    started = time.monotonic()
    report = Agent(sweep_id, train_logreg, count=2, poll_interval=0.05).run()
    assert time.monotonic() - started >= 0.35
    assert report.reason == "count" and [r["state"] for r in report.runs] == ["finished"] * 2


def test_hyperband_stops_bad_runs_in_process() -> None:
    """Synthetic learning curves: loss_t = quality / (t + 1); a lower quality is better.

    Bands at iterations 2, 4, 8 ... (min_iter=2, eta=2). The first run is alone and
    finishes; a worse run is stopped; a better one finishes; the worst is stopped.
    """
    steps = 60

    def train() -> None:
        run = labtrack.init()
        for t in range(steps):
            if run.should_stop:
                break
            run.log({"loss": run.config["quality"] / (t + 1)})
            time.sleep(0.02)

    sweep_id = labtrack.sweep({
        "method": "grid", "metric": {"name": "loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2},
        "parameters": {"quality": {"values": [2, 6, 1, 8]}},
    })
    with pytest.warns(EarlyTerminationWarning, match="hyperband stops run"):
        report = Agent(sweep_id, train, check_interval=0.05).run()
    assert [r["state"] for r in report.runs] == ["finished", "early_terminated", "finished",
                                                 "early_terminated"]
    by_quality = {r.config["quality"]: r for r in _runs(sweep_id)}
    for quality, state in ((2, "finished"), (6, "early_terminated"), (1, "finished"),
                           (8, "early_terminated")):
        run = by_quality[quality]
        assert run.state == state
        logged = len(run.series("loss").values)
        assert logged == steps if state == "finished" else 2 < logged < steps


AGENT_SCRIPT = """
import sys
import labtrack

def train():
    run = labtrack.init()
    run.log({"score": run.config["a"] * 10 + run.config["b"]})

report = labtrack.agent(sys.argv[1], function=train)
print(len(report.runs))
"""


def test_four_agent_processes_share_a_grid(tmp_path: Path) -> None:
    sweep_id = labtrack.sweep({
        "method": "grid", "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"a": {"min": 1, "max": 4}, "b": {"values": [0, 1, 2, 3]}},
    })
    script = tmp_path / "agent.py"
    script.write_text(AGENT_SCRIPT)
    procs = [subprocess.Popen([sys.executable, str(script), sweep_id], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    counts = [int(p.communicate(timeout=60)[0].strip().splitlines()[-1]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(counts) == 16
    runs = _runs(sweep_id)
    points = [(r.config["a"], r.config["b"]) for r in runs]
    assert sorted(points) == [(a, b) for a in range(1, 5) for b in range(4)]  # once each
    assert all(r.state == "finished" and r.summary["score"] == 10 * a + b
               for r, (a, b) in zip(runs, points, strict=True))
    trials = SweepIndex(labtrack.Api().store).trials(sweep_id)
    assert sorted(t["number"] for t in trials) == list(range(1, 17))


CURVE_SCRIPT = """
import time
import labtrack

run = labtrack.init()
for t in range(80):
    run.log({"loss": run.config["quality"] / (t + 1)})
    time.sleep(0.02)
"""


def test_hyperband_sends_sigterm_to_a_program_run(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "curve.py").write_text(CURVE_SCRIPT)
    sweep_id = labtrack.sweep({
        "method": "grid", "program": "curve.py",
        "metric": {"name": "loss", "goal": "minimize"},
        "early_terminate": {"type": "hyperband", "min_iter": 2, "eta": 2},
        "parameters": {"quality": {"values": [1, 5]}},
    })
    report = Agent(sweep_id, check_interval=0.1, cwd=tmp_path).run()
    assert [r["state"] for r in report.runs] == ["finished", "early_terminated"]
    by_quality = {r.config["quality"]: r for r in _runs(sweep_id)}
    assert by_quality[1].state == "finished" and len(by_quality[1].series("loss").values) == 80
    stopped = by_quality[5]
    assert stopped.state == "early_terminated"
    assert 2 < len(stopped.series("loss").values) < 80


def test_lock_sweep_params_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What init() does in a child process started by an agent: the sweep's values win."""
    from labtrack.sweeps.agent import lock_sweep_params

    monkeypatch.setenv("LABTRACK_RUN_ID", "child-run")
    monkeypatch.setenv("LABTRACK_SWEEP_PARAMS", '{"lr": 0.01, "opt": {"name": "adam"}}')
    run = labtrack.init(id="child-run")
    lock_sweep_params(run)
    run.config.update({"lr": 0.5, "epochs": 3}, allow_val_change=True)
    run.config.lr = 0.7
    assert dict(run.config) == {"lr": 0.01, "opt": {"name": "adam"}, "epochs": 3}
    run.finish()
    assert labtrack.Api().run("child-run").config == {"lr": 0.01, "opt": {"name": "adam"},
                                                      "epochs": 3}
    other = labtrack.init(id="another-run")  # LABTRACK_RUN_ID names a different run
    lock_sweep_params(other)
    other.config.update({"lr": 0.5})
    assert other.config.lr == 0.5
    other.finish()


def test_api_sweeps() -> None:
    sweep_id = labtrack.sweep({"method": "grid", "metric": {"name": "val_loss"},
                               "parameters": {"lr": {"values": [0.1, 1.0]}}}, project="api")
    labtrack.agent(sweep_id, function=train_logreg)
    api = labtrack.Api()
    swept = api.sweep(f"api/{sweep_id}")
    assert [s.id for s in api.sweeps("api")] == [sweep_id] and api.sweeps("other") == []
    assert swept.state == "finished" and swept.method == "grid" and swept.project == "api"
    runs = swept.runs
    assert [r.config["lr"] for r in runs] == [0.1, 1.0]  # claim order
    best = swept.best_run()
    assert best is not None
    assert best.summary["val_loss"] == min(r.summary["val_loss"] for r in runs)
    by_acc = swept.best_run(order="-summary.val_acc")
    assert by_acc is not None
    assert by_acc.summary["val_acc"] == max(r.summary["val_acc"] for r in runs)
