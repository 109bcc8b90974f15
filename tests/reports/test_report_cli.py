"""``labtrack report``: create from a file, list, show, edit, history, restore, export, rm."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from labtrack.cli import cli


def _run(*args: str, input: str | None = None) -> Any:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result


def test_report_workflow(tmp_path: Path, lr_runs: dict[str, str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# LR study\n\n```labtrack-chart\nmetrics: [loss]\n```\n")
    created = _run("report", "create", "--project", "study", "--title", "LR study",
                   "--from", str(notes))
    assert created.exit_code == 0, created.output
    rid = created.output.strip()

    listed = _run("report", "ls", "study", "--json")
    assert [r["id"] for r in json.loads(listed.output)] == [rid]
    assert "LR study" in _run("report", "ls").output

    shown = _run("report", "show", "LR study")
    assert shown.exit_code == 0 and "```labtrack-chart" in shown.output and rid in shown.output

    edited = _run("report", "edit", rid[:5], "--body", "# Rewritten", "--title", "LR study v2")
    assert "saved revision 2" in edited.output
    same = _run("report", "edit", rid, "--body", "# Rewritten")
    assert "no changes" in same.output
    piped = _run("report", "edit", rid, "--from", "-", input="# From stdin\n")
    assert "revision 3" in piped.output

    history = json.loads(_run("report", "history", rid, "--json").output)
    assert [h["number"] for h in history] == [3, 2, 1]
    old = json.loads(_run("report", "show", rid, "--revision", "1", "--json").output)
    assert old["body"] == notes.read_text() and old["title"] == "LR study"

    restored = _run("report", "restore", rid, "1")
    assert "restored as revision 4" in restored.output
    current = json.loads(_run("report", "show", rid, "--json").output)
    assert current["body"] == notes.read_text() and current["revision"] == 4

    out = tmp_path / "out" / "study.html"
    out.parent.mkdir()
    exported = _run("report", "export", rid, "--html", str(out))
    assert exported.exit_code == 0 and out.exists() and out.stat().st_size > 1_000_000
    assert '"type":"chart"' in out.read_text()

    removed = _run("report", "rm", rid, "--yes")
    assert removed.exit_code == 0
    assert _run("report", "show", rid).exit_code == 3  # not found


def test_cli_errors(tmp_path: Path, lr_runs: dict[str, str]) -> None:
    missing = _run("report", "show", "nothing-here")
    assert missing.exit_code == 3 and "no report" in missing.output
    rid = _run("report", "create", "-p", "study", "-t", "T", "--body", "x").output.strip()
    no_target = _run("report", "export", rid)
    assert no_target.exit_code == 2 and "--html" in no_target.output
    nothing = _run("report", "edit", rid)
    assert nothing.exit_code == 2
    both = _run("report", "create", "-p", "study", "-t", "T2", "--body", "x", "--from",
                str(tmp_path / "none.md"))
    assert both.exit_code == 2
    empty_title = _run("report", "create", "-p", "study", "-t", " ")
    assert empty_title.exit_code == 2 and "title" in empty_title.output
    assert _run("report", "ls", "--json").exit_code == 0


def test_create_needs_an_existing_project(lr_runs: dict[str, str]) -> None:
    result = _run("report", "create", "-p", "no-such-project", "-t", "T", "--body", "x")
    assert result.exit_code == 3 and "no project named 'no-such-project'" in result.output
