"""Files and blobs: downloads by name and digest, and no way out of the blob store."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def run_with_files(make_run: Any, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    files = {
        "model.bin": bytes(range(256)) * 40,
        "page.html": b"<html><script>alert(1)</script></html>",
        "console/output.log": b"epoch 1 loss 0.5\n" * 100,
    }
    src = tmp_path / "src"
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)

    def setup(run: Any) -> None:
        for name in files:
            run.save(str(src / name), base_path=str(src))

    return make_run(setup=setup), files


def test_list_and_download_files(client: Any, run_with_files: Any) -> None:
    run_id, files = run_with_files
    listed = {f["path"]: f for f in client.get(f"/api/v1/runs/{run_id}/files").json()}
    assert set(listed) == set(files)
    for name, data in files.items():
        assert listed[name]["size"] == len(data)
        assert listed[name]["digest"] == hashlib.sha256(data).hexdigest()
        resp = client.get(f"/api/v1/runs/{run_id}/files/{name}")
        assert resp.status_code == 200 and resp.content == data
        assert resp.headers["content-disposition"].startswith("attachment")
        assert resp.headers["x-content-type-options"] == "nosniff"
    # an uploaded HTML page is never served as HTML from the UI's origin
    html = client.get(f"/api/v1/runs/{run_id}/files/page.html")
    assert "html" not in html.headers["content-type"]
    text = client.get(f"/api/v1/runs/{run_id}/files/console/output.log", params={"inline": 1})
    assert text.headers["content-type"].startswith("text/plain")
    assert text.text == files["console/output.log"].decode()


def test_blob_by_digest(client: Any, run_with_files: Any) -> None:
    _, files = run_with_files
    digest = hashlib.sha256(files["model.bin"]).hexdigest()
    resp = client.get(f"/api/v1/blobs/{digest}")
    assert resp.status_code == 200 and resp.content == files["model.bin"]
    missing = client.get(f"/api/v1/blobs/{'0' * 64}")
    assert missing.status_code == 404


@pytest.mark.parametrize("path", [
    "../../labtrack.db", "..%2F..%2Flabtrack.db", "%2e%2e/%2e%2e/labtrack.db",
    "/etc/passwd", "console/../../../labtrack.db", "console%2F..%2F..%2F..%2Flabtrack.db",
])
def test_file_paths_cannot_traverse(client: Any, run_with_files: Any, store_dir: Path,
                                    path: str) -> None:
    run_id, _ = run_with_files
    assert (store_dir / "labtrack.db").exists()
    resp = client.get(f"/api/v1/runs/{run_id}/files/{path}")
    assert resp.status_code == 404
    assert b"SQLite" not in resp.content and b"root:" not in resp.content


@pytest.mark.parametrize("digest", [
    "..", "../labtrack.db", "..%2F..%2Flabtrack.db", "abc", "g" * 64, "A" * 64,
    "0" * 63 + "/", "0" * 65,
])
def test_blob_digest_must_be_64_hex(client: Any, run_with_files: Any, digest: str) -> None:
    resp = client.get(f"/api/v1/blobs/{digest}")
    assert resp.status_code in (400, 404)
    assert b"SQLite" not in resp.content
    if resp.status_code == 400:
        assert "sha256" in resp.json()["error"]


def test_files_of_unknown_run(client: Any) -> None:
    assert client.get("/api/v1/runs/ghost/files").status_code == 404
    resp = client.get("/api/v1/runs/ghost/files/x.txt")
    assert resp.status_code == 404 and "ghost" in resp.json()["error"]
