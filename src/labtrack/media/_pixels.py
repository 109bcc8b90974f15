"""Array helpers shared by Image and Video: tensors to numpy, layouts, uint8 pixels.

numpy and Pillow are imported inside the functions: this module is imported with
``labtrack.media`` and must stay light.
"""

from __future__ import annotations

import io
from typing import Any

CHANNELS = (1, 2, 3, 4)


def as_array(data: Any) -> Any:
    """Return ``data`` (numpy array, torch/jax tensor, nested list) as a numpy array."""
    import numpy as np

    if not isinstance(data, np.ndarray):
        if hasattr(data, "detach"):  # torch: leave the autograd graph, come back to the CPU
            data = data.detach()
        if hasattr(data, "cpu"):
            data = data.cpu()
        if hasattr(data, "numpy") and callable(data.numpy):
            data = data.numpy()
    arr = np.asarray(data)
    if arr.dtype == object:
        raise TypeError("expected numeric array data, got an array of Python objects")
    return arr


def to_uint8(arr: Any, what: str = "image") -> Any:
    """Convert pixel values to uint8 the way wandb documents.

    Floats are rescaled to [0, 1] when they have negative values, then multiplied
    by 255 when they are at most 1; integers are clipped to 0..255; booleans map
    to 0/255.

    Raises:
        TypeError: for non-numeric data.
        ValueError: for NaN or infinite values.
    """
    import numpy as np

    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.integer):
        return np.clip(arr, 0, 255).astype(np.uint8)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what} data must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} data contains NaN or infinite values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0:
        arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        hi = float(arr.max())
    if hi <= 1.0:
        arr = arr * 255.0
    return np.clip(np.rint(arr), 0, 255).astype(np.uint8)


def to_hwc(arr: Any, what: str = "image") -> Any:
    """Bring a 2-D (H, W), HWC or CHW array to (H, W) or (H, W, C) with C in 2..4.

    A 3-D array whose last dimension is 1-4 is taken as HWC; otherwise one whose
    first dimension is 1-4 is taken as CHW. Leading dimensions of size 1 are dropped.

    Raises:
        ValueError: for any other shape, naming it.
    """
    import numpy as np

    shape = arr.shape
    while arr.ndim > 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim == 3:
        if arr.shape[-1] not in CHANNELS and arr.shape[0] in CHANNELS:
            arr = np.transpose(arr, (1, 2, 0))
        elif arr.shape[-1] not in CHANNELS:
            raise ValueError(
                f"{what} array of shape {shape} has no channel dimension of size 1-4 "
                "(expected (H, W), (H, W, C) or (C, H, W))"
            )
        if arr.shape[-1] == 1:
            arr = arr[..., 0]
    if arr.ndim != 2 and arr.ndim != 3:
        raise ValueError(
            f"{what} array must have shape (H, W), (H, W, C) or (C, H, W), got {shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{what} array of shape {shape} is empty")
    return np.ascontiguousarray(arr)


def encode_pil(image: Any, file_type: str) -> bytes:
    """Encode a PIL image as ``file_type`` (png, jpg, gif, webp, bmp) and return the bytes."""
    fmt = {"png": "PNG", "jpg": "JPEG", "gif": "GIF", "webp": "WEBP", "bmp": "BMP"}[file_type]
    if fmt == "JPEG" and image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("L" if image.mode in ("1", "LA", "I", "I;16", "F") else "RGB")
    if fmt == "PNG" and image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return buf.getvalue()
