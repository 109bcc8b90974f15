"""``labtrack report create|ls|show|edit|history|restore|export|rm``.

A report is referred to by its id, an id prefix or its unique title.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from ._common import (
    console,
    dir_option,
    fmt_time,
    handle_errors,
    json_option,
    open_api,
    print_json,
)

project_option = click.option("--project", "-p", help="Project of the report (narrows a "
                                                      "title or id prefix).")


def _read_text(source: str | None, body: str | None) -> str | None:
    if source is not None and body is not None:
        raise click.UsageError("give the text with --from FILE or --body TEXT, not both")
    if source == "-":
        return sys.stdin.read()
    if source is not None:
        return Path(source).read_text(encoding="utf-8")
    return body


def _report(api: Any, ref: str, project: str | None) -> Any:
    from ..reports.api import report

    return report(api, ref, project)


@click.group()
def report() -> None:
    """Write, list, show and export reports (Markdown with live charts from runs)."""


@report.command("create")
@click.option("--project", "-p", required=True, help="Project the report belongs to.")
@click.option("--title", "-t", required=True, help="The report's title.")
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Markdown file with the body ('-' reads standard input).")
@click.option("--body", help="The body as text (instead of --from).")
@click.option("--author", help="Author name [default: your user name].")
@dir_option
@json_option
@handle_errors
def create(project: str, title: str, source: str | None, body: str | None, author: str | None,
           store_dir: Path | None, as_json: bool) -> None:
    """Create a report; prints its id."""
    from ..reports.api import create_report

    text = _read_text(source, body) or ""
    created = create_report(open_api(store_dir), project, title, text, author=author)
    if as_json:
        print_json(created.to_dict())
    else:
        click.echo(created.id)


@report.command("ls")
@click.argument("project", required=False)
@dir_option
@json_option
@handle_errors
def ls(project: str | None, store_dir: Path | None, as_json: bool) -> None:
    """List reports (of PROJECT, or of every project), the most recently changed first."""
    from rich.table import Table

    from ..reports.index import ReportIndex

    name = project.rsplit("/", 1)[-1] if project else None
    rows = ReportIndex(open_api(store_dir).store).reports(name)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("No reports yet. Create one: labtrack report create --project P --title T "
                   "--from notes.md")
        return
    table = Table("id", "project", "title", "author", "updated", "revisions")
    for r in rows:
        table.add_row(r["id"], r["project"], r["title"], r.get("updated_by") or r.get("author")
                      or "", fmt_time(r["updated_at"]), str(r["revision"]))
    console().print(table)


@report.command("show")
@click.argument("ref")
@project_option
@click.option("--revision", "-r", type=int, help="Show this revision instead of the current.")
@dir_option
@json_option
@handle_errors
def show(ref: str, project: str | None, revision: int | None, store_dir: Path | None,
         as_json: bool) -> None:
    """Show a report: its title, author, times and Markdown body."""
    api = open_api(store_dir)
    found = _report(api, ref, project)
    data = found.to_dict()
    if revision is not None:
        from ..reports.index import ReportIndex

        old = ReportIndex(api.store).revision(found.id, revision)
        data = {**data, "title": old["title"], "body": old["body"], "revision": revision}
    if as_json:
        print_json(data)
        return
    who = data.get("updated_by") or data.get("author") or "?"
    click.echo(f"{data['title']}\n{data['id']} · {data['project']} · {who} · updated "
               f"{fmt_time(data['updated_at'])} · revision {data['revision']}\n")
    click.echo(data["body"])


@report.command("edit")
@click.argument("ref")
@project_option
@click.option("--from", "source", type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="Markdown file with the new body ('-' reads standard input).")
@click.option("--body", help="The new body as text.")
@click.option("--title", "-t", help="A new title.")
@dir_option
@json_option
@handle_errors
def edit(ref: str, project: str | None, source: str | None, body: str | None,
         title: str | None, store_dir: Path | None, as_json: bool) -> None:
    """Save a new body and/or title as a new revision."""
    text = _read_text(source, body)
    if text is None and title is None:
        raise click.UsageError("nothing to change: give --from FILE, --body TEXT or --title")
    found = _report(open_api(store_dir), ref, project)
    before = found.revision
    found.save(body=text, title=title)
    if as_json:
        print_json(found.to_dict())
    elif found.revision == before:
        click.echo(f"{found.id}: no changes (still revision {before})")
    else:
        click.echo(f"{found.id}: saved revision {found.revision}")


@report.command("history")
@click.argument("ref")
@project_option
@dir_option
@json_option
@handle_errors
def history(ref: str, project: str | None, store_dir: Path | None, as_json: bool) -> None:
    """List a report's revisions, newest first."""
    from rich.table import Table

    found = _report(open_api(store_dir), ref, project)
    rows = found.revisions()
    if as_json:
        print_json(rows)
        return
    table = Table("revision", "saved", "author", "title", "note", title=found.title)
    for r in rows:
        table.add_row(str(r["number"]), fmt_time(r["created_at"]), r["author"] or "",
                      r["title"], r["message"] or "")
    console().print(table)


@report.command("restore")
@click.argument("ref")
@click.argument("revision", type=int)
@project_option
@dir_option
@handle_errors
def restore(ref: str, revision: int, project: str | None, store_dir: Path | None) -> None:
    """Make an old REVISION current again (saved as a new revision)."""
    found = _report(open_api(store_dir), ref, project)
    found.restore(revision)
    click.echo(f"{found.id}: revision {revision} restored as revision {found.revision}")


@report.command("export")
@click.argument("ref")
@project_option
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one self-contained HTML file (opens without a server).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a PDF, printed by headless Chromium (needs Playwright).")
@dir_option
@handle_errors
def export(ref: str, project: str | None, html_path: Path | None, pdf_path: Path | None,
           store_dir: Path | None) -> None:
    """Export a report as HTML (--html) and/or PDF (--pdf)."""
    from ..reports.export import export_files

    if html_path is None and pdf_path is None:
        raise click.UsageError("say where to write it: --html out.html and/or --pdf out.pdf")
    api = open_api(store_dir)
    found = _report(api, ref, project)
    for path in export_files(api.store, found.to_dict(), html_path=html_path,
                             pdf_path=pdf_path):
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


@report.command("rm")
@click.argument("ref")
@project_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@dir_option
@handle_errors
def rm(ref: str, project: str | None, yes: bool, store_dir: Path | None) -> None:
    """Delete a report and its whole history."""
    found = _report(open_api(store_dir), ref, project)
    if not yes:
        click.confirm(f"Delete report {found.id} ({found.title!r}) and its "
                      f"{found.revision} revisions?", abort=True)
    found.delete()
    click.echo(f"deleted {found.id}")
