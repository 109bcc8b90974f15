"""``python -m labtrack``: the CLI."""

from .cli import main

main()
