"""`labtrack sweep ...` and `labtrack agent` through click's CliRunner, over a real store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import labtrack
from labtrack.cli import cli

TRAIN = """
import argparse
import sys

import labtrack

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--layers", type=int, required=True)
args = parser.parse_args()
run = labtrack.init()
for epoch in range(4):
    run.log({"loss": args.lr * args.layers / (epoch + 1)})
run.summary["argv_lr"] = args.lr
if args.layers == 3:
    sys.exit(3)  # a program that fails after logging
"""

PROGRAM_SWEEP = """
program: train.py
method: grid
metric:
  name: loss
  goal: minimize
parameters:
  lr:
    values: [0.1, 0.01]
  layers:
    values: [1, 2, 3]
"""


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def create(path: Path, *extra: str) -> str:
    code, out = invoke("sweep", "create", str(path), "--json", *extra)
    assert code == 0, out
    return str(json.loads(out)["id"])


def test_every_sweep_command_has_help() -> None:
    for args in (["sweep"], ["agent"], *[["sweep", c] for c in
                                         ("create", "ls", "show", "pause", "resume", "stop")]):
        code, out = invoke(*args, "--help")
        assert code == 0 and "Usage" in out, args


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("method: annealing\nparameters: {x: {values: [1]}}", "method: unknown method"),
        ("method: random\nparameters: {lr: {min: 1.0, max: 0.5}}",
         "parameters.lr.min must be < max"),
        ("method: random\nparameters: {lr: {distribution: log_uniform_values, min: 0, max: 1}}",
         "parameters.lr.min must be > 0"),
        ("method: grid\nparameters: {lr: {min: 0.1, max: 0.5}}",
         "grid search cannot enumerate"),
        ("method: bayes\nparameters: {x: {values: [1, 2]}}", "metric: method bayes needs"),
        ("program: missing.py\nmethod: random\nparameters: {x: {values: [1]}}",
         "'missing.py' not found"),
        ("method: random\nparamters: {x: {values: [1]}}", "unknown top-level key(s): paramters"),
    ],
)
def test_bad_configs_are_refused_with_the_key_at_fault(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "sweep.yaml"
    path.write_text(config)
    code, out = invoke("sweep", "create", str(path))
    assert code == 2 and message in out
    assert invoke("sweep", "ls", "--json") == (0, "[]\n")


def test_create_ls_show_and_state_changes(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("name: tiny\nmethod: random\nmetric: {name: loss}\n"
                    "parameters: {x: {min: 0.0, max: 1.0}}\n")
    sweep_id = create(path, "--project", "cli")
    code, out = invoke("sweep", "ls", "--json")
    listed = json.loads(out)
    assert code == 0 and [(s["id"], s["name"], s["project"]) for s in listed] == [
        (sweep_id, "tiny", "cli")]
    code, out = invoke("sweep", "ls")
    assert code == 0 and sweep_id in out and "tiny" in out
    for command, state in (("pause", "paused"), ("resume", "running"), ("stop", "stopped")):
        code, out = invoke("sweep", command, "tiny")
        assert code == 0 and f"is {state}" in out
    code, out = invoke("sweep", "show", sweep_id, "--json")
    page = json.loads(out)
    assert page["sweep"]["state"] == "stopped" and page["runs"] == []
    code, out = invoke("sweep", "show", "nope")
    assert code == 3 and "no sweep" in out


def test_agent_on_a_stopped_sweep_exits_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("method: random\nparameters: {x: {values: [1]}}\ncommand: [echo, hi]\n")
    sweep_id = create(path)
    invoke("sweep", "stop", sweep_id)
    code, out = invoke("agent", sweep_id)
    assert code == 0 and f"sweep {sweep_id} is stopped" in out


def test_agent_errors(tmp_path: Path) -> None:
    code, out = invoke("agent", "nope")
    assert code == 3 and "no sweep" in out
    path = tmp_path / "sweep.yaml"
    path.write_text("method: random\nparameters: {x: {values: [1]}}\n")
    code, out = invoke("agent", create(path))
    assert code == 2 and "has no program" in out and "function=" in out


def test_program_sweep_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(TRAIN)
    (tmp_path / "sweep.yaml").write_text(PROGRAM_SWEEP)
    sweep_id = create(Path("sweep.yaml"), "-p", "prog")
    code, out = invoke("agent", sweep_id, "--workers", "2")
    assert code == 0, out
    runs = labtrack.Api().runs("prog")
    assert sorted((r.config["lr"], r.config["layers"]) for r in runs) == sorted(
        (lr, n) for lr in (0.1, 0.01) for n in (1, 2, 3))
    for r in runs:
        assert r.sweep_id == sweep_id
        assert r.summary["argv_lr"] == r.config["lr"]  # the parameters came as arguments
        assert r.summary["loss"] == pytest.approx(r.config["lr"] * r.config["layers"] / 4)
        if r.config["layers"] == 3:
            assert r.state == "failed" and r.exit_code == 3
        else:
            assert r.state == "finished"
    code, out = invoke("sweep", "show", sweep_id, "--json")
    page = json.loads(out)
    assert page["sweep"]["state"] == "finished"
    assert page["sweep"]["runs_by_state"] == {"failed": 2, "finished": 4}
    assert page["sweep"]["best"]["params"] == {"lr": 0.01, "layers": 1}
    assert {row["param"] for row in page["importance"]} == {"lr", "layers"}
    code, out = invoke("sweep", "show", sweep_id)
    assert code == 0 and "best: run" in out and "importance" in out


def test_a_program_that_never_calls_labtrack(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "plain.py").write_text("import sys\nsys.exit(0 if '--x=1' in sys.argv else 1)\n")
    (tmp_path / "sweep.yaml").write_text("program: plain.py\nmethod: grid\n"
                                         "parameters: {x: {values: [1, 2]}}\n")
    sweep_id = create(Path("sweep.yaml"))
    code, out = invoke("agent", sweep_id, "--count", "5")
    assert code == 0, out
    runs = {r.config["x"]: r for r in labtrack.Api().runs()}
    assert runs[1].state == "finished" and runs[2].state == "failed"
    assert runs[2].exit_code == 1 and "exited with code 1" in runs[2].error
