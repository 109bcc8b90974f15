"""The reports JSON API, the UI page routes, and Api().reports / Api().report."""

from __future__ import annotations

from typing import Any

import pytest

import labtrack
from labtrack.errors import ConflictError, NotFoundError
from labtrack.reports.api import create_report


def _create(client: Any, body: str = "", title: str = "Study", project: str = "study"
            ) -> dict[str, Any]:
    resp = client.post(f"/api/v1/projects/{project}/reports", json={"title": title, "body": body})
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_create_list_render_save_restore(client: Any, lr_runs: dict[str, str]) -> None:
    report = _create(client, "# Findings\n\n```labtrack-runs\ncolumns: [name, config.lr]\n```\n")
    rid = report["id"]
    assert report["revision"] == 1 and report["author"]
    assert [r["id"] for r in client.get("/api/v1/projects/study/reports").json()] == [rid]
    rendered = client.get(f"/api/v1/reports/{rid}/rendered").json()
    assert "<h1>Findings</h1>" in rendered["html"] and 'data-block="0"' in rendered["html"]
    (block,) = rendered["blocks"]
    assert sorted(r["values"][0] for r in block["runs"]) == ["fast", "mid", "slow"]

    saved = client.put(f"/api/v1/reports/{rid}", json={"body": "# Second", "base_revision": 1})
    assert saved.status_code == 200 and saved.json()["revision"] == 2
    stale = client.put(f"/api/v1/reports/{rid}", json={"body": "# Lost", "base_revision": 1})
    assert stale.status_code == 409 and stale.json()["type"] == "ConflictError"
    history = client.get(f"/api/v1/reports/{rid}/revisions").json()
    assert [r["number"] for r in history] == [2, 1]
    first = client.get(f"/api/v1/reports/{rid}/revisions/1").json()
    assert first["body"].startswith("# Findings")
    restored = client.post(f"/api/v1/reports/{rid}/revisions/1/restore").json()
    assert restored["revision"] == 3 and restored["body"] == first["body"]
    assert client.get(f"/api/v1/reports/{rid}").json()["body"] == first["body"]


def test_preview_renders_unsaved_text_and_starter_prefills(client: Any,
                                                            lr_runs: dict[str, str]) -> None:
    preview = client.post("/api/v1/projects/study/reports/preview",
                          json={"body": "*hi*\n\n```labtrack-chart\nmetrics: [loss]\n```"}).json()
    assert "<em>hi</em>" in preview["html"] and preview["blocks"][0]["type"] == "chart"
    ids = [lr_runs["slow"], lr_runs["fast"]]
    start = client.post("/api/v1/projects/study/reports/starter",
                        json={"runs": ids, "source": "compare"}).json()
    assert start["title"] and "```labtrack-compare" in start["body"]
    rendered = client.post("/api/v1/projects/study/reports/preview",
                           json={"body": start["body"]}).json()
    types = [b["type"] for b in rendered["blocks"]]
    assert "error" not in types and {"runs", "compare", "chart"} <= set(types)
    chart = next(b for b in rendered["blocks"] if b["type"] == "chart")
    assert [r["id"] for r in chart["runs"]] == ids and set(chart["metrics"]) == {"loss", "acc"}


def test_export_download_is_self_contained(client: Any, lr_runs: dict[str, str]) -> None:
    rid = _create(client, "```labtrack-chart\nmetrics: [loss]\n```", title="LR / study")["id"]
    resp = client.get(f"/api/v1/reports/{rid}/export.html")
    assert resp.status_code == 200
    assert resp.headers["content-disposition"] == 'attachment; filename="LR-study.html"'
    assert "sandbox" in resp.headers["content-security-policy"]
    tags = _tags(resp.text)
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert len(scripts) == 3 and not any("src" in attrs for attrs in scripts)
    assert not [(t, a) for t, a in tags if t in ("link", "img", "iframe")]  # nothing to fetch
    assert "Plotly" in resp.text and '"type":"chart"' in resp.text


def _tags(document: str) -> list[tuple[str, dict[str, str | None]]]:
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collect().feed(document)
    return found


def test_errors_and_page_routes(client: Any, lr_runs: dict[str, str]) -> None:
    assert client.get("/api/v1/reports/nope").status_code == 404
    assert client.get("/api/v1/projects/none/reports").status_code == 404
    assert client.post("/api/v1/projects/none/reports", json={"title": "x"}).status_code == 404
    assert client.post("/api/v1/projects/study/reports", json={"title": ""}).status_code == 422
    rid = _create(client)["id"]
    assert client.get(f"/api/v1/reports/{rid}/revisions/5").status_code == 404
    assert client.get(f"/reports/{rid}").status_code == 200
    assert client.get(f"/reports/{rid}/edit").status_code == 200
    assert client.get("/reports/nope").status_code == 404
    assert client.get("/projects/study/reports").status_code == 200
    assert client.get("/projects/study/reports/new").status_code == 200
    assert client.delete(f"/api/v1/reports/{rid}").status_code == 204
    assert client.get(f"/api/v1/reports/{rid}").status_code == 404


def test_api_reports_and_report(lr_runs: dict[str, str]) -> None:
    api = labtrack.Api()
    made = create_report(api, "someone/study", "Weekly", "v1", author="ana")
    assert made.project == "study" and made.author == "ana" and made.revision == 1
    listed = api.reports("study")
    assert [r.title for r in listed] == ["Weekly"] and listed[0].body == "v1"
    found = api.report("Weekly")
    assert found.id == made.id and found.display_name == "Weekly"
    found.save(body="v2")
    with pytest.raises(ConflictError):
        made.save(body="from a stale copy")
    assert [r["number"] for r in found.revisions()] == [2, 1]
    found.restore(1)
    assert api.report(made.id).body == "v1" and found.revision == 3
    assert found.render()["html"] == "<p>v1</p>\n"
    found.delete()
    with pytest.raises(NotFoundError):
        api.report(made.id)
