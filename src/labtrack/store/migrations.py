"""Schema migrations: small numbered functions, each recorded in the transaction it runs in.

A store at version N runs migrations N+1 ... in order, inside one write
transaction that first takes the database's write lock (``BEGIN IMMEDIATE`` on
SQLite, an advisory lock on PostgreSQL), so processes that open a new store at
the same moment do not race. Append new migrations to :data:`MIGRATIONS`;
never edit one that has shipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, inspect, text

from . import schema

Migration = Callable[[Connection], None]


def _create(*tables: str) -> Migration:
    def run(conn: Connection) -> None:
        for name in tables:
            schema.metadata.tables[name].create(conn, checkfirst=True)

    return run


MIGRATIONS: list[tuple[str, Migration]] = [
    ("core tables", _create("projects", "runs", "run_streams", "series", "chunks", "files",
                                    "media")),
    ("artifacts", lambda c: __import__("labtrack.artifacts.tables", fromlist=["_"]).create(c)),
    ("sweeps", lambda c: __import__("labtrack.sweeps.tables", fromlist=["_"]).create_tables(c)),
    ("ui views", lambda c: __import__("labtrack.server.tables", fromlist=["_"]).create(c)),
    ("auth", lambda c: __import__("labtrack.server.auth_tables", fromlist=["_"]).create(c)),
    ("reports", lambda c: __import__("labtrack.reports.tables", fromlist=["_"]).create(c)),
]


def all_migrations() -> list[tuple[str, Migration]]:
    # Feature tables (artifacts, sweeps, reports, auth) are defined in schema.py
    # too and get their own entries appended to MIGRATIONS.
    return MIGRATIONS


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_migrations"):
        return 0
    row = conn.execute(text("SELECT MAX(version) FROM schema_migrations")).scalar()
    return int(row or 0)


def migrate(conn: Connection) -> list[int]:
    """Run pending migrations on ``conn`` (inside the caller's write transaction).

    Returns the versions applied.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7405471)"))
    schema.schema_migrations.create(conn, checkfirst=True)
    version = current_version(conn)
    applied = []
    for number, (name, step) in enumerate(all_migrations(), start=1):
        if number <= version:
            continue
        step(conn)
        conn.execute(
            schema.schema_migrations.insert().values(
                version=number, name=name, applied_at=time.time()
            )
        )
        applied.append(number)
    return applied


def pending(conn: Connection) -> int:
    return len(all_migrations()) - current_version(conn)
