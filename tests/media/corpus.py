"""Test photos, generated in memory: metadata written by hand byte by byte (so the test does not
trust the library it tests to have written it), pixels by Pillow. No downloaded files.

Every generator returns ``bytes``. Coordinates near GPS positions are made up.
"""

from __future__ import annotations

import io
import random
import struct
import zlib
from collections.abc import Iterable

from PIL import Image, ImageCms

# -- colours and patterns -----------------------------------------------------------------------

RED = (220, 20, 20)
GREEN = (20, 200, 20)
BLUE = (20, 20, 220)
WHITE = (250, 250, 250)

#: The upright test pattern: wider than tall, a different colour in each quadrant, so any
#: rotation or mirror shows in its size and in which colour sits in which corner.
PATTERN_SIZE = (96, 48)
PATTERN_CORNERS = {"top_left": RED, "top_right": GREEN, "bottom_left": BLUE, "bottom_right": WHITE}


def pattern(size: tuple[int, int] = PATTERN_SIZE) -> Image.Image:
    width, height = size
    img = Image.new("RGB", size, WHITE)
    img.paste(RED, (0, 0, width // 2, height // 2))
    img.paste(GREEN, (width // 2, 0, width, height // 2))
    img.paste(BLUE, (0, height // 2, width // 2, height))
    return img


def corner_colour(img: Image.Image, corner: str) -> tuple[int, int, int]:
    """Colour a few pixels in from ``corner`` (away from JPEG's blurred block edges)."""
    width, height = img.size
    x = 4 if "left" in corner else width - 5
    y = 4 if "top" in corner else height - 5
    pixel = img.convert("RGB").getpixel((x, y))
    assert isinstance(pixel, tuple)
    return (int(pixel[0]), int(pixel[1]), int(pixel[2]))


def encode(img: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def plain_jpeg(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = RED) -> bytes:
    return encode(Image.new("RGB", size, colour), "JPEG", quality=92)


# -- EXIF (TIFF) written by hand ----------------------------------------------------------------

Entry = tuple[int, int, bytes]  # (TIFF type, count, value bytes, little-endian)


def ascii_(text: str) -> Entry:
    raw = text.encode("ascii") + b"\x00"
    return (2, len(raw), raw)


def short(value: int) -> Entry:
    return (3, 1, struct.pack("<H", value))


def long_(value: int) -> Entry:
    return (4, 1, struct.pack("<I", value))


def rationals(*values: tuple[int, int]) -> Entry:
    return (5, len(values), b"".join(struct.pack("<II", n, d) for n, d in values))


def undefined(raw: bytes) -> Entry:
    return (7, len(raw), raw)


def _ifd_size(entries: dict[int, Entry]) -> int:
    data = sum(len(v) + (len(v) & 1) for _, _, v in entries.values() if len(v) > 4)
    return 2 + 12 * len(entries) + 4 + data


def _ifd(entries: dict[int, Entry], start: int, next_ifd: int = 0) -> bytes:
    table = struct.pack("<H", len(entries))
    data = b""
    data_start = start + 2 + 12 * len(entries) + 4
    for tag in sorted(entries):
        kind, count, value = entries[tag]
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_start + len(data))
            data += value + b"\x00" * (len(value) & 1)
    return table + struct.pack("<I", next_ifd) + data


GPS_SEOUL = {
    0x0000: (1, 4, b"\x02\x03\x00\x00"),  # GPSVersionID 2.3.0.0
    0x0001: ascii_("N"),
    0x0002: rationals((37, 1), (33, 1), (5964, 100)),
    0x0003: ascii_("E"),
    0x0004: rationals((126, 1), (58, 1), (4080, 100)),
}

CAMERA = {
    0x010F: ascii_("Canon"),  # Make
    0x0110: ascii_("Canon EOS 5D Mark IV"),  # Model
    0x0132: ascii_("2026:03:14 09:26:53"),  # DateTime
    0x013B: ascii_("Jane Roe"),  # Artist
}

EXIF_DETAILS = {
    0x9003: ascii_("2026:03:14 09:26:53"),  # DateTimeOriginal
    0x927C: undefined(b"Canon\x00\x00\x00" + b"SERIAL 0123456789 OWNER Jane Roe " * 4),  # MakerNote
    0xA430: ascii_("Jane Roe"),  # CameraOwnerName
    0xA431: ascii_("0123456789"),  # BodySerialNumber
    0xA435: ascii_("LENS-98765"),  # LensSerialNumber
}


def tiff(
    ifd0: dict[int, Entry],
    *,
    exif: dict[int, Entry] | None = None,
    gps: dict[int, Entry] | None = None,
    thumbnail: bytes | None = None,
) -> bytes:
    """A little-endian TIFF block: IFD0 (with pointers to an Exif IFD and a GPS IFD) and, for a
    thumbnail, IFD1 pointing at the JPEG bytes placed at the end."""
    ifd0 = dict(ifd0)
    if exif is not None:
        ifd0[0x8769] = long_(0)
    if gps is not None:
        ifd0[0x8825] = long_(0)
    ifd1: dict[int, Entry] | None = None
    if thumbnail is not None:
        ifd1 = {0x0103: short(6), 0x0201: long_(0), 0x0202: long_(len(thumbnail))}
    # Lay out: header, IFD0, Exif IFD, GPS IFD, IFD1, thumbnail. Pointers are 4-byte LONGs
    # whether filled in or not, so the sizes are known before the offsets.
    offset = 8
    at_ifd0 = offset
    offset += _ifd_size(ifd0)
    at_exif = offset
    offset += _ifd_size(exif) if exif is not None else 0
    at_gps = offset
    offset += _ifd_size(gps) if gps is not None else 0
    at_ifd1 = offset
    offset += _ifd_size(ifd1) if ifd1 is not None else 0
    at_thumbnail = offset
    if exif is not None:
        ifd0[0x8769] = long_(at_exif)
    if gps is not None:
        ifd0[0x8825] = long_(at_gps)
    if ifd1 is not None:
        ifd1[0x0201] = long_(at_thumbnail)
    out = b"II*\x00" + struct.pack("<I", at_ifd0)
    out += _ifd(ifd0, at_ifd0, at_ifd1 if ifd1 is not None else 0)
    if exif is not None:
        out += _ifd(exif, at_exif)
    if gps is not None:
        out += _ifd(gps, at_gps)
    if ifd1 is not None:
        out += _ifd(ifd1, at_ifd1)
    if thumbnail is not None:
        out += thumbnail
    return out


def with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with one more marker segment right after SOI."""
    assert jpeg[:2] == b"\xff\xd8" and len(payload) <= 65533
    return jpeg[:2] + struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload + jpeg[2:]


def with_exif(jpeg: bytes, tiff_block: bytes) -> bytes:
    return with_segment(jpeg, 0xE1, b"Exif\x00\x00" + tiff_block)


def jpeg_gps() -> bytes:
    """GPS IFD (0x8825) with latitude and longitude, plus camera make and model."""
    return with_exif(plain_jpeg(), tiff(CAMERA, gps=GPS_SEOUL))


def small_gps_jpeg() -> bytes:
    """A small GPS-bearing JPEG to mutate in the property test (cheap to decode)."""
    return with_exif(plain_jpeg((16, 16)), tiff(CAMERA, gps=GPS_SEOUL))


XMP_GPS = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    '  <rdf:Description rdf:about=""\n'
    '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
    '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
    '    exif:GPSLatitude="37,33.994N" exif:GPSLongitude="126,58.680E">\n'
    "   <dc:creator><rdf:Seq><rdf:li>Jane Roe</rdf:li></rdf:Seq></dc:creator>\n"
    "  </rdf:Description>\n"
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>'
).encode()


def jpeg_xmp_gps() -> bytes:
    """An APP1 XMP segment, written by hand, whose packet holds a GPS position."""
    return with_segment(plain_jpeg(), 0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP_GPS)


def jpeg_thumbnail_exif() -> bytes:
    """EXIF whose IFD1 embeds a thumbnail JPEG that carries its own EXIF with GPS."""
    thumb = with_exif(plain_jpeg((16, 12), BLUE), tiff(CAMERA, gps=GPS_SEOUL))
    return with_exif(plain_jpeg(), tiff(CAMERA, thumbnail=thumb))


def jpeg_camera_details() -> bytes:
    """Make, model, owner, body and lens serial numbers, timestamps and a MakerNote."""
    return with_exif(plain_jpeg(), tiff(CAMERA, exif=EXIF_DETAILS))


def iptc_payload() -> bytes:
    """APP13: a Photoshop image resource block (8BIM 0x0404) holding IPTC by-line and city."""

    def dataset(number: int, value: bytes) -> bytes:
        return b"\x1c\x02" + bytes([number]) + struct.pack(">H", len(value)) + value

    iptc = dataset(80, b"Jane Roe") + dataset(90, b"Seoul")
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iptc))
    return b"Photoshop 3.0\x00" + resource + iptc + b"\x00" * (len(iptc) & 1)


def jpeg_everything() -> bytes:
    """EXIF with GPS and MakerNote, XMP, IPTC, a comment and an ICC profile, all at once."""
    jpeg = plain_jpeg()
    jpeg = with_segment(jpeg, 0xFE, b"shot at 37.5665N 126.9780E, home")
    jpeg = with_segment(jpeg, 0xED, iptc_payload())
    jpeg = with_segment(jpeg, 0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP_GPS)
    jpeg = with_exif(jpeg, tiff(CAMERA, exif=EXIF_DETAILS, gps=GPS_SEOUL))
    icc = srgb_icc()
    jpeg = with_segment(jpeg, 0xE2, b"ICC_PROFILE\x00\x01\x01" + icc)
    return jpeg


def srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def jpeg_bad_icc() -> bytes:
    """An APP2 ICC segment whose profile is garbage: colours cannot be managed, photo is fine."""
    return with_segment(plain_jpeg(), 0xE2, b"ICC_PROFILE\x00\x01\x01" + b"not a profile" * 10)


# -- orientation --------------------------------------------------------------------------------

# How the camera stored an upright scene for each EXIF orientation, per the TIFF/EXIF spec's
# description of where row 0 and column 0 of the stored image appear when displayed:
#   1 row 0 top, col 0 left          2 row 0 top, col 0 right (mirrored)
#   3 row 0 bottom, col 0 right      4 row 0 bottom, col 0 left (mirrored)
#   5 row 0 left, col 0 top          6 row 0 right, col 0 top (display turns it 90° clockwise)
#   7 row 0 right, col 0 bottom      8 row 0 left, col 0 bottom (display turns it 90° anticlockwise)
_STORE = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],  # stored turned 90° anticlockwise
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],  # stored turned 90° clockwise
}


def jpeg_oriented(orientation: int) -> bytes:
    """The upright ``pattern()`` stored as a camera with this EXIF orientation would store it."""
    stored = pattern()
    for step in _STORE[orientation]:
        stored = stored.transpose(step)
    return with_exif(encode(stored, "JPEG", quality=95), tiff({0x0112: short(orientation)}))


# -- other colour spaces ------------------------------------------------------------------------


def cmyk_jpeg() -> bytes:
    return encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG", quality=95)  # red ink


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(
    width: int,
    height: int,
    rows: Iterable[bytes],
    *,
    bit_depth: int = 8,
    colour_type: int = 2,
    chunks: Iterable[bytes] = (),
) -> bytes:
    """A PNG written by hand; ``rows`` are raw scanlines without the filter byte. The IDAT
    stream is compressed row by row, so huge images cost little memory."""
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + b"".join(chunks)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png16_grey() -> bytes:
    """16-bit greyscale at 0x8000: mid grey once scaled to 8 bits (clipping would give white)."""
    return png(8, 6, (b"\x80\x00" * 8 for _ in range(6)), bit_depth=16, colour_type=0)


def png16_rgb() -> bytes:
    return png(8, 6, (b"\xdc\x00\x14\x00\x14\x00" * 8 for _ in range(6)), bit_depth=16, colour_type=2)


def png_text() -> bytes:
    """tEXt with a GPS-ish comment, zTXt author, iTXt XMP, an eXIf chunk with GPS and iCCP."""
    xmp = b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP_GPS
    chunks = [
        png_chunk(b"iCCP", b"sRGB\x00\x00" + zlib.compress(srgb_icc())),
        png_chunk(b"tEXt", b"Comment\x00GPS 37.5665 N, 126.9780 E (home)"),
        png_chunk(b"zTXt", b"Author\x00\x00" + zlib.compress(b"Jane Roe")),
        png_chunk(b"iTXt", xmp),
        png_chunk(b"eXIf", tiff(CAMERA, gps=GPS_SEOUL)),
    ]
    return png(10, 8, (bytes(RED) * 10 for _ in range(8)), chunks=chunks)


def png_palette_transparent() -> bytes:
    img = Image.new("P", (12, 10), 0)
    img.putpalette(list(RED) + list(BLUE) + [0, 0, 0] * 254)
    img.paste(1, (6, 0, 12, 10))  # left half: index 0, transparent
    return encode(img, "PNG", transparency=0)


def png_grey_alpha() -> bytes:
    return encode(Image.new("LA", (12, 10), (128, 100)), "PNG")


def animated_gif() -> bytes:
    """Three frames: red, green, blue, with a comment. Only the first frame may survive."""
    frames = [
        Image.new("RGB", (20, 16), c).convert("P", palette=Image.Palette.ADAPTIVE) for c in (RED, GREEN, BLUE)
    ]
    return encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=100,
        loop=0,
        comment=b"GPS 37.5665 N",
    )


def webp_exif(alpha: bool = False) -> bytes:
    """WebP with EXIF (GPS) and XMP chunks, lossy, with or without an alpha channel."""
    img = Image.new("RGBA", (24, 16), (*GREEN, 128)) if alpha else Image.new("RGB", (24, 16), GREEN)
    return encode(img, "WEBP", quality=90, exif=tiff(CAMERA, gps=GPS_SEOUL), xmp=XMP_GPS)


# -- broken and hostile files -------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = encode(pattern((256, 192)), "JPEG", quality=95)
    return data[: len(data) // 2]


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A real, valid 1-bit PNG claiming ``width``x``height`` of one colour: a few hundred KB
    that would decode to gigabytes."""
    row = b"\x00" * ((width + 7) // 8)
    return png(width, height, (row for _ in range(height)), bit_depth=1, colour_type=0)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims a size and whose pixel data is a stub: for header checks."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>\n"


def html_then_jpeg() -> bytes:
    return HTML + plain_jpeg()


def jpeg_then_zip() -> bytes:
    local_header = b"PK\x03\x04" + b"\x14\x00" + b"\x00" * 20 + b"\x08\x00\x00\x00" + b"evil.txt"
    return jpeg_gps() + local_header + b"GPS 37.5665 N secret" + b"PK\x05\x06" + b"\x00" * 18


def jpeg_then_html() -> bytes:
    return jpeg_gps() + HTML


def random_bytes(size: int = 4096, seed: int = 1234) -> bytes:
    return random.Random(seed).randbytes(size)


def text_file() -> bytes:
    return "Meeting notes\nbring the photos on Tuesday\n사진은 화요일에\n".encode()


def bmp() -> bytes:
    return encode(Image.new("RGB", (8, 8), RED), "BMP")


def tiff_image() -> bytes:
    return encode(Image.new("RGB", (8, 8), RED), "TIFF")


def svg() -> bytes:
    return b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10"></svg>'


# -- a hand-made ICC profile --------------------------------------------------------------------


def _s15(value: float) -> bytes:
    return struct.pack(">i", round(value * 65536))


def _xyz(x: float, y: float, z: float) -> bytes:
    return b"XYZ \x00\x00\x00\x00" + _s15(x) + _s15(y) + _s15(z)


def swapped_rgb_icc() -> bytes:
    """An ICC v2 display profile whose red and blue primaries are swapped (sRGB's primaries,
    adapted to D50, gamma 2.2). A pixel stored as (255, 0, 0) under it means blue: only real
    colour management turns it blue, so the test can tell conversion from copying."""
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    description = b"swapped red and blue\x00"
    gamma = b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0233) + b"\x00\x00"  # 2.2 (u8.8)
    tags = [
        (
            b"desc",
            b"desc\x00\x00\x00\x00"
            + struct.pack(">I", len(description))
            + description
            + b"\x00" * (4 + 4 + 2 + 1 + 67),  # empty Unicode and ScriptCode descriptions
        ),
        (b"cprt", b"text\x00\x00\x00\x00no copyright, test data\x00"),
        (b"wtpt", _xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", _xyz(*blue)),
        (b"gXYZ", _xyz(*green)),
        (b"bXYZ", _xyz(*red)),
        (b"rTRC", gamma),
        (b"gTRC", gamma),
        (b"bTRC", gamma),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = struct.pack(">I", len(tags))
    body = b""
    for signature, data in tags:
        table += signature + struct.pack(">II", offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\x00" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)  # perceptual intent
        + _s15(0.9642)
        + _s15(1.0)
        + _s15(0.8249)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + table + body


def jpeg_swapped_icc() -> bytes:
    """Stored red under the swapped profile: it must come out blue."""
    return encode(Image.new("RGB", (32, 24), (255, 0, 0)), "JPEG", quality=95, icc_profile=swapped_rgb_icc())


def png_rgba_swapped_icc() -> bytes:
    """Half-transparent stored red under the swapped profile: blue, with its alpha kept."""
    img = Image.new("RGBA", (12, 10), (255, 0, 0, 100))
    return encode(img, "PNG", icc_profile=swapped_rgb_icc())
