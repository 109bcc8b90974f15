"""Histogram: counts, edges, the 512-bin limit and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from labtrack.media import Histogram


def test_counts_sum_to_sample_size(blobs):
    values = np.random.default_rng(0).normal(size=10_000)
    rec = blobs.record(Histogram(values))
    assert rec["_type"] == "histogram"
    assert len(rec["values"]) == 64 and len(rec["bins"]) == 65
    assert sum(rec["values"]) == 10_000
    assert rec["bins"][0] == values.min() and rec["bins"][-1] == values.max()
    assert all(a < b for a, b in zip(rec["bins"], rec["bins"][1:], strict=False))


def test_num_bins_and_plain_lists(blobs):
    rec = blobs.record(Histogram([1, 2, 2, 3, 3, 3], num_bins=3))
    assert rec["values"] == [1, 2, 3]
    assert rec["bins"] == pytest.approx([1, 5 / 3, 7 / 3, 3])


def test_non_finite_values_are_left_out_and_counted(blobs):
    rec = blobs.record(Histogram([0.0, 1.0, np.nan, np.inf, 0.5]))
    assert sum(rec["values"]) == 3 and rec["dropped"] == 2


def test_np_histogram(blobs):
    counts, edges = np.histogram(np.arange(100), bins=10)
    hist = Histogram(np_histogram=(counts, edges))
    assert hist.histogram == counts.tolist() and hist.bins == edges.tolist()
    rec = blobs.record(hist)
    assert rec["values"] == [10] * 10 and rec["bins"] == edges.tolist()


def test_limits_and_bad_input():
    Histogram(np.arange(1000), num_bins=512)
    with pytest.raises(ValueError, match="between 1 and 512"):
        Histogram(np.arange(1000), num_bins=513)
    with pytest.raises(ValueError, match="at most 512 bins"):
        Histogram(np_histogram=(np.ones(600), np.arange(601)))
    with pytest.raises(ValueError, match="one more edge than counts"):
        Histogram(np_histogram=([1, 2, 3], [0, 1, 2]))
    with pytest.raises(ValueError, match="exactly one"):
        Histogram()
    with pytest.raises(TypeError, match="must be numbers"):
        Histogram(["a", "b"])
    with pytest.raises(TypeError, match="num_bins must be an int"):
        Histogram([1, 2], num_bins=2.5)
