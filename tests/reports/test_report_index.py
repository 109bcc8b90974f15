"""ReportIndex: reports and every saved revision, kept and restorable."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import inspect, text

from labtrack.errors import ConflictError, NotFoundError, UsageError
from labtrack.reports.index import ReportIndex


def test_migration_creates_the_report_tables(store: Any) -> None:
    with store.read() as conn:
        names = set(inspect(conn).get_table_names())
        applied = [r[0] for r in conn.execute(text("SELECT name FROM schema_migrations"))]
    assert {"reports", "report_revisions"} <= names
    assert "reports" in applied


def test_every_save_is_a_revision_and_results_are_plain_json(index: ReportIndex) -> None:
    created = index.create("study", "  LR sweep  ", "first draft", author="ana")
    assert created["title"] == "LR sweep" and created["revision"] == 1
    assert created["author"] == created["updated_by"] == "ana"
    saved = index.save(created["id"], body="second draft", author="ben")
    assert saved["revision"] == 2 and saved["body"] == "second draft"
    assert saved["author"] == "ana" and saved["updated_by"] == "ben"
    assert saved["updated_at"] >= created["updated_at"]
    renamed = index.save(created["id"], title="LR study", author="ana")
    assert (renamed["revision"], renamed["title"], renamed["body"]) == (3, "LR study",
                                                                       "second draft")
    history = index.revisions(created["id"])
    assert [r["number"] for r in history] == [3, 2, 1]
    assert [r["author"] for r in history] == ["ana", "ben", "ana"]
    assert index.revision(created["id"], 1)["body"] == "first draft"
    assert index.revision(created["id"], 2)["title"] == "LR sweep"
    # everything the index returns survives a JSON round trip unchanged
    for value in (renamed, history, index.reports("study"), index.revision(created["id"], 2)):
        assert json.loads(json.dumps(value)) == value


def test_a_save_that_changes_nothing_adds_no_revision(index: ReportIndex) -> None:
    report = index.create("study", "T", "same")
    again = index.save(report["id"], title="T", body="same")
    assert again["revision"] == 1 and len(index.revisions(report["id"])) == 1


def test_restore_adds_a_revision_with_the_old_content(index: ReportIndex) -> None:
    rid = index.create("study", "Title one", "v1 body")["id"]
    index.save(rid, title="Title two", body="v2 body")
    index.save(rid, body="v3 body")
    restored = index.restore(rid, 1, author="cy")
    assert (restored["revision"], restored["title"], restored["body"]) == (4, "Title one",
                                                                          "v1 body")
    history = index.revisions(rid)
    assert history[0]["message"] == "restored revision 1" and history[0]["author"] == "cy"
    # nothing was lost: the text before the restore is still there
    assert index.revision(rid, 3)["body"] == "v3 body"
    with pytest.raises(NotFoundError, match="no revision 9"):
        index.restore(rid, 9)


def test_a_stale_editor_cannot_overwrite_a_newer_save(index: ReportIndex) -> None:
    rid = index.create("study", "T", "base")["id"]
    index.save(rid, body="from tab A", base_revision=1, author="ana")
    with pytest.raises(ConflictError, match="revision 2"):
        index.save(rid, body="from tab B", base_revision=1, author="ben")
    assert index.get(rid)["body"] == "from tab A"


def test_list_delete_and_errors(index: ReportIndex) -> None:
    a = index.create("study", "A")
    b = index.create("study", "B")
    index.create("other", "C")
    index.save(a["id"], body="newer")
    assert [r["title"] for r in index.reports("study")] == ["A", "B"]  # last changed first
    assert "body" not in index.reports("study")[0]
    assert {r["project"] for r in index.reports()} == {"study", "other"}
    assert index.count("study") == 2 and index.count() == 3
    index.delete(b["id"])
    assert [r["title"] for r in index.reports("study")] == ["A"]
    with pytest.raises(NotFoundError):
        index.revisions(b["id"])
    with pytest.raises(NotFoundError):
        index.delete(b["id"])
    with pytest.raises(UsageError, match="title"):
        index.create("study", "   ")
    with pytest.raises(UsageError, match="project"):
        index.create("", "T")
    with pytest.raises(NotFoundError):
        index.save("nope", body="x")


def test_resolve_by_id_prefix_or_title(index: ReportIndex) -> None:
    one = index.create("study", "Weekly notes")
    two = index.create("study", "Ablations")
    index.create("other", "Ablations")
    assert index.resolve(one["id"]) == one["id"]
    assert index.resolve(one["id"][:5]) == one["id"]
    assert index.resolve("Weekly notes") == one["id"]
    assert index.resolve("Ablations", project="study") == two["id"]
    with pytest.raises(NotFoundError, match="several"):
        index.resolve("Ablations")
    with pytest.raises(NotFoundError, match="no report"):
        index.resolve("Missing")


def test_needs_a_store_with_transactions() -> None:
    with pytest.raises(UsageError, match="local store"):
        ReportIndex(object())
