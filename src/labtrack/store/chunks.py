"""Columnar encoding of metric points.

One chunk holds the points of one series from one flush: steps (int64),
values (float64) and wall times (float64 seconds). Encoded as::

    b"LTC1" | u8 codec | u32 count | compressed(payload)

where the payload is, in order, the delta-encoded steps, the values and the
delta-encoded times in integer microseconds, each byte-shuffled (all first
bytes, then all second bytes ...) so that the compressor sees long runs.
Steps and times of a regularly logged series compress to almost nothing; the
values dominate, at a little under 8 bytes per random float64.

The same bytes go into the run log and into the index, so a chunk is
compressed once.

Encoding has two equal implementations: on numpy arrays (:func:`encode`,
:func:`series_entry`) and on plain Python sequences (:func:`encode_plain`,
:func:`series_entry_plain`), which a run writer uses while the process has not
imported numpy (importing it costs a short script ~70 ms). Both give the same
bytes (``tests/store/test_chunks.py``). Decoding uses numpy, except in :func:`merge`
(the index joining a small flush to a series' last chunk) while numpy is not imported.
"""

from __future__ import annotations

import math
import operator
import struct
import sys
import threading
from array import array
from collections.abc import Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"LTC1"
_HEADER = struct.Struct("<4sBI")
CODEC_ZLIB = 1
CODEC_ZSTD = 2

try:  # zstandard is a dependency; zlib keeps old files and odd installs readable
    import zstandard as _zstd
except ImportError:  # pragma: no cover - exercised only without zstandard
    _zstd = None  # type: ignore[assignment]

# zstd (de)compressor objects must not be shared between threads (the server applies
# batches on a thread pool; sharing one corrupted chunks and crashed the process)
_local = threading.local()


# Chunks of fewer points than this are compressed at zstd level -1, larger ones at level 1.
# On chunks of 200 points, -1 is 2-3x faster for 0-5 % more bytes (a short run's chunks,
# many per second in a sweep); on 20,000 points it saves less time and costs 2-16 % more
# bytes (measured on noisy, smooth, float32-rounded, integer and random-walk series).
FAST_BELOW = 4096


def _zc(count: int) -> Any:
    fast = count < FAST_BELOW
    name = "zc_fast" if fast else "zc"
    zc = getattr(_local, name, None)
    if zc is None:
        zc = _zstd.ZstdCompressor(level=-1 if fast else 1)
        setattr(_local, name, zc)
    return zc


def _zd() -> Any:
    zd = getattr(_local, "zd", None)
    if zd is None:
        zd = _local.zd = _zstd.ZstdDecompressor()
    return zd


class Points(NamedTuple):
    """The points of one series (or one chunk of it)."""

    steps: np.ndarray  # int64
    values: np.ndarray  # float64
    times: np.ndarray  # float64, seconds since the epoch

    def __len__(self) -> int:
        return len(self.steps)


def _shuffle(arr: np.ndarray) -> bytes:
    import numpy as np

    return arr.view(np.uint8).reshape(-1, arr.itemsize).T.tobytes()


def _compress(count: int, payload: bytes) -> bytes:
    if _zstd is not None:
        return _HEADER.pack(MAGIC, CODEC_ZSTD, count) + _zc(count).compress(payload)
    import zlib

    return _HEADER.pack(MAGIC, CODEC_ZLIB, count) + zlib.compress(payload, 1)


def encode(steps: np.ndarray, values: np.ndarray, times: np.ndarray) -> bytes:
    """Encode the points of one chunk; the three arrays have equal length."""
    import numpy as np

    count = len(steps)
    steps = np.asarray(steps, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    micros = np.round(np.asarray(times, dtype=np.float64) * 1e6).astype(np.int64)
    if count:
        dsteps = np.diff(steps, prepend=np.int64(0))
        dtimes = np.diff(micros, prepend=np.int64(0))
    else:
        dsteps = dtimes = np.zeros(0, dtype=np.int64)
    payload = _shuffle(dsteps) + _shuffle(values) + _shuffle(dtimes)
    return _compress(count, payload)


def _deltas(seq: Sequence[int]) -> array[int]:
    """``seq[i] - seq[i - 1]`` (``seq[0]`` first) as int64, like ``np.diff(prepend=0)``."""
    return array("q", map(operator.sub, seq, chain((0,), seq)))


def _shuffle_plain(arr: array[Any]) -> bytes:
    raw = arr.tobytes()
    size = arr.itemsize
    return b"".join([raw[i::size] for i in range(size)])


def micros_of(times: Sequence[float]) -> list[int]:
    """Wall times in whole microseconds, rounded half to even as ``np.round`` does."""
    return [round(t * 1e6) for t in times]


Memo = dict[tuple[int, bool], tuple[Any, bytes]]


def _shuffled_deltas(seq: Sequence[Any], micros: bool, memo: Memo | None) -> bytes:
    """The shuffled deltas of steps (or of times in microseconds), computed once per
    sequence when a ``memo`` is shared: the series of one row group share theirs."""
    key = (id(seq), micros)
    if memo is not None:
        hit = memo.get(key)
        if hit is not None and hit[0] is seq:  # kept alive in the memo: ids are not reused
            return hit[1]
    out = _shuffle_plain(_deltas(micros_of(seq) if micros else seq))
    if memo is not None:
        memo[key] = (seq, out)
    return out


def encode_plain(steps: Sequence[int], values: Sequence[float], times: Sequence[float],
                 memo: Memo | None = None) -> bytes:
    """:func:`encode` without numpy: the same bytes from plain sequences. ``memo``: a
    dict shared by the chunks of one flush, so steps and times shared by several
    series are converted once."""
    floats = values if isinstance(values, array) and values.typecode == "d" else \
        array("d", values)
    payload = (_shuffled_deltas(steps, False, memo) + _shuffle_plain(floats)
               + _shuffled_deltas(times, True, memo))
    return _compress(len(steps), payload)


Stats = tuple[float | None, float | None, float, int]


def finite_stats(values: Sequence[float]) -> Stats:
    """(min, max, sum, count) of the finite values, without numpy; min/max None if none.

    The sum is a plain float sum, like numpy's (``math.fsum`` is exact but took a
    third of this function's time). A finite sum shows that every value is finite
    (one NaN or infinity makes it NaN or infinite), so the common case is one pass
    for the sum and one each for the min and max."""
    if not values:
        return None, None, 0.0, 0
    total = sum(values)
    if total - total == 0.0:
        return min(values), max(values), total, len(values)
    isfinite = math.isfinite  # NaN, an infinity, or finite values beyond float64 summed
    finite = [v for v in values if isfinite(v)]
    if not finite:
        return None, None, 0.0, 0
    return min(finite), max(finite), sum(finite), len(finite)


def finite_stats_array(values: np.ndarray) -> Stats:
    """:func:`finite_stats` of a numpy array."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if not len(finite):
        return None, None, 0.0, 0
    return float(finite.min()), float(finite.max()), float(finite.sum()), len(finite)


def _entry(key: str, kind: str, steps: Any, values: Any, times: Any, backwards: bool,
           stats: Stats) -> dict[str, Any]:
    """A run log record's description of one chunk (count, steps, running-stat parts):
    what ``Store.apply`` merges into the series stats. ``steps``, ``values``, ``times``:
    plain sequences or numpy arrays (only their length, first and last items are read)."""
    from .._jsonsafe import float_out

    lo, hi, total, finite = stats
    return {
        "key": key, "n": len(steps), "kind": kind,
        "first_step": int(steps[0]), "last_step": int(steps[-1]),
        "min": None if lo is None else float_out(float(lo)),
        "max": None if hi is None else float_out(float(hi)),
        "sum": float_out(float(total)), "finite": finite,
        "first": float_out(float(values[0])), "last": float_out(float(values[-1])),
        "last_time": float(times[-1]), "backwards": bool(backwards),
    }


def series_entry_plain(key: str, kind: str, steps: Sequence[int], values: Sequence[float],
                       times: Sequence[float], backwards: bool, memo: Memo | None = None,
                       stats: Stats | None = None) -> tuple[dict[str, Any], bytes]:
    """:func:`series_entry` on plain sequences (no numpy); ``stats``: the
    :func:`finite_stats` of ``values`` if the caller has them."""
    entry = _entry(key, kind, steps, values, times, backwards,
                   stats if stats is not None else finite_stats(values))
    return entry, encode_plain(steps, values, times, memo)


def series_entry(key: str, kind: str, steps: np.ndarray, values: np.ndarray,
                 times: np.ndarray, backwards: bool,
                 stats: Stats | None = None) -> tuple[dict[str, Any], bytes]:
    """A run log record's description of one chunk and the chunk's encoded bytes;
    ``stats``: the :func:`finite_stats_array` of ``values`` if the caller has them."""
    entry = _entry(key, kind, steps, values, times, backwards,
                   stats if stats is not None else finite_stats_array(values))
    return entry, encode(steps, values, times)


def _payload(blob: bytes, codec: int, count: int) -> bytes:
    body = memoryview(blob)[_HEADER.size :]
    if codec == CODEC_ZSTD:
        if _zstd is None:  # pragma: no cover
            raise RuntimeError("this chunk needs the zstandard package")
        payload: bytes = _zd().decompress(body, max_output_size=count * 24)
    elif codec == CODEC_ZLIB:
        import zlib

        payload = zlib.decompress(body)
    else:
        raise ValueError(f"unknown chunk codec {codec}")
    if len(payload) != count * 24:
        raise ValueError(f"damaged metric chunk: {len(payload)} bytes for {count} points")
    return payload


def decode(blob: bytes) -> Points:
    """Decode one chunk made by :func:`encode`."""
    return decode_all([blob])


def decode_all(blobs: list[bytes]) -> Points:
    """Decode consecutive chunks of one series into one Points, as
    ``concat([decode(b) for b in blobs])`` would, with one copy of each byte instead of
    three: every chunk is unshuffled straight into its slice of the result."""
    import numpy as np

    heads = []
    for blob in blobs:
        magic, codec, count = _HEADER.unpack_from(blob)
        if magic != MAGIC:
            raise ValueError("not a labtrack metric chunk")
        heads.append((codec, count))
    total = sum(count for _, count in heads)
    steps = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float64)
    micros = np.empty(total, dtype=np.int64)
    pos = 0
    for blob, (codec, count) in zip(blobs, heads, strict=True):
        payload = _payload(blob, codec, count)
        end = pos + count
        for i, out in enumerate((steps, values, micros)):
            grid = np.frombuffer(payload, dtype=np.uint8, count=count * 8, offset=i * count * 8)
            np.copyto(out[pos:end].view(np.uint8).reshape(count, 8), grid.reshape(8, count).T)
        np.cumsum(steps[pos:end], out=steps[pos:end])  # deltas restart at each chunk
        np.cumsum(micros[pos:end], out=micros[pos:end])
        pos = end
    return Points(steps, values, micros / 1e6)


def merge(old: bytes, new: bytes) -> tuple[bytes, int, int]:
    """Two consecutive chunks of one series as one: ``(chunk, count, last step)``, the
    bytes ``encode(*concat([decode(old), decode(new)]))`` gives. The index merges a
    small flush into the series' last small chunk this way; while the process has not
    imported numpy (a run writer of a script without it) this is done in plain Python,
    as the writer encodes (:func:`encode_plain`)."""
    if "numpy" in sys.modules:
        merged = concat([decode(old), decode(new)])
        return encode(*merged), len(merged), int(merged.steps.max())
    return _merge_plain(old, new)


def _merge_plain(old: bytes, new: bytes) -> tuple[bytes, int, int]:
    """:func:`merge` without numpy."""
    steps: list[int] = []
    values = array("d")
    micros: list[int] = []
    for blob in (old, new):
        s, v, m = _decode_plain(blob)
        steps += s
        values += v
        micros += m
    times = [m / 1e6 for m in micros]  # as decode() gives them, to encode the same bytes
    return encode_plain(steps, values, times), len(steps), max(steps)


def _decode_plain(blob: bytes) -> tuple[list[int], array[float], list[int]]:
    """:func:`decode` of one chunk without numpy: (steps, values, times in microseconds)."""
    from itertools import accumulate

    magic, codec, count = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ValueError("not a labtrack metric chunk")
    payload = _payload(blob, codec, count)
    size = count * 8
    steps, values, micros = array("q"), array("d"), array("q")
    columns: tuple[array[Any], ...] = (steps, values, micros)
    for i, column in enumerate(columns):
        section = payload[i * size:(i + 1) * size]
        raw = bytearray(size)
        for b in range(8):  # undo the byte shuffle: byte b of every item was stored together
            raw[b::8] = section[b * count:(b + 1) * count]
        column.frombytes(raw)
    return list(accumulate(steps)), values, list(accumulate(micros))


def concat(parts: list[Points]) -> Points:
    """Join chunks in order."""
    import numpy as np

    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return Points(empty_i, empty_f, empty_f.copy())
    if len(parts) == 1:
        return parts[0]
    return Points(
        np.concatenate([p.steps for p in parts]),
        np.concatenate([p.values for p in parts]),
        np.concatenate([p.times for p in parts]),
    )
