"""``labtrack artifact ...`` and ``labtrack model ...`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import labtrack
from labtrack.cli import cli


@pytest.fixture
def invoke(store_dir):
    runner = CliRunner()

    def run(*args: str, code: int = 0, input: str | None = None) -> str:
        result = runner.invoke(cli, [*args, "--dir", str(store_dir)], input=input)
        assert result.exit_code == code, (result.output, result.exception)
        return result.output

    return run


@pytest.fixture
def lineage_store(make_run, files, tmp_path):
    """prep logs mnist:v0, train uses it and logs net:v0 and net:v1 (aliased candidate)."""
    prep = make_run()
    data = files(tmp_path / "mnist", {"train.csv": "a,b\n1,2\n", "test.csv": "a,b\n3,4\n"})
    prep.log_artifact(data, name="mnist", type="dataset")
    prep.finish()
    train = make_run()
    train.use_artifact("mnist:latest")
    train.log_model(files(tmp_path, {"w0.bin": b"w0"}) / "w0.bin", "net")
    train.log_model(files(tmp_path, {"w1.bin": b"w1"}) / "w1.bin", "net", aliases=["candidate"])
    train.finish()
    return prep, train


def test_ls_and_show(invoke, lineage_store):
    out = invoke("artifact", "ls")
    assert "mnist" in out and "net" in out and "dataset" in out
    rows = json.loads(invoke("artifact", "ls", "proj", "--type", "model", "--json"))
    assert [(r["name"], r["versions"], r["newest"]) for r in rows] == [("net", 2, 1)]
    shown = json.loads(invoke("artifact", "show", "mnist:v0", "--json"))
    assert {f["path"] for f in shown["files"]} == {"train.csv", "test.csv"}
    assert shown["logged_by"] == lineage_store[0].id
    assert shown["used_by"] == [lineage_store[1].id]
    text = invoke("artifact", "show", "net:candidate", "--project", "proj")
    assert "proj/net:v1" in text and "candidate" in text and "w1.bin" in text


def test_get_prints_a_verified_folder(invoke, lineage_store, tmp_path):
    out = invoke("artifact", "get", "proj/mnist:latest", "--root", str(tmp_path / "dl"))
    folder = Path(out.strip())
    assert folder == tmp_path / "dl"
    assert (folder / "test.csv").read_text() == "a,b\n3,4\n"


def test_lineage(invoke, lineage_store):
    prep, train = lineage_store
    out = invoke("artifact", "lineage", "mnist:v0")
    assert f"run {prep.name} ({prep.id}" in out and "--logged-->  proj/mnist:v0" in out
    assert f"proj/mnist:v0 [dataset]  --was used by-->  run {train.name}" in out
    graph = json.loads(invoke("artifact", "lineage", "net:v1", "--json"))
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    assert kinds[f"run:{train.id}"] == "run"
    assert {e["kind"] for e in graph["edges"]} == {"logged", "used"}


def test_rm_rules_and_exit_codes(invoke, lineage_store):
    out = invoke("artifact", "rm", "mnist:v0", "--yes", code=5)  # ConflictError
    assert "used by 1 run" in out and "--force" in out
    out = invoke("artifact", "rm", "mnist:v0", "--yes", "--force")
    assert "deleted proj/mnist:v0" in out and "freed 2 file(s)" in out
    assert "no artifact named 'mnist'" in invoke("artifact", "show", "mnist", code=3)
    assert "Nothing deleted" in invoke("artifact", "rm", "net:v0", code=1, input="n\n")
    assert "deleted proj/net:v0" in invoke("artifact", "rm", "net:v0", input="y\n")


def test_put_logs_without_a_run(invoke, files, tmp_path):
    folder = files(tmp_path / "images", {"a.png": b"png", "b.png": b"png2"})
    info = json.loads(invoke("artifact", "put", str(folder), "--project", "vision",
                             "--alias", "raw", "--json"))
    assert (info["ref"], info["file_count"], info["aliases"]) == ("vision/images:v0", 2,
                                                                  ["latest", "raw"])
    again = invoke("artifact", "put", str(folder), "--project", "vision")
    assert again.startswith("vision/images:v0")  # identical content, same version
    assert labtrack.Api().artifact("vision/images:raw").logged_by() is None


def test_model_registry_commands(invoke, lineage_store, tmp_path):
    assert "net:v0 -> " not in invoke("model", "ls")
    assert "proj/net:production -> v0" in invoke("model", "promote", "net:v0", "production")
    out = invoke("model", "promote", "proj/net:v1", "production")
    assert "proj/net:production -> v1 (was v0)" in out
    models = json.loads(invoke("model", "ls", "--json"))
    assert models[0]["aliases"] == {"latest": "v1", "candidate": "v1", "production": "v1"}
    assert "production: v1" in invoke("model", "ls", "proj")
    path = Path(invoke("model", "get", "net:production", "--root", str(tmp_path / "m")).strip())
    assert path.read_bytes() == b"w1"
    out = invoke("model", "promote", "mnist:v0", "production", code=2)
    assert "type 'dataset', not 'model'" in out


def test_every_command_has_help(store_dir):
    runner = CliRunner()
    for group in ("artifact", "model"):
        result = runner.invoke(cli, [group, "--help"])
        assert result.exit_code == 0
        names = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()
                 if line.strip()]
        assert names
        for name in names:
            sub = runner.invoke(cli, [group, name, "--help"])
            assert sub.exit_code == 0
            body = sub.output.split("Options:")[0]
            assert len(body.strip().splitlines()) >= 3, f"{group} {name} lacks help text"
