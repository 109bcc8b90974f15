"""``Image``: a picture from an array, a PIL image or a file, encoded once at construction."""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

from labtrack.media._pixels import as_array, encode_pil, to_hwc, to_uint8
from labtrack.media.base import Media, PutBlob, blob_ref, json_safe

FILE_TYPES = ("png", "jpg", "gif", "webp", "bmp")
# Formats a browser shows as they are: a file in one of these is stored unchanged.
_BROWSER_EXTS = ("png", "jpg", "gif", "webp")


def _norm_ext(ext: str) -> str:
    ext = ext.lower().lstrip(".")
    return "jpg" if ext == "jpeg" else ext


def _check_file_type(file_type: str | None) -> str | None:
    if file_type is None:
        return None
    if not isinstance(file_type, str) or _norm_ext(file_type) not in FILE_TYPES:
        raise ValueError(f"file_type must be one of {', '.join(FILE_TYPES)}, got {file_type!r}")
    return _norm_ext(file_type)


class Image(Media):
    """An image to log, like ``wandb.Image``.

    Args:
        data_or_path: a numpy array or tensor of shape (H, W), (H, W, C) or (C, H, W)
            with C in 1-4 (floats in [0, 1] are scaled to 0-255), a PIL image, a
            path to an image file, or another ``Image``.
        mode: a PIL mode to convert to (``"L"``, ``"RGB"``, ``"RGBA"`` ...).
        caption: text shown under the image.
        grouping: wandb's grouping number, kept as is.
        classes: class descriptions, a list of ``{"id": int, "name": str}``.
        boxes: ``{key: {"box_data": [{"position": {...}, "class_id": int, ...}],
            "class_labels": {id: name}}}``.
        masks: ``{key: {"mask_data": 2-D int array of the image's size,
            "class_labels": {id: name}}}`` (or ``{"path": png_file}`` instead of mask_data).
        file_type: encoding: png (default), jpg, gif, webp or bmp.
        normalize: scale float pixels as described; when False values are clipped to 0-255.

    Raises:
        TypeError: for data of an unsupported type.
        ValueError: for a bad shape, NaN pixels, a bad mode or bad boxes/masks.
        FileNotFoundError: for a path that does not exist.
    """

    _type = "image"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Mapping[str, Any] | None = None,
        masks: Mapping[str, Any] | None = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        from PIL import Image as PILImage

        file_type = _check_file_type(file_type)
        self.caption = None if caption is None else str(caption)
        self.grouping = grouping
        self._pil: Any
        self._bytes: bytes
        self._ext: str
        if isinstance(data_or_path, Image):
            other = data_or_path
            self._pil, self._bytes, self._ext = other._pil, other._bytes, other._ext
            if mode is not None or (file_type is not None and file_type != other._ext):
                self._encode(self._pil, mode, file_type)
            if caption is None:
                self.caption = other.caption
        elif isinstance(data_or_path, (str, os.PathLike)):
            self._from_path(os.fspath(data_or_path), mode, file_type)
        elif isinstance(data_or_path, PILImage.Image):
            self._encode(data_or_path, mode, file_type)
        else:
            self._encode(self._array_to_pil(data_or_path, normalize), mode, file_type)
        self.width, self.height = self._pil.size
        self.classes = _check_classes(classes)
        self.boxes = _check_boxes(boxes) if boxes is not None else None
        self._masks = _encode_masks(masks, self.width, self.height) if masks is not None else None

    @staticmethod
    def _array_to_pil(data: Any, normalize: bool) -> Any:
        import numpy as np
        from PIL import Image as PILImage

        if isinstance(data, (str, bytes, Mapping)) or data is None or np.isscalar(data):
            raise TypeError(
                "Image expects a numpy array, tensor, PIL image or file path, "
                f"got {type(data).__name__}"
            )
        arr = to_hwc(as_array(data))
        if normalize:
            arr = to_uint8(arr)
        elif arr.dtype != np.uint8:
            if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
                raise TypeError(f"image data must be numeric, got dtype {arr.dtype}")
            arr = np.clip(np.nan_to_num(arr.astype(np.float64)), 0, 255).astype(np.uint8)
        return PILImage.fromarray(arr)

    def _from_path(self, path: str, mode: str | None, file_type: str | None) -> None:
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        if not os.path.isfile(path):
            raise FileNotFoundError(f"image file not found: {path}")
        with open(path, "rb") as f:
            raw = f.read()
        try:
            pil = PILImage.open(io.BytesIO(raw))
            pil.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise ValueError(f"{path} is not an image file Pillow can read: {exc}") from exc
        ext = _norm_ext(os.path.splitext(path)[1])
        if mode is None and ext in _BROWSER_EXTS and file_type in (None, ext):
            self._pil, self._bytes, self._ext = pil, raw, ext
        else:
            self._encode(pil, mode, file_type)

    def _encode(self, pil: Any, mode: str | None, file_type: str | None) -> None:
        if mode is not None and pil.mode != mode:
            try:
                pil = pil.convert(mode)
            except ValueError as exc:
                raise ValueError(f"cannot convert image of mode {pil.mode} to {mode!r}") from exc
        self._ext = file_type or "png"
        self._pil = pil
        self._bytes = encode_pil(pil, self._ext)

    @property
    def image(self) -> Any:
        """The image as a PIL image."""
        return self._pil

    @property
    def format(self) -> str:
        """The stored file format: png, jpg, gif, webp or bmp."""
        return self._ext

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Store the encoded image and return its record."""
        record: dict[str, Any] = {"_type": self._type, **blob_ref(put_blob, self._bytes, self._ext)}
        record.update(width=self.width, height=self.height, caption=self.caption)
        if self.grouping is not None:
            record["grouping"] = json_safe(self.grouping)
        if self.classes is not None:
            record["classes"] = self.classes
        if self.boxes is not None:
            record["boxes"] = self.boxes
        if self._masks is not None:
            record["masks"] = {
                key: {**blob_ref(put_blob, png, "png"), "class_labels": labels}
                for key, (png, labels) in self._masks.items()
            }
        return record

    def __repr__(self) -> str:
        return f"<Image {self.width}x{self.height} {self._ext} caption={self.caption!r}>"


def _labels(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} class_labels must be a dict {{id: name}}")
    return {str(int(k)): str(v) for k, v in value.items()}


def _check_classes(classes: Any) -> list[dict[str, Any]] | None:
    if classes is None:
        return None
    items = getattr(classes, "_class_set", classes)  # wandb.Classes keeps them there
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise TypeError("classes must be a list of {'id': int, 'name': str} dicts")
    out = []
    for c in items:
        if not isinstance(c, Mapping) or "id" not in c or "name" not in c:
            raise ValueError(f"each class needs an 'id' and a 'name', got {c!r}")
        out.append(json_safe(dict(c)))
    return out


_BOX_KEYS = ({"minX", "maxX", "minY", "maxY"}, {"middle", "width", "height"})


def _check_boxes(boxes: Any) -> dict[str, Any]:
    if not isinstance(boxes, Mapping):
        raise TypeError("boxes must be a dict {key: {'box_data': [...], 'class_labels': {...}}}")
    out: dict[str, Any] = {}
    for key, group in boxes.items():
        if not isinstance(group, Mapping) or "box_data" not in group:
            raise ValueError(f"boxes[{key!r}] needs a 'box_data' list")
        for i, box in enumerate(group["box_data"]):
            pos = box.get("position") if isinstance(box, Mapping) else None
            if not isinstance(pos, Mapping) or not any(k <= set(pos) for k in _BOX_KEYS):
                raise ValueError(
                    f"boxes[{key!r}] box {i}: 'position' needs minX/maxX/minY/maxY "
                    "or middle/width/height"
                )
            if not isinstance(box.get("class_id"), int):
                raise ValueError(f"boxes[{key!r}] box {i}: 'class_id' must be an int")
        out[str(key)] = {
            "box_data": json_safe(list(group["box_data"])),
            "class_labels": _labels(group.get("class_labels"), f"boxes[{key!r}]"),
        }
    return out


def _encode_masks(masks: Any, width: int, height: int) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Encode each mask as an 8-bit PNG of class ids, checking it matches the image size."""
    import numpy as np
    from PIL import Image as PILImage

    if not isinstance(masks, Mapping):
        raise TypeError("masks must be a dict {key: {'mask_data': array, 'class_labels': {...}}}")
    out = {}
    for key, mask in masks.items():
        if not isinstance(mask, Mapping) or not ({"mask_data", "path"} & set(mask)):
            raise ValueError(f"masks[{key!r}] needs 'mask_data' (a 2-D array) or 'path'")
        if "mask_data" in mask:
            arr = as_array(mask["mask_data"])
            if arr.ndim != 2:
                raise ValueError(f"masks[{key!r}] mask_data must be 2-D, got shape {arr.shape}")
            if arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr)):
                raise ValueError(f"masks[{key!r}] mask_data must hold integer class ids")
            if arr.size and (arr.min() < 0 or arr.max() > 255):
                raise ValueError(f"masks[{key!r}] class ids must be in 0..255")
            pil = PILImage.fromarray(np.ascontiguousarray(arr.astype(np.uint8)))
        else:
            pil = PILImage.open(os.fspath(mask["path"]))
        if pil.size != (width, height):
            raise ValueError(
                f"masks[{key!r}] is {pil.size[0]}x{pil.size[1]} but the image is {width}x{height}"
            )
        labels = _labels(mask.get("class_labels"), f"masks[{key!r}]")
        out[str(key)] = (encode_pil(pil, "png"), labels)
    return out
