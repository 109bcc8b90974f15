"""The self-contained HTML export: bundled block code, inline data that cannot break out."""

from __future__ import annotations

import json
import re
from typing import Any

from labtrack.reports.export import ENTRY, _module_order, bundle_js, export_html
from labtrack.reports.index import ReportIndex


def test_bundle_resolves_imports_and_drops_module_syntax() -> None:
    names = [p.name for p in _module_order(ENTRY)]
    assert names[-1] == "report_blocks.js"
    assert names.index("dom.js") < names.index("report_blocks.js")
    assert names.index("plot.js") < names.index("report_blocks.js")
    code = bundle_js()
    assert not re.search(r"^\s*(import|export)\s", code, re.M)
    assert "function drawReportBlocks(" in code and "function drawLines(" in code


def test_hostile_text_stays_inert_in_the_file(store: Any, lr_runs: dict[str, str]) -> None:
    evil = "</script><script>window.__pwned=1</script>"
    report = ReportIndex(store).create(
        "study", f"Title {evil}",
        f"{evil}\n\n```labtrack-runs\ntitle: '{evil}'\ncolumns: [name]\n```\n")
    document = export_html(store, report)
    # exactly our three scripts: JSON data, plotly.js and the block code
    assert document.count("<script") == 3 and document.count("</script>") == 3
    assert "<title>Title &lt;/script&gt;&lt;script&gt;" in document
    data = re.search(r'<script type="application/json" id="report-data">(.*?)</script>',
                     document, re.S)
    assert data is not None
    blocks = json.loads(data.group(1))["blocks"]
    assert blocks[0]["title"] == evil  # kept as text; the page draws it with textContent
    assert "window.__pwned" not in document.split('<article class="report-body"')[1].split(
        "</article>")[0]
