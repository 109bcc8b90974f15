"""Agent command building with wandb's macros, run for real."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from labtrack.errors import ConfigError
from labtrack.sweeps import build_command, flatten_params, load_sweep_config, unflatten

PARAMS = {"lr": 0.1, "bs": 32, "amp": True, "ema": False, "opt": {"name": "adam", "wd": 0.0}}
ECHO = "import json, sys\nprint(json.dumps(sys.argv[1:]))\n"


def config(**extra: Any) -> Any:
    return load_sweep_config({
        "method": "random", "program": "train.py",
        "parameters": {"lr": {"value": 0.1}, "bs": {"value": 32}, "amp": {"value": True},
                       "ema": {"value": False},
                       "opt": {"parameters": {"name": {"value": "adam"},
                                              "wd": {"value": 0.0}}}},
        **extra,
    })


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "train.py").write_text(ECHO)
    return tmp_path


def run(command: list[str], cwd: Path) -> list[str]:
    out = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_default_command_runs_the_program_with_flags(project: Path) -> None:
    cmd = build_command(config(), PARAMS, project)
    if sys.platform != "win32":
        assert cmd[:3] == ["/usr/bin/env", sys.executable, "train.py"]
    argv = run(cmd, project)
    assert argv == ["--lr=0.1", "--bs=32", "--amp=True", "--ema=False",
                    "--opt={'name': 'adam', 'wd': 0.0}"]


def test_interpreter_can_be_chosen(project: Path) -> None:
    cmd = build_command(config(), {"lr": 1}, project, python="python3.99")
    assert "python3.99" in cmd and "${interpreter}" not in cmd


def test_argument_macros(project: Path) -> None:
    cmd = build_command(config(command=[
        sys.executable, "${program}", "${args_no_hyphens}", "--", "${args_json}", "--",
        "${args_no_boolean_flags}", "--", "${args_no_equals}"]), PARAMS, project)
    argv = run(cmd, project)
    first, rest = argv.index("--"), argv[argv.index("--") + 1:]
    assert argv[:first] == ["lr=0.1", "bs=32", "amp=True", "ema=False",
                            "opt={'name': 'adam', 'wd': 0.0}"]
    assert json.loads(rest[0]) == PARAMS
    flags = rest[2:rest.index("--", 2)]
    assert flags == ["--lr=0.1", "--bs=32", "--amp", "--opt={'name': 'adam', 'wd': 0.0}"]
    assert rest[rest.index("--", 2) + 1:][:4] == ["--lr", "0.1", "--bs", "32"]


def test_args_json_file(project: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "json"
    out_dir.mkdir()
    cmd = build_command(config(command=[sys.executable, "${program}", "${args_json_file}"]),
                        PARAMS, project, json_dir=out_dir)
    (path,) = run(cmd, project)
    assert Path(path).parent == out_dir
    assert json.loads(Path(path).read_text()) == PARAMS


def test_envvar_macro(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    c = config(command=[sys.executable, "${program}", "--data=${envvar:DATA_DIR}/x"])
    monkeypatch.setenv("DATA_DIR", "/data")
    assert run(build_command(c, {}, project), project) == ["--data=/data/x"]
    monkeypatch.delenv("DATA_DIR")
    with pytest.raises(ConfigError, match=r"command\[2\]: environment variable DATA_DIR"):
        build_command(c, {}, project)


def test_missing_program_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="program: 'train.py' not found"):
        build_command(config(), PARAMS, tmp_path)


def test_flatten_and_unflatten_round_trip() -> None:
    flat = flatten_params(PARAMS)
    assert flat == {"lr": 0.1, "bs": 32, "amp": True, "ema": False,
                    "opt.name": "adam", "opt.wd": 0.0}
    assert unflatten(flat) == PARAMS
    assert flatten_params(PARAMS, sep="/")["opt/name"] == "adam"


def test_flatten_with_config_keeps_dict_values_whole() -> None:
    c = load_sweep_config({"method": "grid", "parameters": {
        "sched": {"values": [{"kind": "cos", "warm": 5}]},
        "opt": {"parameters": {"name": {"value": "adam"}}}}})
    params = {"sched": {"kind": "cos", "warm": 5}, "opt": {"name": "adam"}}
    assert flatten_params(params, config=c) == {
        "sched": {"kind": "cos", "warm": 5}, "opt.name": "adam"}
    with pytest.raises(ConfigError, match="clashes"):
        unflatten({"a": 1, "a.b": 2})
