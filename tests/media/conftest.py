"""Fixtures for the media tests: a fake content-addressed blob store."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest


class FakeBlobs:
    """A ``put_blob`` that keeps blobs in a dict, keyed by their sha256 digest."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}

    def __call__(self, data: bytes, ext: str) -> str:
        assert isinstance(data, bytes) and isinstance(ext, str)
        digest = hashlib.sha256(data).hexdigest()
        self.blobs[digest] = (data, ext)
        return digest

    def record(self, media: Any) -> dict[str, Any]:
        """``media.to_record(self)``, round-tripped through JSON with NaN forbidden."""
        return json.loads(json.dumps(media.to_record(self), allow_nan=False))

    def get(self, record: dict[str, Any]) -> bytes:
        """The bytes a record refers to, checking its ext and size."""
        data, ext = self.blobs[record["digest"]]
        assert ext == record["ext"]
        assert len(data) == record["size"]
        return data

    def pil(self, record: dict[str, Any]) -> Any:
        """Decode the image a record refers to with Pillow."""
        from PIL import Image

        image = Image.open(io.BytesIO(self.get(record)))
        image.load()
        return image


@pytest.fixture
def blobs() -> FakeBlobs:
    return FakeBlobs()
