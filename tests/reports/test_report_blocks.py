"""Live blocks rendered from real runs, sweeps and artifacts; a bad block never breaks the rest."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import labtrack
from labtrack.reports.render import render_report


def _blocks(store: Any, body: str, project: str = "study") -> list[dict[str, Any]]:
    out = render_report(store, body, project)
    json.dumps(out, allow_nan=False)  # strict JSON all the way down
    return out["blocks"]


def test_chart_block_lines_per_run_and_metric(store: Any, lr_runs: dict[str, str]) -> None:
    (block,) = _blocks(store, "```labtrack-chart\nruns: 'config.optimizer == \"adam\"'\n"
                              "metrics: [loss, acc]\nsmoothing: 0.5\nlog_y: true\n"
                              "title: Adam runs\n```\n")
    assert block["type"] == "chart" and block["title"] == "Adam runs"
    assert {r["name"] for r in block["runs"]} == {"mid", "fast"}
    assert sorted((ln["key"], ln["run_id"]) for ln in block["lines"]) == sorted(
        (k, lr_runs[n]) for k in ("loss", "acc") for n in ("mid", "fast"))
    fast_loss = next(ln for ln in block["lines"]
                     if ln["run_id"] == lr_runs["fast"] and ln["key"] == "loss")
    assert fast_loss["x"] == list(range(60))
    assert fast_loss["y"][5] == math.exp(-0.1 * 10 * 5)
    assert (block["smoothing"], block["log_y"]) == (0.5, True)


def test_chart_block_downsamples_and_expands_globs(store: Any, make_run: Any) -> None:
    wave = [math.sin(i / 50) + (5.0 if i == 3333 else 0.0) for i in range(5000)]
    make_run("big", "long", metrics={"train/loss": wave, "train/acc": wave, "val/loss": wave})
    (block,) = _blocks(store, "```labtrack-chart\nmetrics: ['train/*']\nmax_points: 200\n```",
                       "big")
    assert block["metrics"] == ["train/acc", "train/loss"]
    line = block["lines"][0]
    assert line["sampled"] and line["total"] == 5000 and len(line["y"]) <= 200
    assert max(line["y"]) == max(wave)  # the spike survives downsampling


def test_runs_block_columns_sort_and_list_order(store: Any, lr_runs: dict[str, str]) -> None:
    body = ("```labtrack-runs\ncolumns: [name, config.lr, summary.final_acc]\n"
            "sort: -summary.final_acc\n```\n\n"
            f"```labtrack-runs\nruns: [{lr_runs['mid']}, slow]\ncolumns: [name, config.lr]\n```")
    sorted_block, listed = _blocks(store, body)
    accs = [r["values"][2] for r in sorted_block["runs"]]
    assert accs == sorted(accs, reverse=True) and len(accs) == 3
    assert [r["values"][:2] for r in listed["runs"]] == [["mid", 0.05], ["slow", 0.01]]


def test_default_runs_columns_show_what_varies(store: Any, lr_runs: dict[str, str]) -> None:
    (block,) = _blocks(store, "```labtrack-runs\n```")
    cols = block["columns"]
    assert "config.lr" in cols and "config.optimizer" in cols
    assert "config.seed" not in cols  # the same in every run
    assert "summary.final_acc" in cols


def test_compare_block_marks_differences_and_best(store: Any, lr_runs: dict[str, str]) -> None:
    (block,) = _blocks(store, "```labtrack-compare\nruns: [slow, mid, fast]\n"
                              "metrics: [best_loss, final_acc]\n```")
    assert [c["key"] for c in block["config"]] == ["lr", "optimizer"]  # seed is equal
    assert block["config_keys"] == 3 and block["config_differing"] == 2
    rows = {s["key"]: s for s in block["summary"]}
    losses = rows["best_loss"]["values"]
    assert rows["best_loss"]["goal"] == "min" and rows["final_acc"]["goal"] == "max"
    assert rows["best_loss"]["best"] == [losses.index(min(losses))]
    assert rows["final_acc"]["best"] == [rows["final_acc"]["values"].index(
        max(rows["final_acc"]["values"]))]


def test_parcoords_codes_categories(store: Any, lr_runs: dict[str, str]) -> None:
    (block,) = _blocks(store, "```labtrack-parcoords\nmetric: final_acc\n```")
    dims = {d["label"]: d for d in block["dimensions"]}
    assert set(dims) == {"lr", "optimizer", "final_acc"}
    opt = dims["optimizer"]
    assert opt["ticktext"] == ["adam", "sgd"]
    names = [r["name"] for r in block["runs"]]
    assert opt["values"][names.index("slow")] == 1 and opt["values"][names.index("fast")] == 0


def test_bad_blocks_become_errors_and_the_rest_renders(store: Any,
                                                       lr_runs: dict[str, str]) -> None:
    body = "\n\n".join([
        "```labtrack-chart\nmetric: [loss]\n```",
        "```labtrack-chart\nruns: [no-such-run]\n```",
        "```labtrack-chart\nmetrics: [nope]\n```",
        "```labtrack-runs\n: : [\n```",
        "```labtrack-chart\n- a list\n```",
        "```labtrack-chart\nsmoothing: 3\n```",
        "```labtrack-pie\n```",
        "```labtrack-runs\nruns: 'config.lr >'\n```",
        "```labtrack-runs\nruns: 'config.lr > 5'\n```",
        "```labtrack-chart\nmetrics: [loss]\n```",
    ])
    blocks = _blocks(store, body)
    errors = [b["error"] for b in blocks[:-1]]
    assert all(b["type"] == "error" for b in blocks[:-1])
    assert "did you mean 'metrics'" in errors[0]
    assert "no-such-run" in errors[1]
    assert "'nope'" in errors[2] and "loss" in errors[2]
    assert "YAML" in errors[3] and "line" in errors[3]
    assert "mapping" in errors[4]
    assert "between 0 and 0.999" in errors[5]
    assert "unknown block 'labtrack-pie'" in errors[6]
    assert "config.lr" in errors[7]  # the filter's own error message
    assert "no runs match" in errors[8]
    assert blocks[-1]["type"] == "chart" and len(blocks[-1]["lines"]) == 3
    assert [b["line"] for b in blocks][:2] == [1, 5]


def test_sweep_block(store: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("LABTRACK_FLUSH_INTERVAL", "0.05")
    def train() -> None:
        run = labtrack.init()
        run.log({"score": -abs(run.config["lr"] - 0.1)})

    sweep_id = labtrack.sweep({"method": "grid", "metric": {"name": "score", "goal": "maximize"},
                               "parameters": {"lr": {"values": [0.3, 0.1, 0.2]}}},
                              project="study")
    labtrack.agent(sweep_id, function=train)
    (block,) = _blocks(store, f"```labtrack-sweep\nsweep: {sweep_id}\ntop: 2\n```")
    assert block["type"] == "sweep", block
    assert block["sweep"]["run_count"] == 3 and block["sweep"]["planned"] == 3
    assert block["sweep"]["best"]["params"] == {"lr": 0.1}
    assert [r["params"]["lr"] for r in block["top"]] == [0.1, 0.2]
    assert block["best_so_far"]["best"] == [max(block["best_so_far"]["value"][: i + 1])
                                            for i in range(3)]


def test_artifact_block(store: Any, store_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.csv").write_text("a,b\n1,2\n")
    (folder / "test.csv").write_text("a,b\n3,4\n")
    maker = labtrack.init(project="study", name="prep", dir=store_dir, reinit="create_new")
    art = labtrack.Artifact("digits", "dataset", metadata={"rows": 2})
    art.add_dir(folder)
    maker.log_artifact(art, aliases=["best"])
    maker.finish()
    user = labtrack.init(project="study", name="train", dir=store_dir, reinit="create_new")
    user.use_artifact("digits:best")
    user.finish()
    (block,) = _blocks(store, "```labtrack-artifact\nartifact: digits:best\nfiles: 1\n```")
    assert block["type"] == "artifact", block
    v = block["version"]
    assert (v["name"], v["version"], v["type"], v["file_count"]) == ("digits", 0, "dataset", 2)
    assert "best" in v["aliases"] and v["metadata"] == {"rows": 2}
    assert len(block["files"]) == 1 and block["files"][0]["path"].endswith(".csv")
    assert [r["name"] for r in block["lineage"]["logged"]] == ["prep"]
    assert [r["name"] for r in block["lineage"]["used"]] == ["train"]
    (missing,) = _blocks(store, "```labtrack-artifact\nartifact: digits:v7\n```")
    assert missing["type"] == "error" and "v7" in missing["error"]
