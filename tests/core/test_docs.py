"""Every CLI command and every setting is documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from labtrack.cli import COMMANDS
from labtrack.settings import Settings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    for name in COMMANDS:
        assert f"`labtrack {name}" in text, name


def test_every_setting_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    source = (Path(__file__).resolve().parents[2] / "src/labtrack/settings.py").read_text()
    names = set(re.findall(r'"(LABTRACK_[A-Z_]+)"', source))
    assert len(names) >= len(dataclasses.fields(Settings)) - 2
    for name in names:
        assert f"`{name}`" in text, name
