"""Sweeps and artifacts through the team server: several machines (processes with their own
LABTRACK_DIR) share one sweep; an artifact logged on one machine is used on another; big
blobs upload in resumable parts; S3 blobs (moto) hold what was logged; machines logging at
the same moment (the server applies their batches on several threads) lose nothing."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import labtrack
from labtrack.errors import AuthError, NotFoundError

AGENT = """
import json, sys, labtrack

def train():
    run = labtrack.init()
    for step in range(3):
        run.log({"loss": run.config["lr"] * (3 - step) + run.config["layers"]})
    run.summary["score"] = run.config["lr"] * run.config["layers"]

report = labtrack.agent(sys.argv[1], function=train)
print(json.dumps({"runs": [r["run_id"] for r in report.runs], "reason": report.reason}))
"""

LOG_ARTIFACT = """
import json, os, sys, labtrack
src = sys.argv[1]
with labtrack.init(project="shared", id=sys.argv[2]) as run:
    art = labtrack.Artifact("data", type="dataset", metadata={"rows": 3})
    art.add_dir(src)
    run.log_artifact(art, aliases=["best"])
    run.log({"page": labtrack.Html("<b>hello team</b>")})
    print(json.dumps({"version": art.version, "digest": art.digest}))
"""

USE_ARTIFACT = """
import hashlib, json, os, sys, labtrack
with labtrack.init(project="shared", id=sys.argv[1]) as run:
    art = run.use_artifact("data:best")
    root = art.download()
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                files[os.path.relpath(path, root)] = hashlib.sha256(fh.read()).hexdigest()
    print(json.dumps({"version": art.version, "files": files}))
"""


FAST_LOGGER = """
import sys, labtrack
run = labtrack.init(project="shared", id=sys.argv[1])
for step in range(20000):
    run.log({f"m{k}": step + k / 10 for k in range(5)}, step=step)
run.finish()
print("{}")
"""


def python(env: dict[str, str], code: str, *args: Any, timeout: float = 120) -> Any:
    """Run ``code`` in a child process ("a machine"); returns its last stdout line as JSON."""
    proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_files(root: Path) -> dict[str, str]:
    """A small file, a nested one and a 20 MiB one (sent in 8 MiB parts)."""
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("alpha\n")
    (root / "sub" / "b.csv").write_text("x,y\n1,2\n")
    (root / "big.bin").write_bytes(os.urandom(20 << 20))
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def test_agents_on_three_machines_share_one_sweep(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    team.auth().set_role("shared", "alice", "writer")
    team.auth().set_role("shared", "bob", "reader")
    monkeypatch.setenv("LABTRACK_URL", team.url)
    monkeypatch.setenv("LABTRACK_API_KEY", keys["alice"])
    grid = {"lr": [0.1, 0.2, 0.3], "layers": [1, 2, 3]}
    sweep_id = labtrack.sweep({"method": "grid", "metric": {"name": "score", "goal": "maximize"},
                               "parameters": {k: {"values": v} for k, v in grid.items()}},
                              project="shared")
    agents = [subprocess.Popen([sys.executable, "-c", AGENT, sweep_id],
                               env=client_env(keys["alice"], f"agent{i}"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for i in range(3)]
    reports = []
    for proc in agents:
        out, err = proc.communicate(timeout=150)
        assert proc.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    claimed = [r for report in reports for r in report["runs"]]
    assert len(claimed) == len(set(claimed)) == 9  # no run twice, none lost
    assert {r["reason"] for r in reports} == {"finished"}

    api = labtrack.Api(team.url, api_key=keys["bob"])  # a reader sees everything
    sweep = api.sweep(sweep_id)
    assert sweep.state == "finished"
    runs = sweep.runs
    assert sorted(r.id for r in runs) == sorted(claimed)
    seen = sorted((r.config["lr"], r.config["layers"]) for r in runs)
    assert seen == sorted((lr, n) for lr in grid["lr"] for n in grid["layers"])
    assert all(r.state == "finished" for r in runs)
    assert all(r.summary["score"] == pytest.approx(r.config["lr"] * r.config["layers"])
               for r in runs)
    assert sweep.best_run().config == {"lr": 0.3, "layers": 3}

    from labtrack.store.http import HTTPStore
    from labtrack.sweeps.remote import RemoteSweepIndex

    as_bob = RemoteSweepIndex(HTTPStore(team.url, keys["bob"]))
    assert len(as_bob.trials(sweep_id)) == 9  # readers read
    with pytest.raises(AuthError, match="reader"):
        as_bob.claim(sweep_id)  # ... but cannot claim
    with pytest.raises(AuthError):
        as_bob.set_state(sweep_id, "stopped")
    as_eve = RemoteSweepIndex(HTTPStore(team.url, keys["eve"]))
    with pytest.raises(NotFoundError):
        as_eve.get(sweep_id)
    assert as_eve.list_sweeps() == []


def test_artifact_logged_on_one_machine_is_used_on_another(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]],
        tmp_path: Path) -> None:
    expected = make_files(tmp_path / "src")
    logged = python(client_env(keys["alice"], "A"), LOG_ARTIFACT, tmp_path / "src", "producer")
    assert logged["version"] == "v0"
    for digest in expected.values():  # the blobs are in the server's blob store
        assert team.blobs.exists(digest)
    team.auth().set_role("shared", "bob", "writer")
    used = python(client_env(keys["bob"], "B"), USE_ARTIFACT, "consumer")
    assert used == {"version": "v0", "files": expected}

    api = labtrack.Api(team.url, api_key=keys["alice"])
    art = api.artifact("shared/data:latest")
    assert art.digest == logged["digest"] and art.metadata == {"rows": 3}
    assert art.logged_by() == "producer" and art.used_by() == ["consumer"]
    assert [a.version for a in api.artifacts("dataset", "shared/data")] == ["v0"]
    # a third machine, read-only, downloads it through the Api
    eve = labtrack.Api(team.url, api_key=keys["eve"])
    with pytest.raises(NotFoundError):
        eve.artifact("shared/data:latest")
    team.auth().set_role("shared", "eve", "reader")
    folder = Path(eve.artifact("shared/data:best").download(tmp_path / "eve"))
    assert hashlib.sha256((folder / "big.bin").read_bytes()).hexdigest() == expected["big.bin"]
    with pytest.raises(AuthError, match="reader"):
        eve.artifact("shared/data:best").delete()


@pytest.mark.parametrize("team", ["postgres"], indirect=True)
def test_program_sweep_through_the_cli(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]],
        tmp_path: Path) -> None:
    """`labtrack sweep create` and `labtrack agent` on a machine: each run is a child
    process whose logs, heartbeats and final state reach the server."""
    work = tmp_path / "code"
    work.mkdir()
    (work / "train.py").write_text(
        "import labtrack\nrun = labtrack.init()\n"
        "run.log({'score': run.config['x'] * 10})\nrun.finish()\n")
    (work / "sweep.yaml").write_text(
        "program: train.py\nmethod: grid\nmetric: {name: score, goal: maximize}\n"
        "parameters:\n  x: {values: [1, 2, 3]}\n")
    env = client_env(keys["alice"], "cli")

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "labtrack", *args], env=env, cwd=work,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout

    created = json.loads(cli("sweep", "create", "sweep.yaml", "--project", "cli", "--json"))
    cli("agent", created["id"])
    sweep = labtrack.Api(team.url, api_key=keys["alice"]).sweep(created["id"])
    assert sweep.state == "finished"
    assert sorted((r.config["x"], r.summary["score"], r.state) for r in sweep.runs) == [
        (1, 10, "finished"), (2, 20, "finished"), (3, 30, "finished")]


@pytest.mark.parametrize("team", ["postgres"], indirect=True)
def test_machines_logging_at_once_lose_nothing(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]]) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", FAST_LOGGER, f"par{i}"],
                              env=client_env(keys["alice"], f"par{i}"), stderr=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True) for i in range(4)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
    import numpy as np

    for i in range(4):
        assert team.store.get_run(f"par{i}")["state"] == "finished"
        for k in range(5):
            points = team.store.read_series(f"par{i}", f"m{k}")
            assert np.array_equal(points.steps, np.arange(20000))
            assert np.allclose(points.values, points.steps + k / 10)


@pytest.mark.parametrize("team", ["sqlite"], indirect=True)
def test_big_blob_upload_resumes_from_the_parts_the_server_has(
        team: Any, keys: dict[str, str], tmp_path: Path) -> None:
    from labtrack.artifacts.remote import RemoteArtifactIndex
    from labtrack.blobs.local import LocalBlobStore
    from labtrack.store.http import HTTPStore

    local = LocalBlobStore(tmp_path / "blobs")
    data = os.urandom((8 << 20) * 2 + 12345)
    digest = local.put_bytes(data)
    index = RemoteArtifactIndex(HTTPStore(team.url, keys["alice"]), local)
    headers = {"Authorization": f"Bearer {keys['alice']}"}
    with httpx.Client(base_url=team.url + "/api/v1/remote", headers=headers) as http:
        start = http.post("/uploads", json={"digest": digest, "size": len(data)}).json()
        assert start["parts"] == 3 and start["received"] == []
        # a wrong-sized part is refused; part 0 arrives, then the client "dies"
        assert http.put(f"/uploads/{start['id']}/1", content=b"short").status_code == 400
        assert http.put(f"/uploads/{start['id']}/0", content=data[:8 << 20]).status_code == 204
        again = http.post("/uploads", json={"digest": digest, "size": len(data)}).json()
        assert again["id"] == start["id"] and again["received"] == [0]
        # another user cannot touch alice's upload
        eve = {"Authorization": f"Bearer {keys['eve']}"}
        assert http.put(f"/uploads/{start['id']}/1", content=data[8 << 20:16 << 20],
                        headers=eve).status_code == 404
    sent: list[int] = []
    assert index.upload_blob(digest, sent.append) == len(data) - (8 << 20)  # parts 1 and 2
    assert sum(sent) == len(data)
    assert team.blobs.get_bytes(digest) == data
    assert not any((team.settings.dir / "uploads").iterdir())  # parts cleaned up
    assert index.missing([digest]) == []


@pytest.mark.parametrize("team", ["sqlite"], indirect=True)
def test_upload_whose_parts_do_not_match_the_digest_is_refused(
        team: Any, keys: dict[str, str]) -> None:
    data = os.urandom((1 << 20) + 7)
    digest = hashlib.sha256(data).hexdigest()
    headers = {"Authorization": f"Bearer {keys['alice']}"}
    with httpx.Client(base_url=team.url + "/api/v1/remote", headers=headers) as http:
        start = http.post("/uploads", json={"digest": digest, "size": len(data),
                                            "part_size": 1 << 20}).json()
        assert start["parts"] == 2
        assert http.put(f"/uploads/{start['id']}/0", content=data[:1 << 20]).status_code == 204
        # completing before every part is there names the missing one
        early = http.post(f"/uploads/{start['id']}/complete")
        assert early.status_code == 400 and "[1]" in early.json()["error"]
        assert http.put(f"/uploads/{start['id']}/1", content=b"\0" * 7).status_code == 204
        done = http.post(f"/uploads/{start['id']}/complete")
        assert done.status_code == 400 and "do not add up" in done.json()["error"]
    assert not team.blobs.exists(digest)


@pytest.mark.parametrize("team", ["postgres"], indirect=True)
def test_s3_blob_store_holds_artifacts_and_media(
        team: Any, keys: dict[str, str], client_env: Callable[..., dict[str, str]],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("moto.server")
    from moto.server import ThreadedMotoServer

    from labtrack.blobs.s3 import S3BlobStore

    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        monkeypatch.setenv(name, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        blobs = S3BlobStore("s3://team-bucket/labtrack", endpoint_url=endpoint)
        blobs.client.create_bucket(Bucket="team-bucket")
        team.stop()
        team.blobs = blobs
        team.start()
        expected = make_files(tmp_path / "src")
        python(client_env(keys["alice"], "A"), LOG_ARTIFACT, tmp_path / "src", "s3run")
        listed = blobs.client.list_objects_v2(Bucket="team-bucket", Prefix="labtrack/sha256/")
        keys_in_bucket = {o["Key"].rsplit("/", 2)[-2] + o["Key"].rsplit("/", 1)[-1]
                          for o in listed.get("Contents", [])}
        assert set(expected.values()) <= keys_in_bucket  # artifact files
        api = labtrack.Api(team.url, api_key=keys["alice"])
        media = api.store.media("s3run")
        html = [m for m in media if m["key"] == "page"]
        assert html, media
        media_digests = set(_digests(html))
        assert media_digests and media_digests <= keys_in_bucket  # media blobs too
        used = python(client_env(keys["alice"], "B"), USE_ARTIFACT, "s3use")
        assert used["files"] == expected  # downloaded back out of S3, verified
        api.artifact("shared/data:best").delete(force=True)  # frees its blobs in the bucket
        assert not any(blobs.exists(d) for d in expected.values())
        assert all(blobs.exists(d) for d in media_digests)  # media blobs stay
    finally:
        team.stop()
        moto.stop()


def _digests(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [d for v in value.values() for d in _digests(v)]
    if isinstance(value, list):
        return [d for v in value for d in _digests(v)]
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef"
                                                            for c in value):
        return [value]
    return []


def test_every_sdk_route_is_documented(tmp_path: Path) -> None:
    from labtrack.server.team import create_team_app
    from labtrack.store import open_store

    store = open_store(tmp_path / "db")
    try:
        spec = create_team_app(store).openapi()
    finally:
        store.close()
    text = (Path(__file__).resolve().parents[2] / "docs" / "team-server.md").read_text()
    routes = [f"| {method.upper()} | `{path}` |" for path, ops in spec["paths"].items()
              if path.startswith(("/api/v1/ingest", "/api/v1/remote", "/api/v1/auth"))
              for method in ops]
    assert len(routes) > 30
    assert [r for r in routes if r not in text] == []
