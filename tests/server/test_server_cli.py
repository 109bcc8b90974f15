"""``labtrack ui``: binds 127.0.0.1, prints its URL, serves the store, refuses a busy port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from labtrack.cli import cli

LAUNCH = "import sys; from labtrack.cli import main; main(sys.argv[1:])"


def test_ui_help_lists_options() -> None:
    result = CliRunner().invoke(cli, ["ui", "--help"])
    assert result.exit_code == 0
    for option in ("--dir", "--host", "--port", "--no-browser"):
        assert option in result.output


def _start(store_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", LAUNCH, "ui", "--dir", str(store_dir),
                             "--no-browser", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)


def test_ui_serves_the_store_on_localhost(make_run: Any, store_dir: Path) -> None:
    run_id = make_run(project="served")
    proc = _start(store_dir, "--port", "0")
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 20
        url = None
        while time.monotonic() < deadline and url is None:
            line = proc.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
            url = match.group(1) if match else None
        assert url, "labtrack ui did not print its URL"
        for _ in range(100):  # the socket is bound before the URL is printed; wait for the app
            try:
                resp = httpx.get(url + "api/v1/projects", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert [p["name"] for p in resp.json()] == ["served"]
        assert httpx.get(url + f"runs/{run_id}", timeout=2).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_ui_reports_a_busy_port(store_dir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = _start(store_dir, "--port", str(port))
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode != 0
    assert f"127.0.0.1:{port}" in out and "--port" in out


def test_serve_opens_on_a_given_page(make_run: Any, store_dir: Path) -> None:
    """``labtrack demo`` uses serve(path=...) to land on its project."""
    make_run(project="served")
    code = ("import sys; from pathlib import Path; from labtrack.cli.ui import serve; "
            "serve(Path(sys.argv[1]), port=0, open_browser=False, path='/projects/served')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(store_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1"))
    try:
        assert proc.stdout is not None
        url = None
        for _ in range(5):
            line = proc.stdout.readline()
            match = re.search(r"(http://127\.0\.0\.1:\d+/projects/served)\s", line)
            if match:
                url = match.group(1)
                break
        assert url, "serve() did not print the project's URL"
        for _ in range(100):
            try:
                page = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
