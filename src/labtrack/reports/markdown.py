"""Report Markdown as safe HTML, with the live blocks cut out for the block renderer.

Markdown is parsed by markdown-it-py (CommonMark plus tables and strikethrough).
Math between ``$...$`` (inline) and ``$$...$$`` (display) is parsed by the dollarmath
plugin of mdit-py-plugins and typeset on the server as MathML with latex2mathml, which
browsers draw without any script (so it works in exported files and PDFs too). Without
those packages, math stays visible as code.

Raw HTML in a report is allowed and then sanitised by nh3: scripts, event handler
attributes, ``javascript:`` links, styles other than table alignment, and class names
other than ours are removed. A fenced code block whose language starts with
``labtrack-`` is a live block: it becomes ``<div class="lt-block" data-block="N">``,
which the page fills with the drawn block. Those placeholders are inserted after
sanitising, behind a random marker, so report text can never forge one.
"""

from __future__ import annotations

import functools
import html
import re
import secrets
from copy import deepcopy
from dataclasses import dataclass
from typing import Any

BLOCK_PREFIX = "labtrack-"

MATHML_TAGS = {
    "math", "mrow", "mi", "mn", "mo", "ms", "mspace", "mtext", "mfrac", "msqrt", "mroot",
    "msub", "msup", "msubsup", "munder", "mover", "munderover", "mtable", "mtr", "mtd",
    "mstyle", "mpadded", "mphantom", "menclose", "merror", "mmultiscripts", "mprescripts",
    "none", "semantics", "annotation",
}
MATHML_ATTRS = {
    "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
    "displaystyle", "scriptlevel", "accent", "accentunder", "movablelimits",
    "linethickness", "notation", "width", "height", "depth", "minsize", "maxsize",
    "symmetric", "largeop", "form", "encoding", "frame", "framespacing", "voffset",
}
_CLASS_OK = re.compile(r"^(language-[\w+#.-]{1,40}|math|inline|block|math-error)$")


@dataclass(frozen=True)
class Fence:
    """A live block found in the text: ``kind`` without the prefix, its YAML, its line."""

    kind: str
    source: str
    line: int


def _render_math(content: str, options: dict[str, Any]) -> str:
    display = bool(options.get("display_mode"))
    try:
        from latex2mathml.converter import convert
    except ImportError:  # no typesetter: show the TeX as code
        return f'<code class="math">{html.escape(content)}</code>'
    try:
        # the MathML is sanitised with everything else (latex2mathml does not escape \text{})
        return str(convert(content, display="block" if display else "inline"))
    except Exception:  # noqa: BLE001 - any TeX the converter cannot read shows as it was
        return f'<code class="math-error" title="could not typeset">{html.escape(content)}</code>'


@functools.lru_cache(maxsize=1)
def _parser() -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    try:
        from mdit_py_plugins.dollarmath import dollarmath_plugin
    except ImportError:
        return md
    dollarmath_plugin(md, allow_labels=False, allow_space=False, allow_digits=False,
                      double_inline=True, renderer=_render_math)
    return md


def math_supported() -> bool:
    """Whether ``$...$`` is typeset (mdit-py-plugins and latex2mathml are installed)."""
    try:
        import latex2mathml  # noqa: F401
        import mdit_py_plugins  # noqa: F401
    except ImportError:
        return False
    return True


@functools.lru_cache(maxsize=1)
def _nh3_options() -> dict[str, Any]:
    import nh3

    tags = (set(nh3.ALLOWED_TAGS) | MATHML_TAGS) - {"script", "style"}
    attributes = deepcopy(nh3.ALLOWED_ATTRIBUTES)
    for tag in ("code", "span", "div", "pre"):
        attributes.setdefault(tag, set()).add("class")
    for tag in ("th", "td"):
        attributes.setdefault(tag, set()).add("style")
    for tag in MATHML_TAGS:
        attributes.setdefault(tag, set()).update(MATHML_ATTRS)
    return {"tags": tags, "attributes": attributes, "filter_style_properties": {"text-align"},
            "link_rel": "noopener noreferrer nofollow",
            "url_schemes": {"http", "https", "mailto", "data"}}


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        kept = " ".join(c for c in value.split() if _CLASS_OK.match(c))
        return kept or None
    if attr in ("src", "href") and value.strip().lower().startswith("data:") and not (
            tag == "img" and value.strip().lower().startswith("data:image/")):
        return None  # data: URLs only for images (never data:text/html links)
    return value


def sanitise(fragment: str) -> str:
    """``fragment`` with everything that could run or restyle the page removed."""
    import nh3

    return str(nh3.clean(fragment, attribute_filter=_keep_attribute, **_nh3_options()))


def render_markdown(text: str) -> tuple[str, list[Fence]]:
    """Markdown ``text`` as sanitised HTML with placeholders, and the live blocks in order."""
    md = _parser()
    tokens = md.parse(text or "")
    marker = "ltblock" + secrets.token_hex(8)
    fences: list[Fence] = []
    for token in tokens:
        if token.type != "fence":
            continue
        info = token.info.strip().split(maxsplit=1)[0] if token.info.strip() else ""
        if not info.startswith(BLOCK_PREFIX):
            continue
        line = (token.map[0] + 1) if token.map else 0
        fences.append(Fence(info[len(BLOCK_PREFIX):], token.content, line))
        # a paragraph holding only the marker survives sanitising unchanged
        token.type, token.tag, token.nesting = "html_block", "", 0
        token.content = f"<p>{marker}-{len(fences) - 1}</p>\n"
    body = md.renderer.render(tokens, md.options, {})
    clean = sanitise(body)
    pattern = re.compile(rf"<p>{marker}-(\d+)</p>")
    clean = pattern.sub(lambda m: f'<div class="lt-block" data-block="{m.group(1)}"></div>',
                        clean)
    return clean, fences
