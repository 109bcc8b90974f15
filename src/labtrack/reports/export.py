"""A report as one self-contained HTML file (data, charts, plotly.js and styles inline),
and as a PDF printed from that file by headless Chromium.

The file needs no server and no network: open it from disk, mail it, drop it in chat.
Its charts are drawn by the same JavaScript as the web UI's (``report_blocks.js``
with the ``dom.js`` and ``plot.js`` it imports), bundled here by a small resolver
that follows relative imports and drops the ``import``/``export`` keywords.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ..errors import UsageError
from .render import render_report

STATIC = Path(__file__).resolve().parent.parent / "server" / "static"
ENTRY = STATIC / "js" / "pages" / "report_blocks.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

_IMPORT = re.compile(r"^import\s+(?:[\s\S]*?\s+from\s+)?['\"](?P<path>[^'\"]+)['\"];?[ \t]*$",
                     re.M)
_EXPORT = re.compile(r"^export\s+(?=(?:async\s+)?function\b|const\b|let\b|class\b)", re.M)

EXPORT_CSS = """
body.report-export { background: #fff; }
.report-export .main { max-width: 1040px; }
.report-export .report-foot { margin-top: 40px; padding-top: 12px;
  border-top: 1px solid var(--border); }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body.report-export { background: #fff; }
  .report-export .main { max-width: none; padding: 0; }
  .lt-figure, .lt-chart, tr, .lt-error { break-inside: avoid; }
  .modebar-container { display: none !important; }
}
"""

BOOT = """
const data = JSON.parse(document.getElementById('report-data').textContent);
const body = document.getElementById('report-body');
drawReportBlocks(body, data.blocks, { links: false }).then(() => {
  document.body.dataset.ready = '1';
});
window.addEventListener('beforeprint', () => resizeReportPlots(body));
"""


def _module_order(entry: Path) -> list[Path]:
    """``entry`` and the modules it imports (relative paths), dependencies first."""
    order: list[Path] = []
    seen: set[Path] = set()

    def visit(path: Path) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        for match in _IMPORT.finditer(path.read_text(encoding="utf-8")):
            target = match.group("path")
            if target.startswith("."):
                visit(path.parent / target)
        order.append(path)

    visit(entry)
    return order


def bundle_js(entry: Path = ENTRY) -> str:
    """The block drawing code and its imports as one classic script body."""
    parts = []
    for path in _module_order(entry):
        source = _IMPORT.sub("", path.read_text(encoding="utf-8"))
        parts.append(f"// ---- {path.name}\n" + _EXPORT.sub("", source))
    return "\n".join(parts)


def _script_safe(text: str) -> str:
    """Text that cannot end the ``<script>`` element it is placed in."""
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.I)


def _json_for_script(data: Any) -> str:
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _plotly_js() -> str:
    from ..server.pages import plotly_path

    return plotly_path().read_text(encoding="utf-8")


def export_html(store: Any, report: dict[str, Any], *, cache: Any = None,
                rendered: dict[str, Any] | None = None) -> str:
    """The report as one HTML document with everything inline.

    Args:
        report: a report dict (:meth:`ReportIndex.get`).
        rendered: the report already rendered (default: rendered now from the store).
    """
    if rendered is None:
        rendered = render_report(store, report["body"], report["project"], cache=cache)
    title = html.escape(report["title"])
    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(report["updated_at"]))
    meta = " · ".join(html.escape(str(p)) for p in (
        report["project"], report.get("updated_by") or report.get("author"),
        f"updated {updated}", f"revision {report['revision']}") if p)
    css = ((STATIC / "app.css").read_text(encoding="utf-8") + EXPORT_CSS).replace("</", "<\\/")
    exported = time.strftime("%Y-%m-%d %H:%M")
    return "".join([
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        "<meta name=\"generator\" content=\"labtrack\">\n",
        f"<title>{title}</title>\n<style>\n{css}\n</style>\n</head>\n",
        "<body class=\"report-export\">\n<main class=\"main report-doc\">\n",
        f"<header class=\"report-head\"><h1 class=\"report-title\">{title}</h1>",
        f"<p class=\"muted report-meta\">{meta}</p></header>\n",
        f"<article class=\"report-body\" id=\"report-body\">\n{rendered['html']}\n</article>\n",
        f"<footer class=\"report-foot muted small\">Exported from labtrack on {exported}. "
        "Everything is in this file: it opens without a server or a network.</footer>\n",
        "</main>\n",
        "<script type=\"application/json\" id=\"report-data\">",
        _json_for_script({"id": report["id"], "blocks": rendered["blocks"]}), "</script>\n",
        f"<script>\n{_script_safe(_plotly_js())}\n</script>\n",
        f"<script>\n(function () {{\n'use strict';\n{_script_safe(bundle_js())}\n{BOOT}\n}})();\n"
        "</script>\n</body>\n</html>\n",
    ])


def html_to_pdf(html_path: Path, pdf_path: Path, *, chromium: str | None = None,
                timeout: float = 60.0) -> Path:
    """Print an exported report file to PDF with headless Chromium (Playwright).

    Works from inside a running event loop too (Jupyter, or another Playwright
    session): the printing then happens in a worker thread.

    Raises:
        UsageError: Playwright or Chromium is missing, or the page did not finish drawing.
    """
    import asyncio
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _print_pdf(Path(html_path), Path(pdf_path), chromium, timeout)
        return Path(pdf_path)
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _print_pdf(Path(html_path), Path(pdf_path), chromium, timeout)
        except BaseException as err:  # noqa: BLE001 - handed to the calling thread
            failure.append(err)

    worker = threading.Thread(target=work, name="labtrack-pdf")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return Path(pdf_path)


def _print_pdf(html_path: Path, pdf_path: Path, chromium: str | None, timeout: float) -> None:
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UsageError("PDF export needs Playwright: pip install playwright "
                         "(and a Chromium: set LABTRACK_CHROMIUM to its path)") from None
    exe = chromium or os.environ.get("LABTRACK_CHROMIUM") or CHROMIUM
    launch: dict[str, Any] = {"args": CHROMIUM_ARGS}
    if Path(exe).exists():
        launch["executable_path"] = exe
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(**launch)
            try:
                # A4 minus the margins is about 710 CSS pixels wide: draw the charts at that
                page = browser.new_page(viewport={"width": 710, "height": 1000})
                page.goto(html_path.resolve().as_uri())
                page.wait_for_function("document.body.dataset.ready === '1'",
                                       timeout=timeout * 1000)
                page.emulate_media(media="print")
                page.pdf(path=str(pdf_path), format="A4", print_background=True,
                         prefer_css_page_size=True)
            finally:
                browser.close()
    except PlaywrightError as err:
        raise UsageError(f"PDF export failed in Chromium ({exe}): {err}") from None


def export_files(store: Any, report: dict[str, Any], *, html_path: Path | None = None,
                 pdf_path: Path | None = None, cache: Any = None) -> list[Path]:
    """Write the report as HTML and/or PDF; returns the files written."""
    import tempfile

    if html_path is None and pdf_path is None:
        raise UsageError("say where to write the report: --html FILE and/or --pdf FILE")
    document = export_html(store, report, cache=cache)
    written = []
    if html_path is not None:
        Path(html_path).write_text(document, encoding="utf-8")
        written.append(Path(html_path))
    if pdf_path is not None:
        if html_path is not None:
            html_to_pdf(Path(html_path), Path(pdf_path))
        else:
            with tempfile.TemporaryDirectory() as tmp:
                source = Path(tmp) / "report.html"
                source.write_text(document, encoding="utf-8")
                html_to_pdf(source, Path(pdf_path))
        written.append(Path(pdf_path))
    return written
