"""Media logged through the wandb shim, rendered by the UI in headless Chromium, with screenshots.

The run page's media tab (``/runs/<id>?tab=media``, root ``[data-role=media]``) must
show: images loaded from their blobs with a step slider, tables with their rows, the
charts drawn by plotly (confusion matrix, histogram heatmap over steps), HTML, audio
and video. Screenshots go to test-output/screenshots/compat-media-*.png.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("LABTRACK_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def _log_media_run(wandb: ModuleType) -> tuple[str, dict[str, list[str]]]:
    import numpy as np

    run = wandb.init(project="media-ui", name="media-run")
    digests: dict[str, list[str]] = {}
    for step in range(3):
        pixels = np.zeros((24, 24, 3), dtype=np.uint8)
        pixels[:, : 8 * (step + 1), step] = 255  # a wider band of another colour each step
        run.log({"samples": wandb.Image(pixels, caption=f"step {step}"),
                 "weights": wandb.Histogram(np.random.default_rng(step).normal(step, 1, 500)),
                 "loss": 1.0 / (step + 1)})
    table = wandb.Table(columns=["name", "score"],
                        data=[["setosa", 0.9], ["versicolor", 0.7], ["virginica", 0.8]])
    t = np.linspace(0, 0.5, 4000, endpoint=False)
    frames = np.zeros((4, 3, 16, 16), dtype=np.uint8)
    for i in range(4):
        frames[i, :, :, i * 4:(i + 1) * 4] = 255
    run.log({
        "scores": table,
        "confusion": wandb.plot.confusion_matrix(y_true=[0, 1, 1, 2], preds=[0, 1, 2, 2],
                                                 class_names=["a", "b", "c"]),
        "report": wandb.Html("<p id='hello'>hello from html</p>"),
        "tone": wandb.Audio(np.sin(2 * np.pi * 440 * t), sample_rate=8000),
        "clip": wandb.Video(frames, fps=2),
    })
    run.finish()
    for m in wandb.Api().run(run.id).media():
        rec = m["record"]
        if "digest" in rec:
            digests.setdefault(m["key"], []).append(rec["digest"])
    return run.id, digests


def _serve(store_dir: Path) -> tuple[Any, str]:
    import uvicorn

    from labtrack.server import create_app
    from labtrack.store import open_store

    app = create_app(open_store(store_dir))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def page(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV"):
        monkeypatch.setenv(name, "1")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        yield page
        browser.close()


def _blob_shown(page: Any, digest: str, tags: str) -> bool:
    return bool(page.evaluate(
        """([digest, tags]) => [...document.querySelectorAll(tags)].some((el) =>
               (el.currentSrc || el.src || el.getAttribute('src') || '').includes(digest))""",
        [digest, tags]))


def test_media_tab_renders_logged_media(shim: ModuleType, store_dir: Path, page: Any) -> None:
    run_id, digests = _log_media_run(shim)
    server, url = _serve(store_dir)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        page.goto(f"{url}/runs/{run_id}?tab=media")
        try:
            page.wait_for_selector("[data-role=media]", timeout=10_000)
        except Exception:  # noqa: BLE001 - say what is missing, with a picture of the page
            page.screenshot(path=str(SHOTS / "compat-media-missing.png"), full_page=True)
            pytest.fail("the run page has no media tab ([data-role=media] at ?tab=media)")
        page.wait_for_function("document.querySelectorAll('[data-role=media] .js-plotly-plot')"
                               ".length >= 2", timeout=15_000)
        page.screenshot(path=str(SHOTS / "compat-media-tab.png"), full_page=True)
        media = page.locator("[data-role=media]")

        # images: the last step is shown, loaded from its blob; the slider goes back in steps
        page.wait_for_function(
            "(d) => [...document.querySelectorAll('[data-role=media] img')].some("
            "(i) => i.src.includes(d) && i.complete && i.naturalWidth === 24)",
            arg=digests["samples"][-1], timeout=10_000)
        slider = media.locator("input[type=range]").first
        slider.fill("0")
        slider.dispatch_event("input")
        page.wait_for_function(
            "(d) => [...document.querySelectorAll('[data-role=media] img')].some("
            "(i) => i.src.includes(d))", arg=digests["samples"][0], timeout=5_000)
        assert "step 0" in media.inner_text()
        page.screenshot(path=str(SHOTS / "compat-media-step0.png"), full_page=True)

        # the table, and the charts plotly drew
        text = media.inner_text()
        for cell in ("setosa", "versicolor", "virginica"):
            assert cell in text
        traces = page.evaluate(
            """() => [...document.querySelectorAll('[data-role=media] .js-plotly-plot')]
                     .map((el) => (el.data || []).map((t) => t.type))""")
        flat = [t for plot in traces for t in plot]
        assert "heatmap" in flat, traces  # the confusion matrix and the histogram over steps

        # html in a sandboxed frame, audio and video from their blobs
        frame = media.locator("iframe").first
        assert frame.get_attribute("sandbox") is not None
        assert "hello from html" in frame.content_frame.locator("#hello").inner_text()
        assert _blob_shown(page, digests["tone"][0], "[data-role=media] audio, "
                                                     "[data-role=media] audio source")
        assert _blob_shown(page, digests["clip"][0], "[data-role=media] img, "
                                                     "[data-role=media] video, "
                                                     "[data-role=media] video source")
    finally:
        server.should_exit = True
