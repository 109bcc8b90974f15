"""``Histogram``: bin edges and counts, from raw values or a numpy histogram."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from labtrack.media._pixels import as_array
from labtrack.media.base import Media, PutBlob, json_safe


class Histogram(Media):
    """A histogram to log, like ``wandb.Histogram``.

    Args:
        sequence: values to bin (any array-like of numbers; NaN and infinite
            values are left out and counted in ``dropped``).
        np_histogram: a ``(counts, edges)`` pair such as ``numpy.histogram`` returns.
        num_bins: number of bins for ``sequence``, 1 to 512.

    Attributes:
        histogram: the counts, one per bin.
        bins: the bin edges, one more than the counts.

    Raises:
        TypeError: for non-numeric values.
        ValueError: for neither or both inputs, more than 512 bins, or edges that
            do not match the counts.
    """

    _type = "histogram"
    MAX_LENGTH = 512

    def __init__(
        self,
        sequence: Sequence[float] | Any | None = None,
        np_histogram: tuple[Any, Any] | None = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        self.dropped = 0
        if (sequence is None) == (np_histogram is None):
            raise ValueError("Histogram needs exactly one of sequence or np_histogram")
        if np_histogram is not None:
            if not isinstance(np_histogram, (tuple, list)) or len(np_histogram) != 2:
                raise ValueError("np_histogram must be a (counts, bin_edges) pair")
            counts = _numeric(np_histogram[0], "np_histogram counts").ravel()
            edges = _numeric(np_histogram[1], "np_histogram bin edges").ravel()
            if len(edges) != len(counts) + 1:
                raise ValueError(
                    f"np_histogram has {len(counts)} counts but {len(edges)} bin edges; "
                    "expected one more edge than counts"
                )
            if not np.isfinite(edges).all() or (np.diff(edges) < 0).any():
                raise ValueError("np_histogram bin edges must be finite and increasing")
        else:
            if isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer)):
                raise TypeError(f"num_bins must be an int, got {type(num_bins).__name__}")
            if not 1 <= num_bins <= self.MAX_LENGTH:
                raise ValueError(
                    f"num_bins must be between 1 and {self.MAX_LENGTH}, got {num_bins}"
                )
            values = _numeric(sequence, "histogram sequence").astype(np.float64).ravel()
            finite = np.isfinite(values)
            self.dropped = int(values.size - finite.sum())
            counts, edges = np.histogram(values[finite], bins=int(num_bins))
        if len(counts) > self.MAX_LENGTH:
            raise ValueError(f"a histogram has at most {self.MAX_LENGTH} bins, got {len(counts)}")
        self.histogram: list[float] = counts.tolist()
        self.bins: list[float] = edges.astype(np.float64).tolist()

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Return ``{"_type": "histogram", "bins": edges, "values": counts}``."""
        record: dict[str, Any] = {
            "_type": self._type,
            "bins": json_safe(self.bins),
            "values": json_safe(self.histogram),
        }
        if self.dropped:
            record["dropped"] = self.dropped
        return record

    def __repr__(self) -> str:
        return f"<Histogram {len(self.histogram)} bins>"


def _numeric(data: Any, what: str) -> Any:
    import numpy as np

    if isinstance(data, (str, bytes)):
        raise TypeError(f"{what} must be numbers, got {type(data).__name__}")
    try:
        arr = as_array(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be numbers: {exc}") from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numbers, got dtype {arr.dtype}")
    return np.atleast_1d(arr)
