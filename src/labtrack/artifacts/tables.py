"""The artifact tables of the index, defined on the shared :data:`labtrack.store.schema.metadata`.

::

    artifact_collections  one per (project, name); holds the artifact's type
    artifact_versions     v0, v1 ... of a collection: manifest digest, size, file count,
                          metadata; unique per (collection, number) and (collection, digest)
    artifact_files        the manifest: path -> blob digest + size, or reference uri + checksum
    artifact_aliases      "latest", "best", "production" ...: unique per collection
    artifact_lineage      run -> version ("logged") and version -> run ("used")

Run ids in the lineage are plain strings, not foreign keys: a run's row is
written by its background writer and may not exist yet when the run logs or
uses an artifact. Created by the "artifacts" migration through :func:`create`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

from ..store.schema import Json, metadata

artifact_collections = Table(
    "artifact_collections",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("project", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("type", String(200), nullable=False),
    Column("description", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("project", "name", name="uq_artifact_collections_project_name"),
    Index("ix_artifact_collections_project_type", "project", "type"),
)

artifact_versions = Table(
    "artifact_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("collection_id", Integer,
           ForeignKey("artifact_collections.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("digest", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("file_count", Integer, nullable=False),
    Column("description", Text),
    Column("metadata", Json),
    Column("state", String(16), nullable=False, default="committed"),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(64)),
    UniqueConstraint("collection_id", "version", name="uq_artifact_versions_number"),
    UniqueConstraint("collection_id", "digest", name="uq_artifact_versions_digest"),
)

artifact_files = Table(
    "artifact_files",
    metadata,
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(200)),  # sha256 hex of a stored blob; a reference's checksum
    Column("size", BigInteger, nullable=False),
    Column("ref", Text),  # file:// or s3:// uri of a reference entry (nothing stored)
    Index("ix_artifact_files_digest", "digest"),
)

artifact_aliases = Table(
    "artifact_aliases",
    metadata,
    Column("collection_id", Integer,
           ForeignKey("artifact_collections.id", ondelete="CASCADE"), primary_key=True),
    Column("alias", String(200), primary_key=True),
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"),
           nullable=False),
    Index("ix_artifact_aliases_version", "version_id"),
)

artifact_lineage = Table(
    "artifact_lineage",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("version_id", Integer, ForeignKey("artifact_versions.id", ondelete="CASCADE"),
           primary_key=True),
    Column("direction", String(8), primary_key=True),  # "logged" | "used"
    Column("created_at", Float, nullable=False),
    Index("ix_artifact_lineage_version", "version_id", "direction"),
)

TABLES = ("artifact_collections", "artifact_versions", "artifact_files", "artifact_aliases",
          "artifact_lineage")


def create(conn: Connection) -> None:
    """The "artifacts" migration: create the artifact tables (inside the migration transaction)."""
    for table in (artifact_collections, artifact_versions, artifact_files, artifact_aliases,
                  artifact_lineage):
        table.create(conn, checkfirst=True)
