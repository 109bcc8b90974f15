"""Report Markdown: tables, code, math, live block placeholders, and sanitised HTML."""

from __future__ import annotations

import re

import pytest

from labtrack.reports.markdown import math_supported, render_markdown, sanitise


def test_tables_code_and_blocks_in_order() -> None:
    text = ("# Results\n\n| run | acc |\n|:--|--:|\n| a | 0.9 |\n\n"
            "```python\nprint('<b>')\n```\n\n"
            "```labtrack-chart\nmetrics: [loss]\n```\n\ntext between\n\n"
            "```labtrack-runs\n```\n")
    html, fences = render_markdown(text)
    assert "<table>" in html and '<td style="text-align:right">0.9</td>' in html
    assert '<code class="language-python">print(\'&lt;b&gt;\')' in html
    assert [(f.kind, f.line) for f in fences] == [("chart", 11), ("runs", 17)]
    assert fences[0].source == "metrics: [loss]\n"
    slots = re.findall(r'<div class="lt-block" data-block="(\d)"></div>', html)
    assert slots == ["0", "1"]
    assert html.index('data-block="0"') < html.index("text between") < html.index(
        'data-block="1"')


@pytest.mark.skipif(not math_supported(), reason="mdit-py-plugins/latex2mathml missing")
def test_math_is_typeset_as_mathml_and_prices_stay_text() -> None:
    html, _ = render_markdown("Energy $E = mc^2$ costs $5 or $10.\n\n$$\n\\frac{a}{b}\n$$\n")
    assert html.count("<math") == 2
    assert '<math display="inline">' in html and "<mfrac>" in html
    assert "costs $5 or $10." in html


def test_script_and_event_handlers_are_removed() -> None:
    hostile = (
        "<script>alert(1)</script>\n\n"
        '<img src="x.png" onerror="alert(2)">\n\n'
        '<a href="javascript:alert(3)">a</a> <a href="data:text/html,<script>x</script>">b</a>\n\n'
        "[c](javascript:alert(4))\n\n"
        '<svg onload="alert(5)"><circle/></svg>\n\n'
        '<div style="position:fixed;inset:0" class="overlay" onclick="alert(6)">cover</div>\n\n'
        '<iframe src="https://example.com"></iframe><style>body{display:none}</style>\n\n'
        "$\\text{<script>alert(7)</script>}$\n"
    )
    html, _ = render_markdown(hostile)
    lowered = html.lower()
    for bad in ("<script", "onerror", "onload", "onclick", "href=\"javascript", "data:text/html",
                "<iframe", "<style", "position:fixed", "overlay", "alert(1)"):
        assert bad not in lowered, bad
    assert '<img src="x.png">' in html and "cover" in html
    assert "[c](javascript:alert(4))" in html  # a refused link stays visible as text


def test_report_text_cannot_forge_a_block_placeholder() -> None:
    html, fences = render_markdown('<div class="lt-block" data-block="0">x</div>\n\n'
                                   "```labtrack-runs\n```\n")
    assert len(fences) == 1
    assert html.count('class="lt-block"') == 1 and html.count("data-block") == 1


def test_sanitise_keeps_safe_images_and_links() -> None:
    out = sanitise('<a href="https://x.org/a?b=1">x</a><img src="data:image/png;base64,AAAA">')
    assert 'href="https://x.org/a?b=1"' in out and 'rel="noopener noreferrer nofollow"' in out
    assert 'src="data:image/png;base64,AAAA"' in out
