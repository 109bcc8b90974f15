"""``Api().reports(project)`` and ``Api().report(id)``, attached lazily by ``_api_extensions``.

Each function takes the Api as its first argument (it has ``.store``)::

    api = labtrack.Api()
    report = api.create_report("demo", "LR study", body=open("notes.md").read())
    report.save(body=report.body + "\\n\\nMore findings.")
    [r.title for r in api.reports("demo")]
    report.export_html("lr-study.html")
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

from .index import ReportIndex


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return None


class Report:
    """A report read through :class:`labtrack.Api`: its fields, history and exports."""

    def __init__(self, api: Any, data: dict[str, Any]) -> None:
        self._api = api
        self._data = dict(data)

    @property
    def _index(self) -> ReportIndex:
        return ReportIndex(self._api.store)

    # -- fields ------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return str(self._data["id"])

    @property
    def project(self) -> str:
        return str(self._data["project"])

    @property
    def title(self) -> str:
        return str(self._data["title"])

    display_name = title  # wandb's name for it

    @property
    def body(self) -> str:
        """The Markdown text (read on first use for reports from a listing)."""
        if "body" not in self._data:
            self._data = self._index.get(self.id)
        return str(self._data["body"])

    @property
    def author(self) -> str | None:
        return self._data.get("author")

    @property
    def revision(self) -> int:
        return int(self._data["revision"])

    @property
    def created_at(self) -> float:
        return float(self._data["created_at"])

    @property
    def updated_at(self) -> float:
        return float(self._data["updated_at"])

    def to_dict(self) -> dict[str, Any]:
        """The report's fields as a dict (with the body)."""
        self.body  # noqa: B018 - loads it
        return dict(self._data)

    def __repr__(self) -> str:
        return f"<Report {self.id} {self.title!r} ({self.project}, revision {self.revision})>"

    # -- changes -----------------------------------------------------------------------
    def save(self, body: str | None = None, title: str | None = None,
             author: str | None = None) -> Report:
        """Save a new body and/or title as a new revision (refused when someone else
        saved since this object was read: ConflictError)."""
        self._data = self._index.save(self.id, title=title, body=body,
                                      author=author or _user(), base_revision=self.revision)
        return self

    def revisions(self) -> list[dict[str, Any]]:
        """``[{"number", "title", "author", "message", "created_at"}]``, newest first."""
        return self._index.revisions(self.id)

    def restore(self, number: int, author: str | None = None) -> Report:
        """Make revision ``number`` current again (as a new revision)."""
        self._data = self._index.restore(self.id, number, author=author or _user())
        return self

    def delete(self) -> None:
        """Delete the report and its history."""
        self._index.delete(self.id)

    # -- output ------------------------------------------------------------------------
    def render(self) -> dict[str, Any]:
        """``{"html", "blocks", "math"}``: see :func:`labtrack.reports.render.render_report`."""
        from .render import render_report

        return render_report(self._api.store, self.body, self.project)

    def export_html(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file; returns its path."""
        from .export import export_files

        return export_files(self._api.store, self.to_dict(), html_path=Path(path))[0]

    def export_pdf(self, path: str | Path) -> Path:
        """Print the report to PDF with headless Chromium (needs Playwright)."""
        from .export import export_files

        return export_files(self._api.store, self.to_dict(), pdf_path=Path(path))[0]


def _project(project: str | None) -> str | None:
    return project.rsplit("/", 1)[1] if project and "/" in project else project


def reports(api: Any, project: str | None = None, per_page: int | None = None
            ) -> list[Report]:
    """Reports of ``project`` ("entity/project" accepted), or of every project;
    the most recently changed first."""
    rows = ReportIndex(api.store).reports(_project(project))
    return [Report(api, row) for row in rows[:per_page]]


def report(api: Any, ref: str, project: str | None = None) -> Report:
    """One report by id, id prefix or unique title.

    Raises:
        NotFoundError: no such report, or several match.
    """
    index = ReportIndex(api.store)
    return Report(api, index.get(index.resolve(ref, _project(project))))


def create_report(api: Any, project: str, title: str, body: str = "",
                  author: str | None = None) -> Report:
    """Create a report in ``project``; returns it (revision 1).

    Raises:
        NotFoundError: the project does not exist (it does once a run was logged to it).
    """
    from ..errors import NotFoundError

    name = _project(project) or project
    if name not in {p["name"] for p in api.store.projects()}:
        raise NotFoundError(f"no project named {name!r}; a project exists once a run was "
                            "logged to it")
    data = ReportIndex(api.store).create(name, title, body, author=author or _user())
    return Report(api, data)
