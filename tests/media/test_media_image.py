"""Image: every input form arrives as a decodable image of the right size and pixels."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from labtrack.media import Image, Media


@pytest.fixture
def rgb() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, size=(24, 40, 3), dtype=np.uint8)


def test_hwc_uint8_is_lossless_png(blobs, rgb):
    rec = blobs.record(Image(rgb, caption="cat"))
    assert rec["_type"] == "image" and rec["ext"] == "png"
    assert (rec["width"], rec["height"], rec["caption"]) == (40, 24, "cat")
    decoded = blobs.pil(rec)
    assert decoded.format == "PNG" and decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), rgb)


def test_chw_is_transposed(blobs, rgb):
    rec = blobs.record(Image(np.transpose(rgb, (2, 0, 1))))
    assert (rec["width"], rec["height"]) == (40, 24)
    np.testing.assert_array_equal(np.asarray(blobs.pil(rec)), rgb)


def test_chw_rgba_and_single_channel(blobs):
    rgba = np.random.default_rng(2).integers(0, 256, size=(4, 10, 12), dtype=np.uint8)
    decoded = blobs.pil(blobs.record(Image(rgba)))
    assert decoded.mode == "RGBA" and decoded.size == (12, 10)
    np.testing.assert_array_equal(np.asarray(decoded), rgba.transpose(1, 2, 0))
    one = np.arange(6 * 7, dtype=np.uint8).reshape(1, 6, 7)
    decoded = blobs.pil(blobs.record(Image(one)))
    assert decoded.mode == "L" and decoded.size == (7, 6)
    np.testing.assert_array_equal(np.asarray(decoded), one[0])


def test_gray_2d(blobs):
    gray = np.arange(15 * 9, dtype=np.uint8).reshape(15, 9)
    decoded = blobs.pil(blobs.record(Image(gray)))
    assert decoded.mode == "L" and decoded.size == (9, 15)
    np.testing.assert_array_equal(np.asarray(decoded), gray)


def test_float_in_unit_range_is_scaled_to_255(blobs):
    values = np.linspace(0.0, 1.0, 8 * 8).reshape(8, 8)
    decoded = np.asarray(blobs.pil(blobs.record(Image(values))))
    np.testing.assert_array_equal(decoded, np.rint(values * 255).astype(np.uint8))
    assert decoded.min() == 0 and decoded.max() == 255


def test_negative_floats_are_rescaled(blobs):
    values = np.array([[-1.0, 0.0], [0.5, 1.0]])
    decoded = np.asarray(blobs.pil(blobs.record(Image(values))))
    assert decoded[0, 0] == 0 and decoded[1, 1] == 255
    assert 0 < decoded[0, 1] < decoded[1, 0] < 255


def test_pil_image_and_mode_conversion(blobs, rgb):
    pil = PILImage.fromarray(rgb)
    rec = blobs.record(Image(pil, mode="L"))
    decoded = blobs.pil(rec)
    assert decoded.mode == "L" and decoded.size == (40, 24)
    np.testing.assert_array_equal(np.asarray(decoded), np.asarray(pil.convert("L")))


def test_png_path_is_stored_unchanged(blobs, rgb, tmp_path):
    path = tmp_path / "pic.png"
    PILImage.fromarray(rgb).save(path)
    rec = blobs.record(Image(str(path)))
    assert blobs.get(rec) == path.read_bytes()
    assert (rec["ext"], rec["width"], rec["height"]) == ("png", 40, 24)


def test_jpeg_path_keeps_jpeg_and_other_formats_become_png(blobs, rgb, tmp_path):
    jpg, tif = tmp_path / "pic.jpeg", tmp_path / "pic.tiff"
    PILImage.fromarray(rgb).save(jpg)
    PILImage.fromarray(rgb).save(tif)
    rec = blobs.record(Image(jpg))
    assert rec["ext"] == "jpg" and blobs.pil(rec).format == "JPEG"
    rec = blobs.record(Image(tif))
    assert rec["ext"] == "png" and blobs.pil(rec).format == "PNG"
    np.testing.assert_array_equal(np.asarray(blobs.pil(rec)), rgb)


def test_file_type_jpg(blobs, rgb):
    rec = blobs.record(
        Image(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), file_type="jpg")
    )
    decoded = blobs.pil(rec)
    assert rec["ext"] == "jpg" and decoded.format == "JPEG" and decoded.mode == "RGB"


def test_same_pixels_same_digest(blobs, rgb):
    a, b = blobs.record(Image(rgb)), blobs.record(Image(rgb.copy()))
    assert a["digest"] == b["digest"] and len(blobs.blobs) == 1


def test_boxes_masks_classes(blobs):
    img = np.zeros((6, 8), dtype=np.uint8)
    mask = np.zeros((6, 8), dtype=np.int64)
    mask[2:4, 3:6] = 2
    box = {
        "position": {"minX": 1, "maxX": 4, "minY": 0, "maxY": 3},
        "class_id": 2,
        "scores": {"conf": np.float32(0.5)},
    }
    image = Image(
        img,
        classes=[{"id": 2, "name": "cat"}],
        boxes={"pred": {"box_data": [box], "class_labels": {2: "cat"}}},
        masks={"truth": {"mask_data": mask, "class_labels": {0: "bg", 2: "cat"}}},
        grouping=3,
    )
    rec = blobs.record(image)
    assert rec["boxes"]["pred"]["box_data"][0]["scores"]["conf"] == 0.5
    assert rec["boxes"]["pred"]["class_labels"] == {"2": "cat"}
    assert rec["classes"] == [{"id": 2, "name": "cat"}] and rec["grouping"] == 3
    mask_rec = rec["masks"]["truth"]
    assert mask_rec["class_labels"] == {"0": "bg", "2": "cat"}
    np.testing.assert_array_equal(np.asarray(blobs.pil(mask_rec)), mask)


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (np.zeros((2, 3, 4, 5)), ValueError, "shape"),
        (np.zeros((10, 10, 7)), ValueError, "channel"),
        (np.zeros((0, 5)), ValueError, "empty"),
        (np.array([[np.nan, 0.5]]), ValueError, "NaN"),
        (np.array([["a", "b"]]), TypeError, "dtype"),
        ({"not": "an image"}, TypeError, "dict"),
        (3.5, TypeError, "float"),
    ],
)
def test_bad_data_is_refused(data, error, words):
    with pytest.raises(error, match=words):
        Image(data)


def test_bad_arguments_are_refused(tmp_path, rgb):
    with pytest.raises(FileNotFoundError, match="not found"):
        Image(str(tmp_path / "missing.png"))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="not an image"):
        Image(tmp_path / "notes.png")
    with pytest.raises(ValueError, match="file_type"):
        Image(rgb, file_type="tga")
    with pytest.raises(ValueError, match="mode"):
        Image(rgb, mode="nonsense")
    with pytest.raises(ValueError, match="8x6|3x2"):
        Image(np.zeros((6, 8)), masks={"m": {"mask_data": np.zeros((2, 3), int)}})
    with pytest.raises(ValueError, match="position"):
        Image(np.zeros((6, 8)), boxes={"b": {"box_data": [{"class_id": 1}]}})


def test_image_is_media_and_encoded_at_construction(blobs, rgb):
    image = Image(rgb)
    rgb[:] = 0  # later changes to the array do not change what is logged
    assert isinstance(image, Media)
    assert np.asarray(blobs.pil(blobs.record(image))).max() > 0
