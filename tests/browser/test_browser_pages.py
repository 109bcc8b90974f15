"""The UI in headless Chromium: projects, runs table, filter, sort, run page, compare, edits."""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser

# Segments plotly drew in a chart's SVG line paths (plotly drops collinear points, so this
# is at most the number of points sent), and the number of points the chart was given.
SEGMENTS = """(sel) => {
  let n = 0;
  for (const p of document.querySelectorAll(sel + ' .scatterlayer path.js-line')) {
    n += ((p.getAttribute('d') || '').match(/[ML]/g) || []).length;
  }
  return n;
}"""
POINTS = ("(sel) => Number((document.querySelector(sel + ' .plot') || {dataset: {}})"
          ".dataset.points || 0)")


def drawn(page: Any, key: str, points: int, segments: int = 10) -> None:
    """Wait until the chart of ``key`` holds ``points`` points and its SVG path has data."""
    sel = f'.chart-card[data-key="{key}"]'
    page.wait_for_function(
        f"({POINTS})('{sel}') >= {points} && ({SEGMENTS})('{sel}') >= {segments}")


def rows(page: Any) -> list[str]:
    return page.locator("[data-role=runs-table] tbody tr .run-link").all_text_contents()


def test_projects_then_runs_table(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + "/")
    card = page.locator(".project-card", has_text="demo")
    card.wait_for()
    assert "4 runs" in card.inner_text()
    shot(page, "projects")
    card.click()
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    assert sorted(rows(page)) == ["demo-0", "demo-1", "demo-2", "with-logs"]
    assert page.locator("[data-role=page-info]").inner_text().endswith("of 4")
    # default columns include config keys and summary metrics, with their values
    header = page.locator("[data-role=runs-table] thead").inner_text()
    assert "lr" in header and "acc" in header
    row = page.locator("tr", has_text="demo-1")
    assert "0.01" in row.inner_text() and "Finished" in row.inner_text()
    # a run of a few seconds shows tenths, not "0s"
    assert re.search(r"(^|\s)\d\.\ds(\s|$)", row.inner_text()), row.inner_text()
    shot(page, "runs_table")


def test_filter_narrows_and_errors_show_in_place(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    box = page.locator("[data-role=filter]")
    box.fill('config.optimizer == "adam"')
    box.press("Enter")
    page.wait_for_function("document.querySelectorAll('[data-role=runs-table] tbody tr').length"
                           " === 2")
    assert sorted(rows(page)) == ["demo-0", "demo-1"]
    box.fill("config.lr <")
    box.press("Enter")
    error = page.locator("[data-role=filter-error]")
    error.wait_for(state="visible")
    assert "position 11" in error.inner_text()
    assert error.locator("mark").count() == 1
    assert "invalid" in (box.get_attribute("class") or "")
    shot(page, "runs_filter_error")
    box.fill("")
    box.press("Enter")
    error.wait_for(state="hidden")
    page.wait_for_function("document.querySelectorAll('[data-role=runs-table] tbody tr').length"
                           " === 4")


def test_sort_by_clicking_headers(page: Any, ui: Any) -> None:
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    header = page.locator("th[data-col='summary.acc']")
    header.click()
    page.wait_for_selector("th[data-col='summary.acc'][aria-sort=ascending]")
    page.wait_for_function("document.querySelector('[data-role=runs-table] tbody tr .run-link')"
                           ".textContent === 'with-logs'")
    assert rows(page) == ["with-logs", "demo-2", "demo-1", "demo-0"]  # acc 0.5, .94, .96, .98
    page.locator("th[data-col='summary.acc']").click()
    page.wait_for_selector("th[data-col='summary.acc'][aria-sort=descending]")
    page.wait_for_function("document.querySelector('[data-role=runs-table] tbody tr .run-link')"
                           ".textContent === 'demo-0'")
    assert rows(page) == ["demo-0", "demo-1", "demo-2", "with-logs"]


def test_group_by_and_saved_view(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    page.select_option("[data-role=group-by]", "config.optimizer")
    page.wait_for_selector("[data-role=groups-table]")
    groups = page.locator("[data-role=groups-table] tbody tr")
    assert groups.count() == 2
    adam = page.locator("[data-role=groups-table] tr[data-group=adam]")
    assert "2" in adam.inner_text() and "0.97" in adam.inner_text()  # mean acc of .98 and .96
    shot(page, "runs_grouped")
    page.click("[data-role=save-view]")
    page.fill(".modal input", "by optimizer")
    page.click(".modal [data-action=save]")
    page.wait_for_selector("[data-role=views] option:has-text('by optimizer')", state="attached")
    page.select_option("[data-role=group-by]", "")
    page.wait_for_selector("[data-role=runs-table]")
    page.select_option("[data-role=views]", label="by optimizer")
    page.wait_for_selector("[data-role=groups-table]")


def test_run_page_overview_charts_logs_files(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + f"/runs/{ui.runs['logs']}")
    page.wait_for_selector("[data-role=run-name]")
    assert page.locator("[data-role=run-name]").inner_text() == "with-logs"
    assert page.locator("[data-role=config]").inner_text().count("sgd") == 1
    assert "console" in page.locator("[data-role=notes] strong").inner_text()
    assert page.locator("[data-role=git-commit]").inner_text().startswith("0123456789ab")
    assert page.locator("[data-role=command]").inner_text() == "python train.py --lr 0.2"
    assert "CPython 3.11.7" in page.locator(".kv").inner_text()
    page.click("summary:has-text('Uncommitted changes')")
    page.wait_for_selector("[data-role=diff] .add:has-text('+lr = 0.2')")
    assert page.locator("[data-role=diff] .del").inner_text().startswith("-lr = 0.1")
    page.click("summary:has-text('Python packages')")
    assert "torch" in page.locator("details:has-text('Python packages') table").inner_text()
    shot(page, "run_overview")
    page.click("[data-tab=charts]")
    drawn(page, "train/loss", 50)
    shot(page, "run_charts")
    page.click("[data-tab=system]")
    drawn(page, "system/cpu_percent", 50)
    page.click("[data-tab=logs]")
    page.wait_for_function("document.querySelector('[data-role=console]').textContent"
                           ".includes('epoch 2: loss 0.25')")
    shot(page, "run_logs")
    page.click("[data-tab=files]")
    files = page.locator("[data-role=files]").inner_text()
    assert "weights.txt" in files and "console/output.log" in files
    with page.expect_download() as download:
        page.locator("tr", has_text="weights.txt").locator("a").click()
    assert open(download.value.path(), "rb").read() == b"0.1 0.2 0.3\n"
    shot(page, "run_files")


def test_chart_x_axis_smoothing_log(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + "/projects/demo/charts")
    plot = '.chart-card[data-key="train/loss"]'
    drawn(page, "train/loss", 3 * 120 + 50, segments=40)
    before = page.evaluate(f"document.querySelector('{plot} .scatterlayer path.js-line')"
                           ".getAttribute('d')")
    page.locator("[data-control=smoothing]").fill("0.9")
    page.wait_for_function(f"document.querySelectorAll('{plot} .scatterlayer path.js-line')"
                           ".length === 8")  # raw (faint) + smoothed per run
    page.check("[data-control=log]")
    page.wait_for_selector(f"{plot} .ytick text")
    page.select_option("[data-control=x]", "wall")
    page.wait_for_function(f"document.querySelector('{plot} .xtitle').textContent === 'Time'")
    after = page.evaluate(f"document.querySelector('{plot} .scatterlayer path.js-line')"
                          ".getAttribute('d')")
    assert before != after
    # colours are stable per run across charts, and distinct between runs
    pairs = page.evaluate("""() => [...document.querySelectorAll('.chart-card .plot')].flatMap(
        el => (el.data || []).map(t => [t.name, t.line.color]))""")
    colour_of: dict[str, set[str]] = {}
    for name, colour in pairs:
        colour_of.setdefault(name, set()).add(colour)
    assert len(colour_of) == 4 and all(len(c) == 1 for c in colour_of.values())
    assert len({next(iter(c)) for c in colour_of.values()}) == 4
    legend = page.locator(".legend-item").all_text_contents()
    assert sorted(legend) == sorted(colour_of)
    shot(page, "project_charts")


def test_charts_drawn_with_plotly_loaded_late_and_already_loaded(page: Any, ui: Any) -> None:
    """Reaching the charts tab from the runs table: the runs page's HTML does not ask for
    plotly.js, so it loads once the tab asks for its lines; back on the tab, plotly.js has
    already run and the charts draw without it."""
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    assert page.evaluate("[typeof window.Plotly, document.querySelectorAll('script[src*=plotly]')"
                         ".length]") == ["undefined", 0]
    page.click("[data-tab=charts]")
    drawn(page, "train/loss", 3 * 120 + 50, segments=40)
    assert page.evaluate("document.querySelectorAll('script[src*=plotly]').length") == 1
    page.click("[data-tab=runs]")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    page.click("[data-tab=charts]")
    drawn(page, "train/loss", 3 * 120 + 50, segments=40)
    lines = "document.querySelectorAll('.chart-card[data-key=\"train/loss\"] path.js-line').length"
    assert page.evaluate(lines) == 4
    assert page.evaluate("document.querySelectorAll('script[src*=plotly]').length") == 1


def test_select_and_compare_highlights_differences(page: Any, ui: Any, shot: Any) -> None:
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    for name in ("demo-0", "demo-1"):
        page.locator("tr", has_text=name).locator("input[type=checkbox]").check()
    page.click("[data-role=compare-selected]")
    page.wait_for_selector("[data-role=compare-config]")
    lr = page.locator("[data-role=compare-config] tr[data-key=lr]")
    same = page.locator("[data-role=compare-config] tr[data-key=batch_size]")
    assert "differs" in (lr.get_attribute("class") or "")
    assert "differs" not in (same.get_attribute("class") or "")
    acc = page.locator("[data-role=compare-summary] tr[data-key=acc]")
    assert acc.locator("td.best").inner_text().startswith("0.98")  # demo-0, higher is better
    loss = page.locator("[data-role=compare-summary] tr[data-key='train/loss']")
    cells = loss.locator("td").all_text_contents()
    best = loss.locator("td.best").inner_text()
    assert float(best.split()[0]) == min(float(c.split()[0]) for c in cells)  # lower is better
    drawn(page, "train/loss", 2 * 120)
    page.wait_for_selector("[data-role=scatter] .scatterlayer .point")
    shot(page, "compare")
    page.check("[data-role=only-diff]")
    assert page.locator("[data-role=compare-config] tr[data-key=batch_size]").count() == 0
    assert page.locator("[data-role=compare-config] tr[data-key=lr]").count() == 1


def test_not_found_pages_lead_back(page: Any, ui: Any, shot: Any) -> None:
    resp = page.goto(ui.url + "/runs/no-such-run")
    assert resp.status == 404
    page.wait_for_selector(".notfound")
    assert "Nothing here" in page.inner_text(".notfound")
    shot(page, "not_found")
    page.click(".notfound a")
    page.wait_for_selector(".project-card")
    assert page.goto(ui.url + "/projects/nope").status == 404
    page.wait_for_selector(".notfound")


def test_edit_rename_tags_notes_favourite_delete(page: Any, ui: Any, ui_extra_run: str) -> None:
    page.goto(ui.url + f"/runs/{ui_extra_run}")
    page.wait_for_selector("[data-role=run-name]")
    page.click("[data-role=rename]")
    page.fill("[data-role=rename-input]", "renamed-run")
    page.click(".modal [data-action=ok]")
    page.wait_for_function("document.querySelector('[data-role=run-name]').textContent"
                           " === 'renamed-run'")
    page.fill("[data-role=tag-input]", "keeper")
    page.press("[data-role=tag-input]", "Enter")
    page.wait_for_selector("[data-role=tags] .tag:has-text('keeper')")
    page.click("[data-role=edit-notes]")
    page.fill("[data-role=notes-input]", "Best so far: *really*")
    page.click("[data-role=save-notes]")
    page.wait_for_selector("[data-role=notes] em:has-text('really')")
    page.click("[data-role=favorite]")
    page.wait_for_selector("[data-role=favorite][aria-pressed=true]")
    page.reload()
    page.wait_for_selector("[data-role=favorite][aria-pressed=true]")
    assert page.locator("[data-role=run-name]").inner_text() == "renamed-run"
    # delete asks first; cancelling keeps the run
    page.click("[data-role=delete]")
    page.wait_for_selector(".modal")
    page.keyboard.press("Escape")
    page.wait_for_selector(".modal", state="detached")
    assert page.locator("[data-role=run-name]").inner_text() == "renamed-run"
    page.click("[data-role=delete]")
    page.click(".modal [data-action=delete]")
    page.wait_for_selector("[data-role=runs-table]")
    assert "renamed-run" not in rows(page)
    assert page.goto(ui.url + f"/runs/{ui_extra_run}").status == 404


@pytest.fixture
def ui_extra_run(ui: Any, ui_run: Any) -> str:
    return str(ui_run("scratch", "to-edit", {"lr": 0.5}, 20, 0.1))
