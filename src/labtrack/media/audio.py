"""``Audio``: a sound clip from samples (encoded as 16-bit WAV) or an audio file."""

from __future__ import annotations

import io
import os
import wave
from typing import Any

from labtrack.media._pixels import as_array
from labtrack.media.base import Media, PutBlob, blob_ref

AUDIO_EXTS = ("wav", "mp3", "ogg", "flac", "m4a", "aac", "webm", "opus")
MAX_CHANNELS = 8


def _samples_to_int16(data: Any) -> Any:
    """Return (frames, channels) int16 samples from a 1-D or 2-D array."""
    import numpy as np

    arr = as_array(data)
    shape = arr.shape
    if arr.ndim == 1:
        arr = arr[:, None]
    elif arr.ndim == 2:
        if arr.shape[1] > MAX_CHANNELS and arr.shape[0] <= MAX_CHANNELS:
            arr = arr.T  # (channels, frames), as torchaudio and librosa give it
        elif arr.shape[1] > MAX_CHANNELS:
            raise ValueError(
                f"audio array of shape {shape} has no channel dimension of at most "
                f"{MAX_CHANNELS}; expected (frames,) or (frames, channels)"
            )
    else:
        raise ValueError(f"audio must be 1-D or 2-D (frames, channels), got shape {shape}")
    if arr.shape[0] == 0:
        raise ValueError("audio array has no samples")
    if arr.dtype == np.int16:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind in "iu":
        if arr.min() < -32768 or arr.max() > 32767:
            raise ValueError(
                "integer audio samples must fit in int16; pass floats in [-1, 1] instead"
            )
        return np.ascontiguousarray(arr.astype(np.int16))
    if arr.dtype.kind != "f":
        raise TypeError(f"audio samples must be numbers, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError("audio samples contain NaN or infinite values")
    return np.ascontiguousarray(np.rint(np.clip(arr, -1.0, 1.0) * 32767).astype(np.int16))


class Audio(Media):
    """An audio clip to log, like ``wandb.Audio``.

    Args:
        data_or_path: samples as a 1-D array, a (frames, channels) array (a
            (channels, frames) array with at most 8 channels is also understood),
            floats in [-1, 1] or int16; or a path to a wav/mp3/ogg/flac/... file.
        sample_rate: samples per second; required for arrays.
        caption: text shown with the clip.

    Raises:
        TypeError: for data of an unsupported type.
        ValueError: for a missing or bad sample rate, a bad shape or bad samples.
        FileNotFoundError: for a path that does not exist.
    """

    _type = "audio"

    def __init__(
        self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None
    ) -> None:
        self.caption = None if caption is None else str(caption)
        self.sample_rate = sample_rate
        self.duration: float | None = None
        self.channels: int | None = None
        if isinstance(data_or_path, (str, os.PathLike)):
            self._from_path(os.fspath(data_or_path))
            return
        if isinstance(data_or_path, (bytes, dict)) or data_or_path is None:
            raise TypeError(
                f"Audio expects a numpy array or a file path, got {type(data_or_path).__name__}"
            )
        if sample_rate is None:
            raise ValueError("Audio needs sample_rate when given raw samples")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
            raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
        samples = _samples_to_int16(data_or_path)
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(samples.shape[1])
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(samples.astype("<i2").tobytes())
        self._bytes, self._ext = buf.getvalue(), "wav"
        self.channels = int(samples.shape[1])
        self.duration = samples.shape[0] / sample_rate

    def _from_path(self, path: str) -> None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"audio file not found: {path}")
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if ext not in AUDIO_EXTS:
            raise ValueError(f"audio file must be one of {', '.join(AUDIO_EXTS)}, got {path}")
        with open(path, "rb") as f:
            self._bytes, self._ext = f.read(), ext
        if ext == "wav":
            try:
                with wave.open(io.BytesIO(self._bytes), "rb") as w:
                    self.sample_rate = w.getframerate()
                    self.channels = w.getnchannels()
                    self.duration = w.getnframes() / self.sample_rate
            except (wave.Error, EOFError):
                pass  # e.g. float WAV, which browsers play but the wave module cannot read

    def to_record(self, put_blob: PutBlob) -> dict[str, Any]:
        """Store the clip and return its record."""
        return {
            "_type": self._type,
            **blob_ref(put_blob, self._bytes, self._ext),
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "caption": self.caption,
        }

    def __repr__(self) -> str:
        return f"<Audio {self._ext} {self.duration}s caption={self.caption!r}>"
