"""Errors of artifact commits, shared by both commit paths (no database import)."""

from __future__ import annotations

from ..errors import ArtifactError


class MissingBlobsError(ArtifactError):
    """A commit names blobs the blob store does not hold (upload them, then retry)."""

    def __init__(self, digests: list[str]) -> None:
        self.digests = digests
        super().__init__(f"{len(digests)} file(s) of the artifact are not in the blob store "
                         f"(first: {digests[0]}); they were removed while it was being logged")
