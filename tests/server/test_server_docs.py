"""Every route of the UI's JSON API is documented in docs/ui.md, with its method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parents[2] / "docs" / "ui.md"


def test_every_api_route_is_documented(client: Any) -> None:
    text = DOCS.read_text(encoding="utf-8")
    spec = client.get("/openapi.json").json()
    missing = [f"{method.upper()} {path}"
               for path, ops in spec["paths"].items() if path.startswith("/api/v1/")
               # the team server's SDK routes are documented in docs/team-server.md
               and not path.startswith(("/api/v1/ingest", "/api/v1/remote"))
               for method in ops
               if f"| {method.upper()} | `{path}` |" not in text]
    assert not missing, f"undocumented routes: {missing}"


def test_cli_options_are_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for option in ("--dir", "--host", "--port", "--no-browser"):
        assert option in text
