"""The API over a PostgreSQL store (the team server's): group-by, sorting, charts, views.

Runs are logged for real into a local store, then their run logs are applied to
a PostgreSQL index in a schema of its own. PostgreSQL comes from
LABTRACK_TEST_POSTGRES (default: 127.0.0.1:5432, database labtrack_test);
LABTRACK_SKIP_POSTGRES=1 skips these tests.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.postgres

PG_URL = os.environ.get("LABTRACK_TEST_POSTGRES",
                        "postgresql://postgres@127.0.0.1:5432/labtrack_test")


def _admin(sql: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


@pytest.fixture
def pg_client(make_run: Any, store_dir: Path) -> Iterator[tuple[Any, dict[str, str]]]:
    if os.environ.get("LABTRACK_SKIP_POSTGRES") == "1":
        pytest.skip("LABTRACK_SKIP_POSTGRES=1: PostgreSQL tests skipped on purpose")
    from labtrack.server import create_app
    from labtrack.store import open_store
    from labtrack.sync import SyncReport, sync_run

    ids = {
        "a": make_run(name="a", config={"opt": "adam", "flag": True, "depth": 2},
                      summary={"acc": 0.9}, metrics={"loss": [3.0, 2.0, 1.0]}),
        "b": make_run(name="b", config={"opt": "adam", "flag": False, "depth": 4},
                      summary={"acc": 0.7}, metrics={"loss": [4.0, 3.0]}),
        "c": make_run(name="c", config={"opt": "sgd", "flag": True, "depth": 2},
                      summary={"acc": 0.8}, metrics={"loss": [5.0]}),
    }
    schema = f"t_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE SCHEMA "{schema}"')
    store = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")
    report = SyncReport()
    for run_dir in sorted((store_dir / "runs").iterdir()):
        sync_run(store, run_dir.name, run_dir, report)
    assert not report.errors
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient
    try:
        with TestClient(create_app(store)) as client:
            yield client, ids
    finally:
        store.close()
        _admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_postgres_table_groups_charts_views(pg_client: Any) -> None:
    client, ids = pg_client
    page = client.get("/api/v1/projects/proj/runs",
                      params={"order": "-summary.acc", "columns": "config.opt,summary.acc"}).json()
    assert [r["name"] for r in page["runs"]] == ["a", "c", "b"]
    assert page["runs"][0]["values"] == {"config.opt": "adam", "summary.acc": 0.9}
    by_opt = client.get("/api/v1/projects/proj/groups",
                        params={"by": "config.opt", "metrics": "summary.acc"}).json()["groups"]
    assert {g["value"]: (g["count"], g["metrics"]["summary.acc"]["mean"]) for g in by_opt} == \
        {"adam": (2, pytest.approx(0.8)), "sgd": (1, pytest.approx(0.8))}
    by_flag = client.get("/api/v1/projects/proj/groups", params={"by": "config.flag"}).json()
    assert {g["value"]: g["count"] for g in by_flag["groups"]} == {True: 2, False: 1}
    by_depth = client.get("/api/v1/projects/proj/groups", params={"by": "config.depth"}).json()
    assert {float(g["value"]): g["count"] for g in by_depth["groups"]} == {2.0: 2, 4.0: 1}
    chart = client.post("/api/v1/charts", json={"runs": [ids["a"], ids["b"]],
                                                "keys": ["loss"]}).json()
    assert [line["y"] for line in chart["lines"]] == [[3.0, 2.0, 1.0], [4.0, 3.0]]
    view = client.post("/api/v1/projects/proj/views",
                       json={"name": "v", "spec": {"filter": "config.depth > 2"}})
    assert view.status_code == 201
    assert client.post("/api/v1/projects/proj/views", json={"name": "v"}).status_code == 409
    assert client.patch(f"/api/v1/runs/{ids['b']}", json={"name": "a"}).status_code == 409
