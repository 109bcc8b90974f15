"""ReportIndex: every database operation on reports, in one small class.

Arguments and results are plain JSON-able data (str, int, float, dict, list), so
the team server can expose the same methods over HTTP unchanged. A report dict is::

    {"id", "project", "title", "body", "author", "updated_by", "created_at",
     "updated_at", "revision"}

and a revision dict ``{"number", "title", "author", "message", "created_at"}``
(plus ``"body"`` from :meth:`ReportIndex.revision`). Every save that changes the
title or the body adds a revision; restoring revision N adds a new revision with
N's content, so history only grows and every state stays restorable.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update
from sqlalchemy import exc as sa_exc

from .._names import new_run_id
from ..errors import ConflictError, NotFoundError, UsageError
from .tables import report_revisions as revs_t
from .tables import reports as reports_t

MAX_TITLE = 300
MAX_BODY = 1_000_000

LIST_COLUMNS = [reports_t.c.id, reports_t.c.project, reports_t.c.title, reports_t.c.author,
                reports_t.c.updated_by, reports_t.c.created_at, reports_t.c.updated_at,
                reports_t.c.revision]


def _check(title: str | None, body: str | None) -> None:
    if title is not None:
        if not title.strip():
            raise UsageError("a report needs a title")
        if len(title) > MAX_TITLE:
            raise UsageError(f"a report title has at most {MAX_TITLE} characters")
    if body is not None and len(body) > MAX_BODY:
        raise UsageError(f"a report body has at most {MAX_BODY:,} characters")


def _revision_dict(row: Any, with_body: bool = False) -> dict[str, Any]:
    out = {"number": row.number, "title": row.title, "author": row.author,
           "message": row.message, "created_at": row.created_at}
    if with_body:
        out["body"] = row.body
    return out


class ReportIndex:
    """Reports and their revision history in the store.

    Args:
        store: an open store with ``read()``/``write()`` transactions
            (:class:`labtrack.store.sql.SQLStore`, or the team server's scoped view of it).
    """

    def __init__(self, store: Any) -> None:
        if not hasattr(store, "write"):
            raise UsageError("reports need a local store (or the team server's own); "
                             "they cannot be edited through a server URL yet")
        self.store = store

    # -- writes ------------------------------------------------------------------------
    def create(self, project: str, title: str, body: str = "",
               author: str | None = None) -> dict[str, Any]:
        """Create a report (revision 1) and return it.

        Raises:
            UsageError: an empty or too long title, a too long body.
        """
        _check(title, body)
        if not project or not project.strip():
            raise UsageError("a report belongs to a project; name one")
        now = time.time()
        report_id = new_run_id()
        with self.store.write() as conn:
            conn.execute(insert(reports_t).values(
                id=report_id, project=project, title=title.strip(), body=body, author=author,
                updated_by=author, created_at=now, updated_at=now, revision=1))
            conn.execute(insert(revs_t).values(
                report_id=report_id, number=1, title=title.strip(), body=body, author=author,
                message="created", created_at=now))
        return self.get(report_id)

    def save(self, report_id: str, *, title: str | None = None, body: str | None = None,
             author: str | None = None, base_revision: int | None = None,
             message: str | None = None) -> dict[str, Any]:
        """Save a new title and/or body as a new revision; returns the report.

        A save that changes nothing adds no revision.

        Args:
            base_revision: the revision the editor started from; when another save
                came in meanwhile the save is refused (ConflictError) instead of
                silently overwriting it.

        Raises:
            NotFoundError: no such report.
            ConflictError: ``base_revision`` is not the current revision.
        """
        _check(title, body)
        try:
            with self.store.write() as conn:
                current = self._current(conn, report_id)
                if base_revision is not None and base_revision != current["revision"]:
                    raise ConflictError(
                        f"report {report_id} was saved by {current['updated_by'] or 'someone'} "
                        f"(revision {current['revision']}) after you opened it at revision "
                        f"{base_revision}; reload it and apply your changes again")
                new_title = title.strip() if title is not None else current["title"]
                new_body = body if body is not None else current["body"]
                if new_title == current["title"] and new_body == current["body"]:
                    return current
                self._add_revision(conn, current, new_title, new_body, author, message)
        except sa_exc.IntegrityError:
            raise ConflictError(f"report {report_id} was saved by someone else at the same "
                                "moment; reload it and apply your changes again") from None
        return self.get(report_id)

    def restore(self, report_id: str, number: int, author: str | None = None
                ) -> dict[str, Any]:
        """Make revision ``number``'s title and body current again (as a new revision).

        Raises:
            NotFoundError: no such report or revision.
        """
        old = self.revision(report_id, number)
        try:
            with self.store.write() as conn:
                current = self._current(conn, report_id)
                self._add_revision(conn, current, old["title"], old["body"], author,
                                   f"restored revision {number}")
        except sa_exc.IntegrityError:
            raise ConflictError(f"report {report_id} was saved by someone else at the same "
                                "moment; try again") from None
        return self.get(report_id)

    def delete(self, report_id: str) -> None:
        """Delete a report and its whole history.

        Raises:
            NotFoundError: no such report.
        """
        with self.store.write() as conn:
            gone = conn.execute(delete(reports_t).where(reports_t.c.id == report_id)).rowcount
            if not gone:
                raise NotFoundError(f"no report with id {report_id!r}")
            conn.execute(delete(revs_t).where(revs_t.c.report_id == report_id))

    # -- reads -------------------------------------------------------------------------
    def get(self, report_id: str) -> dict[str, Any]:
        """One report with its current body.

        Raises:
            NotFoundError: no such report.
        """
        with self.store.read() as conn:
            return self._current(conn, report_id)

    def reports(self, project: str | None = None) -> list[dict[str, Any]]:
        """Reports (without bodies) of a project, or of every project; newest change first."""
        stmt = select(*LIST_COLUMNS).order_by(reports_t.c.updated_at.desc(), reports_t.c.id)
        if project is not None:
            stmt = stmt.where(reports_t.c.project == project)
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def revisions(self, report_id: str) -> list[dict[str, Any]]:
        """The report's revisions, newest first (without bodies).

        Raises:
            NotFoundError: no such report.
        """
        with self.store.read() as conn:
            self._current(conn, report_id)
            rows = conn.execute(select(revs_t).where(revs_t.c.report_id == report_id)
                                .order_by(revs_t.c.number.desc()))
            return [_revision_dict(r) for r in rows]

    def revision(self, report_id: str, number: int) -> dict[str, Any]:
        """One revision with its body.

        Raises:
            NotFoundError: no such report or revision.
        """
        with self.store.read() as conn:
            row = conn.execute(select(revs_t).where(revs_t.c.report_id == report_id,
                                                    revs_t.c.number == number)).first()
            if row is None:
                self._current(conn, report_id)  # an unknown report says so
                raise NotFoundError(f"report {report_id} has no revision {number}")
        return _revision_dict(row, with_body=True)

    def resolve(self, ref: str, project: str | None = None) -> str:
        """A report id from an id, an id prefix (>= 4 characters) or a unique title.

        Raises:
            NotFoundError: nothing matches, or several reports do.
        """
        with self.store.read() as conn:
            if conn.execute(select(reports_t.c.id).where(reports_t.c.id == ref)).first():
                return ref
            stmt = select(reports_t.c.id, reports_t.c.title)
            if project:
                stmt = stmt.where(reports_t.c.project == project)
            like = ref.replace("%", "").replace("_", "") + "%"
            cond = reports_t.c.title == ref
            if len(ref) >= 4:
                cond = or_(cond, reports_t.c.id.like(like))
            matches = conn.execute(stmt.where(cond).limit(5)).all()
        exact = [m for m in matches if m.title == ref] or matches
        if len(exact) == 1:
            return str(exact[0].id)
        if not exact:
            where = f" in project {project!r}" if project else ""
            raise NotFoundError(f"no report with id or title {ref!r}{where}")
        raise NotFoundError(f"{ref!r} matches several reports "
                            f"({', '.join(m.id for m in exact)}); use the id")

    def count(self, project: str | None = None) -> int:
        """How many reports a project (or the store) has."""
        stmt = select(func.count()).select_from(reports_t)
        if project is not None:
            stmt = stmt.where(reports_t.c.project == project)
        with self.store.read() as conn:
            return int(conn.execute(stmt).scalar() or 0)

    # -- internals ---------------------------------------------------------------------
    @staticmethod
    def _current(conn: Connection, report_id: str) -> dict[str, Any]:
        row = conn.execute(select(reports_t).where(reports_t.c.id == report_id)).first()
        if row is None:
            raise NotFoundError(f"no report with id {report_id!r}")
        return dict(row._mapping)

    @staticmethod
    def _add_revision(conn: Connection, current: dict[str, Any], title: str, body: str,
                      author: str | None, message: str | None) -> None:
        now = max(time.time(), float(current["updated_at"]))
        number = int(current["revision"]) + 1
        conn.execute(insert(revs_t).values(
            report_id=current["id"], number=number, title=title, body=body, author=author,
            message=message, created_at=now))
        conn.execute(update(reports_t).where(reports_t.c.id == current["id"]).values(
            title=title, body=body, updated_by=author, updated_at=now, revision=number))
