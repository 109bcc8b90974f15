"""Database errors as labtrack errors, for the SQLAlchemy store and the stdlib sink alike.

Works on a DB-API exception or on SQLAlchemy's wrapper of one (its ``orig``), and
imports neither, so that run writers can use it without loading SQLAlchemy.
"""

from __future__ import annotations

from ..errors import StoreCorruptError, StoreError, StoreLockedError, StoreReadOnlyError, UsageError


def translate(err: Exception, where: str) -> StoreError:
    """The StoreError that says what went wrong with the index database and what to do."""
    text = str(getattr(err, "orig", err)).lower()
    if "locked" in text or "busy" in text:
        return StoreLockedError(
            f"the index database at {where} stayed locked past the busy timeout "
            "(LABTRACK_BUSY_TIMEOUT); another process holds it. Runs keep logging to their run "
            "logs; `labtrack sync` applies them later."
        )
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreCorruptError(
            f"the index database at {where} is damaged ({text}). Nothing logged is lost: "
            "run `labtrack sync --rebuild` to rebuild it from the run logs."
        )
    if "readonly" in text or "read-only" in text or "unable to open" in text \
            or "permission" in text:
        return StoreReadOnlyError(
            f"cannot write the index database at {where} ({text}); check that the store "
            "directory is writable (LABTRACK_DIR)."
        )
    return StoreError(f"index database error at {where}: {text}")


def refused(err: Exception) -> UsageError:
    """A value the database cannot hold (a NUL character in PostgreSQL text or JSON, an
    integer out of range): the caller's input is at fault, not the database."""
    text = str(getattr(err, "orig", err)).splitlines()[0]
    return UsageError(f"the index database cannot store this value: {text}")
