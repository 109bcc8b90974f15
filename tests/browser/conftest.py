"""Browser tests: a real uvicorn server on 127.0.0.1 and headless Chromium (Playwright).

Skipped when /usr/bin/chromium or Playwright is missing. Screenshots of every
page go to test-output/screenshots/.
"""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("LABTRACK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@dataclass
class UI:
    """The served store: its base URL, directory and the ids of the demo runs."""

    url: str
    dir: Path
    runs: dict[str, str]


def log_run(store_dir: Path, project: str, name: str, config: dict[str, Any], n: int,
            rate: float, **kwargs: Any) -> str:
    import labtrack

    run = labtrack.init(project=project, name=name, config=config, dir=store_dir,
                        reinit="create_new", **kwargs)
    run.define_metric("val/acc", step_metric="epoch")
    for i in range(n):
        row = {"train/loss": math.exp(-rate * i) + 0.02 * math.sin(i), "epoch": i // 10}
        if i % 10 == 9:
            row["val/acc"] = 1 - 0.9 * math.exp(-rate * i)
        run.log(row)
    run.summary["acc"] = round(1 - rate, 3)
    run.finish()
    return run.id


def _serve(store_dir: Path) -> tuple[Any, str]:
    import uvicorn

    from labtrack.server import create_app
    from labtrack.store import open_store

    app = create_app(open_store(store_dir))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """A store with a small demo project, served on a free port."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    pytest.importorskip("playwright.sync_api")
    store_dir = tmp_path_factory.mktemp("ui") / "store"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("LABTRACK_DISABLE_STATS", "LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV",
                     "LABTRACK_SILENT"):
            mp.setenv(name, "1")
        runs = {}
        for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "adam"), (0.05, "sgd")]):
            runs[f"r{i}"] = log_run(store_dir, "demo", f"demo-{i}",
                                    {"lr": lr, "optimizer": opt, "batch_size": 64}, 120,
                                    0.02 * (i + 1), tags=["baseline" if i < 2 else "sweep"])
        runs["logs"] = _run_with_files(store_dir)
    server, url = _serve(store_dir)
    yield UI(url=url, dir=store_dir, runs=runs)
    server.should_exit = True


def _run_with_files(store_dir: Path) -> str:
    import labtrack

    run = labtrack.init(project="demo", name="with-logs", config={"lr": 0.2, "optimizer": "sgd",
                                                                   "batch_size": 32},
                        dir=store_dir, reinit="create_new", notes="Has **console** output.")
    for i in range(50):
        run.log({"train/loss": 1.0 / (i + 1)})
        run._log_system({"system/cpu_percent": 20.0 + i % 7}, time.time())
    run._add_file_bytes("console/output.log", b"epoch 1: loss 0.5\nepoch 2: loss 0.25\n")
    # what the capture thread records in a dirty git checkout
    run._add_file_bytes("code/uncommitted.diff",
                        b"--- a/train.py\n+++ b/train.py\n@@ -1 +1 @@\n-lr = 0.1\n+lr = 0.2\n")
    run.set_environment({
        "git": {"available": True, "commit": "0123456789abcdef0123456789abcdef01234567",
                "branch": "main", "remote": "https://example.com/lab.git", "dirty": True,
                "diff_file": "code/uncommitted.diff"},
        "command": {"argv": ["train.py", "--lr", "0.2"],
                    "orig_argv": ["python", "train.py", "--lr", "0.2"], "cwd": "/work/lab",
                    "python": "3.11.7", "implementation": "CPython"},
        "packages": {"numpy": "2.0.0", "torch": "2.4.0"},
        "machine": {"hostname": "gpu-box", "os": "Linux", "os_release": "6.1"},
    })
    run._add_file_bytes("weights.txt", b"0.1 0.2 0.3\n")
    run.summary["acc"] = 0.5
    run.finish()
    return run.id


@pytest.fixture
def ui_run(ui: UI, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Log one more finished run into the served store."""
    for name in ("LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV"):
        monkeypatch.setenv(name, "1")
    return lambda *args, **kwargs: log_run(ui.dir, *args, **kwargs)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (empty localStorage) per test; page errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def shot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot to test-output/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(pg: Any, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        pg.evaluate("window.scrollTo(0, 0)")  # a scrolled page draws the sticky bar mid-shot
        pg.screenshot(path=str(path), full_page=True)
        return path

    return take
