"""Reports on the team server: project roles decide who reads, writes and deletes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient


@pytest.fixture
def team(store: Any, tmp_path: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    pytest.importorskip("argon2")
    from labtrack.server.auth import AuthService
    from labtrack.server.team import create_team_app
    from labtrack.settings import Settings

    auth = AuthService(store)
    keys = {}
    for name in ("ann", "rob", "eve"):
        auth.add_user(name)
        keys[name] = auth.create_key(name)
    settings = Settings()
    settings.dir = tmp_path / "server"
    with TestClient(create_team_app(store, settings=settings)) as client:
        yield client, keys
    store.close()


def test_roles_guard_reports(team: tuple[TestClient, dict[str, str]], store: Any,
                             lr_runs: dict[str, str]) -> None:
    from labtrack.server.auth import AuthService

    client, keys = team
    auth = AuthService(store)
    auth.set_role("study", "ann", "admin")
    auth.set_role("study", "rob", "reader")
    as_ = {n: {"Authorization": f"Bearer {k}"} for n, k in keys.items()}
    made = client.post("/api/v1/projects/study/reports", headers=as_["ann"],
                       json={"title": "Team notes", "body": "```labtrack-runs\n```"})
    assert made.status_code == 201 and made.json()["author"] == "ann"
    rid = made.json()["id"]
    seen = client.get(f"/api/v1/reports/{rid}/rendered", headers=as_["rob"])
    assert seen.status_code == 200 and seen.json()["blocks"][0]["type"] == "runs"
    # a reader may not write (AuthError: 401); a non-member sees nothing (404)
    assert client.put(f"/api/v1/reports/{rid}", headers=as_["rob"],
                      json={"body": "mine now"}).status_code == 401
    assert client.post("/api/v1/projects/study/reports", headers=as_["rob"],
                       json={"title": "x"}).status_code == 401
    assert client.delete(f"/api/v1/reports/{rid}", headers=as_["rob"]).status_code == 401
    assert client.get(f"/api/v1/reports/{rid}", headers=as_["eve"]).status_code == 404
    assert client.get("/api/v1/projects/study/reports", headers=as_["eve"]).status_code == 404
    assert client.get(f"/api/v1/reports/{rid}", headers=as_["rob"]).json()["body"] == (
        "```labtrack-runs\n```")
    assert client.get(f"/api/v1/reports/{rid}").status_code == 401  # no key at all
    assert client.delete(f"/api/v1/reports/{rid}", headers=as_["ann"]).status_code == 204
