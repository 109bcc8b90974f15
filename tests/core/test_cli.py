"""The core CLI commands through click's CliRunner, over a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import labtrack
from labtrack.cli import COMMANDS, cli


@pytest.fixture
def two_runs() -> list[str]:
    ids = []
    for lr, acc in ((0.1, 0.8), (0.01, 0.9)):
        run = labtrack.init(project="cli", config={"lr": lr, "depth": 3}, tags=["t"])
        run.log({"val/acc": acc, "loss": 1 - acc})
        run.finish()
        ids.append(run.id)
    return ids


def invoke(*args: str, input: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.output


def test_every_command_has_help() -> None:
    code, out = invoke("--help")
    assert code == 0 and "projects" in out and "runs" in out
    for name in ("projects", "runs", "sync", "demo"):
        code, out = invoke(name, "--help")
        assert code == 0 and "Usage" in out, name
    for sub in ("ls", "show", "compare", "rm"):
        code, out = invoke("runs", sub, "--help")
        assert code == 0 and "Usage" in out


def test_projects_and_runs_listing(two_runs: list[str]) -> None:
    code, out = invoke("projects", "--json")
    assert code == 0
    assert json.loads(out)[0]["name"] == "cli" and json.loads(out)[0]["run_count"] == 2
    code, out = invoke("runs", "ls", "cli", "--json", "--filter", "config.lr < 0.05")
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [two_runs[1]]
    code, out = invoke("runs", "ls", "cli", "--sort", "-summary.val/acc", "-c",
                       "id,config.lr,summary.val/acc")
    assert code == 0 and out.index(two_runs[1]) < out.index(two_runs[0])


def test_bad_filter_gives_position_and_exit_code_2(two_runs: list[str]) -> None:
    code, out = invoke("runs", "ls", "cli", "--filter", "config.lr <")
    assert code == 2 and "position 11" in out and "^" in out


def test_show_and_unknown_run(two_runs: list[str]) -> None:
    code, out = invoke("runs", "show", two_runs[0], "--json")
    data = json.loads(out)
    assert data["config"]["lr"] == 0.1 and {s["key"] for s in data["series"]} == {"val/acc",
                                                                                    "loss"}
    code, out = invoke("runs", "show", "does-not-exist")
    assert code == 3 and "no run" in out


def test_compare_marks_differences_and_best(two_runs: list[str]) -> None:
    code, out = invoke("runs", "compare", *two_runs, "--json")
    data = json.loads(out)
    assert data["differing"] == ["lr"] and data["summary"]["val/acc"] == [0.8, 0.9]
    code, out = invoke("runs", "compare", *two_runs)
    assert code == 0 and "lr" in out and "* 0.9" in out and "depth" not in out
    code, out = invoke("runs", "compare", two_runs[0])
    assert code == 2


def test_rm_asks_first(two_runs: list[str], store_dir: Path) -> None:
    code, out = invoke("runs", "rm", two_runs[0], input="n\n")
    assert code == 1 and "Nothing deleted" in out
    assert len(labtrack.Api().runs("cli")) == 2
    code, out = invoke("runs", "rm", two_runs[0], input="y\n")
    assert code == 0 and len(labtrack.Api().runs("cli")) == 1
    assert not (store_dir / "runs" / two_runs[0]).exists()


def test_sync_command(two_runs: list[str]) -> None:
    code, out = invoke("sync", "--json")
    assert code == 0 and json.loads(out)["records"] == 0
    code, out = invoke("sync", "--rebuild")
    assert code == 0 and "Synced 2 run(s)" in out
    assert len(labtrack.Api().runs("cli")) == 2


def test_empty_store_messages() -> None:
    assert "No projects yet" in invoke("projects")[1]
    assert "No runs yet" in invoke("runs", "ls")[1]


def test_demo_trains_real_models(store_dir: Path) -> None:
    code, out = invoke("demo", "--no-ui", "--runs", "2", "--project", "d")
    assert code == 0, out
    runs = labtrack.Api().runs("d")
    assert len(runs) == 2
    for r in runs:
        assert r.state == "finished" and r.summary["test/acc"] > 0.8
        assert len(r.history(keys=["val/acc"])) == 25
        assert {m["key"] for m in r.media()} >= {"test/confusion_matrix", "test/roc"}


def test_command_table_lists_modules() -> None:
    assert {"projects", "runs", "sync", "demo"} <= set(COMMANDS)


def test_unknown_project_is_not_found(two_runs: list[str]) -> None:
    code, out = invoke("runs", "ls", "nosuchproject")
    assert code == 3 and "no project named 'nosuchproject'" in out and "cli" in out


def test_durations_show_tenths_below_ten_seconds() -> None:
    from labtrack.cli._common import fmt_duration

    assert [fmt_duration(s) for s in (None, 0.0, 0.04, 0.42, 9.94, 9.96, 59.6, 61, 3725)] == \
        ["", "0.0s", "0.0s", "0.4s", "9.9s", "10s", "1m00s", "1m01s", "1h02m"]
