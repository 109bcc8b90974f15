"""``Video``: a clip from a video file, or frames encoded as an animated GIF."""

from __future__ import annotations

import io
import math
import os
from typing import Any

from labtrack.media._pixels import as_array, to_uint8
from labtrack.media.base import Media, PutBlob, blob_ref

VIDEO_EXTS = ("gif", "mp4", "webm", "ogg")


def _tile(batch: Any) -> Any:
    """Tile a (B, T, C, H, W) batch into one (T, C, rows*H, cols*W) video, as wandb does."""
    import numpy as np

    b, t, c, h, w = batch.shape
    cols = math.ceil(math.sqrt(b))
    rows = math.ceil(b / cols)
    padded = np.zeros((rows * cols, t, c, h, w), dtype=batch.dtype)
    padded[:b] = batch
    grid = padded.reshape(rows, cols, t, c, h, w).transpose(2, 3, 0, 4, 1, 5)
    return grid.reshape(t, c, rows * h, cols * w)


def frames_to_gif(data: Any, fps: float) -> tuple[bytes, int, int, int]:
    """Encode a (T, C, H, W) or (B, T, C, H, W) array as a looping GIF.

    Returns:
        (gif bytes, width, height, number of frames).

    Raises:
        ValueError: for another number of dimensions or a channel count other than 1, 3, 4.
    """
    import numpy as np
    from PIL import Image as PILImage

    arr = as_array(data)
    if arr.ndim == 5:
        arr = _tile(arr)
    if arr.ndim != 4:
        raise ValueError(
            f"video arrays must be (T, C, H, W) or (B, T, C, H, W), got shape {arr.shape}"
        )
    if arr.shape[1] not in (1, 3, 4):
        raise ValueError(
            f"video arrays must be (T, C, H, W) with C in 1, 3, 4; got shape {arr.shape}"
        )
    if 0 in arr.shape:
        raise ValueError(f"video array of shape {arr.shape} is empty")
    frames = np.ascontiguousarray(to_uint8(arr, "video").transpose(0, 2, 3, 1))
    if frames.shape[-1] == 1:
        frames = frames[..., 0]
    elif frames.shape[-1] == 4:
        frames = frames[..., :3]  # GIF has no alpha channel worth keeping
    images = [PILImage.fromarray(f) for f in frames]
    buf = io.BytesIO()
    images[0].save(
        buf,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(int(round(1000 / fps)), 10),
        loop=0,
    )
    height, width = frames.shape[1], frames.shape[2]
    return buf.getvalue(), int(width), int(height), len(images)


class Video(Media):
    """A video to log, like ``wandb.Video``.

    Args:
        data_or_path: a path to a gif/mp4/webm/ogg file, a binary file object
            (``format`` required), or a uint8 array (T, C, H, W) or (B, T, C, H, W)
            (a batch is tiled into a grid), which is encoded as an animated GIF.
        caption: text shown with the video.
        fps: frames per second of an array.
        format: gif, mp4, webm or ogg; arrays can only be encoded as gif.

    Raises:
        TypeError: for data of an unsupported type.
        ValueError: for a bad shape, fps or format.
        FileNotFoundError: for a path that does not exist.
    """

    _type = "video"

    def __init__(
        self,
        data_or_path: Any,
        caption: str | None = None,
        fps: float | None = 4,
        format: str | None = None,  # wandb names it so
    ) -> None:
        self.caption = None if caption is None else str(caption)
        fmt = None if format is None else str(format).lower().lstrip(".")
        if fmt is not None and fmt not in VIDEO_EXTS:
            raise ValueError(f"format must be one of {', '.join(VIDEO_EXTS)}, got {format!r}")
        self.fps = 4 if fps is None else fps
        if isinstance(self.fps, bool) or not isinstance(self.fps, (int, float)) or self.fps <= 0:
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.width: int | None = None
        self.height: int | None = None
        self.frames: int | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            path = os.fspath(data_or_path)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"video file not found: {path}")
            ext = os.path.splitext(path)[1].lower().lstrip(".")
            if ext not in VIDEO_EXTS:
                raise ValueError(f"video file must be one of {', '.join(VIDEO_EXTS)}, got {path}")
            if fmt is not None and fmt != ext:
                raise ValueError(f"format={fmt!r} does not match the file {path}")
            with open(path, "rb") as f:
                self._set_file(f.read(), ext)
        elif hasattr(data_or_path, "read"):
            if fmt is None:
                raise ValueError("Video needs format= when given a file object")
            raw = data_or_path.read()
            if not isinstance(raw, bytes):
                raise TypeError("Video file objects must be opened in binary mode")
            self._set_file(raw, fmt)
        elif isinstance(data_or_path, (bytes, dict)) or data_or_path is None:
            raise TypeError(
                f"Video expects a numpy array or a file path, got {type(data_or_path).__name__}"
            )
        else:
            if fmt not in (None, "gif"):
                raise ValueError(
                    f"arrays are encoded as gif; format={fmt!r} needs a file path instead"
                )
            self._bytes, self.width, self.height, self.frames = frames_to_gif(
                data_or_path, self.fps
            )
            self._ext = "gif"

    def _set_file(self, raw: bytes, ext: str) -> None:
        self._bytes, self._ext = raw, ext
        if ext == "gif":
            from PIL import Image as PILImage

            try:
                with PILImage.open(io.BytesIO(raw)) as gif:
                    self.width, self.height = gif.size
                    self.frames = int(getattr(gif, "n_frames", 1))
            except OSError as exc:
                raise ValueError(f"not a GIF file Pillow can read: {exc}") from exc

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Store the video and return its record."""
        return {
            "_type": self._type,
            **blob_ref(put_blob, self._bytes, self._ext),
            "width": self.width,
            "height": self.height,
            "frames": self.frames,
            "fps": self.fps,
            "caption": self.caption,
        }

    def __repr__(self) -> str:
        return f"<Video {self._ext} caption={self.caption!r}>"
