"""The sweep tables of the index, defined on :data:`labtrack.store.schema.metadata`.

``sweeps`` holds one row per sweep (its raw config as JSON and its state);
``sweep_runs`` holds one row per claimed trial: the run id an agent pre-created,
the parameters it was given and when it was claimed. A trial's state and metric come
from the ``runs`` table once the run has started (joined on ``run_id``), so a
trial claimed by an agent that died before starting its run is still visible.
Imported only by the sweep feature and by its migration.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from labtrack.store.schema import Json, metadata

#: Sweep states: running (agents may claim), paused (agents wait), stopped (agents exit),
#: finished (the search method has nothing left to run).
SWEEP_STATES = ("running", "paused", "stopped", "finished")

sweeps = Table(
    "sweeps",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("project", String(200), nullable=False),
    Column("name", String(300)),
    Column("description", Text),
    Column("method", String(16), nullable=False),
    Column("config", Json, nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_sweeps_project", "project", "created_at"),
)

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("sweep_id", String(64), ForeignKey("sweeps.id", ondelete="CASCADE"), nullable=False),
    Column("number", Integer, nullable=False),  # 1, 2, ... in claim order
    Column("params", Json, nullable=False),
    Column("claimed_at", Float, nullable=False),
    Column("agent", String(300)),  # host:pid of the agent that claimed it
    UniqueConstraint("sweep_id", "number", name="uq_sweep_runs_number"),
    Index("ix_sweep_runs_sweep", "sweep_id", "number"),
)


def create_tables(conn: Connection) -> None:
    """The migration that adds the sweep tables (listed in ``store.migrations``)."""
    sweeps.create(conn, checkfirst=True)
    sweep_runs.create(conn, checkfirst=True)
