"""This machine's name and the user's, cheaply: no :mod:`socket` import (~2 ms) where
``os.uname`` has the host name, and one password-database lookup per user."""

from __future__ import annotations

import os


def hostname() -> str:
    """The host name, as ``socket.gethostname()`` gives it."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


_users: dict[tuple[str | None, ...], str | None] = {}


def user() -> str | None:
    """``getpass.getuser()`` (None where there is no user name, as in some containers),
    remembered while the variables it reads are unchanged: its password-database lookup
    cost ~30 us in every ``init()``."""
    key = tuple(os.environ.get(n) for n in ("LOGNAME", "USER", "LNAME", "USERNAME"))
    if key not in _users:
        import getpass

        try:
            _users[key] = getpass.getuser()
        except Exception:  # noqa: BLE001 - no passwd entry for the uid
            _users[key] = None
    return _users[key]
