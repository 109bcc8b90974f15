"""The columnar chunk codec: one chunk, many chunks read at once, damaged chunks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from labtrack.store import chunks


def _chunk(rng: np.random.Generator, n: int) -> bytes:
    steps = np.sort(rng.integers(-5, 10**12, n))
    values = rng.normal(size=n) * 1e300
    values[::7] = math.nan
    values[1::11] = -math.inf
    times = rng.uniform(1e9, 2e9, n)
    return chunks.encode(steps, values, times)


def test_a_chunk_decodes_to_what_was_encoded() -> None:
    rng = np.random.default_rng(5)
    steps = np.sort(rng.integers(-5, 10**12, 1000))
    values = rng.normal(size=1000)
    values[::9] = math.nan
    times = np.round(rng.uniform(1e9, 2e9, 1000), 6)
    back = chunks.decode(chunks.encode(steps, values, times))
    assert np.array_equal(back.steps, steps)
    assert np.array_equal(back.values, values, equal_nan=True)
    assert np.allclose(back.times, times, rtol=0, atol=1e-6)  # microseconds kept


def test_decode_all_equals_decoding_each_chunk_and_joining() -> None:
    rng = np.random.default_rng(3)
    blobs = [_chunk(rng, n) for n in (5, 1, 4000, 0, 123, 4096)]
    together = chunks.decode_all(blobs)
    joined = chunks.concat([chunks.decode(b) for b in blobs])
    assert len(together) == 8225
    assert np.array_equal(together.steps, joined.steps)  # deltas restart at each chunk
    assert np.array_equal(together.values, joined.values, equal_nan=True)
    assert np.array_equal(together.times, joined.times)
    single = chunks.decode_all(blobs[2:3])
    assert np.array_equal(single.values, chunks.decode(blobs[2]).values, equal_nan=True)


def test_a_damaged_chunk_is_refused() -> None:
    blob = _chunk(np.random.default_rng(4), 100)
    with pytest.raises(ValueError, match="not a labtrack metric chunk"):
        chunks.decode_all([blob, b"XXXX" + blob[4:]])
    import struct

    lying = blob[:5] + struct.pack("<I", 99) + blob[9:]  # header says 99 points, data has 100
    with pytest.raises(Exception, match="damaged|size|decompress"):
        chunks.decode(lying)
