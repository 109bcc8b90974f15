"""Realistic wandb scripts (tests/compat/scripts) run each way in; their data read back with Api.

Each script runs twice at once: edited to ``import labtrack as wandb``, and unchanged
with the shim first on ``PYTHONPATH`` (what ``labtrack run --wandb`` does). A few also
run through the real ``labtrack run --wandb`` command. Both ways must store the same
runs, and the values each script printed must be the ones stored.
"""

from __future__ import annotations

import io
import json
import wave
from pathlib import Path
from typing import Any

import pytest

from .harness import ALIAS, CLI, SHIM, ScriptRun, run_script

WAYS = (ALIAS, SHIM)


# -- reading what a script stored ----------------------------------------------------
def only_run(sr: ScriptRun, project: str) -> Any:
    runs = sr.api().runs(project)
    assert len(runs) == 1, [(r.project, r.name) for r in sr.api().runs()]
    return runs[0]


def blob(sr: ScriptRun, digest: str) -> bytes:
    from labtrack.blobs import LocalBlobStore

    return LocalBlobStore(sr.store / "blobs").get_bytes(digest)


def table_rows(sr: ScriptRun, record: dict[str, Any]) -> list[list[Any]]:
    if "data" in record:
        return record["data"]  # type: ignore[no-any-return]
    return json.loads(blob(sr, record["data_blob"]["digest"]))  # type: ignore[no-any-return]


def media_by_key(run: Any) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for m in run.media():
        out.setdefault(m["key"], []).append(m)
    return out


def count_images(record: Any) -> int:
    """Image records anywhere inside a media record (a list of images, a table ...)."""
    if isinstance(record, dict):
        own = 1 if record.get("_type") == "image" else 0
        return own + sum(count_images(v) for v in record.values())
    if isinstance(record, list):
        return sum(count_images(v) for v in record)
    return 0


def fingerprint(sr: ScriptRun) -> list[dict[str, Any]]:
    """What a script stored, without what differs between two runs of it (ids, times)."""
    api = sr.api()
    runs = sorted(api.runs(), key=lambda r: r.created_at)
    out = []
    for r in runs:
        rows = [{k: v for k, v in row.items() if k not in ("_timestamp", "_runtime")}
                for row in r.history()]
        text = json.dumps({
            "project": r.project, "state": r.state, "config": r.config, "summary": r.summary,
            "tags": r.tags, "group": r.group, "job_type": r.job_type, "history": rows,
            "media": [(m["key"], m["step"], m["kind"], m["record"]) for m in r.media()],
        }, sort_keys=True)
        for other in runs:
            text = text.replace(other.id, "<id>")
        out.append(json.loads(text))
    return out


def run_both(script: str, tmp_path: Path) -> dict[str, ScriptRun]:
    runs = run_script(script, WAYS, tmp_path)
    for sr in runs.values():
        sr.check_ok()
    alias, shim = runs[ALIAS], runs[SHIM]
    assert fingerprint(alias) == fingerprint(shim), f"{script}: the ways in stored different data"
    return runs


# -- one test per script -------------------------------------------------------------
def check_classify(sr: ScriptRun) -> None:
    res = sr.result
    run = only_run(sr, "digits")
    assert run.state == "finished"
    assert run.config == {"epochs": 6, "alpha": 1e-4, "seed": 0}
    assert run.tags == ["sgd", "baseline"] and run.job_type == "train"
    rows = [r for r in run.history() if "val/acc" in r]
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4, 5]
    assert rows[-1]["val/acc"] > 0.85
    assert run.summary["test_acc"] == res["test_acc"]
    media = media_by_key(run)
    assert {k: [m["kind"] for m in v] for k, v in media.items()} == {
        "confusion_matrix": ["plot"], "roc": ["plot"], "pr": ["plot"]}
    cm = media["confusion_matrix"][0]["record"]
    assert cm["kind"] == "confusion_matrix"
    cells = table_rows(sr, cm["table"])
    assert sum(c[2] for c in cells) == res["n_test"]
    correct = sum(c[2] for c in cells if c[0] == c[1])
    assert correct / res["n_test"] == pytest.approx(res["test_acc"])
    roc = media["roc"][0]["record"]
    assert len(roc["figure"]["data"]) >= 10  # one curve per digit


def test_classification_with_confusion_matrix(tmp_path: Path) -> None:
    for sr in run_both("classify_sklearn.py", tmp_path).values():
        check_classify(sr)


def test_classification_through_labtrack_run_cli(tmp_path: Path) -> None:
    (sr,) = run_script("classify_sklearn.py", (CLI,), tmp_path, cli_project="digits").values()
    sr.check_ok()
    check_classify(sr)
    run = only_run(sr, "digits")
    assert any(f["path"] == "console/output.log" for f in run.files())


def test_regression_with_min_summary(tmp_path: Path) -> None:
    for sr in run_both("regression_sklearn.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "diabetes")
        assert run.group == "gbr" and run.config["learning_rate"] == 0.3
        history = run.history()
        assert [r["_step"] for r in history[:res["stages"]]] == list(range(res["stages"]))
        assert min(r["val/rmse"] for r in history if "val/rmse" in r) == res["best_val_rmse"]
        # define_metric(summary="min") keeps the best value, not the last
        assert res["best_val_rmse"] < res["last_val_rmse"]
        assert run.summary["val/rmse"] == pytest.approx(res["best_val_rmse"])
        assert -1 < run.summary["r2"] < 1
        media = media_by_key(run)
        scatter = media["pred_vs_actual"][0]["record"]
        assert scatter["kind"] == "scatter" and scatter["title"] == "Predicted vs actual"
        assert len(table_rows(sr, scatter["table"])) == res["n_val"]
        assert media["val_rmse_curve"][0]["record"]["kind"] == "line"


def test_sweep_with_agent_function(tmp_path: Path) -> None:
    for sr in run_both("sweep_function.py", tmp_path).values():
        res = sr.result
        runs = sr.api().runs("sweep-demo")
        assert len(runs) == 4
        assert {r.sweep_id for r in runs} == {res["sweep_id"]}
        assert {(r.config["C"], r.config["fit_intercept"]) for r in runs} == {
            (0.01, True), (0.01, False), (1.0, True), (1.0, False)}
        for r in runs:
            assert r.state == "finished"
            assert r.config["max_iter"] == 200  # init(config=...) default kept
            assert r.summary["val_loss"] == res["runs"][r.id]["val_loss"]
        assert min(r.summary["val_loss"] for r in runs) == res["best"]


def test_artifacts_logged_and_used(tmp_path: Path) -> None:
    for sr in run_both("artifacts_pipeline.py", tmp_path).values():
        res = sr.result
        api = sr.api()
        producer, consumer = api.run(res["producer"]), api.run(res["consumer"])
        assert producer.job_type == "dataset" and consumer.job_type == "train"
        assert consumer.summary["train_acc"] == res["train_acc"]
        data = api.artifact("pipeline/toy-data:latest")
        assert data.type == "dataset" and data.version == res["used_version"] == "v0"
        assert data.metadata == {"rows": 120, "source": "synthetic"}
        assert "v-demo" in data.aliases
        assert sorted(e.name for e in data.files()) == ["README.txt", "train.csv"]
        csv_text = (sr.cwd / "data" / "train.csv").read_text()
        folder = Path(data.download(root=str(sr.cwd / "check")))
        assert (folder / "train.csv").read_text() == csv_text
        assert data.logged_by() == producer.id
        assert consumer.id in data.used_by()
        model = api.artifact("pipeline/tree-model:latest")
        assert model.type == "model" and model.metadata["train_acc"] == res["train_acc"]
        assert model.logged_by() == consumer.id


def test_tables(tmp_path: Path) -> None:
    for sr in run_both("tables.py", tmp_path).values():
        res = sr.result
        media = media_by_key(only_run(sr, "tables"))
        pred = media["predictions"][0]["record"]
        assert pred["columns"] == ["sepal_length", "sepal_width", "truth", "prediction",
                                   "correct"]
        rows = table_rows(sr, pred)
        assert len(rows) == res["n_test"]
        assert sum(row[4] for row in rows) == res["correct"]
        assert all((row[2] == row[3]) == row[4] for row in rows)
        per_class = media["per_class"][0]["record"]
        assert per_class["columns"] == ["class", "support", "recall"]
        rows = table_rows(sr, per_class)
        assert [r[0] for r in rows] == ["setosa", "versicolor", "virginica"]
        assert sum(r[1] for r in rows) == res["n_test"]
        gallery = media["gallery"][0]["record"]
        assert gallery["column_types"]["image"] == "image"
        assert count_images(gallery) == 3


def test_images(tmp_path: Path) -> None:
    from PIL import Image

    for sr in run_both("images.py", tmp_path).values():
        run = only_run(sr, "images")
        media = media_by_key(run)
        sizes = {key: {(m["step"], m["record"]["width"], m["record"]["height"]) for m in ms}
                 for key, ms in media.items()}
        assert sizes["samples/hwc"] == {(0, 16, 16), (1, 16, 16), (2, 16, 16)}
        assert sizes["samples/chw"] == {(0, 32, 16), (1, 32, 16), (2, 32, 16)}  # CHW read as such
        assert sizes["samples/gray"] == {(0, 16, 16), (1, 16, 16), (2, 16, 16)}
        assert sizes["pil"] == sizes["from_path"] == {(3, 20, 10)}
        assert media["samples/hwc"][1]["record"]["caption"] == "random step 1"
        red = Image.open(io.BytesIO(blob(sr, media["from_path"][0]["record"]["digest"])))
        assert red.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
        gray = Image.open(io.BytesIO(blob(sr, media["samples/gray"][2]["record"]["digest"])))
        assert gray.convert("L").getpixel((15, 0)) == 255  # the gradient's bright end
        assert [r["brightness"] for r in run.history() if "brightness" in r] == pytest.approx(
            [1 / 6, 2 / 6, 3 / 6])


def test_list_of_images_under_one_key(tmp_path: Path) -> None:
    for sr in run_both("image_list.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "image-list")
        per_step: dict[int, int] = {}
        for m in run.media():
            if m["key"].startswith("examples"):
                per_step[m["step"]] = per_step.get(m["step"], 0) + count_images(m["record"])
        assert per_step == {step: res["per_step"] for step in range(res["steps"])}


def test_histograms(tmp_path: Path) -> None:
    for sr in run_both("histograms.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "histograms")
        media = media_by_key(run)
        for key in ("weights", "gradients"):
            assert [m["step"] for m in media[key]] == res["hist_steps"]
            for m in media[key]:
                rec = m["record"]
                assert m["kind"] == "histogram"
                assert sum(rec["values"]) == res["features"]
                assert len(rec["bins"]) == len(rec["values"]) + 1
        assert len(media["gradients"][0]["record"]["values"]) == 16  # np_histogram kept
        losses = [r["loss"] for r in run.history()]
        assert len(losses) == 30 and losses[-1] < losses[0]


def test_commit_false_and_explicit_steps(tmp_path: Path) -> None:
    for sr in run_both("commit_false.py", tmp_path).values():
        expected = sr.result["rows"]
        history = only_run(sr, "commit").history()
        epochs = [r for r in history if "val_loss" in r]
        assert [r["_step"] for r in epochs] == list(range(len(expected)))
        for row, want in zip(epochs, expected, strict=True):
            assert {k: row[k] for k in want} == pytest.approx(want)
        by_step = {r["_step"]: r for r in history}
        assert by_step[10]["late"] == 1.0 and by_step[10]["late_extra"] == 2.0
        assert by_step[11]["final"] == 3.0


def test_define_metric_custom_step(tmp_path: Path) -> None:
    for sr in run_both("define_metric_epoch.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "custom-step")
        history = run.history()
        assert len([r for r in history if "train/loss" in r]) == 20
        val = [r for r in history if "val/acc" in r]
        assert [r["epoch"] for r in val] == [0, 1, 2, 3]
        assert [r["val/acc"] for r in val] == pytest.approx(res["val_acc"])
        assert run.summary["train/loss"] == pytest.approx(res["min_train_loss"])
        assert run.summary["val/acc"] == pytest.approx(res["max_val_acc"])
        assert res["max_val_acc"] != res["val_acc"][-1]  # "max" is not just the last value


def test_config_summary_identity_and_saved_files(tmp_path: Path) -> None:
    for sr in run_both("config_summary.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "config-demo")
        want = {"lr": 0.02, "batch_size": 32, "optimizer": "adam", "scheduler": "cosine",
                "epochs": 3, "dropout": 0.1, "layers": [64, 32]}
        assert run.config == want == res["config"]
        assert (run.name, run.id, run.entity) == ("cfg-run", res["id"], "research-team")
        assert run.tags == ["demo"] and run.group == "exp-1" and run.job_type == "train"
        assert run.notes == "config and summary"
        assert res["project"] == "config-demo" and res["id"] in res["url"]
        assert res["dir_exists"] and res["id"] in res["dir"]
        assert run.summary["best_loss"] == pytest.approx(1 / 3)
        assert run.summary["status"] == "converged" and run.summary["params"] == 12345
        assert run.summary["identity"] == {"name": "cfg-run", "id": run.id,
                                           "project": "config-demo"}
        files = {f["path"]: f for f in run.files()}
        assert json.loads(blob(sr, files["metrics.json"]["digest"])) == {"final_loss": 1 / 3}
        assert blob(sr, files["notes.txt"]["digest"]) == b"kept with the run\n"


def test_api_analysis_script(tmp_path: Path) -> None:
    for sr in run_both("api_analysis.py", tmp_path).values():
        res = sr.result
        runs = {r.name: r for r in sr.api().runs("analysis")}
        assert set(runs) == set(res["runs"]) == {"lr-0.1", "lr-0.3"}
        for name, seen in res["runs"].items():
            run = runs[name]
            losses = [r["loss"] for r in run.history()]
            assert seen["id"] == run.id and seen["lr"] == run.config["lr"]
            assert seen["history_rows"] == seen["scan_rows"] == len(losses) == 20
            assert seen["history_min"] == min(losses) == seen["final_loss"]
            assert seen["scan_last_acc"] == pytest.approx(1 - losses[-1])
            assert seen["state"] == "finished"
        assert res["best"] == res["best_by_path"] == "lr-0.3"


def test_html_audio_video_and_charts(tmp_path: Path) -> None:
    from PIL import Image

    for sr in run_both("media_misc.py", tmp_path).values():
        media = media_by_key(only_run(sr, "media"))
        kinds = {k: v[0]["kind"] for k, v in media.items()}
        assert kinds == {"report": "html", "tone": "audio", "moving_bar": "video",
                         "losses": "plot", "class_counts": "plot", "scores": "plot",
                         "custom": "plot"}
        assert b"Epoch summary" in blob(sr, media["report"][0]["record"]["digest"])
        with wave.open(io.BytesIO(blob(sr, media["tone"][0]["record"]["digest"]))) as w:
            assert w.getframerate() == 8000 and w.getnframes() == 2000
        gif = Image.open(io.BytesIO(blob(sr, media["moving_bar"][0]["record"]["digest"])))
        assert gif.n_frames == sr.result["frames"]
        series = media["losses"][0]["record"]["figure"]["data"]
        assert [t["name"] for t in series] == ["train", "val"]
        assert media["custom"][0]["record"]["figure"]["data"][0]["y"] == [3, 1, 2]


def test_resume_by_id(tmp_path: Path) -> None:
    for sr in run_both("resume_run.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "resume")
        assert run.id == res["id"] and res["resumed_at"] == 5
        assert run.config == {"total": 10} and run.state == "finished"
        assert [(r["_step"], r["value"]) for r in run.history()] == [
            (s, 2.0 * s) for s in range(10)]


def test_torch_watch_histograms(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="torch is not installed: the torch script needs it")
    for sr in run_both("torch_classifier.py", tmp_path).values():
        res = sr.result
        run = only_run(sr, "torch-demo")
        media = media_by_key(run)
        sizes = {"0.weight": 4 * 16, "0.bias": 16, "2.weight": 16 * 3, "2.bias": 3}
        assert set(res["params"]) == set(sizes)
        # log_freq=5 over 20 steps: the 5th, 10th ... backward pass and training forward
        # call, joined (commit=False) to the step logged right after them
        for name, numel in sizes.items():
            for kind in ("gradients", "parameters"):
                entries = media[f"{kind}/{name}"]
                assert [m["step"] for m in entries] == [4, 9, 14, 19]
                assert all(sum(m["record"]["values"]) == numel for m in entries)
        cells = table_rows(sr, media["confusion"][0]["record"]["table"])
        assert sum(c[2] for c in cells) == res["n"]
        assert 0.5 < run.summary["acc"] <= 1.0


def test_cli_without_project_keeps_the_scripts_project(tmp_path: Path) -> None:
    """`labtrack run --wandb` with no -p: wandb.init(project=...) in the script names it."""
    (sr,) = run_script("define_metric_epoch.py", (CLI,), tmp_path).values()
    sr.check_ok()
    assert [r.project for r in sr.api().runs()] == ["custom-step"]
