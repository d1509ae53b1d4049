"""Per-platform renditions: make a clean photo fit one platform's rules.

``render_for(photo_bytes, mime_type, rules)`` takes a photo that ``ingest_photo`` already
cleaned (it also accepts any JPEG, PNG, WebP or GIF, decoded with the same bomb and size checks)
and returns a ``Rendition`` that the platform will take, changing as little as it can, in this
order:

1. **Nothing**, if the photo already fits (type, bytes, size, aspect) and carries no metadata:
   the rendition is the input, byte for byte (``steps == ()``).
2. **Format**: a type the platform does not take becomes JPEG (or PNG when the platform takes
   PNG and the photo has real transparency or is a GIF). Transparency is flattened on white for
   JPEG.
3. **Size limits** (longest side, pixel count, width, width + height): scaled down to fit,
   never up. A photo narrower than the platform's minimum width is refused, not upscaled.
4. **Aspect ratio**: a photo outside the platform's range is **padded**, never cropped: bands
   of ``RENDITION_PAD_RGB`` (white; transparent for PNG) are added on the short sides. Cropping
   could cut a person or a face out of the frame, or the text of a poster, without anyone
   noticing; padding only adds a border. So Instagram (4:5 to 1.91:1) gets a 9:16 phone photo
   as a 4:5 photo with white bands left and right, and Telegram (ratio at most 20) a 30:1
   panorama as a 20:1 one with bands above and below.
5. **Bytes**: quality steps down before dimensions: JPEG quality 90, 85, ... 60 (the highest
   that fits, found by bisection), then the photo is scaled down by about 0.85 (more when the
   byte count shows it must shrink more) and the qualities are tried again. A PNG that is too
   large becomes a JPEG first if the platform takes JPEG.

The output is re-encoded from pixels with no metadata at all, and checked with
``has_metadata`` before it is returned. Output is deterministic: the same bytes and rules give
the same rendition bytes (for one Pillow build), so ``RenditionCache`` can keep renditions by
(input SHA-256, ``rules.key``) in memory and on disk.

Memory (``python -m bench.media_memory``; Pillow keeps RGB at 4 bytes a pixel): a JPEG that
must shrink to half its size or less is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
(``Image.draft``), and a JPEG too large for any quality at full size (see
``RENDITION_LOWEST_QUALITY_MIN_RATIO``) skips the full-size encodings and is decoded at the
reduced scale too; the first downscale releases the decoded photo halfway through
(``_shrink``), and only small frames get optimised Huffman tables. Measured on a 50 MP photo,
above the baseline: Instagram 22 MB, Bluesky 101 MB, Mastodon (to 33 MP) 364 MB; the raw RGB
buffer is 150 MB.

Errors: ``PhotoError`` when the bytes are not a photo (or not of ``mime_type``), when the photo
is narrower than ``min_width_px``, and when no rendition down to ``RENDITION_MIN_SIDE_PX`` fits
``max_bytes``. ``ConfigError`` if Pillow's ``LOAD_TRUNCATED_IMAGES`` is on.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, NamedTuple

from PIL import Image, ImageFile

from herald.core.errors import ConfigError, PhotoError
from herald.media.ingest import _base_mode, _check_size, _sniff, has_metadata
from herald.media.limits import (
    MAX_PHOTO_BYTES,
    PNG_COMPRESS_LEVEL,
    RENDITION_CACHE_BYTES,
    RENDITION_CACHE_ENTRIES,
    RENDITION_LOWEST_QUALITY_GUESS_RATIO,
    RENDITION_LOWEST_QUALITY_MIN_RATIO,
    RENDITION_MIN_SCALE_STEP,
    RENDITION_MIN_SIDE_PX,
    RENDITION_OPTIMIZE_MAX_PIXELS,
    RENDITION_PAD_RGB,
    RENDITION_QUALITIES,
    RENDITION_SCALE_STEP,
)

logger = logging.getLogger(__name__)

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
WEBP: Final = "image/webp"
GIF: Final = "image/gif"
HEIC: Final = "image/heic"

#: Bump when the rendering changes in a way that changes output bytes: it is part of every
#: rules key, so renditions cached on disk by an older Herald are not served as current ones.
RENDITION_VERSION = 1

# What Pillow format names (from ``ingest._sniff``) are, as MIME types.
_KIND_MIME: Final = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP, "GIF": GIF, "HEIF": HEIC}
# Types render_for can write.
_ENCODABLE: Final = frozenset({JPEG, PNG, WEBP})
# Float noise allowed when comparing an integer width/height ratio with a rule's bound.
_ASPECT_TOLERANCE = 1e-9
# How ingest's size check names the photo: renditions work on uploads that were named earlier.
_SHOWN = "(to render)"


@dataclass(frozen=True)
class PhotoRules:
    """One platform's photo limits. ``None`` means the platform sets no such limit.

    ``min_aspect``/``max_aspect`` bound width / height; ``max_sum_wh`` bounds width + height
    (Telegram). ``platform`` only names the platform in messages.
    """

    max_bytes: int
    mime_types: frozenset[str]
    max_side_px: int | None = None
    max_pixels: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_width_px: int | None = None
    max_width_px: int | None = None
    max_sum_wh: int | None = None
    platform: str = ""

    @property
    def key(self) -> str:
        """A stable hex digest of every limit (not ``platform``) and ``RENDITION_VERSION``: two
        rules with the same key make the same renditions."""
        canon = json.dumps(
            [
                RENDITION_VERSION,
                self.max_bytes,
                sorted(self.mime_types),
                self.max_side_px,
                self.max_pixels,
                None if self.min_aspect is None else repr(float(self.min_aspect)),
                None if self.max_aspect is None else repr(float(self.max_aspect)),
                self.min_width_px,
                self.max_width_px,
                self.max_sum_wh,
            ]
        )
        return hashlib.sha256(canon.encode("ascii")).hexdigest()[:32]

    @property
    def title(self) -> str:
        return self.platform or "the platform"


@dataclass(frozen=True)
class Rendition:
    """A photo made to fit one platform: metadata-free bytes and what was done to them
    (``steps``, in words, empty when the input already fitted and is returned as it was)."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    sha256: str  # hex digest of ``data``
    steps: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not self.steps


# Each entry names its line in shared/platforms.md. Where a size is given in "MB" without saying
# which, the decimal (smaller) reading is used: it fits either way.
RULES: dict[str, PhotoRules] = {
    # X, Limits: "image ≤ 5 MB"; formats for tweet_image JPEG, PNG, WEBP (BMP/TIFF never made).
    # 5,000,000 bytes also fits the connector's 5 MiB.
    "x": PhotoRules(max_bytes=5_000_000, mime_types=frozenset({JPEG, PNG, WEBP}), platform="X"),
    # Mastodon, Limits: "image_size_limit = 16 MiB (16,777,216 bytes) by default;
    # image_matrix_limit = 33,177,600 px (images are downscaled to ≈8.3 MP)". GIF as the
    # connector takes it (render_for never writes GIF). Per-instance values may be lower.
    "mastodon": PhotoRules(
        max_bytes=16 * 1024 * 1024,
        mime_types=frozenset({JPEG, PNG, WEBP, GIF}),
        max_pixels=33_177_600,
        platform="Mastodon",
    ),
    # Bluesky, Limits: "blob maxSize 2,000,000 bytes in the current lexicon (1,000,000 before
    # April 2026) ... Safe connector rule: compress to ≤ 1,000,000 bytes".
    "bluesky": PhotoRules(max_bytes=1_000_000, mime_types=frozenset({JPEG, PNG}), platform="Bluesky"),
    # Telegram Bot API, Limits: "upload ≤ 10 MB (PHOTOSIZE_UPLOAD = 10e6 bytes in
    # python-telegram-bot), width + height ≤ 10,000, aspect ratio ≤ 20" (either way round).
    "telegram": PhotoRules(
        max_bytes=10_000_000,
        mime_types=frozenset({JPEG, PNG}),
        min_aspect=1 / 20,
        max_aspect=20.0,
        max_sum_wh=10_000,
        platform="Telegram",
    ),
    # Facebook Page, Limits: "static images must be < 10 MB; formats JPEG, PNG, GIF, BMP, TIFF".
    "facebook": PhotoRules(max_bytes=10_000_000 - 1, mime_types=frozenset({JPEG, PNG}), platform="Facebook"),
    # Instagram, Limits: "JPEG only (sRGB), ≤ 8 MiB, aspect ratio between 4:5 (0.8) and 1.91:1,
    # width 320–1440 px (smaller is upscaled, larger downscaled)". Herald never upscales:
    # narrower photos are refused.
    "instagram": PhotoRules(
        max_bytes=8 * 1024 * 1024,
        mime_types=frozenset({JPEG}),
        min_aspect=0.8,
        max_aspect=1.91,
        min_width_px=320,
        max_width_px=1440,
        platform="Instagram",
    ),
    # LinkedIn, Limits: "JPG, PNG, GIF (≤ 250 frames); ≤ 36,152,320 pixels (width × height) ...
    # No explicit byte cap published for images [unconfirmed]": 10 MB is Herald's own cap, the
    # same as Telegram's and Facebook's.
    "linkedin": PhotoRules(
        max_bytes=10_000_000,
        mime_types=frozenset({JPEG, PNG}),
        max_pixels=36_152_320,
        platform="LinkedIn",
    ),
    # Threads, Limits: "images JPEG/PNG ≤ 8 MB [unconfirmed]".
    "threads": PhotoRules(max_bytes=8_000_000, mime_types=frozenset({JPEG, PNG}), platform="Threads"),
}


# -- decoding -----------------------------------------------------------------------------------


def _open_header(data: bytes, mime_type: str | None) -> tuple[Image.Image, str]:
    """Open ``data`` (header only) after the same checks as ingest: magic number at offset 0,
    byte and pixel limits. Returns the image and its real MIME type. ``mime_type``, if given,
    must match the bytes."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise ConfigError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; renditions refuse to run with it "
            "because truncated photos would be accepted"
        )
    if not data:
        raise PhotoError("the photo is empty (0 bytes)")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"the photo is too large ({len(data)} bytes)")
    kind = _sniff(data)
    if kind is None:
        raise PhotoError("the photo is not a JPEG, PNG, WebP or GIF image")
    actual = _KIND_MIME[kind]
    if mime_type is not None and mime_type != actual:
        raise PhotoError(f"the photo is {actual}, not {mime_type} as declared")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError("the photo has too many pixels") from exc
    except Exception as exc:  # any failure inside Pillow means a bad file
        raise PhotoError("the photo is truncated or corrupt") from exc
    try:
        _check_size(_SHOWN, *img.size)
    except PhotoError:
        img.close()
        raise
    return img, actual


def _load(img: Image.Image, draft_to: tuple[int, int] | None = None) -> Image.Image:
    """Decode every pixel of ``img`` (a JPEG at the smallest 1/2^n scale that is still at least
    ``draft_to``) and bring it to mode L, RGB or RGBA. Pillow errors become ``PhotoError``."""
    try:
        if draft_to is not None and img.format == "JPEG":
            img.draft(None, draft_to)
        img.load()
        base = _base_mode(img)
        if base.mode == "CMYK":
            base = base.convert("RGB")
    except MemoryError as exc:
        img.close()
        raise PhotoError("the photo is too large to decode") from exc
    except Exception as exc:  # any failure inside Pillow means a bad file
        img.close()
        raise PhotoError("the photo is truncated or corrupt") from exc
    if base is not img:
        img.close()
    return base


def open_photo(data: bytes, mime_type: str | None = None) -> tuple[Image.Image, str]:
    """Decode ``data`` fully (checked as in ingest) to mode L, RGB or RGBA; return the image
    and its MIME type. The caller closes the image. Raises ``PhotoError``."""
    img, actual = _open_header(data, mime_type)
    return _load(img), actual


def encode(img: Image.Image, mime_type: str, quality: int = RENDITION_QUALITIES[0]) -> bytes:
    """``img`` as ``mime_type`` bytes with no metadata. Pillow copies a JPEG comment and a PNG
    ICC profile from ``img.info`` unless told otherwise, so ``info`` is emptied first. JPEG
    Huffman tables are optimised up to ``RENDITION_OPTIMIZE_MAX_PIXELS`` (memory)."""
    img.info = {}
    out = io.BytesIO()
    if mime_type == JPEG:
        optimize = img.width * img.height <= RENDITION_OPTIMIZE_MAX_PIXELS
        img.save(out, "JPEG", quality=quality, optimize=optimize, exif=b"", comment=b"")
    elif mime_type == PNG:
        img.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    elif mime_type == WEBP:
        img.save(out, "WEBP", quality=quality, method=4, exif=b"", xmp=b"")
    else:
        raise ValueError(f"cannot encode {mime_type}")
    return out.getvalue()


#: JPEG markers a pass-through photo may carry: SOI, APP0 (JFIF), DQT, DHT, DRI, the SOFs,
#: SOS, EOI, restart markers. Anything else (APP1–APP15, COM, stray bytes) means "re-encode".
_JPEG_ALLOWED = {
    0xD8,
    0xE0,
    0xDB,
    0xC4,
    0xDD,
    0xDA,
    0xD9,
    *range(0xC0, 0xC4),
    *range(0xC5, 0xC8),
    *range(0xC9, 0xCC),
    *range(0xCD, 0xD0),
    *range(0xD0, 0xD8),
}
#: PNG chunks a pass-through photo may carry; text, EXIF, time and profile chunks are not.
_PNG_ALLOWED = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"}


def _structurally_bare(data: bytes) -> bool:
    """True only for a JPEG or PNG whose every segment is one that cannot hold metadata and
    which ends where its image ends. ``has_metadata`` reads what Pillow understands; a damaged
    segment can hide a camera serial or GPS text from it, so pass-through also needs this."""
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                return False
            marker = data[i + 1]
            if marker not in _JPEG_ALLOWED:
                return False
            if marker == 0xD9:
                return i + 2 == len(data)
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker == 0xDA:
                # Entropy-coded data follows; it ends at the EOI (FF D9) at the very end.
                return data.endswith(b"\xff\xd9") and data.find(b"\xff\xd9", i + 2 + length) == len(data) - 2
            i += 2 + length
        return False
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        i = 8
        while i + 8 <= len(data):
            length = int.from_bytes(data[i : i + 4], "big")
            kind = data[i + 4 : i + 8]
            if kind not in _PNG_ALLOWED:
                return False
            i += 12 + length
            if kind == b"IEND":
                return i == len(data)
        return False
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        if int.from_bytes(data[4:8], "little") + 8 != len(data):
            return False
        i = 12
        while i + 8 <= len(data):
            kind = data[i : i + 4]
            length = int.from_bytes(data[i + 4 : i + 8], "little")
            if kind not in (b"VP8 ", b"VP8L", b"VP8X", b"ALPH"):
                return False  # EXIF, XMP , ICCP, ANIM ... chunks
            if kind == b"VP8X" and data[i + 8] & 0b0010_1110:  # ICC, EXIF, XMP or animation flag
                return False
            i += 8 + length + (length & 1)
        return i == len(data)
    return False


def _is_clean(data: bytes) -> bool:
    return _structurally_bare(data) and not any(has_metadata(data).values())


# -- geometry -----------------------------------------------------------------------------------


class _Layout(NamedTuple):
    content_w: int  # the photo, scaled
    content_h: int
    width: int  # the canvas: the photo plus padding
    height: int

    def describe(self) -> str:
        return f"{self.width}x{self.height}"


def _layout(w: int, h: int, rules: PhotoRules, scale: float) -> _Layout:
    """The photo ``w`` x ``h`` scaled by ``scale``, and the canvas padded to the aspect range."""
    cw = max(1, round(w * scale))
    ch = max(1, round(h * scale))
    width, height = cw, ch
    if rules.min_aspect is not None and width < height * rules.min_aspect * (1 - _ASPECT_TOLERANCE):
        width = math.ceil(height * rules.min_aspect - _ASPECT_TOLERANCE)
    if rules.max_aspect is not None and width > height * rules.max_aspect * (1 + _ASPECT_TOLERANCE):
        height = math.ceil(width / rules.max_aspect - _ASPECT_TOLERANCE)
    return _Layout(cw, ch, max(width, cw), max(height, ch))


def _too_big(layout: _Layout, rules: PhotoRules) -> bool:
    w, h = layout.width, layout.height
    return (
        (rules.max_side_px is not None and max(w, h) > rules.max_side_px)
        or (rules.max_pixels is not None and w * h > rules.max_pixels)
        or (rules.max_width_px is not None and w > rules.max_width_px)
        or (rules.max_sum_wh is not None and w + h > rules.max_sum_wh)
    )


def _aspect_ok(width: int, height: int, rules: PhotoRules) -> bool:
    ratio = width / height
    return (rules.min_aspect is None or ratio >= rules.min_aspect * (1 - _ASPECT_TOLERANCE)) and (
        rules.max_aspect is None or ratio <= rules.max_aspect * (1 + _ASPECT_TOLERANCE)
    )


def _start_scale(w: int, h: int, rules: PhotoRules) -> float:
    """The largest scale (at most 1) whose padded canvas meets the size limits."""
    base = _layout(w, h, rules, 1.0)
    bw, bh = base.width, base.height
    scale = 1.0
    if rules.max_side_px is not None:
        scale = min(scale, rules.max_side_px / max(bw, bh))
    if rules.max_pixels is not None:
        scale = min(scale, math.sqrt(rules.max_pixels / (bw * bh)))
    if rules.max_width_px is not None:
        scale = min(scale, rules.max_width_px / bw)
    if rules.max_sum_wh is not None:
        scale = min(scale, rules.max_sum_wh / (bw + bh))
    # Rounding and padding can leave the canvas a pixel over; shrink a little until it fits.
    for _ in range(2000):
        if not _too_big(_layout(w, h, rules, scale), rules):
            return scale
        scale *= 0.998
    raise PhotoError(f"the photo ({w}x{h}) cannot be brought within {rules.title}'s size limits")


def _min_width_scale(w: int, h: int, rules: PhotoRules) -> float:
    """The smallest scale whose canvas is still at least ``min_width_px`` wide (0 if none)."""
    if rules.min_width_px is None:
        return 0.0
    scale = rules.min_width_px / _layout(w, h, rules, 1.0).width
    for _ in range(2000):
        if _layout(w, h, rules, scale).width >= rules.min_width_px or scale >= 1.0:
            return min(scale, 1.0)
        scale *= 1.001
    return 1.0


def _pad_fill(mode: str) -> int | tuple[int, ...]:
    if mode == "L":
        return RENDITION_PAD_RGB[0]
    if mode == "RGBA":
        return (*RENDITION_PAD_RGB, 0)  # transparent bands where the output keeps transparency
    return RENDITION_PAD_RGB


def _draw(src: Image.Image, layout: _Layout) -> Image.Image:
    """``src`` scaled to the layout's content size and centred on its padded canvas."""
    size = (layout.content_w, layout.content_h)
    content = src if src.size == size else src.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if (layout.width, layout.height) == size:
        return content
    canvas = Image.new(content.mode, (layout.width, layout.height), _pad_fill(content.mode))
    canvas.paste(content, ((layout.width - size[0]) // 2, (layout.height - size[1]) // 2))
    if content is not src:
        content.close()
    return canvas


def _shrink(src: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``src`` scaled down to ``size`` in two one-axis passes, ``src`` closed between them.
    One ``resize`` call does the same two passes but holds the source, the intermediate and the
    result at once; this holds two of them (at 50 MP to 33 MP: 360 MB instead of 500 MB)."""
    wide = src.resize((size[0], src.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    src.close()
    out = wide.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    wide.close()
    return out


def _flatten(img: Image.Image) -> Image.Image:
    """RGBA on a white background, as RGB (for JPEG, which has no transparency)."""
    if img.mode != "RGBA":
        return img
    flat = Image.new("RGB", img.size, RENDITION_PAD_RGB)
    flat.paste(img, mask=img.getchannel("A"))
    return flat


def _has_transparency(img: Image.Image) -> bool:
    if img.mode != "RGBA":
        return False
    low, _ = img.getchannel("A").getextrema()
    return bool(low != 255)


def _choose_type(source: str, transparent: bool, allowed: frozenset[str]) -> str:
    """Keep the source type if the platform takes it and Herald writes it; else PNG for real
    transparency or a GIF (a graphic, which JPEG smears) if allowed; else JPEG, PNG, WebP, the
    first of them the platform takes."""
    if source in allowed and source in _ENCODABLE:
        return source
    if (transparent or source == GIF) and PNG in allowed:
        return PNG
    for candidate in (JPEG, PNG, WEBP):
        if candidate in allowed:
            return candidate
    shown = ", ".join(sorted(allowed)) or "no type"
    raise PhotoError(f"the photo cannot be written as {shown}; Herald writes JPEG, PNG or WebP")


# -- fitting the bytes --------------------------------------------------------------------------


def _best_quality(frame: Image.Image, mime_type: str, max_bytes: int) -> tuple[int, bytes] | int:
    """The highest quality in ``RENDITION_QUALITIES`` whose encoding fits ``max_bytes``, with
    its bytes; else the size at the lowest quality. Sizes fall with quality, so after the
    highest and the lowest, bisection finds it in at most three more encodings."""
    qualities = RENDITION_QUALITIES
    data = encode(frame, mime_type, qualities[0])
    if len(data) <= max_bytes:
        return qualities[0], data
    lowest = encode(frame, mime_type, qualities[-1])
    if len(lowest) > max_bytes:
        return len(lowest)
    best = (qualities[-1], lowest)
    lo, hi = 0, len(qualities) - 1  # qualities[lo] is too large, qualities[hi] fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        data = encode(frame, mime_type, qualities[mid])
        if len(data) <= max_bytes:
            hi, best = mid, (qualities[mid], data)
        else:
            lo = mid
    return best


def render_for(photo_bytes: bytes, mime_type: str, rules: PhotoRules) -> Rendition:
    """``photo_bytes`` (of type ``mime_type``) made to fit ``rules``; see the module docstring
    for the order of changes and the errors raised."""
    img, source = _open_header(photo_bytes, mime_type)
    w, h = img.size
    try:
        start = _start_scale(w, h, rules)
        first = _layout(w, h, rules, start)
        floor = _min_width_scale(w, h, rules)
        if rules.min_width_px is not None and first.width < rules.min_width_px:
            raise PhotoError(
                f"the photo is {first.width} px wide; {rules.title} needs at least "
                f"{rules.min_width_px} px and Herald does not upscale photos"
            )
        clean = _is_clean(photo_bytes)
        if (
            clean
            and source in rules.mime_types
            and len(photo_bytes) <= rules.max_bytes
            and first == (w, h, w, h)
        ):
            # Already fits: verify it decodes completely (a JPEG at 1/8 scale is enough; libjpeg
            # still reads every coefficient), then hand back the very same bytes.
            _load(img, (max(1, w // 8), max(1, h // 8))).close()
            return _rendition(photo_bytes, source, w, h, (), rules)
        scale = _first_scale(len(photo_bytes), source, start, floor, rules)
        plan = _layout(w, h, rules, scale)
        src = _load(img, (plan.content_w, plan.content_h) if scale < 0.5 else None)
    except BaseException:
        img.close()
        raise
    return _fit(src, source, w, h, scale, floor, clean, rules)


def _first_scale(size: int, source: str, start: float, floor: float, rules: PhotoRules) -> float:
    """``start``, unless ``source`` is a JPEG so large for ``rules.max_bytes`` that no quality
    can fit at that size (``RENDITION_LOWEST_QUALITY_MIN_RATIO``): then a first downscaling
    step guessed from the byte counts, so the full-size encodings are never made."""
    if source != JPEG or _choose_type(JPEG, False, rules.mime_types) == PNG:
        return start
    if size * RENDITION_LOWEST_QUALITY_MIN_RATIO <= rules.max_bytes:
        return start
    guess = math.sqrt(rules.max_bytes / (size * RENDITION_LOWEST_QUALITY_GUESS_RATIO))
    return max(floor, start * max(RENDITION_MIN_SCALE_STEP, min(RENDITION_SCALE_STEP, guess)))


def _fit(
    src: Image.Image, source: str, w: int, h: int, scale: float, floor: float, clean: bool, rules: PhotoRules
) -> Rendition:
    """Steps 2-5 of the module docstring on the decoded ``src``, which this closes."""
    holder = [src]
    try:
        return _fit_pixels(holder, source, w, h, scale, floor, clean, rules)
    finally:
        holder[0].close()


def _fit_pixels(
    holder: list[Image.Image],
    source: str,
    w: int,
    h: int,
    scale: float,
    floor: float,
    clean: bool,
    rules: PhotoRules,
) -> Rendition:
    src = holder[0]
    transparent = _has_transparency(src)
    if src.mode == "RGBA" and not transparent:
        src = holder[0] = _swap(src, src.convert("RGB"))
    out_type = _choose_type(source, transparent, rules.mime_types)
    steps: list[str] = [] if clean else ["strip metadata"]
    if out_type != source:
        steps.append(f"convert {source} -> {out_type}")
    if out_type == JPEG and transparent:
        src = holder[0] = _swap(src, _flatten(src))
        steps.append("flatten transparency on white")

    rescaled = False
    while True:
        layout = _layout(w, h, rules, scale)
        size = (layout.content_w, layout.content_h)
        if src.size != size and not rescaled:
            # The first scaled copy replaces the decoded photo, and later (smaller) sizes are
            # made from it: at most two full sets of pixels are ever held, for a moment.
            src = holder[0] = _shrink(src, size)
            rescaled = True
        frame = _draw(src, layout)
        try:
            if out_type == PNG:
                data = encode(frame, PNG)
                if len(data) <= rules.max_bytes:
                    return _done(data, PNG, layout, w, h, steps, "png", rules)
                if JPEG in rules.mime_types:
                    # Quality before dimensions: a too-large PNG becomes a JPEG at this size.
                    steps.append(f"convert {PNG} -> {JPEG} (PNG over {rules.max_bytes} bytes)")
                    if transparent:
                        src = holder[0] = _swap(src, _flatten(src))
                        steps.append("flatten transparency on white")
                    out_type = JPEG
                    continue
                smallest = len(data)
            else:
                found = _best_quality(frame, out_type, rules.max_bytes)
                if not isinstance(found, int):
                    quality, data = found
                    label = f"{out_type.removeprefix('image/')} quality {quality}"
                    return _done(data, out_type, layout, w, h, steps, label, rules)
                smallest = found
        finally:
            if frame is not src:
                frame.close()
        # Dimensions only now: shrink by 0.85, or by what the byte count says is needed.
        step = math.sqrt(rules.max_bytes / smallest) * 0.95
        next_scale = scale * min(RENDITION_SCALE_STEP, max(RENDITION_MIN_SCALE_STEP, step))
        if next_scale < floor:
            next_scale = floor
        nxt = _layout(w, h, rules, next_scale)
        if (
            next_scale >= scale
            or nxt == layout
            or min(nxt.content_w, nxt.content_h) < min(RENDITION_MIN_SIDE_PX, w, h)
        ):
            raise PhotoError(
                f"the photo does not fit {rules.title}'s {rules.max_bytes} bytes "
                f"(still {smallest} bytes at {layout.describe()})"
            )
        scale = next_scale


def _swap(old: Image.Image, new: Image.Image) -> Image.Image:
    if new is not old:
        old.close()
    return new


def _done(
    data: bytes,
    mime_type: str,
    layout: _Layout,
    w: int,
    h: int,
    steps: list[str],
    encoding: str,
    rules: PhotoRules,
) -> Rendition:
    done = list(steps)
    if (layout.content_w, layout.content_h) != (w, h):
        done.append(f"scale {w}x{h} -> {layout.content_w}x{layout.content_h}")
    if (layout.width, layout.height) != (layout.content_w, layout.content_h):
        done.append(
            f"pad {layout.content_w}x{layout.content_h} -> {layout.width}x{layout.height} "
            f"(aspect {layout.width / layout.height:.3f})"
        )
    done.append(encoding)
    return _rendition(data, mime_type, layout.width, layout.height, tuple(done), rules)


def _rendition(
    data: bytes, mime_type: str, width: int, height: int, steps: tuple[str, ...], rules: PhotoRules
) -> Rendition:
    """The rendition, after checking what it promises; a failed check is a bug in this module,
    and refusing is better than publishing something that leaks or that the platform rejects."""
    left = [key for key, present in has_metadata(data).items() if present]
    if left:
        raise PhotoError(f"the photo still carried {', '.join(left)} after rendering; refused")
    if len(data) > rules.max_bytes or mime_type not in rules.mime_types:
        raise PhotoError(f"the photo rendition ({mime_type}, {len(data)} bytes) breaks {rules.title}'s rules")
    if _too_big(_Layout(width, height, width, height), rules) or not _aspect_ok(width, height, rules):
        raise PhotoError(f"the photo rendition ({width}x{height}) breaks {rules.title}'s size rules")
    rendition = Rendition(
        data=data,
        mime_type=mime_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        steps=steps,
    )
    logger.debug(
        "rendition for %s: %s %dx%d, %d bytes, steps=%s",
        rules.title,
        mime_type,
        width,
        height,
        len(data),
        "; ".join(steps) or "unchanged",
    )
    return rendition


# -- cache --------------------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdef")


class RenditionCache:
    """Renditions by (input SHA-256, ``rules.key``): an LRU in memory (at most ``max_entries``
    renditions and ``max_bytes`` of their data) and, if ``directory`` is given, files on disk
    shared by every process that uses the same directory.

    On disk, ``data/<sha[:2]>/<sha>`` holds a rendition's bytes under their own SHA-256 (so the
    many platforms that take a photo unchanged share one file) and ``index/<input>-<rules>.json``
    says which data file, type and size a key has. Both are written to a temporary file in the
    same directory and moved into place with ``os.replace``, so a reader sees a whole file or
    none. A data file whose digest does not match, or that carries metadata, counts as a miss
    (and is rewritten). Safe to share between threads.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str] | None = None,
        *,
        max_entries: int = RENDITION_CACHE_ENTRIES,
        max_bytes: int = RENDITION_CACHE_BYTES,
    ) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._memory: OrderedDict[tuple[str, str], Rendition] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._memory)

    def render(self, photo_bytes: bytes, mime_type: str, rules: PhotoRules) -> Rendition:
        """``render_for(photo_bytes, mime_type, rules)``, from the cache when it has it."""
        key = (hashlib.sha256(photo_bytes).hexdigest(), rules.key)
        with self._lock:
            found = self._memory.get(key)
            if found is not None:
                self._memory.move_to_end(key)
                self.hits += 1
                return found
        found = self._read(key, rules)
        if found is None:
            found = render_for(photo_bytes, mime_type, rules)
            self._write(key, found)
            with self._lock:
                self.misses += 1
        else:
            with self._lock:
                self.hits += 1
        self._remember(key, found)
        return found

    def _remember(self, key: tuple[str, str], rendition: Rendition) -> None:
        with self._lock:
            if key in self._memory:
                return
            self._memory[key] = rendition
            self._held += len(rendition.data)
            while self._memory and (len(self._memory) > self.max_entries or self._held > self.max_bytes):
                _, old = self._memory.popitem(last=False)
                self._held -= len(old.data)

    # -- disk ------------------------------------------------------------------------------

    def _index_path(self, key: tuple[str, str]) -> Path:
        assert self.directory is not None
        return self.directory / "index" / f"{key[0]}-{key[1]}.json"

    def _data_path(self, sha256: str) -> Path:
        assert self.directory is not None
        return self.directory / "data" / sha256[:2] / sha256

    def _read(self, key: tuple[str, str], rules: PhotoRules) -> Rendition | None:
        if self.directory is None:
            return None
        try:
            entry = json.loads(self._index_path(key).read_text("utf-8"))
            sha = str(entry["sha256"])
            if len(sha) != 64 or not set(sha) <= _HEX:
                raise ValueError("bad digest in index")
            data = self._data_path(sha).read_bytes()
            rendition = Rendition(
                data=data,
                mime_type=str(entry["mime_type"]),
                width=int(entry["width"]),
                height=int(entry["height"]),
                sha256=sha,
                steps=tuple(str(s) for s in entry["steps"]),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("rendition cache entry %s-%s unreadable (%s); rendering again", *key, exc)
            return None
        if (
            hashlib.sha256(data).hexdigest() != sha
            or len(data) > rules.max_bytes
            or rendition.mime_type not in rules.mime_types
            or not _is_clean(data)
        ):
            logger.warning(
                "rendition cache entry %s-%s does not match its digest or rules; rendering again", *key
            )
            return None
        return rendition

    def _write(self, key: tuple[str, str], rendition: Rendition) -> None:
        if self.directory is None:
            return
        entry = {
            "sha256": rendition.sha256,
            "mime_type": rendition.mime_type,
            "width": rendition.width,
            "height": rendition.height,
            "steps": list(rendition.steps),
            "version": RENDITION_VERSION,
        }
        try:
            data_path = self._data_path(rendition.sha256)
            if not data_path.exists():
                _write_atomic(data_path, rendition.data)
            _write_atomic(self._index_path(key), json.dumps(entry).encode("utf-8"))
        except OSError as exc:
            # The cache only saves work: a full or read-only disk must not stop a publish.
            logger.warning("rendition cache could not write %s-%s (%s)", *key, exc)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and
    ``os.replace``: concurrent readers and writers see the old file, the new one, or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
