"""The team server end to end: remote logging, roles, keys, faults (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import labtrack
from labtrack.errors import AuthError, NotFoundError

LOGGER = """
import sys, time, labtrack
run = labtrack.init(project=sys.argv[1], id=sys.argv[2], config={"lr": 0.1})
n = int(sys.argv[3])
pause_at = int(sys.argv[5]) if len(sys.argv) > 5 else -1
for i in range(n):
    run.log({"x": float(i), "y": float(i) * 2})
    if i % 50 == 0:
        print(i, flush=True)
    if i == pause_at:  # wait for the test to say go on (a line on stdin)
        print("paused", flush=True)
        sys.stdin.readline()
    time.sleep(float(sys.argv[4]))
run.finish()
print("done", flush=True)
"""


def spawn(env: dict[str, str], *args: Any) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", LOGGER, *map(str, args)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_remote_logging_with_no_code_change(team: Any, keys: dict[str, str],
                                            client_env: Callable[..., dict[str, str]]) -> None:
    proc = spawn(client_env(keys["alice"]), "shared", "remote1", 300, 0)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    api = labtrack.Api(team.url, api_key=keys["alice"])
    run = api.run("remote1")
    assert run.state == "finished" and run.config == {"lr": 0.1}
    steps, values, _ = run.series("x")
    assert list(values) == [float(i) for i in range(300)]
    assert run.entity == "alice"  # runs record who made them


def test_the_store_opened_directly_shows_the_package_list(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's snapshot names its package list's blob: the server shows the list, and
    its PostgreSQL store opened directly puts it back from the blob store
    ``LABTRACK_SERVER_BLOBS`` names (the reference as stored without one)."""
    from labtrack.capture._package_blob import REF_KEY
    from labtrack.store import open_store

    env = {**client_env(keys["alice"]), "LABTRACK_DISABLE_ENV": "0"}
    proc = spawn(env, "shared", "envrun", 5, 0)
    assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    via_server = labtrack.Api(team.url, api_key=keys["alice"]).run("envrun").environment
    assert via_server["packages"] and REF_KEY not in via_server
    if "://" not in team.db:
        return  # a SQLite server's store reads <db dir>/blobs, where `labtrack server` keeps them
    monkeypatch.delenv("LABTRACK_SERVER_BLOBS", raising=False)
    bare = open_store(team.db)  # no blob store is known without the variable
    try:
        assert REF_KEY in bare.get_run("envrun")["environment"]
    finally:
        bare.close()
    monkeypatch.setenv("LABTRACK_SERVER_BLOBS", str(team.blobs.root))
    direct = open_store(team.db)
    try:
        assert direct.get_run("envrun")["environment"]["packages"] == via_server["packages"]
    finally:
        direct.close()


def test_roles_readers_cannot_log_non_members_cannot_see(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]]) -> None:
    proc = spawn(client_env(keys["alice"]), "shared", "own1", 20, 0)
    assert proc.wait(timeout=120) == 0
    team.auth().set_role("shared", "bob", "reader")
    bob = labtrack.Api(team.url, api_key=keys["bob"])
    assert [r.id for r in bob.runs("shared")] == ["own1"]
    from labtrack.runlog import Record

    with pytest.raises(AuthError, match="reader"):
        bob.store.apply("own1", [Record({"seq": 99, "time": time.time()}, [])])
    with pytest.raises(AuthError):
        bob.store.update_run("own1", name="hijacked")
    eve = labtrack.Api(team.url, api_key=keys["eve"])
    assert eve.projects() == [] and eve.runs() == []
    with pytest.raises(NotFoundError):
        eve.run("own1")
    with pytest.raises(NotFoundError):
        eve.runs("shared")
    # eve logging into a new project becomes its admin; alice (server admin? no) cannot see it
    proc = spawn(client_env(keys["eve"], "m2"), "eves", "eve1", 5, 0)
    assert proc.wait(timeout=120) == 0
    assert [r.id for r in eve.runs("eves")] == ["eve1"]
    assert [p["name"] for p in bob.projects()] == ["shared"]


def test_no_route_answers_without_a_valid_key(team: Any, keys: dict[str, str]) -> None:
    spec = httpx.get(f"{team.url}/openapi.json",
                     headers={"Authorization": f"Bearer {keys['alice']}"}).json()
    checked = 0
    for path, methods in spec["paths"].items():
        if path.startswith("/api/v1/auth/login"):
            continue
        concrete = path
        for name in ("project", "run_id", "digest", "path", "key", "ref", "name", "view_id",
                     "sweep_id", "version", "report_id", "id"):
            concrete = concrete.replace("{" + name + "}", "x" * (64 if name == "digest" else 3))
        concrete = concrete.replace("{", "").replace("}", "")
        for method in methods:
            for headers in ({}, {"Authorization": "Bearer lt_wrong"},
                            {"Authorization": "Basic abc"}):
                r = httpx.request(method.upper(), team.url + concrete, headers=headers)
                assert r.status_code == 401, (method, path, r.status_code)
                checked += 1
    assert checked > 30
    page = httpx.get(team.url + "/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")


def test_server_down_mid_run_loses_nothing_and_duplicates_nothing(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]]) -> None:
    # the run pauses at step 300 until told to go on, so the server is surely back
    # before it finishes, however slow the machine
    proc = spawn(client_env(keys["alice"]), "shared", "outage", 400, 0.01, 300)
    assert proc.stdout is not None and proc.stdin is not None
    while int(proc.stdout.readline()) < 100:
        pass
    team.stop()  # the server goes away while the run logs on
    while proc.stdout.readline().strip() != "paused":
        pass
    team.start()
    out, err = proc.communicate("go\n", timeout=120)
    assert proc.returncode == 0, err
    deadline = time.time() + 30
    run = None
    while time.time() < deadline:
        run = labtrack.Api(team.url, api_key=keys["alice"]).run("outage")
        if run.state == "finished":
            break
        time.sleep(0.5)
    assert run is not None and run.state == "finished"
    steps, values, _ = run.series("x")
    assert list(steps) == list(range(400)), "every point exactly once"


def test_killed_client_is_uploaded_by_sync(team: Any, keys: dict[str, str],
                                           client_env: Callable[..., dict[str, str]],
                                           tmp_path: Path) -> None:
    env = client_env(keys["alice"])
    team.stop()  # the server is down for the whole run
    proc = spawn(env, "shared", "offline1", 200, 0.002)
    assert proc.stdout is not None
    while int(proc.stdout.readline()) < 150:
        pass
    time.sleep(0.6)
    proc.kill()
    proc.wait(timeout=30)
    team.start()
    result = subprocess.run([sys.executable, "-m", "labtrack.cli", "sync"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    run = labtrack.Api(team.url, api_key=keys["alice"]).run("offline1")
    steps, _, _ = run.series("x")
    assert list(steps) == list(range(len(steps))) and len(steps) >= 151
    again = subprocess.run([sys.executable, "-m", "labtrack.cli", "sync", "--json"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert json.loads(again.stdout)["records"] == 0  # a resend duplicates nothing


def test_login_rate_limit_and_session(team: Any, keys: dict[str, str]) -> None:
    codes = [httpx.post(f"{team.url}/api/v1/auth/login",
                        data={"name": "alice", "password": "wrong"}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    other = TeamLogin(team.url)
    assert other.ok is False  # same client address: still limited


class TeamLogin:
    def __init__(self, url: str) -> None:
        r = httpx.post(f"{url}/api/v1/auth/login",
                       data={"name": "alice", "password": "alice-password-123"})
        self.ok = r.status_code == 200


def test_browser_session_login(team: Any, keys: dict[str, str]) -> None:
    with httpx.Client(base_url=team.url) as c:
        r = c.post("/login", data={"name": "bob", "password": "bob-password-123", "next": "/"})
        assert r.status_code == 303
        assert c.get("/api/v1/auth/me").json() == {"user": "bob"}
        assert c.get("/").status_code == 200


def test_login_command_writes_0600_file(team: Any, keys: dict[str, str], tmp_path: Path) -> None:
    env = dict(os.environ, LABTRACK_CONFIG=str(tmp_path / "cfg" / "credentials.json"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    r = subprocess.run([sys.executable, "-m", "labtrack.cli", "login", team.url, "--key",
                        keys["bob"]], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    path = tmp_path / "cfg" / "credentials.json"
    assert (path.stat().st_mode & 0o777) == 0o600
    assert json.loads(path.read_text())["api_key"] == keys["bob"]
    assert keys["bob"] not in r.stdout + r.stderr
    bad = subprocess.run([sys.executable, "-m", "labtrack.cli", "login", team.url, "--key",
                          "lt_nope"], env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 6 and "invalid API key" in bad.stderr


def test_keys_are_stored_hashed_and_never_logged(team: Any, keys: dict[str, str],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    httpx.get(f"{team.url}/api/v1/ingest/projects",
              headers={"Authorization": f"Bearer {keys['alice']}"})
    from sqlalchemy import select

    from labtrack.server.auth_tables import api_keys

    with team.store.read() as conn:
        stored = [r[0] for r in conn.execute(select(api_keys.c.key_hash))]
    assert keys["alice"] not in stored and len(stored) == 3
    assert all(k not in caplog.text for k in keys.values())


def test_revoked_key_is_refused(team: Any, keys: dict[str, str]) -> None:
    team.auth().revoke_key(keys["eve"][:10])
    r = httpx.get(f"{team.url}/api/v1/ingest/projects",
                  headers={"Authorization": f"Bearer {keys['eve']}"})
    assert r.status_code == 401


def test_server_cli_users_and_keys(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from labtrack.cli import cli

    db = str(tmp_path / "clidb")
    runner = CliRunner()
    r = runner.invoke(cli, ["server", "--db", db, "migrate"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["server", "--db", db, "user", "add", "carol", "--admin"])
    assert r.exit_code == 0 and "admin" in r.output
    r = runner.invoke(cli, ["server", "--db", db, "key", "create", "carol"])
    key = r.output.strip()
    assert key.startswith("lt_") and len(key) > 30
    r = runner.invoke(cli, ["server", "--db", db, "key", "ls", "carol", "--json"])
    assert json.loads(r.output)[0]["prefix"] == key[:10]
    r = runner.invoke(cli, ["server", "--db", db, "user", "add", "carol"])
    assert r.exit_code == 5 and "already exists" in r.output
    r = runner.invoke(cli, ["server", "--db", db, "member", "set", "p", "carol", "writer"])
    assert r.exit_code == 0
    r = runner.invoke(cli, ["server", "--db", db, "key", "create", "nobody"])
    assert r.exit_code == 3
