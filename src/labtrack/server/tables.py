"""The UI's own table: saved views of a project's runs table.

A view is a name plus a JSON spec (chosen columns, filter, sort, grouping,
chart settings). The table is created by the "ui views" migration in
:mod:`labtrack.store.migrations`, which calls :func:`create`.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Float,
    Integer,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy import exc as sa_exc

from ..errors import ConflictError, NotFoundError
from ..store import schema


def _define() -> Table:
    existing = schema.metadata.tables.get("views")  # a module reload must not define it twice
    if existing is not None:
        return existing
    return Table(
        "views",
        schema.metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("project", String(200), nullable=False),
        Column("name", String(200), nullable=False),
        Column("spec", schema.Json, nullable=False),
        Column("created_at", Float, nullable=False),
        Column("updated_at", Float, nullable=False),
        UniqueConstraint("project", "name", name="uq_views_project_name"),
    )


views = _define()


def create(conn: Connection) -> None:
    """Create the views table (the migration step)."""
    views.create(conn, checkfirst=True)


def _row(r: Any) -> dict[str, Any]:
    return dict(r._mapping)


def list_views(store: Any, project: str) -> list[dict[str, Any]]:
    """Saved views of ``project``, by name."""
    stmt = select(views).where(views.c.project == project).order_by(views.c.name)
    with store.read() as conn:
        return [_row(r) for r in conn.execute(stmt)]


def get_view(store: Any, view_id: int) -> dict[str, Any]:
    with store.read() as conn:
        row = conn.execute(select(views).where(views.c.id == view_id)).first()
    if row is None:
        raise NotFoundError(f"no saved view with id {view_id}")
    return _row(row)


def save_view(store: Any, project: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Create a view; a name already used in the project is a ConflictError."""
    now = time.time()
    try:
        with store.write() as conn:
            new_id = conn.execute(insert(views).values(
                project=project, name=name, spec=spec, created_at=now, updated_at=now,
            )).inserted_primary_key[0]
    except sa_exc.IntegrityError:
        raise ConflictError(f"project {project!r} already has a view named {name!r}; "
                            "pick another name or update that view") from None
    return get_view(store, int(new_id))


def update_view(store: Any, view_id: int, name: str | None,
                spec: dict[str, Any] | None) -> dict[str, Any]:
    values: dict[str, Any] = {"updated_at": time.time()}
    if name is not None:
        values["name"] = name
    if spec is not None:
        values["spec"] = spec
    try:
        with store.write() as conn:
            result = conn.execute(update(views).where(views.c.id == view_id).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"no saved view with id {view_id}")
    except sa_exc.IntegrityError:
        raise ConflictError(f"another view is already named {name!r}") from None
    return get_view(store, view_id)


def delete_view(store: Any, view_id: int) -> None:
    with store.write() as conn:
        result = conn.execute(delete(views).where(views.c.id == view_id))
        if result.rowcount == 0:
            raise NotFoundError(f"no saved view with id {view_id}")
