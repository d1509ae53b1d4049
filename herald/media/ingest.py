"""Photo ingest: turn an uploaded file into a photo that is safe to publish.

Safe means: it is really a JPEG, PNG, WebP or GIF image (judged from its bytes, never from its
name), it decodes completely, it is not a decompression bomb, and it carries no metadata at all.
People who publish through Herald may be hiding from someone; a GPS position left in a photo's
EXIF, XMP or embedded thumbnail tells that person where they are. So nothing is copied from the
upload but its pixels: the photo is decoded, stood up (EXIF orientation applied to the pixels),
converted to sRGB and re-encoded from scratch, and the result is checked once more with
``has_metadata`` before it is returned.

Errors: everything refused raises ``PhotoError`` whose message names the file (its sanitised
name, quoted) and the problem in plain words. ``ConfigError`` is raised only if something in
the process switched on Pillow's ``LOAD_TRUNCATED_IMAGES``, which would let truncated files in.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from PIL import Image, ImageCms, ImageFile, ImageOps

from herald.core.errors import ConfigError, PhotoError
from herald.core.i18n import _
from herald.media.limits import (
    JPEG_QUALITY,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_PHOTO_SIDE_PX,
    MIN_PHOTO_SIDE_PX,
    PNG_COMPRESS_LEVEL,
)
from herald.media.metadata import PNG_MAGIC, has_metadata
from herald.media.names import DEFAULT_NAME, display_name, sanitize_filename

logger = logging.getLogger(__name__)

# Pillow refuses (DecompressionBombError) images over twice this many pixels when it reads the
# header, and warns over it; ingest turns the warning into an error too. Lowering Pillow's
# process-wide default (about 89 MP) to our limit only makes every other Pillow user in the
# process stricter.
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS

JPEG_MIME: Final = "image/jpeg"
PNG_MIME: Final = "image/png"


@dataclass(frozen=True)
class CleanPhoto:
    """A photo re-encoded from its pixels alone: no EXIF, GPS, XMP, IPTC, comments or ICC
    profile (its colours are sRGB, the default everywhere)."""

    data: bytes = field(repr=False)  # re-encoded, metadata-free bytes
    mime_type: str  # "image/jpeg" or "image/png"
    width: int
    height: int
    sha256: str  # hex digest of ``data``: the photo's content address
    original_name: str  # sanitised display name of the upload; never used as a path


# -- what the bytes are -------------------------------------------------------------------------

_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def _sniff(data: bytes) -> str | None:
    """The Pillow format name of an accepted image, from its first bytes; ``None`` otherwise.

    The magic number must be at offset 0: a file that starts with anything else (HTML in front
    of a JPEG, say) is not accepted, whatever follows.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS and _heif_available():
        return "HEIF"
    return None


@lru_cache(maxsize=1)
def _heif_available() -> bool:
    """Whether HEIC/HEIF photos can be read: only with the optional ``pillow_heif`` plug-in."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


# Image formats Herald does not take, by magic number at offset 0, with their article.
_OTHER_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"BM", "a BMP"),
    (b"II*\x00", "a TIFF"),
    (b"MM\x00*", "a TIFF"),
    (b"8BPS", "a Photoshop"),
    (b"\x00\x00\x01\x00", "an ICO"),
    (b"\xff\x0a", "a JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL"),
    (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000"),
    (b"\xff\x4f\xff\x51", "a JPEG 2000"),
)
_NOT_IMAGES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"\x7fELF", "a program"),
    (b"MZ", "a Windows program"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_HTML_RE = re.compile(rb"<(?:!doctype\s+html|html|head|body|script|iframe|meta|div|p)[\s>/]", re.I)


def _describe(data: bytes) -> tuple[str, bool]:
    """What ``data`` looks like, for a refusal message ("a TIFF", "HTML", "text"), and
    whether it is an image at all."""
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"avif", b"avis"):
            return "an AVIF", True
        if brand in _HEIF_BRANDS:
            return "a HEIC", True
    for magic, name in _OTHER_IMAGES:
        if data.startswith(magic):
            return name, True
    for magic, what in _NOT_IMAGES:
        if data.startswith(magic):
            return what, False
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if re.match(rb"(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>]", head, re.I | re.S):
        return "an SVG", True
    if head.startswith(b"<") and _HTML_RE.search(head):
        return "HTML", False
    if head.startswith(b"<?xml"):
        return "XML", False
    try:
        sample = data[:4096].decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the sample's end is still text
        sample = data[: exc.start].decode("utf-8") if exc.start > 4090 else ""
    if sample and all(ch.isprintable() or ch in "\t\r\n\f" for ch in sample):
        return "text", False
    return "unrecognised binary data", False


# -- decoding -----------------------------------------------------------------------------------


def _check_size(shown: str, width: int, height: int) -> None:
    if not (
        MIN_PHOTO_SIDE_PX <= width <= MAX_PHOTO_SIDE_PX and MIN_PHOTO_SIDE_PX <= height <= MAX_PHOTO_SIDE_PX
    ):
        raise PhotoError(
            f"photo {shown} has impossible dimensions {width}x{height} "
            f"(each side must be {MIN_PHOTO_SIDE_PX} to {MAX_PHOTO_SIDE_PX} pixels)"
        )
    if width * height > MAX_PHOTO_PIXELS:
        raise PhotoError(
            f"photo {shown} has too many pixels ({width}x{height}, "
            f"{width * height / 1e6:.1f} megapixels; the limit is {MAX_PHOTO_PIXELS / 1e6:g})"
        )


def _decode(data: bytes, kind: str, shown: str) -> Image.Image:
    """Open ``data`` as ``kind``, check its size from the header, then decode every pixel of
    its first frame. Pillow's own exceptions become ``PhotoError`` here, at the boundary."""
    img: Image.Image | None = None
    try:
        with warnings.catch_warnings():
            # Not thread-safe in Python 3.11 (filters are process-wide), but it only ever adds
            # an "error" filter for Pillow's bomb warning for the length of this block.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=[kind])
            _check_size(shown, *img.size)
            img.load()  # full decode: truncated or corrupt data raises here
    except PhotoError:
        if img is not None:
            img.close()
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(
            f"photo {shown} has too many pixels (the limit is {MAX_PHOTO_PIXELS / 1e6:g} megapixels)"
        ) from exc
    except MemoryError as exc:
        if img is not None:
            img.close()
        raise PhotoError(f"photo {shown} is too large to decode") from exc
    except Exception as exc:  # any failure inside Pillow means a bad file
        if img is not None:
            img.close()
        raise PhotoError(_("photo %(photo)s is truncated or corrupt") % {"photo": shown}) from exc
    return img


def _stand_up(img: Image.Image, shown: str) -> Image.Image:
    """Apply the EXIF orientation to the pixels, so the photo stands up without metadata."""
    try:
        ImageOps.exif_transpose(img, in_place=True)
    except Exception as exc:  # unreadable EXIF: keep the pixels as stored
        logger.warning("photo %s: EXIF orientation unreadable (%s); not rotated", shown, exc)
    return img


def _scale_16_bit(img: Image.Image) -> Image.Image:
    """16-bit greyscale to 8-bit by scaling; ``convert("L")`` would clip everything over 255."""
    as_int = img if img.mode == "I" else img.convert("I")
    high = as_int.getextrema()[1]
    # "I;16" is 16-bit by definition; a 32-bit "I" image is taken as 16-bit if it uses the range.
    wide = img.mode.startswith("I;16") or (isinstance(high, int | float) and high > 255)
    scale = 255 / 65535 if wide else 1.0
    return as_int.point(lambda v: v * scale).convert("L")


def _base_mode(img: Image.Image) -> Image.Image:
    """Bring any mode to one of L, RGB, RGBA or CMYK (CMYK is kept for colour management)."""
    mode = img.mode
    if mode in ("L", "RGB", "RGBA", "CMYK"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if img.has_transparency_data else "RGB")
    if mode in ("LA", "La", "RGBa"):
        return img.convert("RGBA")
    if mode.startswith("I"):
        return _scale_16_bit(img)
    if mode == "F":
        return img.convert("L")
    return img.convert("RGB")


def _profile_to_srgb(
    img: Image.Image, source: ImageCms.ImageCmsProfile, srgb: ImageCms.ImageCmsProfile
) -> Image.Image:
    converted = ImageCms.profileToProfile(img, source, srgb, outputMode="RGB")
    if converted is None:  # only when converting in place, which we never ask for
        raise ImageCms.PyCMSError("colour conversion returned no image")
    return converted


def _to_srgb(img: Image.Image, shown: str) -> Image.Image:
    """Pixels in sRGB, mode L, RGB or RGBA: through the embedded ICC profile if there is one
    (then no profile needs embedding, sRGB being the default), else a plain conversion."""
    icc = img.info.get("icc_profile")
    if icc:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
            if img.mode == "RGBA":
                rgb = _profile_to_srgb(img.convert("RGB"), source, srgb)
                rgb.putalpha(img.getchannel("A"))
                return rgb
            return _profile_to_srgb(img, source, srgb)
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
            logger.warning("photo %s: ICC profile unusable (%s); colours converted without it", shown, exc)
    if img.mode == "CMYK":
        return img.convert("RGB")
    return img


def _replace(old: Image.Image, new: Image.Image) -> Image.Image:
    """``new``, after releasing ``old``'s pixels if it is a different image: a 50 MP photo is
    never held more than twice (the step's input and output) at any moment."""
    if new is not old:
        old.close()
    return new


def _encode(img: Image.Image, as_png: bool) -> bytes:
    """Encode ``img`` with no metadata. Pillow copies a JPEG comment and a PNG ICC profile from
    ``img.info`` unless told otherwise, so ``info`` is emptied first."""
    img.info = {}
    out = io.BytesIO()
    if as_png:
        img.save(out, "PNG", compress_level=PNG_COMPRESS_LEVEL)
    else:
        img.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True, exif=b"", comment=b"")
    return out.getvalue()


def ingest_photo(data: bytes, filename: str = DEFAULT_NAME) -> CleanPhoto:
    """Verify an uploaded photo and return it re-encoded, free of all metadata.

    The format is judged from the bytes, never from ``filename``: JPEG, PNG and WebP are
    accepted, and GIF, of which only the first frame is kept (re-encoded as PNG; so is the first
    frame of an animated PNG or WebP). HEIC is accepted only when the optional ``pillow_heif``
    plug-in is installed. Output: PNG for PNG and GIF sources and for anything with transparency,
    JPEG (quality ``JPEG_QUALITY``) otherwise. EXIF orientation is applied to the pixels; CMYK,
    16-bit, palette and grey-alpha images become 8-bit RGB, RGBA or L; an ICC profile is used to
    convert the colours to sRGB and is then dropped.

    Memory: ``data`` itself (up to ``MAX_PHOTO_BYTES``), the decoded image (3-4 bytes per pixel,
    up to about 240 MB at ``MAX_PHOTO_PIXELS``), for a moment one converted copy while rotating or
    converting colours (each intermediate is released as soon as the next exists), and the
    encoded output. Nothing else holds pixels.

    Raises ``PhotoError`` for a hostile file name (see ``sanitize_filename``), an empty file, a
    file over ``MAX_PHOTO_BYTES`` (checked before decoding), anything that does not start with
    the magic number of an accepted format (HTML, text, PDF, other image formats, polyglots
    that put something in front of the image), a header claiming more than
    ``MAX_PHOTO_PIXELS`` pixels or a side outside 1-``MAX_PHOTO_SIDE_PX`` (checked before
    decoding), and truncated or corrupt data. Bytes after the image's end (a ZIP or HTML
    appended to a JPEG) are dropped by the re-encoding.
    """
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise ConfigError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is on; photo ingest refuses to run with it "
            "because truncated photos would be accepted"
        )
    name = sanitize_filename(filename)
    shown = display_name(name)
    if not data:
        raise PhotoError(_("photo %(photo)s is empty (0 bytes)") % {"photo": shown})
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(
            _("photo %(photo)s is too large (%(size).1f MiB; the limit is %(limit)g MiB)")
            % {"photo": shown, "size": len(data) / 2**20, "limit": MAX_PHOTO_BYTES / 2**20}
        )
    kind = _sniff(data)
    if kind is None:
        what, is_image = _describe(data)
        if is_image:
            raise PhotoError(
                _("photo %(photo)s is %(what)s image; Herald accepts JPEG, PNG, WebP and GIF")
                % {"photo": shown, "what": what}
            )
        raise PhotoError(
            _("photo %(photo)s is not an image (looks like %(what)s)") % {"photo": shown, "what": what}
        )

    img = _decode(data, kind, shown)
    try:
        _stand_up(img, shown)
        source_has_alpha = img.mode in ("RGBA", "LA", "La", "RGBa", "PA") or (
            img.mode == "P" and img.has_transparency_data
        )
        img = _replace(img, _base_mode(img))
        img = _replace(img, _to_srgb(img, shown))
        as_png = kind in ("PNG", "GIF") or source_has_alpha or img.mode == "RGBA"
        encoded = _encode(img, as_png)
        width, height = img.size
    except (OSError, ValueError, SyntaxError, MemoryError) as exc:
        # Pillow failing on pixels it has already decoded: an odd mode or palette.
        raise PhotoError(f"photo {shown} could not be re-encoded") from exc
    finally:
        img.close()

    left = [key for key, present in has_metadata(encoded).items() if present]
    if left:
        # Cannot happen with the encoder settings above; refuse rather than leak if it ever does.
        raise PhotoError(f"photo {shown} still carried {', '.join(left)} after cleaning; refused")
    photo = CleanPhoto(
        data=encoded,
        mime_type=PNG_MIME if as_png else JPEG_MIME,
        width=width,
        height=height,
        sha256=hashlib.sha256(encoded).hexdigest(),
        original_name=name,
    )
    logger.debug(
        "photo %s ingested: %s %dx%d, %d bytes in, %d bytes out",
        shown,
        photo.mime_type,
        width,
        height,
        len(data),
        len(encoded),
    )
    return photo
