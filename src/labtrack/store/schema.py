"""Table definitions of the index (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Times are float seconds since the epoch (portable, cheap to compare). JSON
columns hold strict JSON (see :mod:`labtrack._jsonsafe`). Each table is
created by the migration that introduced it (:mod:`.migrations`); a table
added later gets a new migration, never an edit of an old one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy.engine import Dialect
    from sqlalchemy.types import TypeEngine

metadata = MetaData()


class JsonColumn(TypeDecorator[Any]):
    """JSON, stored as ``JSONB`` on PostgreSQL.

    Not ``JSON().with_variant(JSONB(), "postgresql")``: building the variant imports
    SQLAlchemy's PostgreSQL dialect (~40 ms, with every driver module it knows) in
    every process that reads a SQLite index, ``Api()`` and each CLI command included.
    Here the dialect picks the type when it compiles, and only PostgreSQL imports it.
    """

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


Json = JsonColumn()
Blob = LargeBinary()  # BYTEA on PostgreSQL: LargeBinary's own type there

schema_migrations = Table(
    "schema_migrations",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", Float, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("description", Text),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project_id", Integer, ForeignKey("projects.id"), nullable=False),
    Column("name", String(300), nullable=False),
    Column("group_name", String(300)),
    Column("job_type", String(200)),
    Column("tags", Json),
    Column("tags_text", Text, nullable=False, default=""),  # "|a|b|", for portable `in tags`
    Column("notes", Text),
    Column("state", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("heartbeat_at", Float, nullable=False),
    Column("config", Json),
    Column("summary", Json),
    Column("metric_defs", Json),
    Column("environment", Json),
    Column("host", String(300)),
    Column("pid", Integer),
    Column("owner", String(200)),
    Column("exit_code", Integer),
    Column("error", Text),
    Column("sweep_id", String(64)),
    Column("favorite", Boolean, nullable=False, default=False),
    Column("step", BigInteger, nullable=False, default=0),
    Column("last_seq", BigInteger, nullable=False, default=-1),
    Column("reproduced_from", String(64)),
    Index("ix_runs_project_created", "project_id", "created_at"),
    Index("ix_runs_sweep", "sweep_id"),
    UniqueConstraint("project_id", "name", name="uq_runs_project_name"),
)

# Sequence numbers of extra log streams of a run (the main stream's is runs.last_seq):
# `labtrack run` writes console, system metrics and state to run.log while the
# tracked child process logs its metrics to child.log.
run_streams = Table(
    "run_streams",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("stream", String(64), primary_key=True),
    Column("last_seq", BigInteger, nullable=False),
)

series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(1000), nullable=False),
    Column("kind", String(16), nullable=False, default="float"),
    Column("count", BigInteger, nullable=False, default=0),
    Column("first_step", BigInteger),
    Column("last_step", BigInteger),
    Column("min", Float),
    Column("max", Float),
    Column("last", Float),
    Column("last_time", Float),
    Column("backwards", Boolean, nullable=False, default=False),
    UniqueConstraint("run_id", "key", name="uq_series_run_key"),
)

chunks = Table(
    "chunks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("series_id", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("count", Integer, nullable=False),
    Column("data", Blob, nullable=False),
    Index("ix_chunks_series", "series_id", "id"),
)

files = Table(
    "files",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

media = Table(
    "media",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("runs.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(1000), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("record", Json, nullable=False),
    Index("ix_media_run_key", "run_id", "key", "step"),
)
