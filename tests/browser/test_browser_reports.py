"""Reports in a real browser: live blocks drawn, the editor's preview, the Report button,
restoring a revision, the HTML export opened offline with its server gone, PDF, and XSS."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labtrack.reports.index import ReportIndex
from labtrack.store import open_store

pytestmark = pytest.mark.browser

CHART_AND_RUNS = """# Learning rate study

Lower loss is better; **demo-2** decays fastest.

```labtrack-chart
runs: 'config.optimizer in ["adam", "sgd"] and config.batch_size == 64'
metrics: [train/loss]
smoothing: 0.3
```

```labtrack-runs
runs: 'config.batch_size == 64'
columns: [name, state, config.lr, config.optimizer, summary.acc]
sort: -summary.acc
```

```labtrack-chart
metric: [oops]
```
"""
PLOT_PATHS = "document.querySelectorAll('{root} .lt-plot .scatterlayer path.js-line').length"
FLAG = "window.__pwned"


def _index(ui: Any) -> Iterator[ReportIndex]:
    store = open_store(ui.dir)
    try:
        yield ReportIndex(store)
    finally:
        store.close()


@pytest.fixture
def reports(ui: Any) -> Iterator[ReportIndex]:
    yield from _index(ui)


def _ready(page: Any, role: str) -> None:
    page.wait_for_function(f"document.querySelector('[data-role={role}]')?.dataset.ready === '1'")


def test_chart_and_runs_blocks_render(page: Any, ui: Any, reports: ReportIndex,
                                      shot: Any) -> None:
    rid = reports.create("demo", "LR study", CHART_AND_RUNS, author="ana")["id"]
    page.goto(ui.url + f"/reports/{rid}")
    _ready(page, "report-body")
    assert page.locator("[data-role=report-title]").inner_text() == "LR study"
    # the three demo runs of batch size 64, each drawn raw (faint) and smoothed
    assert page.evaluate(PLOT_PATHS.format(root="[data-role=report-body]")) == 6
    plot = page.locator(".lt-plot[data-key='train/loss']")
    assert plot.get_attribute("data-lines") == "3"
    rows = page.locator("[data-role=block-runs] tbody tr")
    assert rows.count() == 3
    accs = [float(rows.nth(i).locator("td").nth(4).inner_text()) for i in range(3)]
    assert accs == sorted(accs, reverse=True)
    assert rows.first.locator("a.lt-run").get_attribute("href").startswith("/runs/")
    error = page.locator("[data-role=block-error]")
    assert error.count() == 1 and "did you mean 'metrics'" in error.inner_text()
    shot(page, "report_view")
    page.goto(ui.url + "/projects/demo/reports")
    link = page.locator("[data-role=reports-table] a", has_text="LR study")
    link.first.wait_for(timeout=10_000)  # the list is fetched after the page shows
    assert link.count() == 1
    shot(page, "report_list")


def test_editor_preview_follows_the_text(page: Any, ui: Any, reports: ReportIndex,
                                         shot: Any) -> None:
    body = ("# Draft\n\n```labtrack-chart\nruns: 'config.optimizer == \"adam\"'\n"
            "metrics: [train/loss]\n```\n")
    rid = reports.create("demo", "Draft", body)["id"]
    page.goto(ui.url + f"/reports/{rid}/edit")
    _ready(page, "report-preview")
    preview = "[data-role=report-preview]"
    assert page.evaluate(PLOT_PATHS.format(root=preview)) == 2  # the two adam runs
    source = page.locator("[data-role=report-source]")
    text = source.input_value().replace("# Draft", "# Final words").replace(
        'config.optimizer == "adam"', "config.batch_size == 64")
    source.fill(text)
    page.wait_for_function(f"document.querySelector('{preview} h1')?.textContent === 'Final words'")
    page.wait_for_function(f"{PLOT_PATHS.format(root=preview)} === 3")
    page.wait_for_function("document.querySelector('[data-role=preview-status]').textContent"
                           " === 'Preview up to date'")
    shot(page, "report_editor")
    page.locator("[data-role=save-report]").click()
    page.wait_for_url(f"**/reports/{rid}")
    _ready(page, "report-body")
    assert page.locator("[data-role=report-body] h1").inner_text() == "Final words"
    assert reports.get(rid)["revision"] == 2


def test_report_button_on_the_runs_table(page: Any, ui: Any, reports: ReportIndex) -> None:
    page.goto(ui.url + "/projects/demo")
    page.wait_for_selector("[data-role=runs-table] tbody tr")
    button = page.locator("[data-role=report-selected]")
    assert button.is_disabled()
    for name in ("demo-0", "demo-1"):
        page.locator("tr", has_text=name).locator("td.col-check input").check()
    button.click()
    page.wait_for_url("**/projects/demo/reports/new?runs=*")
    _ready(page, "report-preview")
    source = page.locator("[data-role=report-source]").input_value()
    assert ui.runs["r0"] in source and ui.runs["r1"] in source and ui.runs["r2"] not in source
    assert page.locator("[data-role=report-preview] [data-role=block-runs] tbody tr").count() == 2
    page.locator("[data-role=report-title-input]").fill("Two demo runs")
    page.locator("[data-role=save-report]").click()
    page.wait_for_url("**/reports/*")
    _ready(page, "report-body")
    made = [r for r in reports.reports("demo") if r["title"] == "Two demo runs"]
    assert len(made) == 1 and page.url.endswith(f"/reports/{made[0]['id']}")
    # the compare page offers the same, with the config diff
    page.goto(ui.url + f"/compare?runs={ui.runs['r0']},{ui.runs['r2']}")
    page.locator("[data-role=report-selected]").click()
    _ready(page, "report-preview")
    assert page.locator("[data-role=report-preview] [data-role=block-compare]").count() == 1


def test_restore_an_older_revision(page: Any, ui: Any, reports: ReportIndex, shot: Any) -> None:
    rid = reports.create("demo", "History", "# First version\n\nThe original text.")["id"]
    reports.save(rid, body="# Second version")
    reports.save(rid, body="# Third version", title="History, edited")
    page.goto(ui.url + f"/reports/{rid}")
    _ready(page, "report-body")
    page.locator("[data-role=history]").click()
    items = page.locator("[data-role=revisions] li")
    page.wait_for_function("document.querySelectorAll('[data-role=revisions] li').length === 3")
    assert items.first.get_attribute("data-revision") == "3"
    items.nth(2).locator(".revision-open").click()  # look at revision 1 first
    page.wait_for_function("document.querySelector('[data-role=report-body] h1')"
                           "?.textContent === 'First version'")
    assert "Viewing revision 1 of 3" in page.locator("[data-role=revision-banner]").inner_text()
    shot(page, "report_history")
    page.locator("[data-role=restore-revision]").click()
    page.locator(".modal [data-action=restore]").click()
    page.wait_for_function("document.querySelector('[data-role=report-title]')"
                           "?.textContent === 'History'")
    _ready(page, "report-body")
    assert page.locator("[data-role=report-body] h1").inner_text() == "First version"
    current = reports.get(rid)
    assert current["revision"] == 4 and current["body"].startswith("# First version")
    assert reports.revision(rid, 3)["body"] == "# Third version"  # nothing lost


def _serve(store_dir: Path) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from labtrack.server import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(open_store(store_dir)),
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    return server, thread, f"http://127.0.0.1:{port}"


def test_exported_file_draws_offline_with_the_server_gone(browser: Any, ui: Any, tmp_path: Path,
                                                          shot: Any) -> None:
    from labtrack.reports.export import html_to_pdf

    store_dir = tmp_path / "store"
    for i, lr in enumerate((0.1, 0.03)):
        _log_run(store_dir, f"run-{i}", lr)
    rid = next(_index_for(store_dir)).create("offline", "Offline", CHART_AND_RUNS)["id"]
    server, thread, url = _serve(store_dir)
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(url + f"/reports/{rid}")
        _ready(page, "report-body")
        with page.expect_download() as download:
            page.locator("[data-role=export-html]").click()
        saved = tmp_path / "report.html"
        download.value.save_as(saved)
    finally:
        context.close()
        server.should_exit = True
        thread.join(timeout=10)
    with pytest.raises(OSError):
        socket.create_connection((url.split("//")[1].split(":")[0], int(url.rsplit(":", 1)[1])),
                                 timeout=1)

    offline = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
    requests: list[str] = []
    errors: list[str] = []
    page = offline.new_page()
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(saved.as_uri())
        page.wait_for_function("document.body.dataset.ready === '1'", timeout=15_000)
        assert page.evaluate(PLOT_PATHS.format(root="#report-body")) == 4  # raw + smoothed
        assert page.locator("[data-role=block-runs] tbody tr").count() == 2
        assert page.locator("[data-role=block-error]").count() == 1
        # names are plain text offline: no links back to a server
        assert page.locator("#report-body a.lt-run").count() == 0
        shot(page, "report_export_offline")
    finally:
        offline.close()
    assert not errors, errors
    assert all(u.startswith(("file:", "data:", "blob:", "about:")) for u in requests), requests

    pdf = tmp_path / "report.pdf"
    html_to_pdf(saved, pdf)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 20_000


def _log_run(store_dir: Path, name: str, lr: float) -> None:
    import math

    import labtrack

    run = labtrack.init(project="offline", name=name, dir=store_dir, reinit="create_new",
                        config={"lr": lr, "optimizer": "adam", "batch_size": 64},
                        settings={"disable_stats": True, "disable_git": True,
                                  "disable_env": True})
    for i in range(80):
        run.log({"train/loss": math.exp(-lr * i)})
    run.summary["acc"] = 1 - lr
    run.finish()


def _index_for(store_dir: Path) -> Iterator[ReportIndex]:
    store = open_store(store_dir)
    try:
        yield ReportIndex(store)
    finally:
        store.close()


XSS_BODY = f"""# Safe <script>{FLAG}=1</script>

<img src="x" onerror="{FLAG}=1"> <a href="javascript:{FLAG}=1" id="evil">click</a>

<svg onload="{FLAG}=1"></svg> <details open ontoggle="{FLAG}=1"><summary>x</summary></details>

```labtrack-runs
title: '<img src=x onerror="{FLAG}=1">'
columns: [name]
```
"""


def test_report_text_never_runs_as_code(page: Any, ui: Any, reports: ReportIndex,
                                        browser: Any, tmp_path: Path) -> None:
    rid = reports.create("demo", f'<img src=x onerror="{FLAG}=1">', XSS_BODY)["id"]
    page.on("dialog", lambda d: d.dismiss())
    page.goto(ui.url + f"/reports/{rid}")
    _ready(page, "report-body")
    page.wait_for_timeout(300)  # give an injected handler time to fire
    assert page.evaluate(FLAG) is None
    caption = page.locator(".lt-caption").inner_text()
    assert caption == f'<img src=x onerror="{FLAG}=1">'  # shown as text
    assert page.locator("#evil").count() == 0 or page.locator("#evil").get_attribute(
        "href") is None
    page.goto(ui.url + f"/reports/{rid}/edit")
    _ready(page, "report-preview")
    page.wait_for_timeout(300)
    assert page.evaluate(FLAG) is None

    from labtrack.reports.export import export_html

    out = tmp_path / "xss.html"
    store = open_store(ui.dir)
    try:
        out.write_text(export_html(store, reports.get(rid)))
    finally:
        store.close()
    context = browser.new_context()
    exported = context.new_page()
    try:
        exported.goto(out.as_uri())
        exported.wait_for_function("document.body.dataset.ready === '1'")
        exported.wait_for_timeout(300)
        assert exported.evaluate(FLAG) is None
    finally:
        context.close()
