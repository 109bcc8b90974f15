"""The labtrack exception tree.

::

    LabtrackError
     ├── UsageError            a call that cannot work as made (log after finish, bad resume ...)
     │    └── ConfigError      a bad sweep config, bad settings value, bad run config
     ├── FilterError           a malformed filter expression (carries the position)
     ├── NotFoundError         an unknown project, run, sweep, artifact or report
     ├── ConflictError         the operation clashes with the current state (run active elsewhere)
     ├── StoreError            the index database cannot be used
     │    ├── StoreLockedError     busy for longer than the timeout
     │    ├── StoreCorruptError    not a database / malformed; `labtrack sync --rebuild` fixes it
     │    └── StoreReadOnlyError   the store directory or file cannot be written
     ├── RunLogError           a run log that cannot be read or written
     ├── ArtifactError         bad artifact content, digest mismatch, changed file
     └── AuthError             missing or wrong API key, not allowed (team server)

Every error carries a message that says what went wrong and what to do.
"""

from __future__ import annotations


class LabtrackError(Exception):
    """Base class of every error raised by labtrack."""


class UsageError(LabtrackError):
    """A call that cannot work as made."""


class ConfigError(UsageError):
    """Invalid configuration (sweep config, settings, run config)."""


class FilterError(LabtrackError):
    """A malformed filter expression.

    Attributes:
        position: 0-based character offset of the problem in ``expression``.
        expression: the text that failed to parse.
    """

    def __init__(self, message: str, expression: str = "", position: int = 0) -> None:
        self.message = message
        self.expression = expression
        self.position = position
        text = message
        if expression:
            text = f"{message} at position {position}\n  {expression}\n  {' ' * position}^"
        super().__init__(text)


class NotFoundError(LabtrackError, KeyError):
    """An unknown project, run, sweep, artifact or report."""

    def __str__(self) -> str:  # KeyError quotes its message; we do not.
        return str(self.args[0]) if self.args else ""


class ConflictError(LabtrackError):
    """The operation clashes with the current state."""


class StoreError(LabtrackError):
    """The index database cannot be used."""


class StoreLockedError(StoreError):
    """The database stayed locked for longer than the busy timeout."""


class StoreCorruptError(StoreError):
    """The database file is damaged; rebuild it from the run logs."""


class StoreReadOnlyError(StoreError):
    """The store directory or database cannot be written."""


class RunLogError(LabtrackError):
    """A run log that cannot be read or written."""


class ArtifactError(LabtrackError):
    """Bad artifact content or a digest mismatch."""


class AuthError(LabtrackError):
    """Missing or invalid credentials, or an action the user may not perform."""
