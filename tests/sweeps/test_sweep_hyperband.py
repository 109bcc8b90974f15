"""Hyperband early termination on synthetic learning curves."""

from __future__ import annotations

from typing import Any

import pytest

from labtrack.sweeps import bands, load_sweep_config, runs_to_stop, should_stop, thresholds


def config(goal: str = "minimize", **et: Any) -> Any:
    return load_sweep_config({
        "method": "random",
        "metric": {"name": "loss", "goal": goal},
        "early_terminate": {"type": "hyperband", **et},
        "parameters": {"x": {"values": [1, 2]}},
    })


@pytest.mark.parametrize(
    ("et", "up_to", "expected"),
    [
        ({"min_iter": 3}, 100, [3, 9, 27, 81]),
        ({"min_iter": 1, "eta": 2}, 10, [1, 2, 4, 8]),
        ({"min_iter": 2, "eta": 2.5}, 40, [2, 5, 12, 31]),
        ({"max_iter": 27, "s": 2}, None, [3, 9]),
        ({"max_iter": 81, "s": 3}, None, [3, 9, 27]),
        ({"max_iter": 81, "s": 10}, None, [1, 3, 9, 27]),  # stops before a band < 1
        ({"max_iter": 27, "s": 2, "min_iter": 1}, None, [3, 9]),  # max_iter wins, as wandb
    ],
)
def test_bands(et: dict[str, Any], up_to: int | None, expected: list[int]) -> None:
    assert bands(config(**et).early_terminate, up_to) == expected


NAN = float("nan")
# Bands at iterations 2 and 6 (min_iter=2, eta=3). Value at index 2 / index 6:
CURVES: dict[str, list[float]] = {
    "a": [9, 8, 1, 1, 1, 1, 1, 1],    # 1 / 1
    "b": [9, 8, 2, 2, 2, 2, 2.5],     # 2 / 2.5
    "c": [9, 8, 3, 3, 3, 3, 0.5],     # 3 / 0.5
    "d": [9, 8, 4, 4],                # 4
    "e": [9, 8, 5],
    "f": [9, 8, 6],
    "g": [9, 8, 7, 7, 7],
    "h": [9, 8, 8],
    "i": [9, 8, 9],
    "j": [100, 100],                  # reached no band yet: never stopped
    "k": [9, 8, NAN],                 # diverged: counts as the worst
}
# Band 2: 10 runs reached it -> keep the best ceil(10/3) = 4 (a, b, c, d; threshold 4).
# Band 6: a, b, c reached it -> keep the best ceil(3/3) = 1 (c; threshold 0.5).
EXPECTED = {"a", "b", "e", "f", "g", "h", "i", "k"}


@pytest.mark.parametrize(
    "et", [{"min_iter": 2}, {"max_iter": 18, "s": 2}], ids=["min_iter", "max_iter"])
def test_stops_exactly_the_bad_runs(et: dict[str, Any]) -> None:
    c = config(**et)
    assert thresholds(c, CURVES) == {2: 4, 6: 0.5}
    stopped = {r for r in CURVES if should_stop(c, CURVES, r)}
    assert stopped == EXPECTED
    assert set(runs_to_stop(c, CURVES, CURVES)) == EXPECTED


def test_maximize_mirrors_minimize() -> None:
    flipped = {r: [-v for v in h] for r, h in CURVES.items()}
    c = config(goal="maximize", min_iter=2)
    assert set(runs_to_stop(c, flipped, flipped)) == EXPECTED


def test_ties_survive_and_a_lone_run_is_never_stopped() -> None:
    c = config(min_iter=1)
    assert not should_stop(c, {"x": [5, 5]}, "x")
    tied = {"x": [0, 3], "y": [0, 3], "z": [0, 4]}
    assert runs_to_stop(c, tied, tied) == ["z"]


def test_earlier_bands_still_count() -> None:
    # "late" is the best at band 9 but fell out of the top third at band 3.
    c = config(min_iter=3)
    curves = {f"r{i}": [5.0] * 3 + [float(i)] for i in range(6)}
    curves["late"] = [5.0] * 3 + [4.0] + [0.1] * 6
    assert should_stop(c, curves, "late")
    assert not should_stop(c, curves, "r0")


def test_no_early_terminate_or_unknown_run() -> None:
    plain = load_sweep_config({"method": "random", "parameters": {"x": {"values": [1]}}})
    assert not should_stop(plain, CURVES, "i")
    assert not should_stop(config(min_iter=2), CURVES, "missing")
    assert thresholds(config(min_iter=2), {}) == {}
