"""Blobs in an S3-compatible bucket (the team server): ``s3://bucket/prefix/sha256/ab/cdef…``.

Same methods as :class:`~labtrack.blobs.local.LocalBlobStore` that the server
uses. Uploads stream through boto3's multipart transfer (memory stays flat);
the object key is the content digest, so an upload that is retried or done
twice stores the same object once.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import ArtifactError, NotFoundError, StoreError
from .local import _valid, copy_hashing


class S3BlobStore:
    """A content-addressed blob store in S3 (or MinIO, moto, Ceph ...)."""

    def __init__(self, uri: str, *, endpoint_url: str | None = None,
                 client: Any | None = None) -> None:
        if not uri.startswith("s3://"):
            raise ValueError(f"not an s3:// URI: {uri!r}")
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        if not bucket:
            raise ValueError(f"no bucket in {uri!r}")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3

            client = boto3.client(
                "s3", endpoint_url=endpoint_url or os.environ.get("LABTRACK_S3_ENDPOINT_URL"))
        self.client = client

    def key(self, digest: str) -> str:
        if not _valid(digest):
            raise ValueError(f"not a sha256 hex digest: {digest!r}")
        parts = [self.prefix] if self.prefix else []
        return "/".join([*parts, "sha256", digest[:2], digest[2:]])

    def _error(self, err: Exception, what: str) -> StoreError:
        return StoreError(f"S3 bucket {self.bucket}: cannot {what}: {err}")

    def exists(self, digest: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._error(err, "check a blob") from err

    def put_bytes(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            self.client.put_object(Bucket=self.bucket, Key=self.key(digest), Body=data)
        return digest

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Hash while spooling to a temporary file, then upload it under its digest."""
        with tempfile.TemporaryFile() as spool:
            digest, size = copy_hashing(stream, spool)
            if not self.exists(digest):
                spool.seek(0)
                self.client.upload_fileobj(spool, self.bucket, self.key(digest))
        return digest, size

    def put_file(self, path: str | Path) -> tuple[str, int]:
        with open(path, "rb") as fh:
            return self.put_stream(fh)

    def open(self, digest: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(digest))["Body"]
        except ClientError as err:
            raise NotFoundError(f"blob {digest} is missing from s3://{self.bucket}") from err
        return _Readable(body)  # type: ignore[return-value]

    def get_bytes(self, digest: str, verify: bool = True) -> bytes:
        with self.open(digest) as fh:
            data = fh.read()
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise ArtifactError(f"blob {digest} is corrupt: its content does not match its digest")
        return data

    def size(self, digest: str) -> int:
        head = self.client.head_object(Bucket=self.bucket, Key=self.key(digest))
        return int(head["ContentLength"])

    def delete(self, digest: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.key(digest))


class _Readable(io.RawIOBase):
    """A botocore streaming body as a closable binary file."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        return self._body.read() if size is None or size < 0 else self._body.read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


def open_blobs(uri: str | Path) -> Any:
    """A blob store for ``uri``: ``s3://bucket/prefix`` or a local directory."""
    text = str(uri)
    if text.startswith("s3://"):
        return S3BlobStore(text)
    from .local import LocalBlobStore

    return LocalBlobStore(Path(text).expanduser())
