"""`labtrack import wandb`: offline runs made by the real wandb package (in a child process,
WANDB_MODE=offline), imported from their folders and read back through labtrack.Api."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from labtrack.cli import cli
from labtrack.importers._wandb_log import iter_payloads, iter_records
from labtrack.importers.wandb import import_wandb

from .conftest import blob_bytes, points

pytest.importorskip("wandb")

LONG = "x" * 70_000  # a config value bigger than two 32 KiB blocks of the log

SCRIPT = r"""
import json, sys
import numpy as np
import wandb

out = {}
run = wandb.init(project="vision", name="baseline", config={"lr": 0.01, "optimizer": {"name":
                 "adam", "betas": [0.9, 0.99]}, "long": "LONG"}, tags=["a", "b"],
                 notes="first", group="g1", job_type="train")
for step in range(30):
    run.log({"loss": 1.0 / (step + 1), "train": {"acc": step / 30, "epoch": step // 10}},
            step=step)
run.log({"weights": wandb.Histogram(np.arange(100.0), num_bins=10)}, step=30)
run.log({"sample": wandb.Image(np.full((4, 5, 3), 200, dtype=np.uint8), caption="grey")},
        step=31)
run.log({"status": "ok", "loss": float("nan")}, step=32)
run.log({"done": 1}, step=33)  # commits step 32
run.summary["best_acc"] = 0.97
run.summary["loss"] = 0.0333
with open(sys.argv[2], "w") as fh:
    fh.write("checkpoint")
run.save(sys.argv[2], base_path=sys.argv[3])
print("console line")
out["baseline"] = run.id
run.finish()

run = wandb.init(project="vision", name="failing")
run.log({"loss": 5.0})
out["failing"] = run.id
run.finish(exit_code=3)

for segment, first in enumerate((0, 10)):  # a run resumed offline: two folders, one id
    run = wandb.init(project="vision", id="resumed1", name="resumed" if not segment else None,
                     resume="allow")
    for i in range(3):
        run.log({"a": first + i})
    run.finish()
out["resumed"] = "resumed1"
with open(sys.argv[1], "w") as fh:
    json.dump(out, fh)
""".replace('"LONG"', repr(LONG))


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("wandb")
    env = dict(os.environ, WANDB_MODE="offline", WANDB_DIR=str(root), WANDB_SILENT="true",
               WANDB_CONSOLE="wrap", WANDB_DISABLE_GIT="true")
    ids_file = root / "ids.json"
    subprocess.run([sys.executable, "-c", SCRIPT, str(ids_file), str(root / "ckpt.txt"),
                    str(root)], env=env, cwd=root, check=True, capture_output=True, timeout=120)
    return root, json.loads(ids_file.read_text())


def test_every_value_arrives(wandb_dir: tuple[Path, dict[str, str]], store_dir: Path,
                             api: Any) -> None:
    root, ids = wandb_dir
    report = import_wandb(root, store_dir)
    assert sorted(report.imported) == sorted(f"wandb-{i}" for i in ids.values())
    assert report.errors == {}
    assert any("status" in note for note in report.notes)  # strings are not metrics: said so
    runs = {r.name: r for r in api().runs()}
    run = runs["baseline"]
    assert run.id == f"wandb-{ids['baseline']}"
    assert run.project == "vision"
    assert run.config == {"lr": 0.01, "optimizer": {"name": "adam", "betas": [0.9, 0.99]},
                          "long": LONG}
    assert run.tags == ["a", "b"] and run.notes == "first"
    assert run.group == "g1" and run.job_type == "train"
    assert run.state == "finished"

    loss = points(run, "loss")
    assert [(s, v) for s, v, _ in loss[:30]] == [(s, pytest.approx(1.0 / (s + 1)))
                                                for s in range(30)]
    assert loss[30][0] == 32 and np.isnan(loss[30][1])
    times = [t for _, _, t in loss]
    assert times == sorted(times) and times[0] >= run.created_at - 1
    assert [(s, v) for s, v, _ in points(run, "train/acc")] == [
        (s, pytest.approx(s / 30)) for s in range(30)]
    assert [v for _, v, _ in points(run, "train/epoch")] == [s // 10 for s in range(30)]
    assert run.summary["best_acc"] == 0.97
    assert run.summary["loss"] == 0.0333  # wandb's own summary wins over the last value (NaN)
    assert any(k.startswith("system/") for k in run.keys())

    media = {m["key"]: m for m in run.media()}
    hist = media["weights"]["record"]
    assert media["weights"]["step"] == 30
    assert hist["values"] == [10] * 10
    assert hist["bins"] == pytest.approx(np.linspace(0, 99, 11).tolist())
    image = media["sample"]
    assert image["step"] == 31 and image["record"]["caption"] == "grey"
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(blob_bytes(store_dir, image["record"]["digest"]))))
    assert pixels.shape[:2] == (4, 5) and (pixels[..., :3] == 200).all()

    files = {f["path"]: f for f in run.files()}
    assert blob_bytes(store_dir, files["ckpt.txt"]["digest"]) == b"checkpoint"
    assert "requirements.txt" in files
    if "output.log" in files:  # console capture depends on the platform's wandb core
        assert b"console line" in blob_bytes(store_dir, files["output.log"]["digest"])

    failing = runs["failing"]
    assert failing.state == "failed" and failing.exit_code == 3
    assert points(failing, "loss")[0][:2] == (0, 5.0)

    resumed = runs["resumed"]  # both segments in one run, steps as wandb logged them
    assert resumed.id == "wandb-resumed1"
    assert [(s, v) for s, v, _ in points(resumed, "a")] == [
        (0, 0), (1, 1), (2, 2), (0, 10), (1, 11), (2, 12)]
    assert resumed.state == "finished"


def test_reimport_skips_replace_and_no_system(wandb_dir: tuple[Path, dict[str, str]],
                                              store_dir: Path, api: Any) -> None:
    root, ids = wandb_dir
    first = CliRunner().invoke(cli, ["import", "wandb", str(root / "wandb"), "--dir",
                                     str(store_dir), "--no-system", "--project", "old"])
    assert first.exit_code == 0, first.output
    assert "Imported 3 run(s)" in first.output
    again = CliRunner().invoke(cli, ["import", "wandb", str(root), "--dir", str(store_dir)])
    assert "Imported 0 run(s), skipped 3" in again.output
    runs = api().runs()
    assert {r.project for r in runs} == {"old"}
    assert not any(k.startswith("system/") for r in runs for k in r.keys())
    again = CliRunner().invoke(cli, ["import", "wandb", str(root), "--dir", str(store_dir),
                                     "--replace"])
    assert "Imported 3 run(s)" in again.output
    assert {r.project for r in api().runs()} == {"vision"}


def _inside_a_chunk(data: bytes, before: int) -> int:
    """An offset strictly inside the data of the last chunk of a wandb log that starts
    before ``before`` (walked with the log format's block and chunk layout)."""
    from labtrack.importers._wandb_log import BLOCK, CHUNK, HEADER

    pos, inside = HEADER.size, 0
    while pos + CHUNK.size <= len(data):
        if BLOCK - pos % BLOCK < CHUNK.size:  # block padding
            pos += BLOCK - pos % BLOCK
            continue
        _, length, _ = CHUNK.unpack_from(data, pos)
        start = pos + CHUNK.size
        if length >= 2 and start < before:
            inside = start + length // 2
        pos = start + length
    assert inside, "no chunk to cut"
    return inside


def test_log_reader_spans_blocks_and_stops_at_a_torn_tail(
        wandb_dir: tuple[Path, dict[str, str]], tmp_path: Path, store_dir: Path,
        api: Any) -> None:
    root, ids = wandb_dir
    folder = next((root / "wandb").glob(f"*-{ids['baseline']}"))
    log = folder / f"run-{ids['baseline']}.wandb"
    kinds = [r.WhichOneof("record_type") for r in iter_records(log)]
    assert kinds.count("history") >= 34 and "exit" in kinds
    assert max(len(p) for p in iter_payloads(log)) > 65_536  # the long config: 3+ blocks

    copy = tmp_path / folder.name
    copy.mkdir()
    data = log.read_bytes()
    # a run killed mid-write: cut inside a chunk's data, at least 1,500 bytes from the end
    # (a cut at a chunk boundary would leave a shorter log with nothing torn)
    cut = _inside_a_chunk(data, len(data) - 1500)
    (copy / log.name).write_bytes(data[:cut])
    torn: list[int] = []
    assert 0 < len(list(iter_payloads(copy / log.name, torn))) < len(kinds)
    assert torn
    report = import_wandb(copy, store_dir)
    assert report.imported == [f"wandb-{ids['baseline']}"], report
    assert any("torn" in note for note in report.notes)
    (run,) = api().runs()
    assert run.state == "crashed"  # no exit record: the run died
    assert run.config["lr"] == 0.01 and len(run.series("loss").steps) >= 1


def test_not_a_wandb_folder(tmp_path: Path, store_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["import", "wandb", str(tmp_path), "--dir", str(store_dir)])
    assert result.exit_code == 2
    assert "no wandb run folder" in result.output
