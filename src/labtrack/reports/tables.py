"""The report tables of the index, on the shared :data:`labtrack.store.schema.metadata`.

::

    reports            one row per report: project, title, the current body, author,
                       times and the number of its current revision
    report_revisions   every saved version of every report: (report, number) is unique;
                       restoring an old revision adds a new one with its content

Created by the "reports" migration through :func:`create`.
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from ..store.schema import metadata


def _define_reports() -> Table:
    existing = metadata.tables.get("reports")  # a module reload must not define it twice
    if existing is not None:
        return existing
    return Table(
        "reports",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("project", String(200), nullable=False),
        Column("title", String(300), nullable=False),
        Column("body", Text, nullable=False, default=""),
        Column("author", String(200)),
        Column("updated_by", String(200)),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        Column("revision", Integer, nullable=False, default=1),
        Index("ix_reports_project_updated", "project", "updated_at"),
    )


def _define_revisions() -> Table:
    existing = metadata.tables.get("report_revisions")
    if existing is not None:
        return existing
    return Table(
        "report_revisions",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("report_id", String(32), nullable=False),
        Column("number", Integer, nullable=False),
        Column("title", String(300), nullable=False),
        Column("body", Text, nullable=False, default=""),
        Column("author", String(200)),
        Column("message", String(300)),
        Column("created_at", Float, nullable=False),
        UniqueConstraint("report_id", "number", name="uq_report_revisions_report_number"),
    )


reports = _define_reports()
report_revisions = _define_revisions()


def create(conn: Connection) -> None:
    """Create the report tables (the migration step)."""
    reports.create(conn, checkfirst=True)
    report_revisions.create(conn, checkfirst=True)
