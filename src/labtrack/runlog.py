"""The run log: one append-only file per run, the truth the index is built from.

File layout::

    b"LTLOG1\\n"                                    file header
    repeated records:
        u32 length | u32 crc32(body) | body        little endian
        body = u32 header_length | header (JSON) | blob_0 | blob_1 | ...

The JSON header of a record is a :class:`~labtrack.batch.Batch` header with a
``seq`` number, increasing by one per record; ``blob_sizes`` in the header says
how the bytes after it split into blobs (metric chunks). A record whose length
runs past the end of the file or whose checksum does not match is a torn tail:
reading stops there (and reports where), and a writer that reopens the log
truncates it first, so new records never follow garbage.

Exactly one process writes a run log at a time: :class:`RunLogWriter` holds an
exclusive ``flock`` on it.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .errors import ConflictError, RunLogError

FILE_MAGIC = b"LTLOG1\n"
_FRAME = struct.Struct("<II")
_HLEN = struct.Struct("<I")
MAX_RECORD = 1 << 31


class Record:
    """One record of a run log.

    A plain class, as :class:`ScanResult`: ``@dataclass`` builds its methods with
    ``exec`` when the module is imported (~0.7 ms each, inside a process's first run).
    """

    __slots__ = ("blobs", "header", "offset")

    def __init__(self, header: dict[str, Any], blobs: list[bytes], offset: int = 0) -> None:
        self.header = header
        self.blobs = blobs
        self.offset = offset

    def __repr__(self) -> str:
        return f"Record(header={self.header!r}, blobs={self.blobs!r}, offset={self.offset!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.header, self.blobs, self.offset) == (other.header, other.blobs,
                                                           other.offset)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    @property
    def seq(self) -> int:
        return int(self.header["seq"])


def _json_default(obj: Any) -> Any:
    return str(obj)


def encode_record(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    """Frame a record: header JSON (strict, no NaN) plus its blobs."""
    header = dict(header, blob_sizes=[len(b) for b in blobs])
    head = json.dumps(header, separators=(",", ":"), allow_nan=False,
                      default=_json_default).encode()
    body = b"".join([_HLEN.pack(len(head)), head, *blobs])
    return _FRAME.pack(len(body), zlib.crc32(body)) + body


def decode_body(body: bytes, offset: int = 0, with_blobs: bool = True) -> Record:
    (hlen,) = _HLEN.unpack_from(body)
    header = json.loads(body[4 : 4 + hlen])
    blobs: list[bytes] = []
    if with_blobs:
        pos = 4 + hlen
        for size in header.get("blob_sizes", []):
            blobs.append(bytes(body[pos : pos + size]))
            pos += size
    return Record(header, blobs, offset)


class ScanResult:
    """Where a scan of a log ended."""

    __slots__ = ("good_end", "size", "torn")

    def __init__(self, good_end: int, size: int, torn: bool) -> None:
        self.good_end = good_end  # offset just past the last valid record
        self.size = size  # file size
        self.torn = torn  # bytes after good_end that are not a valid record

    def __repr__(self) -> str:
        return f"ScanResult(good_end={self.good_end}, size={self.size}, torn={self.torn})"


def iter_records(
    path: str | Path, after_seq: int = -1, with_blobs: bool = True, scan: ScanResult | None = None
) -> Iterator[Record]:
    """Yield the valid records of a log in order, stopping at a torn tail.

    Args:
        after_seq: skip records whose seq is <= this (their blobs are not read).
        scan: if given, filled in with where the valid part ends.
    """
    with open(path, "rb") as fh:
        magic = fh.read(len(FILE_MAGIC))
        if magic != FILE_MAGIC:
            if scan is not None:
                scan.good_end, scan.size, scan.torn = 0, os.fstat(fh.fileno()).st_size, True
            if len(magic) < len(FILE_MAGIC) and FILE_MAGIC.startswith(magic):
                return  # a log torn inside its header: empty
            raise RunLogError(f"{path} is not a labtrack run log")
        size = os.fstat(fh.fileno()).st_size
        pos = len(FILE_MAGIC)
        torn = False
        while pos < size:
            frame = fh.read(_FRAME.size)
            if len(frame) < _FRAME.size:
                torn = True
                break
            length, crc = _FRAME.unpack(frame)
            if length < 4 or pos + _FRAME.size + length > size:
                torn = True
                break
            body = fh.read(length)
            if zlib.crc32(body) != crc:
                torn = True
                break
            record = decode_body(body, pos, with_blobs=False)
            if record.seq > after_seq:
                if with_blobs:
                    record = decode_body(body, pos, with_blobs=True)
                yield record
            pos += _FRAME.size + length
        if scan is not None:
            scan.good_end, scan.size, scan.torn = pos, size, torn


def read_records(path: str | Path, after_seq: int = -1) -> list[Record]:
    """All valid records after ``after_seq``."""
    return list(iter_records(path, after_seq))


class RunLogWriter:
    """Appends records to one run's log; holds an exclusive lock on it."""

    def __init__(self, path: str | Path, new_folder: bool = False) -> None:
        """Open (or create) the log at ``path`` and lock it. ``new_folder``: the caller
        expects its folder not to exist yet (a new run), so it is made first instead of
        after a failed open."""
        import fcntl

        self.path = Path(path)
        if new_folder:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._fh: IO[bytes] = open(self.path, "a+b")  # noqa: SIM115 - closed in close()
        except FileNotFoundError:  # a new run: its folder (and maybe runs/) is made here
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a+b")  # noqa: SIM115 - closed in close()
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            raise ConflictError(
                f"run log {self.path} is being written by another process; "
                "a run can be active in one process at a time"
            ) from None
        self.last_seq = -1
        self.torn_bytes = 0
        self._recover()

    def _recover(self) -> None:
        size = os.fstat(self._fh.fileno()).st_size
        if size == 0:
            self._fh.write(FILE_MAGIC)  # written out with the first record
            return
        scan = ScanResult(0, 0, False)
        for record in iter_records(self.path, with_blobs=False, scan=scan):
            self.last_seq = record.seq
        if scan.good_end == 0:  # header itself torn
            self._fh.truncate(0)
            self._fh.write(FILE_MAGIC)
            self._fh.flush()
            return
        if scan.torn:
            self.torn_bytes = scan.size - scan.good_end
            self._fh.truncate(scan.good_end)
            self._fh.flush()

    def append(self, header: dict[str, Any], blobs: list[bytes]) -> int:
        """Append one record with the next seq number; returns that seq."""
        seq = self.last_seq + 1
        data = encode_record(dict(header, seq=seq), blobs)
        self._fh.write(data)
        self._fh.flush()
        self.last_seq = seq
        return seq

    def sync(self) -> None:
        """fsync the log (called at finish)."""
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()
