"""The JSON API over a real store: projects, the runs table, group-by, edits, views, errors."""

from __future__ import annotations

import math
import statistics
from pathlib import Path
from typing import Any

import pytest

from labtrack.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    FilterError,
    NotFoundError,
    StoreLockedError,
    UsageError,
)
from labtrack.server.errors import status_for


def decay(n: int, rate: float = 0.05) -> list[float]:
    """A loss-like curve of n points."""
    return [math.exp(-rate * i) for i in range(n)]


@pytest.fixture
def table(make_run: Any) -> list[dict[str, Any]]:
    """Six runs with varied configs and summaries in project "proj", one in "other"."""
    specs = []
    for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "adam"), (0.05, "sgd"), (0.001, "sgd"),
                                   (0.02, "adam"), (0.3, "rmsprop")]):
        acc = round(0.5 + 0.07 * i, 3)
        config = {"lr": lr, "opt": {"name": opt}, "seed": i, "batch": 32}
        run_id = make_run(name=f"r{i}", config=config,
                          summary={"acc": acc}, metrics={"loss": decay(5, lr)},
                          tags=["base"] if i % 2 == 0 else ["exp"])
        specs.append({"id": run_id, "lr": lr, "opt": opt, "acc": acc, "i": i})
    make_run(project="other", name="lonely")
    return specs


def test_projects_list_counts_and_unknown_project(client: Any, table: Any) -> None:
    projects = {p["name"]: p for p in client.get("/api/v1/projects").json()}
    assert projects["proj"]["run_count"] == 6
    assert projects["other"]["run_count"] == 1
    assert projects["proj"]["running"] == 0
    resp = client.get("/api/v1/projects/nope/runs")
    assert resp.status_code == 404
    assert resp.json()["type"] == "NotFoundError" and "nope" in resp.json()["error"]


def test_runs_page_paging_and_totals(client: Any, table: Any) -> None:
    first = client.get("/api/v1/projects/proj/runs", params={"limit": 4}).json()
    second = client.get("/api/v1/projects/proj/runs", params={"limit": 4, "offset": 4}).json()
    assert first["total"] == second["total"] == 6
    assert len(first["runs"]) == 4 and len(second["runs"]) == 2
    ids = [r["id"] for r in first["runs"] + second["runs"]]
    assert sorted(ids) == sorted(s["id"] for s in table)  # every run exactly once
    # default order: newest first
    created = [r["created_at"] for r in first["runs"] + second["runs"]]
    assert created == sorted(created, reverse=True)


@pytest.mark.parametrize("order,key,reverse", [("summary.acc", "acc", False),
                                               ("-summary.acc", "acc", True),
                                               ("config.lr", "lr", False)])
def test_runs_page_sorting(client: Any, table: Any, order: str, key: str, reverse: bool) -> None:
    page = client.get("/api/v1/projects/proj/runs",
                      params={"order": order, "columns": "summary.acc,config.lr"}).json()
    got = [r["id"] for r in page["runs"]]
    want = [s["id"] for s in sorted(table, key=lambda s: s[key], reverse=reverse)]
    assert got == want


def test_runs_page_filter_and_columns(client: Any, table: Any) -> None:
    page = client.get("/api/v1/projects/proj/runs", params={
        "filter": 'config.opt.name == "adam" and summary.acc > 0.55',
        "columns": "config.opt.name, config.lr,summary.acc,config.missing",
    }).json()
    want = {s["id"] for s in table if s["opt"] == "adam" and s["acc"] > 0.55}
    assert {r["id"] for r in page["runs"]} == want and page["total"] == len(want)
    for row in page["runs"]:
        spec = next(s for s in table if s["id"] == row["id"])
        assert row["values"] == {"config.opt.name": "adam", "config.lr": spec["lr"],
                                 "summary.acc": spec["acc"], "config.missing": None}
    assert page["columns"] == ["config.opt.name", "config.lr", "summary.acc", "config.missing"]
    tagged = client.get("/api/v1/projects/proj/runs", params={"filter": '"exp" in tags'}).json()
    assert {r["id"] for r in tagged["runs"]} == {s["id"] for s in table if s["i"] % 2 == 1}


@pytest.mark.parametrize("text", ["config.lr <", "config.lr < 0.1 andd state == 1",
                                  'name == "unterminated'])
def test_malformed_filter_reports_position(client: Any, table: Any, text: str) -> None:
    resp = client.get("/api/v1/projects/proj/runs", params={"filter": text})
    assert resp.status_code == 400
    body = resp.json()
    assert body["type"] == "FilterError" and body["expression"] == text
    assert 0 <= body["position"] <= len(text)
    try:
        from labtrack.store.query import compile_filter

        compile_filter(text, "sqlite", 0.0, 60.0)
    except FilterError as err:  # the API reports what the filter language reports
        assert body["position"] == err.position and body["error"] == err.message


def test_columns_lists_config_paths_and_summary_keys(client: Any, table: Any) -> None:
    cols = client.get("/api/v1/projects/proj/columns").json()
    assert {"lr", "opt.name", "seed", "batch"} <= set(cols["config"])
    assert cols["varying"] == ["lr", "opt.name", "seed"]  # batch is 32 everywhere
    assert "acc" in cols["summary"] and "loss" in cols["summary"]
    assert "name" in cols["fields"] and "state" in cols["fields"]


def test_group_by_config_key_aggregates(client: Any, table: Any) -> None:
    body = client.get("/api/v1/projects/proj/groups",
                      params={"by": "config.opt.name", "metrics": "summary.acc"}).json()
    groups = {g["value"]: g for g in body["groups"]}
    assert set(groups) == {"adam", "sgd", "rmsprop"}
    for opt, group in groups.items():
        accs = [s["acc"] for s in table if s["opt"] == opt]
        assert group["count"] == len(accs)
        stats = group["metrics"]["summary.acc"]
        assert stats["mean"] == pytest.approx(statistics.mean(accs))
        assert stats["min"] == min(accs) and stats["max"] == max(accs)
    # largest group first
    assert body["groups"][0]["value"] == "adam"
    filtered = client.get("/api/v1/projects/proj/groups", params={
        "by": "config.opt.name", "metrics": "summary.acc", "filter": "config.lr < 0.05"}).json()
    assert {g["value"]: g["count"] for g in filtered["groups"]} == {"adam": 2, "sgd": 1}
    numeric = client.get("/api/v1/projects/proj/groups", params={"by": "config.seed"}).json()
    assert sorted(g["value"] for g in numeric["groups"]) == list(range(6))


def test_group_by_rejects_unknown_field(client: Any, table: Any) -> None:
    resp = client.get("/api/v1/projects/proj/groups", params={"by": "summary.acc"})
    assert resp.status_code == 400 and "group" in resp.json()["error"]


def test_get_run_details_and_unknown_run(client: Any, make_run: Any) -> None:
    run_id = make_run(config={"lr": 0.1, "nested": {"depth": 3}}, metrics={"loss": decay(3)},
                      notes="**bold** <script>alert(1)</script>")
    run = client.get(f"/api/v1/runs/{run_id}").json()
    assert run["config"] == {"lr": 0.1, "nested": {"depth": 3}}
    assert run["state"] == "finished" and run["summary"]["loss"] == pytest.approx(decay(3)[-1])
    # notes render as Markdown with raw HTML shown as text, never as markup
    assert "<strong>bold</strong>" in run["notes_html"]
    assert "<script>" not in run["notes_html"] and "&lt;script&gt;" in run["notes_html"]
    missing = client.get("/api/v1/runs/doesnotexist")
    assert missing.status_code == 404 and missing.json()["type"] == "NotFoundError"


def test_edit_rename_tags_notes_favourite(client: Any, make_run: Any, store: Any) -> None:
    run_id = make_run(name="before", tags=["a"])
    other = make_run(name="taken")
    resp = client.patch(f"/api/v1/runs/{run_id}", json={
        "name": " after ", "tags": ["x", "y", "x", " "], "notes": "# Title", "favorite": True})
    assert resp.status_code == 200
    body = resp.json()
    assert body["name"] == "after" and body["tags"] == ["x", "y"] and body["favorite"] is True
    assert "<h1>Title</h1>" in body["notes_html"]
    stored = store.get_run(run_id)
    assert (stored["name"], stored["tags"], stored["notes"]) == ("after", ["x", "y"], "# Title")
    clash = client.patch(f"/api/v1/runs/{run_id}", json={"name": "taken"})
    assert clash.status_code == 409 and clash.json()["type"] == "ConflictError"
    assert store.get_run(other)["name"] == "taken"
    assert client.patch(f"/api/v1/runs/{run_id}", json={"name": ""}).status_code == 422
    assert client.patch("/api/v1/runs/nope", json={"favorite": True}).status_code == 404


def test_delete_run_removes_index_and_run_log(client: Any, make_run: Any,
                                              store_dir: Path) -> None:
    run_id = make_run(metrics={"loss": decay(4)})
    log_dir = store_dir / "runs" / run_id
    assert log_dir.exists()
    assert client.delete(f"/api/v1/runs/{run_id}").status_code == 204
    assert client.get(f"/api/v1/runs/{run_id}").status_code == 404
    assert not log_dir.exists()
    assert client.delete(f"/api/v1/runs/{run_id}").status_code == 404


def test_live_states_follow_a_running_run(client: Any, make_run: Any) -> None:
    import labtrack

    done = make_run(name="done")
    run = labtrack.init(project="proj", name="live", reinit="create_new")
    run.log({"loss": 1.0})
    run._writer.flush()  # what the flusher thread does at least once a second
    states = {s["name"]: s for s in client.get("/api/v1/live",
                                               params={"runs": f"{run.id},{done}"}).json()}
    assert states["live"]["state"] == "running" and states["done"]["state"] == "finished"
    assert client.get("/api/v1/projects/proj").json()["running"] == 1
    run.finish()
    after = client.get("/api/v1/live", params={"runs": run.id}).json()
    assert after[0]["state"] == "finished"


def test_saved_views_crud_and_persistence(client: Any, make_run: Any, store_dir: Path) -> None:
    make_run()
    spec = {"columns": ["name", "config.lr"], "filter": "config.lr < 0.1", "order": "-summary.acc",
            "group_by": "config.opt", "charts": {"x": "wall", "smoothing": 0.6}, "future": 1}
    created = client.post("/api/v1/projects/proj/views", json={"name": "mine", "spec": spec})
    assert created.status_code == 201
    view = created.json()
    assert view["spec"]["filter"] == "config.lr < 0.1" and view["spec"]["future"] == 1
    dup = client.post("/api/v1/projects/proj/views", json={"name": "mine", "spec": {}})
    assert dup.status_code == 409
    updated = client.put(f"/api/v1/views/{view['id']}", json={"name": "renamed"}).json()
    assert updated["name"] == "renamed" and updated["spec"]["order"] == "-summary.acc"
    # a fresh store on the same directory sees it: the table came from a migration
    from labtrack.server.tables import list_views
    from labtrack.store import open_store

    again = open_store(store_dir)
    assert [v["name"] for v in list_views(again, "proj")] == ["renamed"]
    again.close()
    assert client.delete(f"/api/v1/views/{view['id']}").status_code == 204
    assert client.get("/api/v1/projects/proj/views").json() == []
    assert client.delete(f"/api/v1/views/{view['id']}").status_code == 404
    assert client.post("/api/v1/projects/nope/views", json={"name": "x"}).status_code == 404


def test_error_table_maps_every_error() -> None:
    assert status_for(NotFoundError("x")) == 404
    assert status_for(FilterError("bad", "x <", 3)) == 400
    assert status_for(UsageError("x")) == 400
    assert status_for(ConfigError("x")) == 400
    assert status_for(ConflictError("x")) == 409
    assert status_for(AuthError("x")) == 401
    assert status_for(StoreLockedError("x")) == 503
    assert status_for(RuntimeError("x")) == 500


def test_pages_and_openapi(client: Any, make_run: Any) -> None:
    run_id = make_run()
    home = client.get("/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert "script-src 'self'" in home.headers["content-security-policy"]
    assert "unsafe-inline" not in home.headers["content-security-policy"].split("style-src")[0]
    assert client.get(f"/runs/{run_id}").status_code == 200
    assert client.get("/projects/proj").status_code == 200
    for missing in ("/runs/nope", "/projects/nope", "/no/such/page"):
        page = client.get(missing)
        assert page.status_code == 404 and 'data-status="404"' in page.text
    api_missing = client.get("/api/v1/no/such")
    assert api_missing.status_code == 404 and api_missing.json()["error"]
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/projects", "/api/v1/projects/{project}/runs", "/api/v1/charts",
            "/api/v1/runs/{run_id}", "/api/v1/projects/{project}/views"} <= set(spec["paths"])
    assert "ChartRequest" in spec["components"]["schemas"]
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.content) > 1_000_000
    assert client.get("/static/js/app.js").status_code == 200
