"""Renditions: the platform table, a table of photos made to fit rules (each output decoded and
checked against every rule), the order of changes (type, size, padding, quality before
dimensions), refusals, determinism, the rendition cache, and photo credits."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from herald.core.errors import PhotoError
from herald.media import (
    PhotoRules,
    Rendition,
    RenditionCache,
    alt_with_credit,
    append_credits,
    credit_line,
    has_metadata,
    ingest_photo,
    render_for,
)
from herald.media.limits import MAX_CREDIT_CHARS, RENDITION_QUALITIES
from herald.platforms import REGISTRY
from tests.media import corpus

JPEG, PNG, WEBP, GIF = "image/jpeg", "image/png", "image/webp", "image/gif"
BMP, TIFF = "image/bmp", "image/tiff"
MiB = 1024 * 1024

#: Each platform's photo rules, as its connector declares them (``Connector.photo_rules``).
PLATFORM_RULES = {name: connector.photo_rules for name, connector in REGISTRY.items()}


def photo(size: tuple[int, int], seed: int = 1, noise: float = 0.25, mode: str = "RGB") -> Image.Image:
    """A photo-like test image: colour gradients with ``noise`` of random pixels blended in, so
    it neither compresses to nothing nor is pure noise. Deterministic for a seed."""
    w, h = size
    grad = Image.linear_gradient("L").resize(size)
    base = Image.merge(
        "RGB",
        (
            grad,
            grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            grad.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
        ),
    )
    if noise:
        rnd = random.Random(seed)
        base = Image.blend(base, Image.frombytes("RGB", size, rnd.randbytes(w * h * 3)), noise)
    return base.convert(mode)


def jpeg(size: tuple[int, int], noise: float = 0.25, quality: int = 90, seed: int = 1) -> bytes:
    return corpus.encode(photo(size, seed, noise), "JPEG", quality=quality)


def png(img: Image.Image) -> bytes:
    return corpus.encode(img, "PNG")


def transparent_png(size: tuple[int, int] = (500, 400)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    img.paste((20, 200, 20, 255), (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
    return png(img)


def assert_fits(r: Rendition, rules: PhotoRules) -> Image.Image:
    """Everything a rendition promises, checked from its bytes; returns the decoded image."""
    assert r.sha256 == hashlib.sha256(r.data).hexdigest()
    assert not any(has_metadata(r.data).values()), has_metadata(r.data)
    assert len(r.data) <= rules.max_bytes
    assert r.mime_type in rules.mime_types
    img = Image.open(io.BytesIO(r.data))
    img.load()
    assert Image.MIME[img.format or ""] == r.mime_type
    assert img.size == (r.width, r.height)
    w, h = img.size
    if rules.max_side_px is not None:
        assert max(w, h) <= rules.max_side_px
    if rules.max_pixels is not None:
        assert w * h <= rules.max_pixels
    if rules.max_width_px is not None:
        assert w <= rules.max_width_px
    if rules.min_width_px is not None:
        assert w >= rules.min_width_px
    if rules.max_sum_wh is not None:
        assert w + h <= rules.max_sum_wh
    if rules.min_aspect is not None:
        assert w / h >= rules.min_aspect - 1e-9
    if rules.max_aspect is not None:
        assert w / h <= rules.max_aspect + 1e-9
    return img


def rgb_at(img: Image.Image, xy: tuple[int, int]) -> tuple[int, int, int]:
    pixel = img.convert("RGB").getpixel(xy)
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 12) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


# -- the platform table -------------------------------------------------------------------------

# (platform, bytes, types, max pixels, aspect range, width range, max width + height), as read
# from shared/platforms.md; a change to a connector's photo_rules must be a change to this table too.
PLATFORMS = [
    ("x", 5_000_000, {JPEG, PNG, WEBP}, None, (None, None), (None, None), None),
    ("mastodon", 16 * MiB, {JPEG, PNG, WEBP, GIF}, 33_177_600, (None, None), (None, None), None),
    ("bluesky", 1_000_000, {JPEG, PNG}, None, (None, None), (None, None), None),
    ("telegram", 10_000_000, {JPEG, PNG}, None, (1 / 20, 20.0), (None, None), 10_000),
    ("facebook", 9_999_999, {JPEG, PNG, GIF, BMP, TIFF}, None, (None, None), (None, None), None),
    ("instagram", 8 * MiB, {JPEG}, None, (0.8, 1.91), (320, 1440), None),
    ("linkedin", 10_000_000, {JPEG, PNG, GIF}, 36_152_320, (None, None), (None, None), None),
    ("threads", 8_000_000, {JPEG, PNG}, None, (None, None), (None, None), None),
]


@pytest.mark.parametrize(
    ("name", "max_bytes", "types", "max_pixels", "aspect", "width", "max_sum"),
    PLATFORMS,
    ids=[row[0] for row in PLATFORMS],
)
def test_platform_rules(
    name: str,
    max_bytes: int,
    types: set[str],
    max_pixels: int | None,
    aspect: tuple[float | None, float | None],
    width: tuple[int | None, int | None],
    max_sum: int | None,
) -> None:
    rules = PLATFORM_RULES[name]
    assert rules.max_bytes == max_bytes
    assert rules.mime_types == types
    assert rules.max_pixels == max_pixels
    assert (rules.min_aspect, rules.max_aspect) == aspect
    assert (rules.min_width_px, rules.max_width_px) == width
    assert rules.max_sum_wh == max_sum
    assert rules.platform


def test_every_platform_has_rules() -> None:
    assert set(REGISTRY) == {row[0] for row in PLATFORMS}


# -- photos made to fit -------------------------------------------------------------------------

Check = Callable[[Rendition, Image.Image], None]


def _unchanged(data: bytes) -> Check:
    def check(r: Rendition, _: Image.Image) -> None:
        assert r.unchanged and r.steps == ()
        assert r.data == data

    return check


def _white_where_transparent(r: Rendition, img: Image.Image) -> None:
    assert near(rgb_at(img, (5, 5)), (255, 255, 255))
    assert near(rgb_at(img, (r.width // 2, r.height // 2)), (20, 200, 20))


def _white_bands_left_right(r: Rendition, img: Image.Image) -> None:
    assert near(rgb_at(img, (2, r.height // 2)), (255, 255, 255), 4)
    assert near(rgb_at(img, (r.width - 3, r.height // 2)), (255, 255, 255), 4)
    assert not near(rgb_at(img, (r.width // 2, r.height // 2)), (255, 255, 255), 30)


def _white_bands_top_bottom(r: Rendition, img: Image.Image) -> None:
    assert near(rgb_at(img, (r.width // 2, 2)), (255, 255, 255), 4)
    assert near(rgb_at(img, (r.width // 2, r.height - 3)), (255, 255, 255), 4)


def _quality_not_size(r: Rendition, _: Image.Image) -> None:
    assert not any(step.startswith("scale") for step in r.steps), r.steps
    assert r.steps[-1].startswith("jpeg quality ")
    assert int(r.steps[-1].rsplit(" ", 1)[1]) < RENDITION_QUALITIES[0]


def _scaled_after_lowest_quality(r: Rendition, _: Image.Image) -> None:
    assert any(step.startswith("scale") for step in r.steps), r.steps


PLAIN = jpeg((64, 48), noise=0.1)
TALL = jpeg((540, 960), noise=0.1)  # 9:16 phone photo
NOISY = jpeg((900, 700), noise=0.5, quality=95)
SMALL_RULES = PhotoRules(max_bytes=300_000, mime_types=frozenset({JPEG, PNG}), platform="Small")

# (id, input bytes, input type, rules, output type, output size or None, extra check)
FITTED: list[tuple[str, bytes, str, PhotoRules, str, tuple[int, int] | None, Check | None]] = [
    ("fits-x-unchanged", PLAIN, JPEG, PLATFORM_RULES["x"], JPEG, (64, 48), _unchanged(PLAIN)),
    ("fits-bluesky-unchanged", PLAIN, JPEG, PLATFORM_RULES["bluesky"], JPEG, (64, 48), _unchanged(PLAIN)),
    (
        "png-alpha-instagram-flattened",
        transparent_png(),
        PNG,
        PLATFORM_RULES["instagram"],
        JPEG,
        (500, 400),
        _white_where_transparent,
    ),
    (
        "png-alpha-bluesky-kept",
        transparent_png(),
        PNG,
        PLATFORM_RULES["bluesky"],
        PNG,
        (500, 400),
        None,
    ),
    (
        "tall-instagram-padded",
        TALL,
        JPEG,
        PLATFORM_RULES["instagram"],
        JPEG,
        (768, 960),
        _white_bands_left_right,
    ),
    (
        "wide-instagram-padded",
        jpeg((1200, 300), noise=0.1),
        JPEG,
        PLATFORM_RULES["instagram"],
        JPEG,
        (1200, 629),
        _white_bands_top_bottom,
    ),
    (
        "big-instagram-scaled",
        jpeg((2000, 1500), noise=0.1),
        JPEG,
        PLATFORM_RULES["instagram"],
        JPEG,
        (1440, 1080),
        None,
    ),
    (
        "panorama-telegram-padded",
        jpeg((3000, 100), noise=0.1),
        JPEG,
        PLATFORM_RULES["telegram"],
        JPEG,
        (3000, 150),
        _white_bands_top_bottom,
    ),
    (
        "tower-telegram-padded",
        jpeg((100, 3000), noise=0.1),
        JPEG,
        PLATFORM_RULES["telegram"],
        JPEG,
        (150, 3000),
        _white_bands_left_right,
    ),
    (
        "telegram-width-plus-height",
        corpus.encode(Image.new("RGB", (7000, 3500), corpus.RED), "JPEG", quality=90),
        JPEG,
        PLATFORM_RULES["telegram"],
        JPEG,
        (6667, 3333),
        None,
    ),
    ("noisy-quality-before-size", NOISY, JPEG, SMALL_RULES, JPEG, (900, 700), _quality_not_size),
    (
        "noisier-scaled-after-quality",
        jpeg((1200, 900), noise=0.8, quality=95),
        JPEG,
        SMALL_RULES,
        JPEG,
        None,
        _scaled_after_lowest_quality,
    ),
    (
        "png-too-big-becomes-jpeg",
        png(photo((700, 500), noise=0.5)),
        PNG,
        SMALL_RULES,
        JPEG,
        (700, 500),
        lambda r, _: r.steps[0].startswith("convert image/png -> image/jpeg"),
    ),
    (
        "png-only-platform-scales-png",
        png(photo((700, 500), noise=0.5)),
        PNG,
        PhotoRules(max_bytes=300_000, mime_types=frozenset({PNG})),
        PNG,
        None,
        _scaled_after_lowest_quality,
    ),
    (
        "jpeg-to-png-only",
        PLAIN,
        JPEG,
        PhotoRules(max_bytes=10**6, mime_types=frozenset({PNG})),
        PNG,
        (64, 48),
        None,
    ),
    (
        "webp-to-bluesky",
        corpus.encode(photo((120, 80)), "WEBP", quality=80),
        WEBP,
        PLATFORM_RULES["bluesky"],
        JPEG,
        (120, 80),
        None,
    ),
    (
        "webp-to-x-unchanged",
        corpus.encode(photo((120, 80)), "WEBP", quality=80),
        WEBP,
        PLATFORM_RULES["x"],
        WEBP,
        (120, 80),
        lambda r, _: r.unchanged,
    ),
    (
        "gif-to-mastodon-png",
        corpus.animated_gif(),
        GIF,
        PLATFORM_RULES["mastodon"],
        PNG,
        (20, 16),
        None,
    ),
    (
        "gps-jpeg-stripped",
        corpus.jpeg_everything(),
        JPEG,
        PLATFORM_RULES["x"],
        JPEG,
        (64, 48),
        lambda r, _: r.steps[0] == "strip metadata",
    ),
    (
        "pixel-limit",
        PLAIN,
        JPEG,
        PhotoRules(max_bytes=10**6, mime_types=frozenset({JPEG}), max_pixels=1000),
        JPEG,
        None,
        lambda r, _: r.width * r.height <= 1000,
    ),
    (
        "longest-side",
        PLAIN,
        JPEG,
        PhotoRules(max_bytes=10**6, mime_types=frozenset({JPEG}), max_side_px=32),
        JPEG,
        (32, 24),
        None,
    ),
    (
        "sum-limit",
        PLAIN,
        JPEG,
        PhotoRules(max_bytes=10**6, mime_types=frozenset({JPEG}), max_sum_wh=56),
        JPEG,
        (32, 24),
        None,
    ),
    (
        "large-jpeg-decoded-at-reduced-scale",
        jpeg((4000, 3000), noise=0.05),
        JPEG,
        PLATFORM_RULES["instagram"],
        JPEG,
        (1440, 1080),
        None,
    ),
]


@pytest.mark.parametrize(
    ("data", "mime", "rules", "out_mime", "size", "check"),
    [row[1:] for row in FITTED],
    ids=[row[0] for row in FITTED],
)
def test_rendition_fits(
    data: bytes,
    mime: str,
    rules: PhotoRules,
    out_mime: str,
    size: tuple[int, int] | None,
    check: Check | None,
) -> None:
    r = render_for(data, mime, rules)
    img = assert_fits(r, rules)
    assert r.mime_type == out_mime
    if size is not None:
        assert (r.width, r.height) == size
    if check is not None:
        assert check(r, img) is not False
    # never upscaled: every scaling step makes the photo smaller
    with Image.open(io.BytesIO(data)) as src:
        for step in r.steps:
            if step.startswith("scale"):
                w, h = step.split(" -> ")[1].split("x")
                assert int(w) <= src.width and int(h) <= src.height


def test_padding_keeps_the_whole_photo_centred() -> None:
    src = photo((540, 960), noise=0)
    r = render_for(corpus.encode(src, "PNG"), PNG, PLATFORM_RULES["instagram"])
    img = assert_fits(r, PLATFORM_RULES["instagram"])
    assert (r.width, r.height) == (768, 960)
    band = (768 - 540) // 2
    # the photo's own corners are inside the canvas, unchanged: nothing was cropped
    for sx, sy in ((2, 2), (537, 2), (2, 957), (537, 957)):
        assert near(rgb_at(img, (band + sx, sy)), rgb_at(src, (sx, sy)), 14)


def test_quality_steps_down_before_dimensions() -> None:
    r = render_for(NOISY, JPEG, SMALL_RULES)
    quality = int(r.steps[-1].rsplit(" ", 1)[1])
    # the next higher quality would not have fitted at this size
    higher = RENDITION_QUALITIES[RENDITION_QUALITIES.index(quality) - 1]
    with Image.open(io.BytesIO(NOISY)) as src:
        assert (
            len(corpus.encode(src.convert("RGB"), "JPEG", quality=higher, optimize=True))
            > SMALL_RULES.max_bytes
        )


def test_same_input_same_rendition() -> None:
    first = render_for(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    again = render_for(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    assert first == again
    assert first.data == again.data


def test_ingested_photo_renders_for_every_platform() -> None:
    upload = corpus.with_exif(jpeg((800, 600), noise=0.1), corpus.tiff(corpus.CAMERA, gps=corpus.GPS_SEOUL))
    assert has_metadata(upload)["gps"]
    clean = ingest_photo(upload, "march.jpg")
    for name, rules in PLATFORM_RULES.items():
        r = render_for(clean.data, clean.mime_type, rules)
        assert_fits(r, rules)
        assert r.data == clean.data, name  # already fits everywhere: nothing re-encoded


# -- refusals -----------------------------------------------------------------------------------

REFUSED: list[tuple[str, bytes, str, PhotoRules, str]] = [
    (
        "too-narrow-for-instagram",
        jpeg((300, 300)),
        JPEG,
        PLATFORM_RULES["instagram"],
        "300 px wide; Instagram needs at least 320",
    ),
    (
        "cannot-fit-bytes",
        jpeg((200, 200), noise=1.0),
        JPEG,
        PhotoRules(max_bytes=300, mime_types=frozenset({JPEG})),
        "does not fit",
    ),
    ("declared-png-is-jpeg", PLAIN, PNG, PLATFORM_RULES["x"], "is image/jpeg, not image/png"),
    (
        "not-an-image",
        b"<html><body>hi</body></html>",
        JPEG,
        PLATFORM_RULES["x"],
        "not a JPEG, PNG, WebP or GIF",
    ),
    ("empty", b"", JPEG, PLATFORM_RULES["x"], "empty"),
    ("truncated", corpus.truncated_jpeg(), JPEG, PLATFORM_RULES["x"], "truncated or corrupt"),
    ("bomb", corpus.png_bomb(), PNG, PLATFORM_RULES["x"], "too many pixels"),
    (
        "no-writable-type",
        PLAIN,
        JPEG,
        PhotoRules(max_bytes=10**6, mime_types=frozenset({GIF})),
        "cannot be written",
    ),
]


@pytest.mark.parametrize(
    ("data", "mime", "rules", "words"), [row[1:] for row in REFUSED], ids=[row[0] for row in REFUSED]
)
def test_refused(data: bytes, mime: str, rules: PhotoRules, words: str) -> None:
    with pytest.raises(PhotoError) as caught:
        render_for(data, mime, rules)
    assert words in caught.value.message


def test_narrow_photo_is_not_scaled_below_the_minimum_width() -> None:
    rules = PhotoRules(max_bytes=40_000, mime_types=frozenset({JPEG}), min_width_px=400)
    with pytest.raises(PhotoError, match="does not fit"):
        render_for(jpeg((420, 420), noise=1.0), JPEG, rules)
    r = render_for(jpeg((1000, 1000), noise=0.1), JPEG, rules)
    assert r.width >= 400


# -- rules keys and the cache -------------------------------------------------------------------


def test_rules_key_names_every_limit() -> None:
    base = PLATFORM_RULES["instagram"]
    assert base.key == PhotoRules(**{**base.__dict__, "platform": "other name"}).key
    changed = [
        {"max_bytes": base.max_bytes - 1},
        {"mime_types": frozenset({JPEG, PNG})},
        {"max_side_px": 5000},
        {"max_pixels": 10**7},
        {"min_aspect": 0.75},
        {"max_aspect": 2.0},
        {"min_width_px": 300},
        {"max_width_px": 1080},
        {"max_sum_wh": 9000},
    ]
    keys = {PhotoRules(**{**base.__dict__, **change}).key for change in changed}
    assert len(keys) == len(changed) and base.key not in keys


def test_cache_in_memory() -> None:
    cache = RenditionCache(max_entries=2)
    first = cache.render(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    assert cache.render(NOISY, JPEG, PLATFORM_RULES["bluesky"]) is first
    assert (cache.hits, cache.misses) == (1, 1)
    cache.render(NOISY, JPEG, PLATFORM_RULES["instagram"])
    cache.render(PLAIN, JPEG, PLATFORM_RULES["x"])
    assert len(cache) == 2  # the least recently used (bluesky) went
    assert cache.render(NOISY, JPEG, PLATFORM_RULES["bluesky"]).data == first.data
    assert cache.misses == 4


def test_cache_bounded_by_bytes() -> None:
    cache = RenditionCache(max_bytes=len(PLAIN) * 2 + 1)
    for rules in (PLATFORM_RULES["x"], PLATFORM_RULES["bluesky"], PLATFORM_RULES["telegram"]):
        cache.render(PLAIN, JPEG, rules)
    assert len(cache) == 2


def test_cache_on_disk_is_shared_and_content_addressed(tmp_path: Path) -> None:
    first = RenditionCache(tmp_path).render(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    other = RenditionCache(tmp_path)  # another process would see the same directory
    again = other.render(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    assert (other.hits, other.misses) == (1, 0)
    assert again == first
    data_file = tmp_path / "data" / first.sha256[:2] / first.sha256
    assert data_file.read_bytes() == first.data
    index = tmp_path / "index" / f"{hashlib.sha256(NOISY).hexdigest()}-{PLATFORM_RULES['bluesky'].key}.json"
    assert json.loads(index.read_text())["sha256"] == first.sha256
    assert not list(tmp_path.rglob(".tmp-*"))  # atomic writes leave no temporary files
    # platforms that take the photo unchanged share one data file
    RenditionCache(tmp_path).render(PLAIN, JPEG, PLATFORM_RULES["x"])
    RenditionCache(tmp_path).render(PLAIN, JPEG, PLATFORM_RULES["telegram"])
    assert len(list((tmp_path / "data").rglob("*"))) == 2 + 2  # two files, two fan-out folders


def test_cache_ignores_a_damaged_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    first = RenditionCache(tmp_path).render(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    data_file = tmp_path / "data" / first.sha256[:2] / first.sha256
    data_file.write_bytes(corpus.jpeg_gps())  # damaged, and carrying GPS
    cache = RenditionCache(tmp_path)
    with caplog.at_level(logging.WARNING, logger="herald.media.cache"):
        again = cache.render(NOISY, JPEG, PLATFORM_RULES["bluesky"])
    assert again.data == first.data
    assert cache.misses == 1
    assert "does not match" in caplog.text
    index = next((tmp_path / "index").iterdir())
    index.write_text("{not json")
    assert RenditionCache(tmp_path).render(NOISY, JPEG, PLATFORM_RULES["bluesky"]).data == first.data


# -- credits ------------------------------------------------------------------------------------

CREDIT_LINES = [
    ("Jane Roe", "Photo: Jane Roe"),
    ("  Jane\n Roe\t", "Photo: Jane Roe"),
    ("Photo: Jane Roe", "Photo: Jane Roe"),
    ("📷 Jane Roe", "Photo: Jane Roe"),
    ("photo credit: AP / Jane Roe", "Photo: AP / Jane Roe"),
    ("Jane\u202eeoR", "Photo: Jane eoR"),
    ("Ja\u200bne\x00 Roe\x1b[31m", "Photo: Jane Roe [31m"),
    ("cafe\u0301 studio", "Photo: café studio"),
    ("", ""),
    ("  \n ", ""),
]


@pytest.mark.parametrize(("credit", "line"), CREDIT_LINES)
def test_credit_line(credit: str, line: str) -> None:
    assert credit_line(credit) == line


def test_credit_line_is_cut_without_splitting_an_emoji() -> None:
    family = "👩\u200d👩\u200d👧"
    line = credit_line("x" * 190 + family * 5)
    assert len(line) <= MAX_CREDIT_CHARS and line.endswith("…")
    assert not line[:-1].endswith("\u200d")
    assert credit_line("y" * 500) == "Photo: " + "y" * (MAX_CREDIT_CHARS - 8) + "…"


def _fits(limit: int) -> Callable[[str], bool]:
    return lambda text: len(text) <= limit


def test_append_credits() -> None:
    assert append_credits("Spring march", ["Jane Roe", "AP"], _fits(280)) == "Spring march\n\n📷 Jane Roe; AP"
    assert append_credits("Spring march\n", ["Photo: Jane Roe", "Jane Roe", ""], _fits(280)) == (
        "Spring march\n\n📷 Jane Roe"
    )
    assert append_credits("", ["Jane Roe"], _fits(280)) == "📷 Jane Roe"
    assert append_credits("Spring march", [], _fits(280)) == "Spring march"
    text = "x" * 270
    assert append_credits(text, ["Jane Roe"], _fits(280)) == text  # would not fit: unchanged


def test_alt_with_credit() -> None:
    assert (
        alt_with_credit("A crowd in the square", "Jane Roe", 1000) == "A crowd in the square. Photo: Jane Roe"
    )
    assert alt_with_credit("A crowd!", "Jane Roe", 1000) == "A crowd! Photo: Jane Roe"
    assert alt_with_credit("", "Jane Roe", 1000) == "Photo: Jane Roe"
    assert alt_with_credit("A crowd", None, 1000) == "A crowd"
    assert alt_with_credit("A crowd", None, 4) == "A c…"
    short = alt_with_credit("A very long description of the crowd", "Jane Roe", 30)
    assert len(short) <= 30 and short.endswith("Photo: Jane Roe") and "…" in short
    assert alt_with_credit("Anything", "Jane Roe", 10) == "Photo: Ja…"
    assert alt_with_credit("Anything", "Jane Roe", 0) == ""
