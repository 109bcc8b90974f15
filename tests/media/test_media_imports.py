"""Importing labtrack.media and labtrack.plot loads none of the heavy packages."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "PIL", "pandas", "plotly", "sklearn", "torch")


def test_media_and_plot_imports_are_light():
    code = (
        "import sys, labtrack.media, labtrack.plot\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_public_names_are_sorted_and_exported():
    import labtrack.media
    import labtrack.plot

    for module in (labtrack.media, labtrack.plot):
        assert module.__all__ == sorted(module.__all__)
        assert all(hasattr(module, name) for name in module.__all__)
