"""Grid, random and bayes search through next_params."""

from __future__ import annotations

import itertools
import json
import math
import random
import statistics
from typing import Any

import pytest

from labtrack.errors import ConfigError
from labtrack.sweeps import Trial, count_grid, load_sweep_config, next_params

STATES = ["finished", "crashed", "failed", "killed", "early_terminated", "running"]

GRID = {
    "method": "grid",
    "parameters": {
        "model": {"values": ["cnn", "mlp", "rnn"]},
        "layers": {"min": 1, "max": 2},
        "dropout": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.25},
        "optimizer": {"parameters": {
            "name": {"values": ["adam", "sgd"]},
            "wd": {"value": 0.01},
        }},
    },
}


def run_grid(config: Any, trials: list[Trial]) -> list[dict[str, Any]]:
    out = []
    while (p := next_params(config, trials)) is not None:
        out.append(p)
        # Any state counts as used; store round trip through JSON.
        trials.append(Trial(params=json.loads(json.dumps(p)), state=STATES[len(trials) % 6]))
        assert len(out) < 1000
    return out


def test_grid_enumerates_every_combination_once_then_none() -> None:
    config = load_sweep_config(GRID)
    got = run_grid(config, [])
    expected = set(itertools.product(
        ["cnn", "mlp", "rnn"], [1, 2], [0.0, 0.25, 0.5, 0.75], ["adam", "sgd"]))
    seen = [(p["model"], p["layers"], p["dropout"], p["optimizer"]["name"]) for p in got]
    assert len(seen) == len(set(seen)) == len(expected) == count_grid(config) == 48
    assert set(seen) == expected
    assert all(p["optimizer"]["wd"] == 0.01 for p in got)
    assert all(isinstance(p["layers"], int) for p in got)


def test_grid_is_deterministic_and_skips_used_points_of_any_state() -> None:
    config = load_sweep_config(GRID)
    first = next_params(config, [])
    assert next_params(config, []) == first
    crashed = Trial(params=first, state="crashed")
    second = next_params(config, [crashed])
    assert second is not None and second != first


def test_grid_counts_integral_floats_as_used() -> None:
    # A store may hand back 3.0 for 3 (JSON through another language, YAML 3e6 ...).
    config = load_sweep_config({"method": "grid", "parameters": {"n": {"values": [3, 4]}}})
    assert next_params(config, [Trial(params={"n": 3.0})]) == {"n": 4}
    assert next_params(config, [Trial(params={"n": 3.0}), Trial(params={"n": 4})]) is None


def test_grid_ignores_trials_missing_parameters() -> None:
    config = load_sweep_config({"method": "grid", "parameters": {"n": {"values": [3, 4]}}})
    assert next_params(config, [Trial(params={"other": 1})]) == {"n": 3}


def test_count_grid_refuses_continuous() -> None:
    config = load_sweep_config({"method": "random", "parameters": {"x": {"min": 0.0, "max": 1}}})
    with pytest.raises(ConfigError, match="parameters.x: grid search cannot enumerate"):
        count_grid(config)


def test_run_cap_and_target_end_the_sweep() -> None:
    config = load_sweep_config({
        "method": "random", "run_cap": 3, "metric": {"name": "acc", "goal": "maximize",
                                                      "target": 0.9},
        "parameters": {"x": {"min": 0.0, "max": 1.0}}})
    trials = [Trial(params={"x": 0.5}, value=0.5), Trial(params={"x": 0.1}, state="running")]
    assert next_params(config, trials) is not None
    assert next_params(config, [*trials, Trial(params={"x": 0.2}, state="failed")]) is None
    assert next_params(config, [Trial(params={"x": 0.5}, value=0.95)]) is None


RANDOM = {
    "method": "random",
    "parameters": {
        "int": {"min": 2, "max": 6},
        "uni": {"min": -1.0, "max": 1.0},
        "qu": {"distribution": "q_uniform", "min": 0, "max": 10, "q": 2},
        "quf": {"distribution": "q_uniform", "min": 0, "max": 1, "q": 0.1},
        "lu": {"distribution": "log_uniform", "min": -3, "max": 0},
        "luv": {"distribution": "log_uniform_values", "min": 1e-5, "max": 1e-1},
        "qluv": {"distribution": "q_log_uniform_values", "min": 1, "max": 1024, "q": 1},
        "ilu": {"distribution": "inv_log_uniform_values", "min": 1, "max": 100},
        "norm": {"distribution": "normal", "mu": 5, "sigma": 2},
        "qn": {"distribution": "q_normal", "mu": 0, "sigma": 3, "q": 1},
        "ln": {"distribution": "log_normal", "mu": 0, "sigma": 0.5},
        "beta": {"distribution": "beta", "a": 2, "b": 2},
        "cat": {"values": ["a", "b", "c"], "probabilities": [0.7, 0.2, 0.1]},
        "const": {"value": [1, 2]},
        "nested": {"parameters": {"act": {"values": ["relu", "gelu"]}}},
    },
}


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    config = load_sweep_config(RANDOM)
    rng = random.Random(1234)
    return [next_params(config, [], rng) for _ in range(3000)]


def column(samples: list[dict[str, Any]], key: str) -> list[Any]:
    return [s[key] for s in samples]


def test_random_int_uniform(samples: list[dict[str, Any]]) -> None:
    vals = column(samples, "int")
    assert all(type(v) is int for v in vals) and set(vals) == {2, 3, 4, 5, 6}


def test_random_uniform_and_log_families(samples: list[dict[str, Any]]) -> None:
    uni = column(samples, "uni")
    assert all(-1 <= v <= 1 for v in uni) and abs(statistics.mean(uni)) < 0.05
    lu = column(samples, "lu")  # exponents: values in [e^-3, 1]
    assert all(math.exp(-3) <= v <= 1 for v in lu)
    luv = column(samples, "luv")
    assert all(1e-5 <= v <= 1e-1 for v in luv)
    # log-uniform: half the mass below the geometric midpoint 1e-3
    assert 0.45 < sum(v < 1e-3 for v in luv) / len(luv) < 0.55
    ilu = column(samples, "ilu")
    assert all(1 <= v <= 100 for v in ilu) and 0.45 < sum(v < 10 for v in ilu) / len(ilu) < 0.55


def test_random_quantised(samples: list[dict[str, Any]]) -> None:
    qu = column(samples, "qu")
    assert all(type(v) is int and v % 2 == 0 and 0 <= v <= 10 for v in qu)
    quf = column(samples, "quf")
    assert all(isinstance(v, float) and 0 <= v <= 1 for v in quf)
    assert {round(v, 1) for v in quf} == set(quf)  # exact tenths, no 0.30000000000000004
    assert len(set(quf)) == 11
    qluv = column(samples, "qluv")
    assert all(type(v) is int and 1 <= v <= 1024 for v in qluv)
    assert all(type(v) is int for v in column(samples, "qn"))


def test_random_normal_families(samples: list[dict[str, Any]]) -> None:
    norm = column(samples, "norm")
    assert abs(statistics.mean(norm) - 5) < 0.15 and abs(statistics.stdev(norm) - 2) < 0.15
    ln = column(samples, "ln")
    assert all(v > 0 for v in ln) and abs(statistics.median(ln) - 1) < 0.05
    beta = column(samples, "beta")
    assert all(0 <= v <= 1 for v in beta) and abs(statistics.mean(beta) - 0.5) < 0.03


def test_random_categorical_probabilities(samples: list[dict[str, Any]]) -> None:
    cat = column(samples, "cat")
    for value, p in [("a", 0.7), ("b", 0.2), ("c", 0.1)]:
        assert abs(cat.count(value) / len(cat) - p) < 0.04
    assert all(s["const"] == [1, 2] for s in samples)
    assert {s["nested"]["act"] for s in samples} == {"relu", "gelu"}


def test_random_is_reproducible_with_a_seeded_rng() -> None:
    config = load_sweep_config(RANDOM)
    a = [next_params(config, [], r) for r in [random.Random(7)] for _ in range(5)]
    b = [next_params(config, [], r) for r in [random.Random(7)] for _ in range(5)]
    assert a == b


BAYES = {
    "method": "bayes",
    "metric": {"name": "loss", "goal": "minimize"},
    "parameters": {
        "lr": {"distribution": "log_uniform_values", "min": 1e-4, "max": 1e-1},
        "layers": {"min": 1, "max": 4},
        "act": {"values": ["relu", "tanh", {"name": "gelu"}]},
        "mom": {"distribution": "q_normal", "mu": 0.9, "sigma": 0.05, "q": 0.01},
        "wd": {"distribution": "log_normal", "mu": -5, "sigma": 1},
        "warm": {"distribution": "q_uniform", "min": 0, "max": 100, "q": 10},
        "epochs": {"value": 3},
        "opt": {"parameters": {"beta": {"distribution": "uniform", "min": 0.8, "max": 0.999}}},
    },
}


def test_bayes_returns_valid_params_with_mixed_trial_states() -> None:
    config = load_sweep_config(BAYES)
    rng = random.Random(3)
    trials: list[Trial] = []
    for i in range(16):
        p = next_params(config, trials, rng)
        assert p is not None
        assert 1e-4 <= p["lr"] <= 1e-1 and type(p["layers"]) is int and 1 <= p["layers"] <= 4
        assert p["act"] in BAYES["parameters"]["act"]["values"]
        assert round(p["mom"], 2) == p["mom"] and p["wd"] > 0
        assert p["warm"] % 10 == 0 and p["epochs"] == 3 and 0.8 <= p["opt"]["beta"] <= 0.999
        state = STATES[i % len(STATES)]
        value = None if state in ("crashed", "running") else p["lr"] * p["layers"]
        trials.append(Trial(params=json.loads(json.dumps(p)), state=state, value=value))
    # Trials from an older, wider config are skipped, not fatal.
    trials.append(Trial(params={**trials[0].params, "act": "swish"}, value=0.0))
    assert next_params(config, trials, rng) is not None


def test_bayes_is_reproducible_with_a_seeded_rng() -> None:
    config = load_sweep_config(BAYES)
    trials = [Trial(params=next_params(config, [], random.Random(i)), value=float(i))
              for i in range(12)]
    assert next_params(config, trials, random.Random(5)) == next_params(
        config, trials, random.Random(5))


def quadratic(p: dict[str, Any]) -> float:
    return (p["x"] - 0.7) ** 2 + (p["y"] + 1.3) ** 2 + (0 if p["c"] == "b" else 1)


def best_of(method: str, seed: int, n: int = 40) -> float:
    config = load_sweep_config({
        "method": method, "metric": {"name": "loss"},
        "parameters": {"x": {"min": -4.0, "max": 4.0}, "y": {"min": -4.0, "max": 4.0},
                       "c": {"values": ["a", "b", "c"]}}})
    rng, trials = random.Random(seed), []
    for _ in range(n):
        p = next_params(config, trials, rng)
        trials.append(Trial(params=p, value=quadratic(p)))
    return min(t.value for t in trials)


def test_bayes_beats_random_on_a_quadratic() -> None:
    # 40 trials: 10 random start-up trials, then TPE. Seeded, so deterministic; the
    # margins leave room for changes in Optuna.
    seeds = range(8)
    bayes = [best_of("bayes", s) for s in seeds]
    rand = [best_of("random", s) for s in seeds]
    assert statistics.median(bayes) < statistics.median(rand)
    assert sum(b < r for b, r in zip(bayes, rand, strict=True)) >= 5
