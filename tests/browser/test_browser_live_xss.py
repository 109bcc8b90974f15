"""Live updates without reload, and hostile strings that must never run as code."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

pytestmark = pytest.mark.browser

FLAG = "window.__pwned"
SCRIPT = f"<script>{FLAG}=1;alert('script')</script>"
IMG = f'"><img src=x onerror="{FLAG}=1;alert(1)">'
SVG = f"<svg onload={FLAG}=1>"
LINK = "[click](javascript:window.__pwned=1)"


def test_live_run_state_and_chart_update_without_reload(page: Any, ui: Any, shot: Any) -> None:
    import labtrack

    run = labtrack.init(project="live", name="growing", dir=ui.dir, reinit="create_new",
                        settings={"disable_stats": True, "disable_git": True, "disable_env": True})
    for i in range(20):
        run.log({"loss": 1.0 / (i + 1)})
    run._writer.flush()
    page.goto(ui.url + f"/runs/{run.id}?tab=charts")
    plot = '.chart-card[data-key="loss"] .plot'
    page.wait_for_function(f"Number(document.querySelector('{plot}')?.dataset.points) === 20")
    assert page.locator(".run-head .badge").inner_text().lower() == "running"
    stop = threading.Event()

    def keep_logging() -> None:
        i = 20
        while not stop.is_set() and i < 400:
            run.log({"loss": 1.0 / (i + 1)})
            i += 1
            time.sleep(0.01)

    worker = threading.Thread(target=keep_logging, daemon=True)
    started = time.monotonic()
    worker.start()
    try:
        # the writer flushes at least once a second and the page polls every 1.5 s
        page.wait_for_function(f"Number(document.querySelector('{plot}').dataset.points) > 40",
                               timeout=6_000)
        grew_after = time.monotonic() - started
    finally:
        stop.set()
        worker.join()
    assert grew_after < 5.0
    shot(page, "run_live")
    run.finish()
    page.wait_for_function("document.querySelector('.run-head .badge').textContent"
                           ".toLowerCase() === 'finished'", timeout=6_000)
    # the runs table shows the new state without reload too
    page.goto(ui.url + "/projects/live")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    assert "Finished" in page.locator("tr", has_text="growing").inner_text()


@pytest.fixture
def hostile_runs(ui: Any, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Runs whose every user-controlled string is an XSS payload."""
    import labtrack

    for name in ("LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV"):
        monkeypatch.setenv(name, "1")
    ids = []
    for i, payload in enumerate((SCRIPT, IMG)):
        run = labtrack.init(
            project="xss", name=f"{payload}{i}", dir=ui.dir, reinit="create_new",
            tags=[SCRIPT, IMG, SVG], notes=f"{SCRIPT}\n\n{IMG}\n\n{SVG}\n\n{LINK}",
            config={SCRIPT: IMG, IMG: {SVG: i}, "lr": 0.1 * (i + 1), "choice": SCRIPT + str(i)},
        )
        for step in range(10):
            run.log({f"{IMG}/loss": 1.0 / (step + 1 + i), SCRIPT: float(step)})
        run.summary[SVG] = 0.5 + i
        run.finish()
        ids.append(run.id)
    return ids


def test_hostile_strings_are_shown_never_run(page: Any, ui: Any, hostile_runs: list[str],
                                             shot: Any) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    def assert_clean(where: str) -> None:
        page.wait_for_timeout(300)  # let any injected handler fire
        assert page.evaluate(f"typeof {FLAG}") == "undefined", where
        assert page.locator("img[src=x], script:not([src]), svg[onload]").count() == 0, where
        assert dialogs == [], where

    page.goto(ui.url + "/")
    page.wait_for_selector(".project-card")
    assert_clean("projects")
    page.goto(ui.url + "/projects/xss")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    table = page.locator("[data-role=runs-table]").inner_text()
    assert SCRIPT in table  # shown as text
    assert_clean("runs table")
    shot(page, "xss_runs_table")
    page.click("[data-role=columns]")
    page.wait_for_selector("[data-role=column-chooser]")
    assert_clean("column chooser")
    page.keyboard.press("Escape")
    page.select_option("[data-role=group-by]", "config.choice")
    page.wait_for_selector("[data-role=groups-table]")
    assert_clean("groups")

    page.goto(ui.url + f"/runs/{hostile_runs[1]}")
    page.wait_for_selector("[data-role=run-name]")
    assert page.locator("[data-role=run-name]").inner_text() == f"{IMG}1"
    notes = page.locator("[data-role=notes]").inner_text()
    assert SCRIPT in notes and "onerror" in notes
    assert page.locator("[data-role=notes] a[href^=javascript]").count() == 0
    assert SVG in page.locator("[data-role=tags]").inner_text()
    assert IMG in page.locator("[data-role=config]").inner_text()
    assert_clean("run overview")
    shot(page, "xss_run_overview")
    page.click("[data-tab=charts]")
    page.wait_for_selector(".chart-card .scatterlayer path.js-line")
    page.hover(".chart-card .plot .nsewdrag")
    titles = page.locator(".chart-card h3").all_text_contents()
    assert f"{IMG}/loss" in titles and SCRIPT in titles
    assert_clean("run charts")

    page.goto(ui.url + "/compare?runs=" + ",".join(hostile_runs))
    page.wait_for_selector("[data-role=compare-config]")
    page.wait_for_selector("[data-role=scatter] .point")
    assert SCRIPT in page.locator("[data-role=compare-config]").inner_text()
    assert_clean("compare")
    shot(page, "xss_compare")
