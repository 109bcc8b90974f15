"""A report body as ``{"html", "blocks"}``: sanitised HTML with placeholders, and the
JSON data of each live block, which the page (or an exported file) draws with plotly.

A block that cannot be drawn (bad YAML, unknown key, unknown run, a bug) becomes
``{"type": "error", "kind", "error", "line"}`` and is shown as an error box in its
place; the rest of the report still renders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import LabtrackError
from ._spec import parse_yaml, text
from .blocks import BlockContext, chart_block, compare_block, parcoords_block, runs_block
from .blocks_extra import artifact_block, sweep_block
from .markdown import Fence, math_supported, render_markdown

log = logging.getLogger(__name__)

Renderer = Callable[[BlockContext, dict[str, Any]], dict[str, Any]]

BLOCKS: dict[str, Renderer] = {
    "chart": chart_block,
    "runs": runs_block,
    "compare": compare_block,
    "parcoords": parcoords_block,
    "sweep": sweep_block,
    "artifact": artifact_block,
}


def render_block(ctx: BlockContext, fence: Fence) -> dict[str, Any]:
    """One block's data, or an error entry saying what is wrong with it."""
    base: dict[str, Any] = {"kind": fence.kind, "line": fence.line}
    renderer = BLOCKS.get(fence.kind)
    if renderer is None:
        known = ", ".join(f"labtrack-{k}" for k in BLOCKS)
        return {**base, "type": "error",
                "error": f"unknown block 'labtrack-{fence.kind}' (blocks: {known})"}
    try:
        spec = parse_yaml(fence.kind, fence.source)
        data = renderer(ctx, spec)
        title = text(spec, "title")
    except LabtrackError as err:
        return {**base, "type": "error", "error": str(err)}
    except Exception as err:  # noqa: BLE001 - one broken block must not take the report down
        log.warning("report block labtrack-%s failed", fence.kind, exc_info=True)
        return {**base, "type": "error", "error": f"could not draw this block "
                f"({type(err).__name__}: {err})"}
    return {**base, "type": fence.kind, "title": title, **data}


def render_report(store: Any, body: str, project: str, *, cache: Any = None
                  ) -> dict[str, Any]:
    """Render a report body against ``store``.

    Returns:
        ``{"html": str, "blocks": [dict, ...], "math": bool}``: ``html`` holds
        ``<div class="lt-block" data-block="N">`` where block N goes; ``math`` says
        whether ``$...$`` was typeset.
    """
    html, fences = render_markdown(body)
    ctx = BlockContext(store=store, project=project, cache=cache)
    return {"html": html, "blocks": [render_block(ctx, f) for f in fences],
            "math": math_supported()}
