"""Decoding and encoding for renditions: the photo types Herald reads and writes, opening a photo
with ingest's checks, writing one with no metadata, and telling a clean file from one that must
be re-encoded.

Errors: ``PhotoError`` when the bytes are not a photo (or not of the declared type);
``ConfigError`` if Pillow's ``LOAD_TRUNCATED_IMAGES`` is on.
"""

from __future__ import annotations

import io
import warnings
from typing import Final

from PIL import Image, ImageFile

from herald.core.errors import ConfigError, PhotoError
from herald.media.ingest import _base_mode, _check_size, _sniff
from herald.media.limits import (
    MAX_PHOTO_BYTES,
    PNG_COMPRESS_LEVEL,
    RENDITION_OPTIMIZE_MAX_PIXELS,
    RENDITION_PAD_RGB,
    RENDITION_QUALITIES,
)
from herald.media.metadata import has_metadata

JPEG: Final = "image/jpeg"
PNG: Final = "image/png"
WEBP: Final = "image/webp"
GIF: Final = "image/gif"
HEIC: Final = "image/heic"

# What Pillow format names (from ``ingest._sniff``) are, as MIME types.
_KIND_MIME: Final = {"JPEG": JPEG, "PNG": PNG, "WEBP": WEBP, "GIF": GIF, "HEIF": HEIC}
# Types ``encode`` can write.
_ENCODABLE: Final = frozenset({JPEG, PNG, WEBP})
# How ingest's size check names the photo: renditions work on uploads that were named earlier.
_SHOWN = "(to render)"


# -- decoding -----------------------------------------------------------------------------------


def open_header(data: bytes, mime_type: str | None) -> tuple[Image.Image, str]:
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


def load_pixels(img: Image.Image, draft_to: tuple[int, int] | None = None) -> Image.Image:
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
    img, actual = open_header(data, mime_type)
    return load_pixels(img), actual


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


# -- types and transparency ---------------------------------------------------------------------


def flatten(img: Image.Image) -> Image.Image:
    """RGBA on a white background, as RGB (for JPEG, which has no transparency)."""
    if img.mode != "RGBA":
        return img
    flat = Image.new("RGB", img.size, RENDITION_PAD_RGB)
    flat.paste(img, mask=img.getchannel("A"))
    return flat


def has_transparency(img: Image.Image) -> bool:
    if img.mode != "RGBA":
        return False
    low, _ = img.getchannel("A").getextrema()
    return bool(low != 255)


def choose_type(source: str, transparent: bool, allowed: frozenset[str]) -> str:
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


# -- clean files --------------------------------------------------------------------------------


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


def is_clean(data: bytes) -> bool:
    """Whether ``data`` may be passed through as it is: bare in structure and carrying no
    metadata that Pillow can read."""
    return _structurally_bare(data) and not any(has_metadata(data).values())
