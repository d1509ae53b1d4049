"""Properties of renditions over generated photos, random rules, and random and mutated bytes:
``render_for`` either refuses with ``PhotoError`` or returns bytes that carry no metadata and
keep every rule (type, bytes, size, aspect), the same bytes for the same input; and a photo
with GPS never comes out of ingest and rendering with its GPS.

(Ingest's own properties over random and mutated bytes are in ``test_ingest.py``.)"""

from __future__ import annotations

import random
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from herald.core.errors import PhotoError
from herald.media import PhotoRules, Rendition, has_metadata, ingest_photo, render_for
from tests.media import corpus
from tests.media.test_renditions import PLATFORM_RULES, assert_fits

JPEG, PNG, WEBP, GIF = "image/jpeg", "image/png", "image/webp", "image/gif"
FORMAT_MIME = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP, "GIF": GIF}
T = TypeVar("T")
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def photo_rules(draw: st.DrawFn) -> PhotoRules:
    """Rules with any mix of limits, from roomy to impossible."""

    def maybe(strategy: st.SearchStrategy[T]) -> T | None:
        return draw(st.none() | strategy)

    min_width = maybe(st.integers(1, 150))
    return PhotoRules(
        max_bytes=draw(st.integers(200, 120_000)),
        mime_types=frozenset(draw(st.sets(st.sampled_from([JPEG, PNG, WEBP, GIF]), min_size=1))),
        max_side_px=maybe(st.integers(4, 300)),
        max_pixels=maybe(st.integers(16, 60_000)),
        min_aspect=maybe(st.floats(0.05, 1.0)),
        max_aspect=maybe(st.floats(1.0, 20.0)),
        min_width_px=min_width,
        max_width_px=maybe(st.integers(min_width or 1, 300)),
        max_sum_wh=maybe(st.integers(8, 600)),
        platform="Fuzz",
    )


@st.composite
def photos(draw: st.DrawFn) -> tuple[bytes, str]:
    """A small photo in any format and mode, noisy or flat, sometimes carrying GPS."""
    size = (draw(st.integers(1, 180)), draw(st.integers(1, 180)))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    img = Image.frombytes("RGB", size, rnd.randbytes(size[0] * size[1] * 3))
    if draw(st.booleans()):
        img = Image.blend(Image.new("RGB", size, corpus.BLUE), img, draw(st.floats(0, 1)))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "LA", "P", "1"]))
    img = img.convert(mode)
    if mode in ("RGBA", "LA") and draw(st.booleans()):
        img.putalpha(draw(st.integers(0, 255)))
    fmt = draw(st.sampled_from(["JPEG", "PNG", "WEBP", "GIF"]))
    if fmt == "JPEG" and img.mode not in ("L", "RGB"):
        img = img.convert("RGB")
    if fmt == "WEBP" and img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if "A" in img.mode else "RGB")
    data = corpus.encode(img, fmt)
    if fmt == "JPEG" and draw(st.booleans()):
        data = corpus.with_exif(data, corpus.tiff(corpus.CAMERA, gps=corpus.GPS_SEOUL))
    return data, FORMAT_MIME[fmt]


def render_or_refuse(data: bytes, mime: str, rules: PhotoRules) -> Rendition | None:
    """The property: a refusal is a ``PhotoError``; a rendition keeps every promise."""
    try:
        rendition = render_for(data, mime, rules)
    except PhotoError:
        return None
    assert_fits(rendition, rules)
    assert b"Canon" not in rendition.data and b"37.5665" not in rendition.data
    return rendition


@FAST
@given(photo=photos(), rules=photo_rules())
def test_render_generated_photos(photo: tuple[bytes, str], rules: PhotoRules) -> None:
    data, mime = photo
    first = render_or_refuse(data, mime, rules)
    if first is not None:
        assert render_for(data, mime, rules).data == first.data  # deterministic


@FAST
@given(photo=photos(), rules=photo_rules())
def test_ingest_then_render(photo: tuple[bytes, str], rules: PhotoRules) -> None:
    data, _ = photo
    clean = ingest_photo(data, "fuzz")
    render_or_refuse(clean.data, clean.mime_type, rules)


@FAST
@given(photo=photos(), platform=st.sampled_from(sorted(PLATFORM_RULES)))
def test_render_for_every_platform(photo: tuple[bytes, str], platform: str) -> None:
    data, mime = photo
    render_or_refuse(data, mime, PLATFORM_RULES[platform])


MAGICS = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x01\x00\x00WEBPVP8 "]


@FAST
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048), rules=photo_rules())
def test_random_bytes_only_raise_photo_error(magic: bytes, tail: bytes, rules: PhotoRules) -> None:
    data = magic + tail
    for mime in (JPEG, PNG):
        render_or_refuse(data, mime, rules)


GPS_JPEG = corpus.with_exif(corpus.plain_jpeg((48, 40)), corpus.tiff(corpus.CAMERA, gps=corpus.GPS_SEOUL))


@st.composite
def mutated_gps_jpeg(draw: st.DrawFn) -> bytes:
    data = bytearray(GPS_JPEG)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        else:
            del data[at:]
    return bytes(data)


@FAST
@given(data=mutated_gps_jpeg(), rules=photo_rules())
def test_mutated_gps_jpeg_never_leaks_through_ingest_and_render(data: bytes, rules: PhotoRules) -> None:
    # straight into render_for, as if ingest had been skipped
    render_or_refuse(data, JPEG, rules)
    try:
        clean = ingest_photo(data, "fuzz.jpg")
    except PhotoError:
        return
    assert not has_metadata(clean.data)["gps"]
    render_or_refuse(clean.data, clean.mime_type, rules)


@pytest.mark.parametrize("platform", sorted(PLATFORM_RULES))
def test_gps_photo_never_leaks_to_any_platform(platform: str) -> None:
    upload = corpus.with_exif(
        corpus.encode(Image.new("RGB", (640, 480), corpus.RED), "JPEG", quality=90),
        corpus.tiff(corpus.CAMERA, gps=corpus.GPS_SEOUL),
    )
    raw = render_or_refuse(upload, JPEG, PLATFORM_RULES[platform])
    assert raw is not None and raw.steps[0] == "strip metadata"
    clean = ingest_photo(upload, "gps.jpg")
    assert render_or_refuse(clean.data, clean.mime_type, PLATFORM_RULES[platform]) is not None
