"""Logging values through the public API and reading them back from the real store."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import labtrack
from labtrack.errors import UsageError


def _read(run_id: str) -> labtrack.api.ApiRun:  # type: ignore[name-defined]
    return labtrack.Api().run(run_id)


def test_quick_start_roundtrip() -> None:
    run = labtrack.init(project="mnist", config={"lr": 1e-3, "layers": [64, 32]},
                        tags=["baseline"])
    for step in range(1000):
        labtrack.log({"train/loss": 1.0 / (step + 1), "train/acc": step / 1000})
    run.summary["best_acc"] = 0.999
    run.finish()
    r = _read(run.id)
    assert r.state == "finished"
    assert r.project == "mnist" and r.tags == ["baseline"]
    assert r.config == {"lr": 1e-3, "layers": [64, 32]}
    assert r.summary["best_acc"] == 0.999
    assert r.summary["train/acc"] == pytest.approx(0.999)
    steps, values, _ = r.series("train/loss")
    assert list(steps) == list(range(1000))
    assert values[9] == pytest.approx(0.1)


def test_nested_dicts_are_flattened_and_numpy_scalars_accepted() -> None:
    run = labtrack.init(project="p")
    run.log({"train": {"loss": np.float32(0.5), "acc": np.array(0.75)},
             "n": np.int64(3), "flag": True})
    run.finish()
    r = _read(run.id)
    assert set(r.keys()) == {"train/loss", "train/acc", "n", "flag"}
    assert r.summary["train/acc"] == 0.75 and r.summary["n"] == 3 and r.summary["flag"] is True


def test_nan_and_inf_are_stored_and_read_back() -> None:
    run = labtrack.init(project="p")
    run.log({"x": float("nan")})
    run.log({"x": float("inf")})
    run.log({"x": float("-inf")})
    run.log({"y": float("nan")})
    run.finish()
    r = _read(run.id)
    _, values, _ = r.series("x")
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert r.summary["x"] == -math.inf
    assert math.isnan(r.summary["y"])
    hist = r.history(keys=["x"])
    assert math.isnan(hist[0]["x"]) and hist[1]["x"] == math.inf


@pytest.mark.parametrize("value", ["text", [1, 2], {1, 2}, None, object(), b"bytes"])
def test_wrong_types_raise_typeerror_naming_key(value: object) -> None:
    run = labtrack.init(project="p")
    with pytest.raises(TypeError, match="bad/key"):
        run.log({"bad/key": value, "ok": 1.0})
    run.log({"ok": 2.0})
    run.finish()
    assert _read(run.id).history() == [{"_step": 0, "_timestamp": pytest.approx(0, abs=1e10),
                                        "_runtime": pytest.approx(0, abs=1e3), "ok": 2.0}]


def test_numpy_array_is_refused_with_a_hint() -> None:
    run = labtrack.init(project="p")
    with pytest.raises(TypeError, match="Histogram"):
        run.log({"w": np.zeros(3)})


def test_ten_thousand_keys_in_one_call() -> None:
    run = labtrack.init(project="p")
    data = {f"m/{i}": float(i) for i in range(10_000)}
    run.log(data)
    run.log(data)
    run.finish()
    r = _read(run.id)
    assert len(r.keys()) == 10_000
    assert r.summary["m/9999"] == 9999.0
    assert list(r.series("m/5000").values) == [5000.0, 5000.0]


def test_long_and_unicode_keys() -> None:
    run = labtrack.init(project="p")
    key = "métrique/精度/" + "x" * 400
    run.log({key: 1.0, "emoji/🚀": 2.0})
    with pytest.raises(ValueError, match="limit is 512"):
        run.log({"k" * 600: 1.0})
    with pytest.raises(ValueError, match="empty"):
        run.log({"": 1.0})
    run.finish()
    r = _read(run.id)
    assert r.summary[key] == 1.0 and r.summary["emoji/🚀"] == 2.0


def test_steps_going_backwards_are_kept_and_flagged() -> None:
    run = labtrack.init(project="p")
    for step in (0, 1, 2, 3):
        run.log({"loss": float(step)}, step=step)
    with pytest.warns(UserWarning, match="lower than the highest step"):
        run.log({"loss": 99.0}, step=1, commit=True)
    run.log({"loss": 4.0})  # automatic steps continue after the highest one
    run.finish()
    r = _read(run.id)
    steps, values, _ = r.series("loss")
    assert list(steps) == [0, 1, 2, 3, 1, 4]
    assert list(values) == [0.0, 1.0, 2.0, 3.0, 99.0, 4.0]
    info = {s["key"]: s for s in r.series_info()}
    assert info["loss"]["backwards"] is True


def test_commit_false_accumulates_into_one_step() -> None:
    run = labtrack.init(project="p")
    run.log({"a": 1.0}, commit=False)
    run.log({"b": 2.0}, commit=False)
    run.log({"c": 3.0})
    run.log({"a": 4.0})
    run.finish()
    rows = _read(run.id).history()
    assert [(r["_step"], r.get("a"), r.get("b"), r.get("c")) for r in rows] == [
        (0, 1.0, 2.0, 3.0), (1, 4.0, None, None)]


def test_explicit_steps_stay_open_as_in_wandb() -> None:
    run = labtrack.init(project="p")
    run.log({"a": 1.0}, step=10)
    assert run.step == 10  # step 10 is still open
    run.log({"b": 2.0}, step=10)
    run.log({"c": 3.0})  # no step: joins the open step 10 and commits it
    assert run.step == 11
    run.log({"a": 4.0})
    run.log({"a": 5.0}, step=20)
    run.log({"a": 6.0}, step=21)  # a new step commits step 20
    run.finish()  # and finish commits the open step 21
    rows = _read(run.id).history()
    assert [(r["_step"], r.get("a"), r.get("b"), r.get("c")) for r in rows] == [
        (10, 1.0, 2.0, 3.0), (11, 4.0, None, None), (20, 5.0, None, None),
        (21, 6.0, None, None)]


def test_bad_step_types() -> None:
    run = labtrack.init(project="p")
    with pytest.raises(TypeError, match="step must be an int"):
        run.log({"a": 1.0}, step="3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        run.log({"a": 1.0}, step=-1)
    run.log({"a": 1.0}, step=np.int64(5))
    run.finish()
    assert _read(run.id).history()[0]["_step"] == 5


def test_log_after_finish_is_a_clear_error() -> None:
    run = labtrack.init(project="p")
    run.finish()
    with pytest.raises(UsageError, match="finished"):
        run.log({"a": 1.0})
    with pytest.raises(UsageError, match="init"):
        labtrack.log({"a": 1.0})


def test_huge_values() -> None:
    run = labtrack.init(project="p")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run.log({"big": 1e308, "int": 2**62, "huge_int": 10**400})
    run.finish()
    r = _read(run.id)
    assert r.summary["big"] == 1e308
    assert r.summary["int"] == float(2**62)
    assert r.summary["huge_int"] == math.inf


def test_disabled_mode_is_a_noop(store_dir: Path) -> None:
    run = labtrack.init(project="p", mode="disabled", config={"a": 1})
    run.log({"x": 1.0})
    run.summary["y"] = 2
    run.log_artifact("anything")
    run.finish()
    assert run.config["a"] == 1
    assert not (store_dir / "runs").exists()


def test_unknown_kwargs_warn_once() -> None:
    with pytest.warns(UserWarning, match="ignores the argument"):
        run = labtrack.init(project="p", some_future_option=True)
    run.finish()


def test_context_manager_marks_failed_with_traceback() -> None:
    with pytest.raises(ZeroDivisionError):
        with labtrack.init(project="p") as run:
            run.log({"a": 1.0})
            1 / 0  # noqa: B018
    r = _read(run.id)
    assert r.state == "failed"
    assert "ZeroDivisionError" in (r.error or "")


def test_names_are_generated_and_unique(store_dir: Path) -> None:
    a = labtrack.init(project="p", name="same")
    a.finish()
    b = labtrack.init(project="p", name="same")
    b.finish()
    c = labtrack.init(project="p")
    c.finish()
    names = {r.name for r in labtrack.Api().runs("p")}
    assert names == {"same", "same-2", c.name}
    assert len(c.id) == 8 and c.id.isalnum()


def test_resume_allow_must_never() -> None:
    run = labtrack.init(project="p", id="resumeme", config={"lr": 0.1})
    run.log({"loss": 1.0})
    run.log({"loss": 0.5})
    run.summary["note"] = "first"
    run.finish()
    with pytest.raises(UsageError, match="resume='allow'"):
        labtrack.init(project="p", id="resumeme")
    with pytest.raises(UsageError, match="already exists"):
        labtrack.init(project="p", id="resumeme", resume="never")
    with pytest.raises(UsageError, match="does not exist"):
        labtrack.init(project="p", id="nosuchrun", resume="must")
    again = labtrack.init(id="resumeme", resume="allow")
    assert again.project == "p" and again.config["lr"] == 0.1 and again.step == 2
    again.log({"loss": 0.25})
    again.finish()
    r = _read("resumeme")
    assert list(r.series("loss").values) == [1.0, 0.5, 0.25]
    assert r.summary["note"] == "first" and r.summary["loss"] == 0.25
    assert r.state == "finished"


def test_module_level_api() -> None:
    labtrack.config.update({"before": 1})  # set before init: merged into the next run
    run = labtrack.init(project="p", config={"lr": 0.1})
    assert labtrack.run is run
    labtrack.config.batch = 32
    labtrack.log({"a": 1.0})
    labtrack.summary["s"] = 5
    labtrack.define_metric("a", summary="max")
    labtrack.finish()
    assert labtrack.run is None
    r = _read(run.id)
    assert r.config == {"before": 1, "lr": 0.1, "batch": 32}
    assert r.summary["s"] == 5


def test_a_key_shared_by_rows_with_different_keys_keeps_step_order() -> None:
    run = labtrack.init(project="p")
    for epoch in range(5):
        run.log({"epoch": epoch, "train/loss": 1.0 / (epoch + 1)})
        run.log({"epoch": epoch, "val/acc": epoch / 10})
    run.finish()
    r = _read(run.id)
    steps, values, _ = r.series("epoch")
    assert list(steps) == list(range(10))
    assert list(values) == [e for e in range(5) for _ in range(2)]
    assert not {s["key"]: s for s in r.series_info()}["epoch"]["backwards"]


def test_lists_of_media_under_one_key() -> None:
    import numpy as np

    run = labtrack.init(project="p")
    run.log({"examples": [labtrack.Image(np.zeros((4, 4, 3))), labtrack.Image(np.ones((4, 4)))]})
    run.finish()
    (record,) = _read(run.id).media("examples")
    assert record["kind"] == "list" and record["record"]["count"] == 2
    assert [i["_type"] for i in record["record"]["items"]] == ["image", "image"]
    with pytest.raises(TypeError, match="mixed"):
        labtrack.init(project="p").log({"mixed": [labtrack.Image(np.zeros((2, 2))), 3]})


def test_files_in_run_dir_and_save_policies_are_kept(tmp_path: Path) -> None:
    import os

    run = labtrack.init(project="p")
    with open(os.path.join(run.dir, "model.txt"), "w") as fh:
        fh.write("weights")
    later = tmp_path / "later.ckpt"
    assert run.save(str(tmp_path / "*.ckpt"), base_path=str(tmp_path), policy="end") == []
    later.write_text("checkpoint")
    with pytest.raises(FileNotFoundError):
        run.save(str(tmp_path / "missing.bin"))
    run.finish()
    names = {f["path"] for f in _read(run.id).files()}
    assert {"model.txt", "later.ckpt"} <= names
