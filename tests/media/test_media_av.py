"""Audio, Video and Html: payloads decode back to what was given."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageSequence

from labtrack.media import Audio, Html, Video

# -- Audio --------------------------------------------------------------------------------


def _read_wav(data: bytes) -> tuple[int, int, np.ndarray]:
    with wave.open(io.BytesIO(data), "rb") as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return w.getframerate(), w.getnchannels(), frames.reshape(-1, w.getnchannels())


def test_float_samples_become_16_bit_wav(blobs):
    t = np.arange(16_000) / 16_000
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    rec = blobs.record(Audio(tone, sample_rate=16_000, caption="A4"))
    assert rec["_type"] == "audio" and rec["ext"] == "wav"
    assert rec["sample_rate"] == 16_000 and rec["duration"] == 1.0 and rec["caption"] == "A4"
    rate, channels, frames = _read_wav(blobs.get(rec))
    assert (rate, channels, frames.shape) == (16_000, 1, (16_000, 1))
    np.testing.assert_allclose(frames[:, 0] / 32767, tone, atol=1 / 32767)


def test_stereo_either_orientation(blobs):
    left, right = np.linspace(-1, 1, 800), np.linspace(1, -1, 800)
    for data in (np.stack([left, right], axis=1), np.stack([left, right])):
        rate, channels, frames = _read_wav(blobs.get(blobs.record(Audio(data, 8000))))
        assert channels == 2 and frames.shape == (800, 2)
        assert frames[0].tolist() == [-32767, 32767]


def test_int16_samples_are_kept_exactly(blobs):
    samples = np.array([0, 1, -1, 32767, -32768, 1234], dtype=np.int16)
    _, _, frames = _read_wav(blobs.get(blobs.record(Audio(samples, sample_rate=100))))
    np.testing.assert_array_equal(frames[:, 0], samples)


def test_wav_path_reads_its_header(blobs, tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(blobs.get(blobs.record(Audio(np.zeros(2205), sample_rate=22_050))))
    rec = blobs.record(Audio(str(path)))
    assert rec["sample_rate"] == 22_050 and rec["duration"] == pytest.approx(0.1)
    assert blobs.get(rec) == path.read_bytes()


def test_bad_audio_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sample_rate"):
        Audio(np.zeros(10))
    with pytest.raises(ValueError, match="positive int"):
        Audio(np.zeros(10), sample_rate=-5)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        Audio(np.zeros((2, 3, 4)), sample_rate=10)
    with pytest.raises(ValueError, match="channel"):
        Audio(np.zeros((100, 100)), sample_rate=10)
    with pytest.raises(ValueError, match="NaN"):
        Audio(np.array([0.1, np.nan]), sample_rate=10)
    with pytest.raises(ValueError, match="int16"):
        Audio(np.array([0, 70_000]), sample_rate=10)
    with pytest.raises(FileNotFoundError):
        Audio(str(tmp_path / "nope.wav"))
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="wav"):
        Audio(str(tmp_path / "a.txt"))


# -- Video --------------------------------------------------------------------------------


def test_array_becomes_animated_gif(blobs):
    frames = np.zeros((6, 3, 16, 20), dtype=np.uint8)
    for t in range(6):
        frames[t, t % 3, :, t * 3 : t * 3 + 3] = 255  # a moving bar, a new colour each frame
    rec = blobs.record(Video(frames, fps=5, caption="bar"))
    assert rec["_type"] == "video" and rec["ext"] == "gif" and rec["frames"] == 6
    assert (rec["width"], rec["height"], rec["fps"]) == (20, 16, 5)
    gif = PILImage.open(io.BytesIO(blobs.get(rec)))
    decoded = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(gif)]
    assert len(decoded) == 6 and gif.info["duration"] == 200
    for t, frame in enumerate(decoded):
        assert frame[8, t * 3 + 1, t % 3] == 255 and frame[8, t * 3 + 1].sum() == 255


def test_batch_is_tiled_into_a_grid(blobs):
    batch = np.random.default_rng(0).random((3, 2, 1, 8, 10))  # floats in [0, 1]
    rec = blobs.record(Video(batch))
    assert (rec["width"], rec["height"], rec["frames"]) == (20, 16, 2)


def test_video_files_are_stored_as_they_are(blobs, tmp_path):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a movie")
    rec = blobs.record(Video(str(path)))
    assert rec["ext"] == "mp4" and blobs.get(rec) == path.read_bytes()
    rec = blobs.record(Video(io.BytesIO(b"webm bytes"), format="webm"))
    assert rec["ext"] == "webm" and blobs.get(rec) == b"webm bytes"


def test_bad_video_is_refused(tmp_path):
    with pytest.raises(ValueError, match="4 or 5|\\(T, C, H, W\\)"):
        Video(np.zeros((4, 8, 8)))
    with pytest.raises(ValueError, match="C in 1, 3, 4"):
        Video(np.zeros((4, 8, 8, 8)))
    with pytest.raises(ValueError, match="format"):
        Video(np.zeros((2, 3, 4, 4)), format="mp4")
    with pytest.raises(ValueError, match="fps"):
        Video(np.zeros((2, 3, 4, 4)), fps=0)
    with pytest.raises(ValueError, match="format="):
        Video(io.BytesIO(b"x"))
    with pytest.raises(FileNotFoundError):
        Video(str(tmp_path / "nope.mp4"))
    with pytest.raises(TypeError, match="str|bytes"):
        Video(b"raw bytes")


# -- Html ---------------------------------------------------------------------------------


def test_html_string_injected_into_head(blobs):
    rec = blobs.record(Html("<html><head><title>t</title></head><body><b>hi</b></body></html>"))
    text = blobs.get(rec).decode()
    assert rec["_type"] == "html" and rec["ext"] == "html"
    assert text.startswith('<html><head><base target="_blank">')
    assert "<title>t</title></head><body><b>hi</b></body></html>" in text


def test_html_fragment_without_inject_is_unchanged(blobs):
    assert blobs.get(blobs.record(Html("<p>plain</p>", inject=False))) == b"<p>plain</p>"
    assert blobs.get(blobs.record(Html("<p>x</p>"))).decode().startswith("<head><base")


def test_html_from_path_and_file(blobs, tmp_path):
    path = tmp_path / "page.html"
    path.write_text("<p>from file</p>", encoding="utf-8")
    for source in (str(path), path):
        assert blobs.get(blobs.record(Html(source, inject=False))) == b"<p>from file</p>"
    with path.open(encoding="utf-8") as f:
        assert Html(f, inject=False).html == "<p>from file</p>"
    assert Html(str(path), inject=False, data_is_not_path=True).html == str(path)


def test_bad_html_is_refused():
    with pytest.raises(TypeError, match="int"):
        Html(42)
