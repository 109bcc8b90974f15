"""``wandb.Object3D``: a point cloud or 3-D model, stored for download (not drawn).

labtrack keeps the object with the run (media kind ``object3d``) so it can be
downloaded from the UI or through ``labtrack.Api().run(id).media(key)``; the UI
does not render 3-D scenes, so making one warns once.
"""

from __future__ import annotations

import json
import os
import warnings
from typing import Any, ClassVar

from labtrack.media.base import Media, PutBlob, blob_ref, json_safe

SUPPORTED_EXTS = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")
_warned = False


def _ext_of(name: str) -> str:
    lower = name.lower()
    if lower.endswith(".pts.json"):
        return "pts.json"
    return lower.rsplit(".", 1)[-1] if "." in lower else ""


class Object3D(Media):
    """A 3-D object to log, like ``wandb.Object3D``.

    Args:
        data_or_path: a numpy array of points, shape (N, 3), (N, 4) or (N, 6)
            (x, y, z [, category | r, g, b]); a wandb scene dict (``{"type":
            "lidar/beta", "points": ...}``); a path to an .obj, .gltf, .glb, .babylon,
            .stl or .pts.json file; or an open file with ``file_type`` given.
        caption: text shown with the object.
        file_type: the format of an open file (one of the extensions above).

    Raises:
        TypeError: for data of another type.
        ValueError: for a point array of the wrong shape or an unknown file format.
    """

    _type: ClassVar[str] = "object3d"

    def __init__(self, data_or_path: Any, caption: str | None = None,
                 file_type: str | None = None, **kwargs: Any) -> None:
        global _warned
        if not _warned:
            _warned = True
            warnings.warn("wandb.Object3D: labtrack stores the object with the run for "
                          "download, but its UI does not draw 3-D objects", UserWarning,
                          stacklevel=2)
        self.caption = caption
        self.points: int | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            self._ext = _check_ext(_ext_of(path), path)
            with open(path, "rb") as f:
                self._data = f.read()
        elif hasattr(data_or_path, "read"):
            if file_type is None:
                raise ValueError("wandb.Object3D of an open file needs file_type= "
                                 f"({', '.join(SUPPORTED_EXTS)})")
            self._ext = _check_ext(file_type.lstrip("."), "file_type")
            raw = data_or_path.read()
            self._data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        elif isinstance(data_or_path, dict):
            self._ext = "pts.json"
            self._data = json.dumps(json_safe(data_or_path)).encode("utf-8")
        else:
            self._from_points(data_or_path)

    def _from_points(self, data: Any) -> None:
        import numpy as np

        if not hasattr(data, "shape") and not isinstance(data, (list, tuple)):
            raise TypeError("wandb.Object3D takes a numpy array of points, a scene dict or a "
                            f"file path, not {type(data).__name__}")
        points = np.asarray(data, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] not in (3, 4, 6):
            raise ValueError(f"wandb.Object3D points must have shape (N, 3), (N, 4) or (N, 6), "
                             f"got {points.shape}")
        self.points = int(points.shape[0])
        self._ext = "pts.json"
        self._data = json.dumps(json_safe(points.tolist())).encode("utf-8")

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        record: dict[str, Any] = {"_type": self._type, **blob_ref(put_blob, self._data, self._ext)}
        if self.caption is not None:
            record["caption"] = str(self.caption)
        if self.points is not None:
            record["points"] = self.points
        return record


def _check_ext(ext: str, where: str) -> str:
    if ext not in SUPPORTED_EXTS:
        raise ValueError(f"wandb.Object3D: {where!r} is not one of the formats "
                         f"{', '.join(SUPPORTED_EXTS)}")
    return ext


__all__ = ["Object3D"]
