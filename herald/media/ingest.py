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
import struct
import unicodedata
import warnings
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from PIL import Image, ImageCms, ImageFile, ImageOps

from herald.core.errors import ConfigError, PhotoError
from herald.media.limits import (
    JPEG_QUALITY,
    MAX_DISPLAY_NAME_CHARS,
    MAX_FILENAME_BYTES,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_PHOTO_SIDE_PX,
    MIN_PHOTO_SIDE_PX,
    PNG_COMPRESS_LEVEL,
)

logger = logging.getLogger(__name__)

# Pillow refuses (DecompressionBombError) images over twice this many pixels when it reads the
# header, and warns over it; ingest turns the warning into an error too. Lowering Pillow's
# process-wide default (about 89 MP) to our limit only makes every other Pillow user in the
# process stricter.
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS

JPEG_MIME: Final = "image/jpeg"
PNG_MIME: Final = "image/png"

_DEFAULT_NAME = "photo"


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


# -- names --------------------------------------------------------------------------------------

# Bidirectional overrides and isolates: they make "photo\u202egpj.exe" display as "photoexe.jpg".
_BIDI_CONTROLS = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A))


def _display(name: str) -> str:
    """``name`` quoted for a message: non-printing characters escaped, quotes escaped, long
    names cut short. Safe to show whatever ``name`` holds."""
    shown = []
    for ch in name[:MAX_DISPLAY_NAME_CHARS]:
        if ch in "'\\":
            shown.append("\\" + ch)
        elif unicodedata.category(ch).startswith("C") or ord(ch) in _BIDI_CONTROLS:
            shown.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            shown.append(ch)
    suffix = "…" if len(name) > MAX_DISPLAY_NAME_CHARS else ""
    return "'" + "".join(shown) + suffix + "'"


def sanitize_filename(name: str) -> str:
    """The display name to keep for an upload called ``name``: NFC-normalised, surrounding
    white space removed, ``"photo"`` if nothing is left.

    The name is only ever shown to people; it is never used as a path. Names that try to be
    one are refused all the same, because nothing good comes from keeping them.

    Raises ``PhotoError`` (naming the problem, with the name quoted safely and cut short) if the
    name holds a path separator (``/`` or ``\\``), ``..``, a NUL or other control character, a
    bidirectional override, or more than ``MAX_FILENAME_BYTES`` bytes of UTF-8.
    """
    if not isinstance(name, str):
        raise PhotoError(f"photo name must be text, not {type(name).__name__}")
    shown = _display(name)
    if "\x00" in name:
        raise PhotoError(f"photo name {shown} contains a NUL character")
    if any(unicodedata.category(ch) == "Cc" or ord(ch) in _BIDI_CONTROLS for ch in name):
        raise PhotoError(f"photo name {shown} contains a control character")
    if "/" in name or "\\" in name:
        raise PhotoError(f"photo name {shown} contains a path separator")
    if ".." in name:
        raise PhotoError(f"photo name {shown} contains '..'")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise PhotoError(f"photo name {shown} is not valid Unicode text") from None
    if size > MAX_FILENAME_BYTES:
        raise PhotoError(f"photo name {shown} is too long ({size} bytes; the limit is {MAX_FILENAME_BYTES})")
    cleaned = unicodedata.normalize("NFC", name).strip()
    return cleaned or _DEFAULT_NAME


# -- what the bytes are -------------------------------------------------------------------------

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"})


def _sniff(data: bytes) -> str | None:
    """The Pillow format name of an accepted image, from its first bytes; ``None`` otherwise.

    The magic number must be at offset 0: a file that starts with anything else (HTML in front
    of a JPEG, say) is not accepted, whatever follows.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(_PNG_MAGIC):
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
        raise PhotoError(f"photo {shown} is truncated or corrupt") from exc
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


def ingest_photo(data: bytes, filename: str = _DEFAULT_NAME) -> CleanPhoto:
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
    shown = _display(name)
    if not data:
        raise PhotoError(f"photo {shown} is empty (0 bytes)")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(
            f"photo {shown} is too large ({len(data) / 2**20:.1f} MiB; "
            f"the limit is {MAX_PHOTO_BYTES / 2**20:g} MiB)"
        )
    kind = _sniff(data)
    if kind is None:
        what, is_image = _describe(data)
        if is_image:
            raise PhotoError(f"photo {shown} is {what} image; Herald accepts JPEG, PNG, WebP and GIF")
        raise PhotoError(f"photo {shown} is not an image (looks like {what})")

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


# -- metadata detection -------------------------------------------------------------------------

_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADERS = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")
_XMP_SIGNATURES = (b"http://ns.adobe.com/xap/1.0/", b"<x:xmpmeta", b"<?xpacket")
_IPTC_SIGNATURES = (b"Photoshop 3.0\x00", b"8BIM\x04\x04")
_GPS_TEXT_RE = re.compile(rb"gps", re.IGNORECASE)  # GPSLatitude, exif:GPSPosition, "GPS: ..."
_GPS_IFD_TAG = 0x8825
_MAX_TEXT_CHUNK_BYTES = 1 << 20  # inflate at most this much of a compressed PNG text chunk
_MAX_EXIF_BLOCKS = 64  # EXIF blocks searched for GPS; a file of repeated headers must stay cheap


def _tiff_has_gps(tiff: bytes) -> bool:
    """Whether a TIFF/EXIF block's first IFD points to a GPS IFD."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return False
    order = "<" if tiff[:2] == b"II" else ">"
    (offset,) = struct.unpack_from(order + "I", tiff, 4)
    if offset + 2 > len(tiff):
        return False
    (count,) = struct.unpack_from(order + "H", tiff, offset)
    for i in range(count):
        at = offset + 2 + 12 * i
        if at + 2 > len(tiff):
            return False
        (tag,) = struct.unpack_from(order + "H", tiff, at)
        if tag == _GPS_IFD_TAG:
            return True
    return False


def _scan_jpeg(data: bytes, found: dict[str, bool]) -> None:
    """Walk a JPEG's marker segments (including those between and after scans) to EOI."""
    i = 2
    n = len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            # entropy-coded data: jump to the next 0xFF (a marker, a stuffed byte or RSTn)
            i = data.find(b"\xff", i)
            if i == -1:
                return
            continue
        marker = data[i + 1]
        if marker == 0xFF:
            i += 1
            continue
        if marker == 0x00 or 0xD0 <= marker <= 0xD8 or marker == 0x01:
            i += 2
            continue
        if marker == 0xD9:  # EOI
            return
        (length,) = struct.unpack_from(">H", data, i + 2)
        payload = data[i + 4 : i + 2 + length]
        if marker == 0xE1 and payload.startswith(_EXIF_HEADER):
            found["exif"] = True
            found["gps"] |= _tiff_has_gps(payload[len(_EXIF_HEADER) :])
        elif marker == 0xE1 and payload.startswith(_XMP_HEADERS):
            found["xmp"] = True
            found["gps"] |= bool(_GPS_TEXT_RE.search(payload))
        elif marker == 0xED:
            found["iptc"] = True
        elif marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00"):
            found["icc"] = True
        elif marker == 0xFE:
            found["comment"] = True
        i += 2 + max(length, 2)


def _png_text(chunk_type: bytes, body: bytes) -> tuple[bytes, bytes]:
    """Keyword and text of a tEXt, zTXt or iTXt chunk (compressed text inflated, bounded)."""
    keyword, _, rest = body.partition(b"\x00")
    compressed = chunk_type == b"zTXt"
    if chunk_type == b"zTXt":
        rest = rest[1:]
    elif chunk_type == b"iTXt":
        compressed = rest[:1] == b"\x01"
        rest = rest[2:]
        rest = rest.split(b"\x00", 2)[-1]  # skip language tag and translated keyword
    if compressed:
        try:
            rest = zlib.decompressobj().decompress(rest, _MAX_TEXT_CHUNK_BYTES)
        except zlib.error:
            rest = b""
    return keyword, rest


def _scan_png(data: bytes, found: dict[str, bool]) -> None:
    i = len(_PNG_MAGIC)
    while i + 8 <= len(data):
        (length,) = struct.unpack_from(">I", data, i)
        chunk_type = data[i + 4 : i + 8]
        body = data[i + 8 : i + 8 + length]
        if chunk_type == b"eXIf":
            found["exif"] = True
            found["gps"] |= _tiff_has_gps(body)
        elif chunk_type == b"iCCP":
            found["icc"] = True
        elif chunk_type in (b"tEXt", b"zTXt", b"iTXt"):
            keyword, text = _png_text(chunk_type, body)
            key = keyword.lower()
            if key == b"xml:com.adobe.xmp" or key == b"raw profile type xmp":
                found["xmp"] = True
            elif key in (b"raw profile type exif", b"raw profile type app1"):
                found["exif"] = True
            elif key in (b"raw profile type iptc", b"raw profile type 8bim"):
                found["iptc"] = True
            elif key in (b"raw profile type icc", b"raw profile type icm"):
                found["icc"] = True
            else:
                found["comment"] = True
            found["gps"] |= bool(_GPS_TEXT_RE.search(text))
        elif chunk_type == b"IEND":
            return
        i += 12 + length


def _scan_webp(data: bytes, found: dict[str, bool]) -> None:
    i = 12
    while i + 8 <= len(data):
        fourcc = data[i : i + 4]
        (length,) = struct.unpack_from("<I", data, i + 4)
        body = data[i + 8 : i + 8 + length]
        if fourcc == b"EXIF":
            found["exif"] = True
            found["gps"] |= _tiff_has_gps(body.removeprefix(_EXIF_HEADER))
        elif fourcc == b"XMP ":
            found["xmp"] = True
            found["gps"] |= bool(_GPS_TEXT_RE.search(body))
        elif fourcc == b"ICCP":
            found["icc"] = True
        i += 8 + length + (length & 1)


def _scan_gif(data: bytes, found: dict[str, bool]) -> None:
    def skip_sub_blocks(j: int) -> int:
        while j < len(data) and data[j]:
            j += 1 + data[j]
        return j + 1

    if len(data) < 13:
        return
    flags = data[10]
    i = 13 + ((3 << ((flags & 7) + 1)) if flags & 0x80 else 0)
    while i < len(data):
        block = data[i]
        if block == 0x21 and i + 1 < len(data):  # extension
            label = data[i + 1]
            if label == 0xFE:
                found["comment"] = True
            elif label == 0xFF and data[i + 3 : i + 14] == b"XMP DataXMP":
                found["xmp"] = True
            i = skip_sub_blocks(i + 2)
        elif block == 0x2C and i + 10 <= len(data):  # image
            local = data[i + 9]
            i += 10 + ((3 << ((local & 7) + 1)) if local & 0x80 else 0)
            i = skip_sub_blocks(i + 1)  # after the LZW minimum code size
        else:
            return  # trailer (0x3B) or garbage


def has_metadata(data: bytes) -> dict[str, bool]:
    """Which kinds of metadata ``data`` carries: ``exif``, ``gps``, ``xmp``, ``iptc``,
    ``comment`` (JPEG COM, PNG text chunks, GIF comments) and ``icc``.

    Reads the container structure of JPEG, PNG, WebP and GIF without decoding pixels, and
    searches every byte (trailing data, embedded thumbnails, other formats) for EXIF, XMP and
    IPTC signatures. ``gps`` is set by a GPS IFD in any EXIF block found, and by GPS fields in
    XMP or PNG text. Never raises: damaged structure simply ends the walk.
    """
    found = dict.fromkeys(("exif", "gps", "xmp", "iptc", "comment", "icc"), False)
    try:
        if data.startswith(b"\xff\xd8"):
            _scan_jpeg(data, found)
        elif data.startswith(_PNG_MAGIC):
            _scan_png(data, found)
        elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            _scan_webp(data, found)
        elif data.startswith((b"GIF87a", b"GIF89a")):
            _scan_gif(data, found)
    except (struct.error, IndexError):
        pass  # a damaged structure ends the walk; the signature search below still runs
    at = data.find(_EXIF_HEADER)
    for _ in range(_MAX_EXIF_BLOCKS):
        if at == -1 or found["gps"]:
            break
        found["exif"] = True
        found["gps"] = _tiff_has_gps(data[at + len(_EXIF_HEADER) : at + 65536])
        at = data.find(_EXIF_HEADER, at + 1)
    for signature in _XMP_SIGNATURES:
        at = data.find(signature)
        if at != -1:
            found["xmp"] = True
            end = data.find(b"</x:xmpmeta>", at)
            packet = data[at : end if end != -1 else at + 65536]
            found["gps"] |= bool(_GPS_TEXT_RE.search(packet))
    if any(signature in data for signature in _IPTC_SIGNATURES):
        found["iptc"] = True
    if b"ICC_PROFILE\x00" in data:
        found["icc"] = True
    return found
