"""Photo ingest: a table of photos that must come out clean, a table of files and names that
must be refused (each message naming the file and the problem), orientation, and properties
over random and mutated bytes. The corpus is generated in ``tests/media/corpus.py``."""

from __future__ import annotations

import hashlib
import importlib.util
import io
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from herald.core.errors import ConfigError, InputError, PhotoError
from herald.media import MAX_PHOTO_BYTES, CleanPhoto, has_metadata, ingest_photo, sanitize_filename
from tests.media import corpus

# Strings the corpus hides in metadata; none may survive anywhere in a clean photo's bytes.
SECRETS = (b"Canon", b"Jane Roe", b"0123456789", b"LENS-98765", b"Seoul", b"37.5665", b"33.994")
SIGNATURES = (b"Exif\x00\x00", b"xmpmeta", b"Photoshop 3.0", b"8BIM", b"ICC_PROFILE", b"PK\x03\x04")
NO_METADATA = dict.fromkeys(("exif", "gps", "xmp", "iptc", "comment", "icc"), False)

Colour = tuple[int, ...]

# (generator, upload name, output MIME type, output size, metadata the input must carry,
#  expected colour of pixel (4, 4) in the output)
ACCEPTED: list[tuple[Callable[[], bytes], str, str, tuple[int, int], set[str], Colour]] = [
    (corpus.jpeg_gps, "gps.jpg", "image/jpeg", (64, 48), {"exif", "gps"}, corpus.RED),
    (corpus.jpeg_xmp_gps, "xmp.jpg", "image/jpeg", (64, 48), {"xmp", "gps"}, corpus.RED),
    (corpus.jpeg_thumbnail_exif, "thumb.jpg", "image/jpeg", (64, 48), {"exif", "gps"}, corpus.RED),
    (corpus.jpeg_camera_details, "camera.jpg", "image/jpeg", (64, 48), {"exif"}, corpus.RED),
    (
        corpus.jpeg_everything,
        "all.jpg",
        "image/jpeg",
        (64, 48),
        {"exif", "gps", "xmp", "iptc", "comment", "icc"},
        corpus.RED,
    ),
    (corpus.jpeg_bad_icc, "badicc.jpg", "image/jpeg", (64, 48), {"icc"}, corpus.RED),
    (corpus.jpeg_swapped_icc, "icc.jpg", "image/jpeg", (32, 24), {"icc"}, (0, 0, 255)),
    (corpus.png_rgba_swapped_icc, "icc.png", "image/png", (12, 10), {"icc"}, (0, 0, 255, 100)),
    (corpus.cmyk_jpeg, "cmyk.jpg", "image/jpeg", (40, 30), set(), (255, 0, 0)),
    (corpus.png16_grey, "grey16.png", "image/png", (8, 6), set(), (128,)),
    (corpus.png16_rgb, "rgb16.png", "image/png", (8, 6), set(), (220, 20, 20)),
    (
        corpus.png_text,
        "text.png",
        "image/png",
        (10, 8),
        {"exif", "gps", "xmp", "comment", "icc"},
        corpus.RED,
    ),
    (corpus.png_palette_transparent, "pal.png", "image/png", (12, 10), set(), (*corpus.RED, 0)),
    (corpus.png_grey_alpha, "la.png", "image/png", (12, 10), set(), (128, 128, 128, 100)),
    (corpus.animated_gif, "anim.gif", "image/png", (20, 16), {"comment"}, corpus.RED),
    (corpus.webp_exif, "exif.webp", "image/jpeg", (24, 16), {"exif", "gps", "xmp"}, corpus.GREEN),
    (
        lambda: corpus.webp_exif(alpha=True),
        "alpha.webp",
        "image/png",
        (24, 16),
        {"exif", "gps", "xmp"},
        (*corpus.GREEN, 128),
    ),
    (corpus.jpeg_then_zip, "zip.jpg", "image/jpeg", (64, 48), {"exif", "gps"}, corpus.RED),
    (corpus.jpeg_then_html, "html.jpg", "image/jpeg", (64, 48), {"exif", "gps"}, corpus.RED),
    (lambda: corpus.png_header_only(1, 1), "tiny.png", "image/png", (1, 1), set(), (0, 0, 0)),
]


def _close(actual: Colour, expected: Colour, tolerance: int) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)
    )


def _assert_clean(photo: CleanPhoto) -> None:
    assert has_metadata(photo.data) == NO_METADATA
    for needle in SECRETS + SIGNATURES:
        assert needle not in photo.data, needle
    with Image.open(io.BytesIO(photo.data)) as out:
        assert not out.getexif()
        for key in ("exif", "xmp", "icc_profile", "comment", "photoshop", "XML:com.adobe.xmp"):
            assert key not in out.info, key
        assert getattr(out, "text", {}) == {}  # PNG text chunks
        out.load()


@pytest.mark.parametrize(
    ("make", "name", "mime", "size", "carried", "colour"),
    ACCEPTED,
    ids=[row[1] for row in ACCEPTED],
)
def test_accepted_photo_comes_out_clean(
    make: Callable[[], bytes],
    name: str,
    mime: str,
    size: tuple[int, int],
    carried: set[str],
    colour: Colour,
) -> None:
    data = make()
    # The corpus really carries what the row says, so a clean output means something.
    assert {key for key, present in has_metadata(data).items() if present} >= carried

    photo = ingest_photo(data, name)

    assert photo.mime_type == mime
    assert (photo.width, photo.height) == size
    assert photo.original_name == name
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    _assert_clean(photo)
    with Image.open(io.BytesIO(photo.data)) as out:
        assert out.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[mime]
        assert out.size == size
        assert getattr(out, "n_frames", 1) == 1
        pixel = out.getpixel((min(4, size[0] - 1), min(4, size[1] - 1)))
    assert pixel is not None
    actual = tuple(int(v) for v in pixel) if isinstance(pixel, tuple) else (int(pixel),)
    assert _close(actual, colour, 14), (actual, colour)


def test_trailing_data_is_dropped() -> None:
    photo = ingest_photo(corpus.jpeg_then_zip(), "zip.jpg")
    assert photo.data.endswith(b"\xff\xd9")
    assert b"evil.txt" not in photo.data


def test_same_photo_same_address() -> None:
    first = ingest_photo(corpus.jpeg_gps(), "a.jpg")
    second = ingest_photo(corpus.jpeg_gps(), "b.jpg")
    assert first.sha256 == second.sha256
    assert first.data == second.data


def test_repr_leaves_out_the_bytes() -> None:
    photo = ingest_photo(corpus.plain_jpeg(), "r.jpg")
    assert "data=" not in repr(photo)
    assert len(repr(photo)) < 300


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_is_applied_to_the_pixels(orientation: int) -> None:
    data = corpus.jpeg_oriented(orientation)
    with Image.open(io.BytesIO(data)) as stored:
        assert stored.getexif().get(0x0112) == orientation
        if orientation >= 5:
            assert stored.size == corpus.PATTERN_SIZE[::-1]

    photo = ingest_photo(data, f"o{orientation}.jpg")

    assert (photo.width, photo.height) == corpus.PATTERN_SIZE
    _assert_clean(photo)
    with Image.open(io.BytesIO(photo.data)) as upright:
        for corner, colour in corpus.PATTERN_CORNERS.items():
            actual = corpus.corner_colour(upright, corner)
            assert _close(actual, colour, 30), (orientation, corner, actual, colour)


def _huge_jpeg_header() -> bytes:
    return b"\xff\xd8\xff\xe0" + b"\x00" * (MAX_PHOTO_BYTES + 1)


# (generator, upload name, words the message must contain)
REFUSED: list[tuple[Callable[[], bytes], str, tuple[str, ...]]] = [
    (lambda: b"", "empty.jpg", ("empty", "0 bytes")),
    (_huge_jpeg_header, "huge.jpg", ("too large", "MiB")),
    (corpus.truncated_jpeg, "gps.jpg", ("truncated or corrupt",)),
    (corpus.png_bomb, "bomb.png", ("too many pixels",)),
    (lambda: corpus.png_header_only(19_000, 19_000), "big.png", ("too many pixels",)),
    (lambda: corpus.png_header_only(8_000, 8_000), "64mp.png", ("too many pixels",)),
    (lambda: corpus.png_header_only(25_000, 10), "wide.png", ("impossible dimensions", "25000x10")),
    (lambda: corpus.png_header_only(0, 10), "zero.png", ("truncated or corrupt",)),
    (lambda: corpus.png_header_only(3000, 2000), "stub.png", ("truncated or corrupt",)),
    (corpus.html_then_jpeg, "x.jpg", ("not an image", "looks like HTML")),
    (corpus.random_bytes, "noise.jpg", ("not an image", "binary")),
    (corpus.text_file, "notes.jpg", ("not an image", "looks like text")),
    (corpus.bmp, "b.jpg", ("a BMP image", "JPEG, PNG, WebP and GIF")),
    (corpus.tiff_image, "t.jpg", ("a TIFF image",)),
    (corpus.svg, "s.png", ("an SVG image",)),
    (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "doc.jpg", ("not an image", "PDF")),
    (lambda: b"GIF89a\x10\x00\x10\x00", "cut.gif", ("truncated or corrupt",)),
    (lambda: b"\xff\xd8\xff", "magic-only.jpg", ("truncated or corrupt",)),
]


@pytest.mark.parametrize(("make", "name", "words"), REFUSED, ids=[row[1] for row in REFUSED])
def test_refused_file(make: Callable[[], bytes], name: str, words: tuple[str, ...]) -> None:
    with pytest.raises(PhotoError) as caught:
        ingest_photo(make(), name)
    message = caught.value.message
    assert f"photo '{name}'" in message
    for word in words:
        assert word in message
    assert isinstance(caught.value, InputError) and caught.value.field == "photo"


def test_heic_without_the_plugin_is_refused_by_name() -> None:
    if importlib.util.find_spec("pillow_heif") is not None:
        pytest.skip("pillow_heif is installed, so HEIC is accepted")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(PhotoError, match="photo 'iphone.heic' is a HEIC image"):
        ingest_photo(heic, "iphone.heic")


def test_heic_with_the_plugin_comes_out_clean() -> None:
    pillow_heif = pytest.importorskip(
        "pillow_heif", reason="pillow_heif is not installed; HEIC support is optional"
    )
    heif = pillow_heif.from_pillow(Image.new("RGB", (32, 24), corpus.RED))
    out = io.BytesIO()
    heif.save(out, format="HEIF", exif=corpus.tiff(corpus.CAMERA, gps=corpus.GPS_SEOUL))
    photo = ingest_photo(out.getvalue(), "iphone.heic")
    assert photo.mime_type == "image/jpeg"
    assert (photo.width, photo.height) == (32, 24)
    _assert_clean(photo)


def test_truncated_images_flag_must_stay_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(ConfigError, match="LOAD_TRUNCATED_IMAGES"):
        ingest_photo(corpus.truncated_jpeg(), "gps.jpg")


# -- names --------------------------------------------------------------------------------------

HOSTILE_NAMES = [
    ("../../etc/passwd", "path separator"),
    ("C:\\x.jpg", "path separator"),
    ("..", "'..'"),
    ("photo..jpg", "'..'"),
    ("a\x00b.jpg", "NUL"),
    ("a\nb.jpg", "control character"),
    ("\x1b[31mred.jpg", "control character"),
    ("photo\u202egpj.exe", "control character"),
    ("x" * 300, "too long"),
    ("사진" * 50, "too long"),  # 100 Hangul syllables are 300 bytes of UTF-8
    ("\ud800.jpg", "not valid Unicode"),
]


@pytest.mark.parametrize(("name", "problem"), HOSTILE_NAMES)
def test_hostile_name_is_refused(name: str, problem: str) -> None:
    for call in (lambda: sanitize_filename(name), lambda: ingest_photo(corpus.plain_jpeg(), name)):
        with pytest.raises(PhotoError) as caught:
            call()
        message = caught.value.message
        assert problem in message
        assert message.startswith("photo name '")
        # quoted safely: no raw control characters, and cut short
        assert message.isprintable()
        assert len(message) < 160


FINE_NAMES = [
    ("사진 2026-03-14.jpg", "사진 2026-03-14.jpg"),
    ("  holiday.jpg  ", "holiday.jpg"),
    ("cafe\u0301.png", "café.png"),
    ("", "photo"),
    ("x" * 251 + ".jpg", "x" * 251 + ".jpg"),
    ("it's.jpg", "it's.jpg"),
]


@pytest.mark.parametrize(("name", "kept"), FINE_NAMES)
def test_fine_name_is_kept(name: str, kept: str) -> None:
    assert sanitize_filename(name) == kept
    assert ingest_photo(corpus.plain_jpeg(), name).original_name == kept


def test_messages_quote_the_name_with_quotes_escaped() -> None:
    with pytest.raises(PhotoError) as caught:
        ingest_photo(b"", "it's.jpg")
    assert "photo 'it\\'s.jpg' is empty" in caught.value.message


# -- properties ---------------------------------------------------------------------------------

MAGICS = [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x01\x00\x00WEBPVP8 "]


def _ingest_or_refuse(data: bytes) -> None:
    """Ingest must either refuse with ``PhotoError`` or return a photo with no metadata."""
    try:
        photo = ingest_photo(data, "fuzz.jpg")
    except PhotoError:
        return
    assert has_metadata(photo.data) == NO_METADATA
    assert photo.mime_type in ("image/jpeg", "image/png")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(magic=st.sampled_from(MAGICS), tail=st.binary(max_size=2048))
def test_random_bytes_only_raise_photo_error(magic: bytes, tail: bytes) -> None:
    _ingest_or_refuse(magic + tail)


GPS_JPEG = corpus.small_gps_jpeg()


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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=mutated_gps_jpeg())
def test_mutated_gps_jpeg_never_leaks(data: bytes) -> None:
    _ingest_or_refuse(data)


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(st.binary(max_size=4096), mutated_gps_jpeg()))
def test_has_metadata_never_raises(data: bytes) -> None:
    found = has_metadata(data)
    assert set(found) == set(NO_METADATA)
