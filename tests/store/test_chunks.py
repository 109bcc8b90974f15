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


@pytest.mark.parametrize("n", [1, 2, 17, 5000])
def test_the_plain_encoder_gives_the_numpy_encoders_bytes(n: int) -> None:
    rng = np.random.default_rng(n)
    steps = np.cumsum(rng.integers(-3, 50, n))  # some steps go backwards
    values = rng.normal(size=n) * 10.0 ** rng.integers(-300, 300, n)
    values[::7] = math.nan
    values[3::13] = math.inf
    values[5::17] = -math.inf
    times = rng.uniform(1e9, 2e9, n)
    times[::5] = np.round(times[::5], 6) + 0.5e-6  # exact half microseconds: round half even
    plain_steps, plain_values, plain_times = steps.tolist(), values.tolist(), times.tolist()
    assert chunks.encode_plain(plain_steps, plain_values, plain_times) == \
        chunks.encode(steps, values, times)
    entry, blob = chunks.series_entry_plain("k", "float", plain_steps, plain_values,
                                            plain_times, True)
    want_entry, want_blob = chunks.series_entry("k", "float", steps, values, times, True)
    assert blob == want_blob
    assert entry.pop("sum") == pytest.approx(want_entry.pop("sum"), rel=1e-12)
    assert entry == want_entry


@pytest.mark.parametrize("sizes", [(1, 1), (3, 200), (500, 2500), (4000, 96)])
def test_merging_without_numpy_gives_the_numpy_merges_bytes(sizes: tuple[int, int]) -> None:
    """The index merges a small flush into the series' last chunk; a process without
    numpy does it in plain Python, with the same result."""
    rng = np.random.default_rng(sum(sizes))
    blobs = []
    start = 0
    for n in sizes:
        steps = start + np.cumsum(rng.integers(0, 3, n))
        values = rng.normal(size=n)
        values[::11] = math.nan
        times = rng.uniform(1.7e9, 1.8e9, n)
        blobs.append(chunks.encode(steps, values, times))
        start = int(steps[-1]) - 5  # the second chunk may go back a little
    want = chunks.concat([chunks.decode(blobs[0]), chunks.decode(blobs[1])])
    assert chunks.merge(*blobs) == (chunks.encode(*want), len(want), int(want.steps.max()))
    assert chunks._merge_plain(*blobs) == chunks.merge(*blobs)


def test_plain_stats_of_nothing_finite() -> None:
    assert chunks.finite_stats([math.nan, math.inf]) == (None, None, 0.0, 0)
    assert chunks.finite_stats([1e308, 1e308, -1.0]) == (-1.0, 1e308, math.inf, 3)
