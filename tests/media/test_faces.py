"""Face protection: boxes given explicitly are blurred or pixelated beyond recognition (measured),
detection finds a drawn schematic face and nothing on plain images, odd photos do not crash it,
and a missing OpenCV refuses instead of publishing faces."""

from __future__ import annotations

import io
import random
import sys
import threading

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFilter

from herald.core.errors import PhotoError
from herald.media import Box, FaceProtectionUnavailable, detect_faces, has_metadata, protect_faces
from herald.media import faces as faces_module
from herald.media.faces import merge_boxes
from herald.media.limits import FACE_PIXELATE_BLOCKS
from tests.media import corpus

pytest.importorskip("cv2", reason="opencv-python-headless is not installed")

JPEG, PNG = "image/jpeg", "image/png"


def schematic_face(
    size: int, canvas: tuple[int, int] | None = None, at: tuple[int, int] | None = None
) -> Image.Image:
    """A high-contrast drawn face (light oval, dark brows, eyes and mouth, a nose) ``size`` px
    across its eye line, centred at ``at`` on a dark ``canvas``. OpenCV's frontal cascade finds
    it from about 60 to 300 px (checked while writing these tests)."""
    canvas = canvas or (2 * size, 2 * size)
    cx, cy = at or (canvas[0] // 2, canvas[1] // 2)
    img = Image.new("L", canvas, 40)
    d = ImageDraw.Draw(img)
    s = size
    d.ellipse((cx - 0.42 * s, cy - 0.55 * s, cx + 0.42 * s, cy + 0.55 * s), fill=200)
    for side in (-1, 1):
        ex = cx + side * 0.18 * s
        d.rectangle((ex - 0.12 * s, cy - 0.25 * s, ex + 0.12 * s, cy - 0.2 * s), fill=60)
        d.ellipse((ex - 0.09 * s, cy - 0.15 * s, ex + 0.09 * s, cy - 0.05 * s), fill=30)
    d.polygon([(cx, cy - 0.05 * s), (cx - 0.06 * s, cy + 0.15 * s), (cx + 0.06 * s, cy + 0.15 * s)], fill=150)
    d.ellipse((cx - 0.15 * s, cy + 0.25 * s, cx + 0.15 * s, cy + 0.33 * s), fill=70)
    return img.filter(ImageFilter.GaussianBlur(1)).convert("RGB")


def noise_image(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rnd = random.Random(seed)
    return Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    return corpus.encode(img, fmt, **({"quality": 90} if fmt == "JPEG" else {}))


def grey(data: bytes) -> NDArray[np.float64]:
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("L"), dtype=np.float64)


def high_frequency_energy(pixels: NDArray[np.float64], box: Box) -> float:
    """Sum of the squared 4-neighbour Laplacian inside ``box`` (one pixel in from its edges):
    what edges, texture and facial features are made of."""
    r = pixels[box.y : box.bottom, box.x : box.right]
    lap = 4 * r[1:-1, 1:-1] - r[:-2, 1:-1] - r[2:, 1:-1] - r[1:-1, :-2] - r[1:-1, 2:]
    return float(np.sum(lap * lap))


def blocks_along(row: NDArray[np.int16], tolerance: int) -> int:
    """How many flat runs of colour a row of RGB pixels has: edges are where neighbours differ
    by more than ``tolerance``; an edge smeared over up to 3 pixels counts once, and a row
    with a longer stretch of change (texture, noise) counts as one run per pixel."""
    changes = np.abs(np.diff(row, axis=0)).max(axis=1) > tolerance
    runs, streak = 1, 0
    for changed in changes:
        streak = streak + 1 if changed else 0
        if streak == 1:
            runs += 1
        elif streak > 3:
            return len(row)
    return runs


def assert_clean(data: bytes) -> None:
    assert not any(has_metadata(data).values())


# -- boxes --------------------------------------------------------------------------------------


def test_box_geometry() -> None:
    box = Box(10, 20, 100, 50)
    assert (box.right, box.bottom) == (110, 70)
    assert box.grow(0.2) == Box(-10, 10, 140, 70)
    assert Box(-5, -5, 20, 20).clamp(100, 100) == Box(0, 0, 15, 15)
    assert Box(200, 0, 10, 10).clamp(100, 100) is None
    assert merge_boxes([Box(0, 0, 10, 10), Box(50, 50, 10, 10), Box(5, 5, 10, 10)]) == [
        Box(0, 0, 15, 15),
        Box(50, 50, 10, 10),
    ]
    # a chain of overlaps merges into one box, whatever the order
    chain = [Box(40, 0, 15, 10), Box(0, 0, 15, 10), Box(20, 0, 25, 10), Box(10, 0, 15, 10)]
    assert merge_boxes(chain) == [Box(0, 0, 55, 10)]


# -- protection with explicit boxes -------------------------------------------------------------

BOX = Box(60, 40, 96, 120)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_blur_removes_over_90_percent_of_the_detail(fmt: str) -> None:
    data = encode(noise_image((240, 200)), fmt)
    out = protect_faces(data, Image.MIME[fmt], "blur", [BOX])
    assert_clean(out)
    before, after = grey(data), grey(out)
    assert after.shape == before.shape
    drop = 1 - high_frequency_energy(after, BOX) / high_frequency_energy(before, BOX)
    assert drop > 0.9, drop
    if fmt == "PNG":
        # outside the box nothing changed
        assert np.array_equal(after[:, : BOX.x], before[:, : BOX.x])
        assert np.array_equal(after[BOX.bottom :, :], before[BOX.bottom :, :])


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_pixelate_leaves_at_most_8_blocks_across(fmt: str) -> None:
    data = encode(noise_image((240, 200)), fmt)
    out = protect_faces(data, Image.MIME[fmt], "pixelate", [BOX])
    assert_clean(out)
    with Image.open(io.BytesIO(out)) as img:
        region = np.asarray(img.convert("RGB"), dtype=np.int16)[BOX.y : BOX.bottom, BOX.x : BOX.right]
    tolerance = 0 if fmt == "PNG" else 40  # JPEG smears block edges a little
    for row in region[:: max(1, BOX.height // 10)]:
        assert blocks_along(row, tolerance) <= FACE_PIXELATE_BLOCKS
    before, after = grey(data), grey(out)
    assert high_frequency_energy(after, Box(BOX.x + 14, BOX.y + 16, 10, 10)) < 0.05 * high_frequency_energy(
        before, Box(BOX.x + 14, BOX.y + 16, 10, 10)
    )


def test_protect_keeps_size_type_and_transparency() -> None:
    rgba = noise_image((120, 90)).convert("RGBA")
    rgba.putalpha(128)
    out = protect_faces(encode(rgba), PNG, "pixelate", [Box(10, 10, 40, 40)])
    with Image.open(io.BytesIO(out)) as img:
        assert (img.format, img.mode, img.size) == ("PNG", "RGBA", (120, 90))


def test_protect_strips_metadata_even_from_a_gps_photo() -> None:
    raw = corpus.jpeg_gps()
    assert has_metadata(raw)["gps"]
    out = protect_faces(raw, JPEG, "blur", [Box(5, 5, 20, 20)])
    assert_clean(out)
    assert b"Canon" not in out


def test_boxes_outside_the_photo_are_cut_or_dropped() -> None:
    data = encode(noise_image((100, 80)))
    assert protect_faces(data, PNG, "blur", [Box(500, 500, 20, 20), Box(-50, -50, 10, 10)]) == data
    partly = protect_faces(data, PNG, "blur", [Box(80, 60, 100, 100)])
    assert np.array_equal(grey(partly)[:60, :], grey(data)[:60, :])
    assert not np.array_equal(grey(partly)[60:, 80:], grey(data)[60:, 80:])


def test_no_boxes_returns_a_clean_photo_unchanged() -> None:
    data = encode(noise_image((64, 64)), "JPEG")
    assert protect_faces(data, JPEG, "pixelate", []) == data


def test_protect_refuses_bad_input() -> None:
    data = encode(noise_image((64, 64)), "JPEG")
    with pytest.raises(PhotoError, match="is image/jpeg, not image/png"):
        protect_faces(data, PNG, "blur", [])
    with pytest.raises(PhotoError, match="not a JPEG, PNG"):
        protect_faces(b"hello", JPEG, "blur", [])
    with pytest.raises(ValueError, match="mode"):
        protect_faces(data, JPEG, "smudge", [])  # type: ignore[arg-type]  # testing a bad mode


# -- detection ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [80, 200])
def test_detects_a_drawn_face(size: int) -> None:
    img = schematic_face(size)
    boxes = detect_faces(encode(img, "JPEG"))
    assert len(boxes) == 1
    box = boxes[0]
    cx, cy = img.width // 2, img.height // 2
    # the whole face (oval 0.84 x 1.1 of ``size``) is inside the grown box
    assert box.x <= cx - 0.42 * size and box.right >= cx + 0.42 * size
    assert box.y <= cy - 0.4 * size and box.bottom >= cy + 0.45 * size
    assert box.clamp(*img.size) == box


def test_detects_a_face_in_a_large_photo_in_its_own_pixels() -> None:
    canvas = (3200, 2000)  # detection runs on a 1600 px copy; boxes come back in photo pixels
    img = schematic_face(360, canvas, at=(2400, 700))
    boxes = detect_faces(encode(img, "JPEG"))
    assert boxes, "face not found"
    assert any(
        b.x <= 2400 - 150 and b.right >= 2400 + 150 and b.y <= 700 - 150 and b.bottom >= 700 + 150
        for b in boxes
    )


def test_detected_face_is_gone_after_pixelation_and_smooth_after_blur() -> None:
    data = encode(schematic_face(150), "JPEG")
    boxes = detect_faces(data)
    assert boxes
    assert detect_faces(protect_faces(data, JPEG, "pixelate")) == []
    blurred = protect_faces(data, JPEG, "blur")
    face = Box(150 - 63, 150 - 82, 126, 164)  # the drawn oval
    drop = 1 - high_frequency_energy(grey(blurred), face) / high_frequency_energy(grey(data), face)
    assert drop > 0.9, drop


PLAIN_PHOTOS = [
    ("grey-jpeg", lambda: encode(Image.new("RGB", (640, 480), (128, 128, 128)), "JPEG")),
    ("gradient", lambda: encode(Image.linear_gradient("L").resize((400, 300)))),
    ("noise", lambda: encode(noise_image((300, 200)))),
    ("one-pixel", lambda: corpus.png_header_only(1, 1)),
    ("thin-wide", lambda: encode(Image.new("RGB", (1000, 3), corpus.RED))),
    ("thin-tall", lambda: encode(Image.new("RGB", (3, 1000), corpus.RED))),
    ("greyscale", lambda: encode(Image.new("L", (97, 101), 90))),
    ("rgba", lambda: encode(Image.new("RGBA", (120, 90), (10, 20, 30, 0)))),
    ("palette-gif", corpus.animated_gif),
    ("grey16", corpus.png16_grey),
    ("cmyk", corpus.cmyk_jpeg),
    ("webp", lambda: corpus.webp_exif(alpha=True)),
]


@pytest.mark.parametrize("make", [row[1] for row in PLAIN_PHOTOS], ids=[row[0] for row in PLAIN_PHOTOS])
def test_no_faces_in_plain_photos(make: object) -> None:
    assert callable(make)
    assert detect_faces(make()) == []


def test_detect_refuses_non_photos() -> None:
    with pytest.raises(PhotoError):
        detect_faces(b"\x89PNG\r\n\x1a\nnot really")


def test_detection_from_several_threads_agrees() -> None:
    data = encode(schematic_face(120), "JPEG")
    expected = detect_faces(data)
    results: list[list[Box]] = []

    def run() -> None:
        results.append(detect_faces(data))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


# -- without OpenCV -----------------------------------------------------------------------------


def test_missing_opencv_refuses_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    # ``None`` in sys.modules makes ``import cv2`` raise ImportError, as on a machine without it.
    monkeypatch.setitem(sys.modules, "cv2", None)
    monkeypatch.setattr(faces_module, "_local", threading.local())
    data = encode(schematic_face(120), "JPEG")
    with pytest.raises(FaceProtectionUnavailable) as caught:
        detect_faces(data)
    assert isinstance(caught.value, PhotoError)
    assert "opencv-python-headless" in caught.value.message
    with pytest.raises(FaceProtectionUnavailable):
        protect_faces(data, JPEG, "blur")  # detection needed: refused, not published as it is
    # explicit boxes need no OpenCV
    assert_clean(protect_faces(data, JPEG, "blur", [Box(0, 0, 50, 50)]))
