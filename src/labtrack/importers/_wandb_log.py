"""Read the records of a wandb transaction log (``run-<id>.wandb``).

wandb keeps everything a run logs in this file, in LevelDB's log format: a
7-byte file header (``":W&B"``, magic ``0xBEE1``, version 0), then 32 KiB
blocks of chunks, each ``u32 crc32 | u16 length | u8 type | data``, where the
type says whether the chunk is a whole record or its first, middle or last
part, and the checksum (crc32 of the type byte, then of the data) guards each
chunk. Every record is a ``wandb_internal_pb2.Record`` protobuf, decoded with
wandb's own message classes. wandb's own Python reader of this format
(``wandb.sdk.internal.datastore``) left the package when its core moved to Go,
so the format is read here. A torn or corrupt tail (a run that crashed while
writing) ends the read; everything before it is kept.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HEADER = struct.Struct("<4sHB")
CHUNK = struct.Struct("<IHB")
IDENT = b":W&B"
MAGIC = 0xBEE1
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
_TYPE_CRC = {t: zlib.crc32(bytes([t])) for t in (FULL, FIRST, MIDDLE, LAST)}


class WandbLogError(ValueError):
    """The file is not a wandb transaction log."""


def iter_payloads(path: str | Path, torn: list[int] | None = None) -> Iterator[bytes]:
    """Yield the raw record payloads of a ``.wandb`` file in order.

    Args:
        torn: if given, the offset where a torn or corrupt tail starts is appended.
    Raises:
        WandbLogError: the file header is not a wandb log header.
    """
    data = Path(path).read_bytes()
    if len(data) < HEADER.size:
        raise WandbLogError(f"{path} is too short to be a wandb log")
    ident, magic, version = HEADER.unpack_from(data)
    if ident != IDENT or magic != MAGIC or version != 0:
        raise WandbLogError(f"{path} is not a wandb transaction log (or a newer version)")
    pos = HEADER.size
    parts: list[bytes] | None = None
    while pos < len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK.size:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        if pos + CHUNK.size > len(data):  # a chunk header cut short: torn as well
            if torn is not None and pos < len(data):
                torn.append(pos)
            break
        crc, length, kind = CHUNK.unpack_from(data, pos)
        start = pos + CHUNK.size
        chunk = data[start:start + length]
        if kind not in _TYPE_CRC or len(chunk) < length or \
                zlib.crc32(chunk, _TYPE_CRC[kind]) != crc:
            if kind == 0 and crc == 0 and length == 0:  # zero padding at the end
                break
            if torn is not None:
                torn.append(pos)
            return
        pos = start + length
        if kind == FULL:
            parts = None
            yield chunk
        elif kind == FIRST:
            parts = [chunk]
        elif parts is not None:
            parts.append(chunk)
            if kind == LAST:
                yield b"".join(parts)
                parts = None


def iter_records(path: str | Path, torn: list[int] | None = None) -> Iterator[Any]:
    """Yield the ``wandb_internal_pb2.Record`` messages of a ``.wandb`` file."""
    from wandb.proto import wandb_internal_pb2

    for payload in iter_payloads(path, torn):
        record = wandb_internal_pb2.Record()  # type: ignore[attr-defined]
        record.ParseFromString(payload)
        yield record
