"""The numbers behind the classification charts, computed with numpy only.

Class resolution (which column of ``probas`` is which class, and what each class
is called) lives here too, so every chart agrees on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def as_1d(values: Any, what: str) -> Any:
    """A 1-D numpy array of ``values``.

    Raises:
        TypeError: for a str or a scalar.
        ValueError: for more than one dimension.
    """
    import numpy as np

    from labtrack.media._pixels import as_array

    if values is None or isinstance(values, (str, bytes)) or np.isscalar(values):
        raise TypeError(f"{what} must be a sequence of values, got {type(values).__name__}")
    arr = as_array(values) if hasattr(values, "shape") else np.asarray(list(values))
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int64)
    return arr


def as_probas(probas: Any, n: int, what: str = "y_probas") -> tuple[Any, bool]:
    """An (n, k) float array of class scores, and whether a 1-D (binary) input was given.

    A 1-D input holds the probability of the positive class and becomes [1 - p, p].

    Raises:
        ValueError: for a wrong shape, a row count other than ``n``, or non-finite values.
        TypeError: for non-numeric values.
    """
    import numpy as np

    from labtrack.media._pixels import as_array

    arr = as_array(probas)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    binary = arr.ndim == 1
    if binary:
        arr = np.stack([1.0 - arr, arr], axis=1)
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"{what} must be (n_samples, n_classes) with 2+ classes, got {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{what} has {arr.shape[0]} rows but y_true has {n} values")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return arr, binary


def resolve_classes(
    observed: Any, n_columns: int | None = None, labels: Sequence[Any] | None = None
) -> tuple[list[Any], list[str]]:
    """Decide the class list and display names.

    Integer classes in ``0..n-1`` (n from ``n_columns`` or ``labels``) are indices
    and ``labels`` their names; otherwise ``labels`` that contain every observed
    class fix the class order; otherwise the sorted observed classes are used
    (and must number ``n_columns`` when that is given).

    Raises:
        ValueError: when the classes, ``labels`` and ``n_columns`` disagree.
    """
    import numpy as np

    uniq = np.unique(observed)
    found = uniq.tolist()
    if labels is not None:
        labels = list(labels)
        if n_columns is not None and len(labels) != n_columns:
            raise ValueError(f"labels has {len(labels)} names but there are {n_columns} classes")
    n = n_columns if n_columns is not None else (len(labels) if labels is not None else None)
    if (
        n is not None
        and uniq.dtype.kind in "iu"
        and (not found or (min(found) >= 0 and max(found) < n))
    ):
        classes: list[Any] = list(range(n))
    elif labels is not None and set(found) <= set(labels):
        classes = labels
    elif labels is None and (n is None or len(found) == n):
        classes = found
    else:
        raise ValueError(
            f"cannot match the classes found {found[:10]} to "
            + (f"{n} score columns" if n_columns is not None else f"labels {(labels or [])[:10]}")
            + "; integer classes must be 0..n-1, other classes must all appear in labels"
        )
    names = [str(v) for v in labels] if labels is not None else [str(c) for c in classes]
    return classes, names


def class_index(values: Any, classes: list[Any], what: str) -> Any:
    """Map each value to its position in ``classes``.

    Raises:
        ValueError: for a value that is not one of the classes.
    """
    import numpy as np

    uniq, inverse = np.unique(values, return_inverse=True)
    lookup = {c: i for i, c in enumerate(classes)}
    unknown = [u for u in uniq.tolist() if u not in lookup]
    if unknown:
        raise ValueError(f"{what} holds values that are not classes: {unknown[:10]}")
    return np.array([lookup[u] for u in uniq.tolist()], dtype=np.int64)[inverse.ravel()]


def confusion(true_idx: Any, pred_idx: Any, n: int) -> Any:
    """The (n, n) count matrix: row = actual class, column = predicted class."""
    import numpy as np

    return np.bincount(true_idx * n + pred_idx, minlength=n * n).reshape(n, n)


def _counts(positive: Any, scores: Any) -> tuple[Any, Any]:
    """False and true positives at each distinct score threshold, highest first."""
    import numpy as np

    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(positive)[last]
    fps = last + 1 - tps
    return fps.astype(np.float64), tps.astype(np.float64)


def roc(positive: Any, scores: Any) -> tuple[Any, Any, float]:
    """ROC curve ``(fpr, tpr, auc)`` starting at (0, 0); needs both classes present."""
    import numpy as np

    fps, tps = _counts(positive, scores)
    fpr, tpr = np.r_[0.0, fps / fps[-1]], np.r_[0.0, tps / tps[-1]]
    return fpr, tpr, trapezoid(fpr, tpr)


def precision_recall(positive: Any, scores: Any) -> tuple[Any, Any, float]:
    """PR curve ``(recall, precision, average precision)``, recall rising from 0."""
    import numpy as np

    fps, tps = _counts(positive, scores)
    recall = np.r_[0.0, tps / tps[-1]]
    precision = np.r_[1.0, tps / (tps + fps)]
    ap = float(np.sum(np.diff(recall) * precision[1:]))
    return recall, precision, ap


def trapezoid(x: Any, y: Any) -> float:
    """The area under the polyline through (x, y)."""
    import numpy as np

    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def calibration(confidence: Any, correct: Any, n_bins: int = 10) -> tuple[Any, Any, Any, float]:
    """Reliability bins: ``(mean confidence, accuracy, count)`` per non-empty bin, and ECE."""
    import numpy as np

    bins = np.clip((confidence * n_bins).astype(np.int64), 0, n_bins - 1)
    count = np.bincount(bins, minlength=n_bins)
    conf_sum = np.bincount(bins, weights=confidence, minlength=n_bins)
    hit_sum = np.bincount(bins, weights=correct.astype(np.float64), minlength=n_bins)
    keep = count > 0
    mean_conf = conf_sum[keep] / count[keep]
    accuracy = hit_sum[keep] / count[keep]
    ece = float(np.sum(count[keep] * np.abs(accuracy - mean_conf)) / max(count.sum(), 1))
    return mean_conf, accuracy, count[keep], ece
