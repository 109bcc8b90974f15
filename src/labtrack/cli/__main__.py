"""``python -m labtrack.cli``."""

from . import main

main()
