"""``Html``: an HTML document stored as a blob and shown in a sandboxed frame."""

from __future__ import annotations

import os
import re
from typing import Any

from labtrack.media.base import Media, PutBlob, blob_ref

# What ``inject=True`` adds to <head>: links open outside the frame, a readable default font.
_INJECT = (
    '<base target="_blank">'
    "<style>body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:8px}</style>"
)
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.IGNORECASE)
_HTML = re.compile(r"<html(\s[^>]*)?>", re.IGNORECASE)


def inject_head(html: str) -> str:
    """Insert the default ``<base>`` and ``<style>`` at the start of the document head."""
    match = _HEAD.search(html)
    if match:
        return html[: match.end()] + _INJECT + html[match.end() :]
    match = _HTML.search(html)
    if match:
        return html[: match.end()] + f"<head>{_INJECT}</head>" + html[match.end() :]
    return f"<head>{_INJECT}</head>" + html


class Html(Media):
    """An HTML document to log, like ``wandb.Html``.

    Args:
        data: HTML text, a path to an ``.html`` file, or an open text file.
        inject: add a ``<base target="_blank">`` and a default style to the head.
        data_is_not_path: treat a ``str`` as HTML even if a file of that name exists.

    Raises:
        TypeError: for data that is not text, a path or a file.
    """

    _type = "html"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        if isinstance(data, os.PathLike) or (
            isinstance(data, str)
            and not data_is_not_path
            and "<" not in data
            and "\n" not in data
            and os.path.isfile(data)
        ):
            with open(os.fspath(data), encoding="utf-8") as f:
                text = f.read()
        elif isinstance(data, str):
            text = data
        elif hasattr(data, "read"):
            text = data.read()
            if isinstance(text, bytes):
                text = text.decode("utf-8")
        else:
            raise TypeError(f"Html expects a str, a path or a file, got {type(data).__name__}")
        if not isinstance(text, str):
            raise TypeError(f"Html file object returned {type(text).__name__}, not text")
        self.html = inject_head(text) if inject else text

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Store the document and return ``{"_type": "html", "digest", "ext", "size"}``."""
        return {"_type": self._type, **blob_ref(put_blob, self.html.encode("utf-8"), "html")}

    def __repr__(self) -> str:
        return f"<Html {len(self.html)} chars>"
