"""Reports: Markdown documents in a project with live blocks drawn from the store.

- :class:`~labtrack.reports.index.ReportIndex` -- reports and their revisions in the store
- :func:`~labtrack.reports.render.render_report` -- a body as sanitised HTML + block data
- :func:`~labtrack.reports.export.export_html` -- one self-contained HTML file (PDF too)
- ``Api().reports(project)`` / ``Api().report(id)`` -- :mod:`labtrack.reports.api`

Live blocks are fenced code blocks whose language is ``labtrack-chart``,
``labtrack-runs``, ``labtrack-compare``, ``labtrack-parcoords``, ``labtrack-sweep`` or
``labtrack-artifact``, with YAML inside (see docs/reports.md). Importing this package
is light: each module imports SQLAlchemy, YAML or Markdown only when used.
"""

from __future__ import annotations

from typing import Any

_LAZY = {
    "ReportIndex": "labtrack.reports.index",
    "Report": "labtrack.reports.api",
    "render_report": "labtrack.reports.render",
    "export_html": "labtrack.reports.export",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'labtrack.reports' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
