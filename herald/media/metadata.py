"""Metadata detection: does a file still carry EXIF (and GPS in it), XMP, IPTC, or text chunks?
Ingest and renditions both check their output with ``has_metadata`` before they return it."""

from __future__ import annotations

import re
import struct
import zlib

#: The eight bytes every PNG file starts with.
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
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
    i = len(PNG_MAGIC)
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
        elif data.startswith(PNG_MAGIC):
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
