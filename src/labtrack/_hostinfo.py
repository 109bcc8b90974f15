"""This machine's name, without importing :mod:`socket` (~2 ms) where ``os.uname`` has it."""

from __future__ import annotations

import os


def hostname() -> str:
    """The host name, as ``socket.gethostname()`` gives it."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()
