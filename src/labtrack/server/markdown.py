"""Run notes as safe HTML: Markdown with raw HTML disabled, then sanitised by nh3."""

from __future__ import annotations

import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _renderer() -> Any:
    from markdown_it import MarkdownIt

    # raw HTML off: "<script>" in notes is shown as text; unsafe link schemes are refused
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_notes(text: str | None) -> str:
    """Markdown ``text`` as HTML that is safe to insert into the page."""
    if not text:
        return ""
    html = _renderer().render(text)
    try:
        import nh3
    except ImportError:  # markdown-it with html off already escapes everything
        return str(html)
    return str(nh3.clean(html, link_rel="noopener noreferrer nofollow"))
