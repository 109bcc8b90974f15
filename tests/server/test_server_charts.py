"""Chart data: downsampling keeps extremes, x axes (step, wall, relative, metric), encodings."""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import pytest

from labtrack.server.downsample import join_by_step, minmax_indices


def _b64(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f8")


@pytest.mark.parametrize("n,max_points", [(10, 2000), (100_000, 2000), (100_003, 500), (4001, 4)])
def test_minmax_indices_keep_extremes_and_budget(n: int, max_points: int) -> None:
    rng = np.random.default_rng(n)
    values = rng.normal(size=n)
    values[n // 3] = 50.0  # a spike every chart must show
    values[n // 2] = -50.0
    idx = minmax_indices(values, max_points)
    assert len(idx) <= max(max_points, n if n <= max_points else 0) or len(idx) <= max_points
    assert np.all(np.diff(idx) > 0)  # sorted, no duplicates: the line keeps logging order
    kept = values[idx]
    assert kept.max() == 50.0 and kept.min() == -50.0
    if n > max_points:
        assert len(idx) <= max_points
        # every bucket is represented: no long stretch without a point
        assert np.max(np.diff(idx)) <= 2 * math.ceil(n / (max_points // 2))


def test_minmax_indices_with_nan_keep_finite_extremes() -> None:
    values = np.sin(np.linspace(0, 20, 10_000))
    values[::7] = np.nan
    values[5000:5100] = np.nan  # a whole stretch of NaN stays visible as a gap
    values[1234] = 9.0
    idx = minmax_indices(values, 200)
    assert len(idx) <= 200
    assert np.nanmax(values[idx]) == 9.0
    assert any(5000 <= i < 5100 for i in idx)


def test_join_by_step_pairs_values_logged_at_the_same_step() -> None:
    x_steps = np.array([0, 10, 20, 20, 30])
    x_vals = np.array([0.0, 1.0, 2.0, 2.5, 3.0])  # step 20 logged twice: the last wins
    y_steps = np.array([5, 10, 20, 30, 40])
    y_vals = np.array([9.0, 0.9, 0.8, 0.7, 0.6])
    x, y, steps = join_by_step(x_steps, x_vals, y_steps, y_vals)
    assert steps.tolist() == [10, 20, 30]
    assert x.tolist() == [1.0, 2.5, 3.0] and y.tolist() == [0.9, 0.8, 0.7]
    empty = join_by_step(np.array([], dtype=np.int64), np.array([]), y_steps, y_vals)
    assert all(len(a) == 0 for a in empty)


def test_chart_downsamples_a_long_run_keeping_its_spike(client: Any, make_run: Any) -> None:
    n = 30_000
    values = [math.sin(i / 500) for i in range(n)]
    values[12_345] = 40.0
    run_id = make_run(metrics={"loss": values})
    body = client.post("/api/v1/charts", json={"runs": [run_id], "keys": ["loss"],
                                               "x": "step", "max_points": 1000}).json()
    (line,) = body["lines"]
    assert line["total"] == n and line["sampled"] is True
    assert len(line["y"]) == line["points"] <= 1000
    assert max(line["y"]) == 40.0 and min(line["y"]) == pytest.approx(min(values))
    assert line["x"][line["y"].index(40.0)] == 12_345  # the spike stays at its step
    assert line["x"] == sorted(line["x"])
    assert body["runs"][run_id]["state"] == "finished"


def test_chart_x_axes_wall_relative_and_step_metric(client: Any, make_run: Any, store: Any
                                                    ) -> None:
    def setup(run: Any) -> None:
        run.define_metric("val/acc", step_metric="epoch")

    run_id = make_run(metrics={"loss": [1.0, 0.5, 0.25, 0.125], "epoch": [0, 1, 2, 3],
                               "val/acc": [0.1, 0.4, 0.6, 0.8]}, setup=setup)
    run = store.get_run(run_id)
    wall = client.post("/api/v1/charts", json={"runs": [run_id], "keys": ["loss"],
                                               "x": "wall"}).json()["lines"][0]
    times = store.read_series(run_id, "loss").times
    assert wall["x"] == pytest.approx((times * 1000).tolist())
    rel = client.post("/api/v1/charts", json={"runs": [run_id], "keys": ["loss"],
                                              "x": "relative"}).json()["lines"][0]
    assert rel["x"] == pytest.approx((times - run["created_at"]).tolist())
    assert all(v >= 0 for v in rel["x"])
    # x = another metric, joined by step
    by_epoch = client.post("/api/v1/charts", json={
        "runs": [run_id], "keys": ["loss"], "x": "metric", "x_key": "epoch"}).json()["lines"][0]
    assert by_epoch["x"] == [0, 1, 2, 3] and by_epoch["y"] == [1.0, 0.5, 0.25, 0.125]
    assert by_epoch["x_key"] == "epoch"
    # default: define_metric's step_metric for val/acc, plain steps for loss
    default = client.post("/api/v1/charts", json={"runs": [run_id], "keys": ["val/acc", "loss"],
                                                  "x": "default"}).json()["lines"]
    lines = {line["key"]: line for line in default}
    assert lines["val/acc"]["x_key"] == "epoch" and lines["val/acc"]["x"] == [0, 1, 2, 3]
    assert lines["loss"]["x_key"] is None and lines["loss"]["x"] == [0, 1, 2, 3]


def test_chart_many_runs_keys_missing_series_and_bad_requests(client: Any, make_run: Any
                                                              ) -> None:
    a = make_run(metrics={"loss": [3.0, 2.0], "acc": [0.1, 0.2]})
    b = make_run(metrics={"loss": [4.0, 1.0]})
    body = client.post("/api/v1/charts", json={"runs": [a, b, "ghost"],
                                               "keys": ["loss", "acc", "nope"]}).json()
    assert [(line["run_id"], line["key"]) for line in body["lines"]] == \
        [(a, "loss"), (a, "acc"), (b, "loss")]
    assert set(body["runs"]) == {a, b}
    bad = client.post("/api/v1/charts", json={"runs": [a], "keys": ["loss"], "x": "sideways"})
    assert bad.status_code == 400 and "x must be" in bad.json()["error"]
    no_key = client.post("/api/v1/charts", json={"runs": [a], "keys": ["loss"], "x": "metric"})
    assert no_key.status_code == 400
    too_small = client.post("/api/v1/charts", json={"runs": [a], "keys": ["loss"],
                                                    "max_points": 1})
    assert too_small.status_code == 422


def test_chart_nan_is_null_in_json_and_nan_in_base64(client: Any, make_run: Any) -> None:
    values = [1.0, float("nan"), 3.0, float("inf"), 5.0]
    run_id = make_run(metrics={"loss": values})
    req = {"runs": [run_id], "keys": ["loss"], "x": "step"}
    as_json = client.post("/api/v1/charts", json=req).json()["lines"][0]
    assert as_json["y"] == [1.0, None, 3.0, None, 5.0]
    as_b64 = client.post("/api/v1/charts", json=dict(req, encoding="base64")).json()
    assert as_b64["encoding"] == "base64"
    line = as_b64["lines"][0]
    y = _b64(line["y"])
    assert y[0] == 1.0 and math.isnan(y[1]) and math.isinf(y[3]) and y[4] == 5.0
    assert _b64(line["x"]).tolist() == [0, 1, 2, 3, 4]


def test_chart_cache_reads_a_growing_series_again(client: Any, store: Any) -> None:
    import labtrack

    run = labtrack.init(project="proj", reinit="create_new")
    for i in range(5):
        run.log({"loss": float(i)})
    run._writer.flush()
    req = {"runs": [run.id], "keys": ["loss"], "x": "step"}
    first = client.post("/api/v1/charts", json=req).json()["lines"][0]
    assert first["y"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    cache = client.app.state.chart_cache
    hits = cache.hits
    assert client.post("/api/v1/charts", json=req).json()["lines"][0] == first
    assert cache.hits == hits + 1  # served from the cache
    for i in range(5, 8):
        run.log({"loss": float(i)})
    run._writer.flush()
    grown = client.post("/api/v1/charts", json=req).json()["lines"][0]
    assert grown["y"] == [float(i) for i in range(8)]  # not the stale cached line
    run.finish()


def test_metric_keys_and_series(client: Any, make_run: Any) -> None:
    a = make_run(metrics={"loss": [1.0], "acc": [0.5], "system/cpu": [3.0]})
    b = make_run(metrics={"loss": [2.0]})
    keys = client.post("/api/v1/metrics/keys", json={"runs": [a, b]}).json()
    assert [(k["key"], k["runs"], k["system"]) for k in keys] == \
        [("acc", 1, False), ("loss", 2, False), ("system/cpu", 1, True)]
    series = {s["key"]: s for s in client.get(f"/api/v1/runs/{a}/series").json()}
    assert series["loss"]["count"] == 1 and series["acc"]["last"] == 0.5
    assert client.get("/api/v1/runs/ghost/series").status_code == 404
