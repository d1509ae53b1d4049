"""Test photos generated on the fly (no downloaded files)."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
EXIF_IFD = 0x8769


def jpeg(
    width: int = 64,
    height: int = 48,
    *,
    color: tuple[int, int, int] = (200, 30, 30),
    gps: bool = True,
    make: str = "HeraldCam",
    serial: str = "SN-0042",
) -> bytes:
    """A JPEG carrying camera EXIF and, by default, a GPS position (Seoul)."""
    img = Image.new("RGB", (width, height), color)
    exif = Image.Exif()
    exif[0x010F] = make  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0132] = "2026:11:25 09:00:00"  # DateTime
    exif.get_ifd(EXIF_IFD)[0xA431] = serial  # BodySerialNumber
    if gps:
        g = exif.get_ifd(GPS_IFD)
        g[1] = "N"
        g[2] = (37.0, 33.0, 58.0)
        g[3] = "E"
        g[4] = (126.0, 58.0, 40.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def exif_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as im:
        return dict(im.getexif())
