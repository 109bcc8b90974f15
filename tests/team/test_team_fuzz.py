"""Fuzz every operation of the team server's OpenAPI spec (schemathesis) with a valid key:
no input makes it answer 500. The server runs over PostgreSQL (SQLite when skipped) with a
run, a sweep and an artifact in it; the key is a server admin's, so every project exists
for it and requests reach the routes' code instead of stopping at the role check."""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, settings  # noqa: E402

PG_URL = os.environ.get("LABTRACK_TEST_POSTGRES",
                        "postgresql://postgres@127.0.0.1:5432/labtrack_test")
EXAMPLES = int(os.environ.get("LABTRACK_FUZZ_EXAMPLES", "6"))


def _database(tmp: Path) -> Iterator[str]:
    if os.environ.get("LABTRACK_SKIP_POSTGRES") == "1":
        yield str(tmp / "serverdb")
        return
    import sqlalchemy

    schema = f"fuzz_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def _seed(store: Any, blobs: Any, local: Path) -> None:
    """A finished run with metrics and a file, a grid sweep and an artifact version."""
    import labtrack
    from labtrack.artifacts.index import ArtifactIndex
    from labtrack.sweeps.store import SweepIndex
    from labtrack.sync import SyncReport, sync_run

    with pytest.MonkeyPatch.context() as mp:
        for name in ("LABTRACK_URL", "LABTRACK_API_KEY"):
            mp.delenv(name, raising=False)
        mp.setenv("LABTRACK_DISABLE_GIT", "1")
        mp.setenv("LABTRACK_DISABLE_ENV", "1")
        run = labtrack.init(project="shared", id="fuzzrun1", config={"lr": 0.1}, dir=local)
        for i in range(20):
            run.log({"loss": 1.0 / (i + 1), "acc": i / 20})
        run.summary["best"] = 0.9
        run.finish()
    sync_run(store, "fuzzrun1", local / "runs" / "fuzzrun1", SyncReport())
    SweepIndex(store).create({"method": "grid", "parameters": {"x": {"values": [1, 2]}}},
                             "shared")
    digest = blobs.put_bytes(b"fuzz artifact file\n")
    entries = [{"path": "a.txt", "digest": digest, "size": 19, "ref": None}]
    ArtifactIndex(store, blobs).commit("shared", "data", "dataset", entries, digest,
                                       run_id="fuzzrun1")


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str]]:
    from labtrack.blobs.local import LocalBlobStore
    from labtrack.server.auth import AuthService
    from labtrack.server.team import create_team_app
    from labtrack.settings import Settings
    from labtrack.store import open_store

    tmp = tmp_path_factory.mktemp("fuzz")
    for db in _database(tmp):
        store = open_store(db)
        blobs = LocalBlobStore(tmp / "server-blobs")
        _seed(store, blobs, tmp / "client")
        auth = AuthService(store)
        auth.add_user("root", admin=True)
        key = auth.create_key("root")
        server_settings = Settings()
        server_settings.dir = tmp / "server"
        yield create_team_app(store, blobs, settings=server_settings), key
        store.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app: tuple[Any, str]) -> Any:
    app, _ = fuzz_app
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return schemathesis.openapi.from_asgi("/openapi.json", app, headers={
            "Authorization": f"Bearer {fuzz_app[1]}"})


def test_no_input_makes_the_server_fail(api_schema: Any, fuzz_app: tuple[Any, str]) -> None:
    """Every operation, a few generated inputs each (valid and invalid); no 5xx anywhere."""
    from hypothesis import given

    headers = {"Authorization": f"Bearer {fuzz_app[1]}"}
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as err:  # noqa: BLE001 - the in-process client re-raises 500s
                failures.append(f"{case.method} {case.formatted_path} query={case.query} "
                                f"body={str(case.body)[:200]} -> {type(err).__name__}: {err}")
                return
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} "
                                f"query={case.query} body={str(case.body)[:200]} -> "
                                f"{response.status_code}: {response.text[:300]}")

        check()
    assert operations > 60  # the whole spec was fuzzed, not a corner of it
    assert not failures, "\n".join(dict.fromkeys(failures))
