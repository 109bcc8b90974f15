"""`labtrack import mlflow`: real MLflow stores (SQLite database and mlruns folder) made with
MLflow's own client, imported, and every value read back through labtrack.Api."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labtrack.cli import cli
from labtrack.importers.mlflow import import_mlflow, parse_param

from .conftest import blob_bytes, points

pytest.importorskip("mlflow")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # inside mlflow

BASE_MS = 1_700_000_000_000
PARAMS = {"lr": "0.001", "layers": "50", "optimizer": "adam", "use_bn": "True",
          "sizes": "[1, 2, 3]", "note": "v1.2-beta"}
PARSED = {"lr": 0.001, "layers": 50, "optimizer": "adam", "use_bn": True, "sizes": [1, 2, 3],
          "note": "v1.2-beta"}
LOSS = [(s, 1.0 / (s + 1), BASE_MS + 1000 * s + 7) for s in range(100)]
ACC = [(s, s / 100.0, BASE_MS + 1000 * s + 9) for s in range(0, 100, 10)]
WEIGHTS = os.urandom(2048)


@pytest.fixture(scope="module", params=["sqlite", "mlruns"])
def source(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[dict[str, Any]]:
    """An MLflow store with three experiments' worth of runs, made with MlflowClient."""
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp(f"mlflow-{request.param}")
    old = os.environ.get("MLFLOW_ALLOW_FILE_STORE")
    os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
    try:
        if request.param == "sqlite":
            arg = str(root / "mlflow.db")
            client = MlflowClient(tracking_uri=f"sqlite:///{arg}")
        else:
            arg = str(root / "mlruns")
            client = MlflowClient(tracking_uri=(root / "mlruns").as_uri())
        ids = _populate(client, root)
    finally:
        if old is None:
            os.environ.pop("MLFLOW_ALLOW_FILE_STORE", None)
        else:
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = old
    yield {"arg": arg, "ids": ids, "root": root}


def _populate(client: Any, root: Path) -> dict[str, str]:
    from mlflow.entities import Metric

    exp = client.create_experiment("vision/resnet",
                                   artifact_location=(root / "artifacts").as_uri())
    base = client.create_run(exp, start_time=BASE_MS, run_name="baseline",
                             tags={"team": "vision", "mlflow.note.content": "first try",
                                   "mlflow.source.git.commit": "abc123"})
    rid = base.info.run_id
    for key, value in PARAMS.items():
        client.log_param(rid, key, value)
    client.log_batch(rid, metrics=[Metric("loss", v, t, s) for s, v, t in LOSS])
    for s, v, t in reversed(ACC):  # logged newest first: the import orders by step
        client.log_metric(rid, "acc", v, timestamp=t, step=s)
    files = root / "files"
    (files / "model").mkdir(parents=True)
    (files / "model" / "weights.bin").write_bytes(WEIGHTS)
    (files / "report.txt").write_text("all good\n")
    client.log_artifacts(rid, str(files))
    client.set_terminated(rid, "FINISHED", end_time=BASE_MS + 200_000)

    child = client.create_run(exp, start_time=BASE_MS + 5000, run_name="trial-1",
                              tags={"mlflow.parentRunId": rid})
    client.log_metric(child.info.run_id, "loss", 0.5, timestamp=BASE_MS + 6000, step=3)
    client.set_terminated(child.info.run_id, "FINISHED", end_time=BASE_MS + 7000)

    other = client.create_experiment("tabular", artifact_location=(root / "art2").as_uri())
    broken = client.create_run(other, start_time=BASE_MS, run_name="broken")
    client.log_metric(broken.info.run_id, "rmse", 3.25, timestamp=BASE_MS + 1, step=0)
    client.set_terminated(broken.info.run_id, "FAILED", end_time=BASE_MS + 2000)

    gone = client.create_run(other, start_time=BASE_MS, run_name="gone")
    client.set_terminated(gone.info.run_id, "FINISHED", end_time=BASE_MS + 10)
    client.delete_run(gone.info.run_id)
    return {"baseline": rid, "child": child.info.run_id, "broken": broken.info.run_id,
            "gone": gone.info.run_id}


def _by_name(api: Any) -> dict[str, Any]:
    return {r.name: r for r in api.runs()}


def test_every_value_arrives(source: dict[str, Any], store_dir: Path, api: Any) -> None:
    report = import_mlflow(source["arg"], store_dir)
    ids = source["ids"]
    assert sorted(report.imported) == sorted(f"mlflow-{ids[k]}" for k in
                                             ("baseline", "child", "broken"))
    assert report.errors == {}
    runs = _by_name(api())
    assert set(runs) == {"baseline", "trial-1", "broken"}  # the deleted run is left out

    base = runs["baseline"]
    assert base.id == f"mlflow-{ids['baseline']}"
    assert base.project == "vision-resnet"
    assert base.config == PARSED
    assert base.tags == ["team=vision"]
    assert base.notes == "first try"
    assert base.state == "finished"
    assert base.created_at == pytest.approx(BASE_MS / 1000)
    assert base.duration == pytest.approx(200.0)
    assert points(base, "loss") == [(s, pytest.approx(v), pytest.approx(t / 1000))
                                    for s, v, t in LOSS]
    assert points(base, "acc") == [(s, pytest.approx(v), pytest.approx(t / 1000))
                                   for s, v, t in ACC]
    assert base.summary == {"loss": pytest.approx(0.01), "acc": pytest.approx(0.9)}
    env = base.environment
    assert env["imported_from"]["run_id"] == ids["baseline"]
    assert env["git"]["commit"] == "abc123"

    files = {f["path"]: f for f in base.files()}
    assert set(files) == {"model/weights.bin", "report.txt"}
    weights = files["model/weights.bin"]
    assert weights["digest"] == hashlib.sha256(WEIGHTS).hexdigest()
    assert blob_bytes(store_dir, weights["digest"]) == WEIGHTS
    assert blob_bytes(store_dir, files["report.txt"]["digest"]) == b"all good\n"

    child = runs["trial-1"]
    assert child.group == base.id  # nested runs are grouped under their parent
    assert points(child, "loss") == [(3, 0.5, pytest.approx((BASE_MS + 6000) / 1000))]

    broken = runs["broken"]
    assert broken.project == "tabular"
    assert broken.state == "failed"
    assert broken.summary == {"rmse": 3.25}


def test_reimport_skips_and_replace_rewrites(source: dict[str, Any], store_dir: Path,
                                             api: Any) -> None:
    first = import_mlflow(source["arg"], store_dir)
    again = import_mlflow(source["arg"], store_dir)
    assert again.imported == [] and sorted(again.skipped) == sorted(first.imported)
    a = api()
    assert len(a.runs()) == 3
    base = _by_name(a)["baseline"]
    assert len(base.series("loss").steps) == len(LOSS)  # not doubled

    replaced = import_mlflow(source["arg"], store_dir, replace=True)
    assert sorted(replaced.imported) == sorted(first.imported)
    b = api()
    runs = _by_name(b)
    assert len(runs) == 3
    assert len(runs["baseline"].series("loss").steps) == len(LOSS)
    assert runs["baseline"].name == "baseline"  # not "baseline-2": the old run was removed


def test_options_filter_and_deleted_runs(source: dict[str, Any], store_dir: Path,
                                         api: Any) -> None:
    report = import_mlflow(source["arg"], store_dir, experiments=["tabular"],
                           include_deleted=True, project="legacy", artifacts=False)
    assert sorted(report.imported) == sorted(f"mlflow-{source['ids'][k]}"
                                             for k in ("broken", "gone"))
    runs = api().runs()
    assert {r.project for r in runs} == {"legacy"}
    assert {r.name for r in runs} == {"broken", "gone"}


def test_cli_import_with_json_and_errors(source: dict[str, Any], store_dir: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "mlflow", source["arg"], "--dir", str(store_dir),
                                 "--json", "--no-artifacts"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert len(data["imported"]) == 3 and data["errors"] == {}
    result = runner.invoke(cli, ["import", "mlflow", source["arg"], "--dir", str(store_dir)])
    assert result.exit_code == 0
    assert "Imported 0 run(s), skipped 3" in result.output
    missing = runner.invoke(cli, ["import", "mlflow", str(source["root"] / "nope.db"),
                                  "--dir", str(store_dir)])
    assert missing.exit_code == 2
    assert "does not exist" in missing.output


@pytest.mark.parametrize(("text", "value"), [
    ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e-4", 1e-4), ("True", True), ("false", False),
    ("None", None), ('{"a": 1}', {"a": 1}), ("[1, 2]", [1, 2]), ("1.2.3", "1.2.3"),
    ("[not json", "[not json"), ("adam", "adam"), ("", ""),
])
def test_params_are_parsed_back_only_when_certain(text: str, value: Any) -> None:
    assert parse_param(text) == value


@pytest.mark.postgres
def test_import_from_a_postgresql_tracking_database(store_dir: Path, api: Any) -> None:
    """An MLflow tracking database on the PostgreSQL server (a database made for the test)."""
    if os.environ.get("LABTRACK_SKIP_POSTGRES") == "1":
        pytest.skip("LABTRACK_SKIP_POSTGRES=1: PostgreSQL tests skipped on purpose")
    pytest.importorskip("psycopg")
    import uuid

    import sqlalchemy
    from mlflow import MlflowClient

    server = os.environ.get("LABTRACK_TEST_POSTGRES",
                            "postgresql://postgres@127.0.0.1:5432/labtrack_test")
    base, _, _ = server.rpartition("/")
    name = f"mlflow_import_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(server.replace("postgresql://", "postgresql+psycopg://"),
                                     isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    uri = f"{base}/{name}"
    try:
        client = MlflowClient(tracking_uri=uri.replace("postgresql://", "postgresql+psycopg://"))
        exp = client.create_experiment("pg-exp", artifact_location=(store_dir.parent / "a")
                                       .as_uri())
        run = client.create_run(exp, start_time=BASE_MS, run_name="on-postgres")
        client.log_param(run.info.run_id, "depth", "7")
        for s, v, t in ACC:
            client.log_metric(run.info.run_id, "acc", v, timestamp=t, step=s)
        client.set_terminated(run.info.run_id, "KILLED", end_time=BASE_MS + 5000)
        seen: list[tuple[int, int]] = []
        report = import_mlflow(uri, store_dir, progress=lambda d, t, _: seen.append((d, t)))
        assert report.imported == [f"mlflow-{run.info.run_id}"]
        assert seen[-1] == (1, 1)
        (imported,) = api().runs()
        assert (imported.project, imported.name, imported.state) == ("pg-exp", "on-postgres",
                                                                     "killed")
        assert imported.config == {"depth": 7}
        assert points(imported, "acc") == [(s, pytest.approx(v), pytest.approx(t / 1000))
                                           for s, v, t in ACC]
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
