"""The blob store contract on the local file system and on S3 (moto's server on loopback)."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labtrack.blobs.local import LocalBlobStore
from labtrack.errors import ArtifactError, NotFoundError


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    import uuid

    import boto3

    from labtrack.blobs.s3 import S3BlobStore

    endpoint = request.getfixturevalue("s3_endpoint")
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = f"b-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    return S3BlobStore(f"s3://{bucket}/team", client=client)


def test_put_get_and_dedupe(blobs: Any) -> None:
    data = b"hello blobs" * 1000
    digest = blobs.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert blobs.exists(digest)
    assert blobs.put_bytes(data) == digest
    assert blobs.get_bytes(digest) == data
    with blobs.open(digest) as fh:
        assert fh.read(5) == b"hello"


def test_streams_large_content(blobs: Any, tmp_path: Path) -> None:
    big = os.urandom(3 * (1 << 20) + 17)
    path = tmp_path / "big.bin"
    path.write_bytes(big)
    digest, size = blobs.put_file(path)
    assert size == len(big) and digest == hashlib.sha256(big).hexdigest()
    digest2, _ = blobs.put_stream(io.BytesIO(big))
    assert digest2 == digest and blobs.get_bytes(digest) == big


def test_missing_and_bad_digests(blobs: Any) -> None:
    missing = "0" * 64
    assert not blobs.exists(missing)
    with pytest.raises(NotFoundError):
        blobs.open(missing)
    with pytest.raises(ValueError):
        blobs.exists("../../etc/passwd")


def test_delete(blobs: Any) -> None:
    digest = blobs.put_bytes(b"to delete")
    blobs.delete(digest)
    assert not blobs.exists(digest)


def test_tampered_local_blob_is_detected(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "b")
    digest = store.put_bytes(b"original")
    target = store.path(digest)
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    with pytest.raises(ArtifactError, match="corrupt"):
        store.get_bytes(digest)
