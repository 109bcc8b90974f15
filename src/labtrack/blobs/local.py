"""Blobs on the local file system: ``<root>/sha256/ab/cdef...``.

Writes go to a temporary file in the same directory and are renamed into place
once complete, so a reader never sees half a blob and a crash leaves at most a
stray temporary file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import ArtifactError, NotFoundError

CHUNK = 1 << 20


def _valid(digest: str) -> bool:
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


class LocalBlobStore:
    """A content-addressed directory of blobs."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """Where the blob with this sha256 hex digest lives (whether or not it exists)."""
        if not _valid(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        return self.root / "sha256" / digest[:2] / digest[2:]

    def exists(self, digest: str) -> bool:
        return self.path(digest).exists()

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; returns their sha256 hex digest."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if not target.exists():
            self._write_atomic(target, iter([data]))
        return digest

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream chunk by chunk (memory stays flat); returns (digest, size)."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while True:
                    block = stream.read(CHUNK)
                    if not block:
                        break
                    hasher.update(block)
                    size += len(block)
                    out.write(block)
            digest = hasher.hexdigest()
            target = self.path(digest)
            if target.exists():
                os.unlink(tmp)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp, target)
            return digest, size
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def put_file(self, path: str | Path) -> tuple[str, int]:
        """Store a file's content; returns (digest, size)."""
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def _write_atomic(self, target: Path, blocks: Iterator[bytes]) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                for block in blocks:
                    out.write(block)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {digest} is missing from {self.root}") from None

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        with self.open(digest) as fh:
            data = fh.read()
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise ArtifactError(f"blob {digest} is corrupt: its content does not match its digest")
        return data

    def delete(self, digest: str) -> None:
        try:
            self.path(digest).unlink()
        except FileNotFoundError:
            pass
