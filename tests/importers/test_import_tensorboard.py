"""`labtrack import tensorboard`: event files written by PyTorch's SummaryWriter (TF1-style
summaries) and TensorBoard's own writer (TF2-style tensors), imported and read back."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from labtrack.cli import cli

from .conftest import blob_bytes, points

pytest.importorskip("tensorboard")

WALL = 1_700_000_000.0
WEIGHTS = np.random.RandomState(0).randn(1000)
PIXELS = np.random.RandomState(1).randint(0, 256, (3, 8, 6)).astype(np.uint8)  # CHW


def _torch_run(logdir: Path) -> None:
    pytest.importorskip("torch")
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(str(logdir / "exp" / "lr0.1"))
    for step in range(50):
        w.add_scalar("loss", 1.0 / (step + 1), step, walltime=WALL + step)
        if step % 10 == 0:
            w.add_scalar("val/acc", step / 50, step, walltime=WALL + step + 0.5)
    w.add_histogram("weights", WEIGHTS, 7, walltime=WALL + 60)
    w.add_histogram("small", np.arange(10.0), 8, bins=5, walltime=WALL + 61)
    w.add_image("sample", PIXELS, 9, walltime=WALL + 62)
    w.add_text("notes", "hello", 0, walltime=WALL + 63)
    w.close()
    hp = SummaryWriter(str(logdir / "exp" / "sweep"))
    hp.add_hparams({"lr": 0.1, "batch": 32, "opt": "sgd", "nesterov": True},
                   {"hparam/acc": 0.75}, run_name="trial")
    hp.close()


def _tf2_run(logdir: Path) -> None:
    from tensorboard.summary import Writer

    w = Writer(str(logdir / "exp" / "tf2"))
    for step in (0, 5, 10):
        w.add_scalar("reward", step * 1.5, step, wall_time=WALL + 100 + step)
    w.close()


@pytest.fixture(scope="module")
def logdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tb")
    _tf2_run(root)
    _torch_run(root)
    return root / "exp"


def _import(logdir: Path, store_dir: Path, *extra: str) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["import", "tensorboard", str(logdir), "--dir",
                                      str(store_dir), "--json", *extra])
    assert result.exit_code == 0, result.output
    return json.loads(result.output[result.output.index("{"):])  # type: ignore[no-any-return]


def test_scalars_keep_steps_wall_times_and_float32_values(logdir: Path, store_dir: Path,
                                                          api: Any) -> None:
    report = _import(logdir, store_dir)
    assert len(report["imported"]) == 3 and report["errors"] == {}
    assert "sweep: no scalars, histograms, images or hparams; left out" in report["notes"]
    assert any("notes/text_summary" in n for n in report["notes"])  # text is left out, said so
    runs = {r.name: r for r in api().runs()}
    assert set(runs) == {"lr0.1", "tf2", "sweep/trial"}
    assert {r.project for r in runs.values()} == {"exp"}
    run = runs["lr0.1"]
    f32 = np.float32
    assert points(run, "loss") == [(s, pytest.approx(float(f32(1.0 / (s + 1)))),
                                    pytest.approx(WALL + s)) for s in range(50)]
    assert points(run, "val/acc") == [(s, pytest.approx(float(f32(s / 50))),
                                       pytest.approx(WALL + s + 0.5)) for s in range(0, 50, 10)]
    assert run.created_at == pytest.approx(WALL, abs=1e5)  # the file_version event's time
    assert run.state == "finished"
    assert points(runs["tf2"], "reward") == [(s, s * 1.5, pytest.approx(WALL + 100 + s))
                                             for s in (0, 5, 10)]


def test_histograms_images_and_hparams(logdir: Path, store_dir: Path, api: Any) -> None:
    _import(logdir, store_dir)
    runs = {r.name: r for r in api().runs()}
    media = {m["key"]: m for m in runs["lr0.1"].media()}
    assert set(media) == {"weights", "small", "sample"}

    hist = media["weights"]
    assert hist["step"] == 7 and hist["kind"] == "histogram"
    edges = np.array(hist["record"]["bins"])
    counts = np.array(hist["record"]["values"])
    assert len(counts) <= 512 and counts.sum() == len(WEIGHTS)
    assert edges[0] == pytest.approx(WEIGHTS.min(), rel=1e-6)
    assert edges[-1] == pytest.approx(WEIGHTS.max(), rel=1e-6)
    recount = np.histogram(np.clip(WEIGHTS, edges[0], edges[-1]), bins=edges)[0]
    assert recount.tolist() == counts.tolist()
    small = media["small"]["record"]
    assert small["values"] == [2, 2, 2, 2, 2]
    assert small["bins"] == pytest.approx([0.0, 1.8, 3.6, 5.4, 7.2, 9.0])

    from PIL import Image

    image = media["sample"]
    assert image["step"] == 9
    pixels = np.asarray(Image.open(io.BytesIO(blob_bytes(store_dir, image["record"]["digest"]))))
    assert pixels.shape == (8, 6, 3)
    assert (pixels == PIXELS.transpose(1, 2, 0)).all()

    sweep = runs["sweep/trial"]
    assert sweep.config == {"lr": 0.1, "batch": 32, "opt": "sgd", "nesterov": True}
    assert sweep.summary == {"hparam/acc": 0.75}


def test_reimport_is_idempotent_and_project_option(logdir: Path, store_dir: Path,
                                                   api: Any) -> None:
    first = _import(logdir, store_dir, "--project", "tb")
    second = _import(logdir, store_dir, "--project", "tb")
    assert second["imported"] == [] and sorted(second["skipped"]) == sorted(first["imported"])
    replaced = _import(logdir, store_dir, "--project", "tb", "--replace")
    assert sorted(replaced["imported"]) == sorted(first["imported"])
    runs = api().runs(project="tb")
    assert len(runs) == 3
    loss = next(r for r in runs if r.name == "lr0.1").series("loss")
    assert len(loss.steps) == 50


def test_a_folder_without_event_files_is_an_error(tmp_path: Path, store_dir: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(cli, ["import", "tensorboard", str(tmp_path / "empty"),
                                      "--dir", str(store_dir)])
    assert result.exit_code == 2
    assert "no TensorBoard event files" in result.output
