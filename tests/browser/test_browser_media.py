"""The run page's Media tab in Chromium: galleries, boxes, sortable tables, plots, HTML in a
sandbox, and hostile captions, cells and chart labels that must stay text."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

FLAG = "window.__pwned"
XSS = f"<img src=x onerror=\"{FLAG}=1\">"


@pytest.fixture(scope="module")
def media_run(ui: Any) -> Iterator[str]:
    """A finished run in the served store with one of each kind of media."""
    import numpy as np

    import labtrack
    from labtrack import plot

    with pytest.MonkeyPatch.context() as mp:
        for name in ("LABTRACK_DISABLE_GIT", "LABTRACK_DISABLE_ENV"):
            mp.setenv(name, "1")
        run = labtrack.init(project="media", name="media-run", dir=ui.dir, reinit="create_new")
        rng = np.random.default_rng(1)
        for step in range(3):
            tiles = []
            for k in range(3):
                px = np.zeros((32, 32, 3), dtype=np.uint8)
                px[:, :, k] = 60 + 60 * step
                label = f"tile {k} {XSS}" if k == 0 else f"tile {k}"
                tiles.append(labtrack.Image(px, caption=label))
            scene = np.full((60, 80, 3), 30, dtype=np.uint8)
            run.log({"examples": tiles,
                     "scene": labtrack.Image(scene, caption="scene", boxes={"pred": {
                         "box_data": [{"position": {"minX": 0.25, "maxX": 0.75, "minY": 0.2,
                                                    "maxY": 0.6}, "class_id": 3}],
                         "class_labels": {3: f"cat {XSS}"}}}),
                     "acts": labtrack.Histogram(rng.normal(step, 1, 300))})
        table = labtrack.Table(columns=["name", "score"],
                               data=[["bravo", 0.5], [XSS, 0.9], ["alpha", 0.1], ["dog", 0.7]])
        y = [0, 0, 1, 1, 1, 0]
        probs = [[0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8], [0.55, 0.45], [0.4, 0.6]]
        run.log({"scores": table,
                 "roc": plot.roc_curve(y, probs, labels=["neg", XSS]),
                 "curves": plot.line_series(xs=[0, 1, 2, 3], ys=[[0, 1, 4, 9], [0, 1, 2, 3]],
                                            keys=["square", XSS], title=f"series {XSS}"),
                 "report": labtrack.Html(f"<p id='x'>inside</p><script>parent.{FLAG}=1</script>")})
        run.finish()
    yield run.id


def _open_media(page: Any, ui: Any, run_id: str) -> Any:
    page.goto(f"{ui.url}/runs/{run_id}?tab=media")
    page.wait_for_function("document.querySelectorAll('[data-role=media] .js-plotly-plot')"
                           ".length >= 3")
    return page.locator("[data-role=media]")


def test_media_tab_gallery_boxes_plots(page: Any, ui: Any, media_run: str, shot: Any) -> None:
    media = _open_media(page, ui, media_run)
    gallery = media.locator(".media-card[data-key=examples]")
    # the last step's three tiles, loaded from their blobs; the slider goes back a step
    page.wait_for_function("""() => {
        const imgs = [...document.querySelectorAll('[data-key=examples] [data-role=gallery] img')];
        return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth === 32);
    }""")
    last = gallery.locator("img").first.get_attribute("src")
    slider = gallery.locator("input[type=range]")
    assert slider.get_attribute("max") == "2"
    slider.fill("0")
    slider.dispatch_event("input")
    page.wait_for_function("(src) => document.querySelector('[data-key=examples] img')"
                           ".getAttribute('src') !== src", arg=last)
    assert "step 0" in gallery.inner_text()
    # captions and box labels are text, never markup
    assert XSS in gallery.inner_text()
    box = media.locator(".media-card[data-key=scene] .box")
    assert box.count() == 1 and box.inner_text() == f"cat {XSS}"
    style = box.get_attribute("style") or ""
    assert "left: 25%" in style and "width: 50%" in style
    # histograms over steps as a heatmap; the logged charts with their (escaped) labels
    traces = page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '[data-role=media] .media-card')].map((c) => [c.dataset.key,
        (c.querySelector('.js-plotly-plot') || {}).data?.map((t) => t.type) || []]))""")
    assert traces["acts"] == ["heatmap"] and "scatter" in traces["roc"]
    assert len(traces["curves"]) == 2
    legend = media.locator(".media-card[data-key=curves] .legendtext").all_text_contents()
    assert XSS in legend  # plotly shows the escaped name as the literal string
    assert "series" in media.locator(".media-card[data-key=curves] .plot-title").inner_text()
    assert page.evaluate(FLAG) is None
    shot(page, "media_tab")


def test_media_table_sorts_and_filters(page: Any, ui: Any, media_run: str) -> None:
    media = _open_media(page, ui, media_run)
    table = media.locator(".media-card[data-key=scores]")
    first_col = "() => [...document.querySelectorAll('[data-key=scores] tbody tr')]" \
                ".map((r) => r.cells[0].textContent)"

    def rows_become(expected: list[str]) -> None:
        # the table's rows load from their blob after the card is drawn: wait, then compare
        try:
            want = json.dumps(chr(10).join(expected))
            page.wait_for_function(f"({first_col})().join('\\n') === {want}", timeout=10_000)
        except PlaywrightTimeout:
            pass  # the assertion below shows what the rows are
        assert page.evaluate(first_col) == expected

    rows_become(["bravo", XSS, "alpha", "dog"])  # as logged
    table.locator("th", has_text="score").click()
    rows_become(["alpha", "bravo", "dog", XSS])  # ascending score
    table.locator("th", has_text="score").click()
    rows_become([XSS, "dog", "bravo", "alpha"])
    table.locator("[data-role=table-filter]").fill("a")
    rows_become(["bravo", "alpha"])  # still sorted
    assert "2 of 4 rows" in table.inner_text()
    assert page.evaluate(FLAG) is None


def test_html_is_sandboxed(page: Any, ui: Any, media_run: str, shot: Any) -> None:
    media = _open_media(page, ui, media_run)
    frame = media.locator(".media-card[data-key=report] iframe")
    assert frame.get_attribute("sandbox") == ""  # no scripts, no same-origin access
    assert frame.content_frame.locator("#x").inner_text() == "inside"
    assert page.evaluate(FLAG) is None
    full = shot(page, "media_html")
    frame.scroll_into_view_if_needed()  # a full-page shot leaves out-of-view frames blank
    page.screenshot(path=str(full.with_name("media_html_view.png")))
