"""Helpers of the store contract tests (see conftest.py): SQLite and PostgreSQL stores."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import labtrack
from labtrack.store import open_store
from labtrack.sync import SyncReport, sync_run

PG_URL = os.environ.get("LABTRACK_TEST_POSTGRES",
                        "postgresql://postgres@127.0.0.1:5432/labtrack_test")


def pg_store(schema: str, **kwargs: Any) -> Any:
    import sqlalchemy

    admin = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    sep = "&" if "?" in PG_URL else "?"
    return open_store(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", **kwargs)


def drop_schema(schema: str) -> None:
    import sqlalchemy

    admin = sqlalchemy.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    admin.dispose()


class StoreUnderTest:
    """Runs are logged for real into a local store dir; the store under test is either
    that SQLite index or a PostgreSQL index built from the same run logs."""

    def __init__(self, backend: str, store_dir: Path) -> None:
        self.backend = backend
        self.dir = store_dir
        self.schema = f"t_{uuid.uuid4().hex[:12]}"
        self._store: Any = None

    @property
    def store(self) -> Any:
        if self._store is None:
            if self.backend == "sqlite":
                self._store = open_store(self.dir)
            else:
                self._store = pg_store(self.schema)
        return self._store

    def publish(self) -> None:
        """Apply every run log to the store under test (a no-op for SQLite, already live)."""
        report = SyncReport()
        runs_dir = self.dir / "runs"
        for run_dir in sorted(runs_dir.iterdir()) if runs_dir.exists() else []:
            sync_run(self.store, run_dir.name, run_dir, report)
        assert not report.errors

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
        if self.backend == "postgres":
            drop_schema(self.schema)


def log_run(project: str, name: str, config: dict[str, Any], metrics: dict[str, list[float]],
            tags: list[str] | None = None, exit_code: int = 0, **kwargs: Any) -> str:
    run = labtrack.init(project=project, name=name, config=config, tags=tags, **kwargs)
    length = max((len(v) for v in metrics.values()), default=0)
    for i in range(length):
        run.log({k: v[i] for k, v in metrics.items() if i < len(v)})
    run.finish(exit_code=exit_code)
    return run.id
