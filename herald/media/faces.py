"""Face protection: find faces in a photo and make them unrecognisable before it is published.

People photographed at a protest, a shelter or a school may be put at risk by a post that shows
their face. ``detect_faces`` finds frontal and profile faces with OpenCV's Haar cascades, which
ship inside the ``opencv-python-headless`` wheel (``cv2.data.haarcascades``; nothing is
downloaded at run time). OpenCV 5 dropped the cascades and ``CascadeClassifier``, so Herald pins
``opencv-python-headless>=4.9,<5``.

Haar cascades miss faces: small ones (under about 24 px on a copy scaled to
``FACE_DETECT_MAX_SIDE_PX``), turned, tilted, masked or poorly lit. Detection is a help for the
person who publishes, never a promise: a composer should show the boxes found and let people
add their own (``protect_faces(..., boxes=...)``).

``protect_faces`` blurs (Gaussian, sigma = the box's longer side / ``FACE_BLUR_SIGMA_DIVISOR``)
or pixelates (at most ``FACE_PIXELATE_BLOCKS`` blocks across) each box and re-encodes the photo
from its pixels with no metadata, as JPEG or PNG like its input.

Errors: ``PhotoError`` for bytes that are not a photo; ``FaceProtectionUnavailable`` (a
``PhotoError``) when OpenCV or its cascade files are missing, so a post that asked for faces to
be protected is refused rather than published as it is.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from PIL import Image, ImageFilter

from herald.core.errors import InputError, PhotoError
from herald.media.codec import JPEG, PNG, encode, open_photo
from herald.media.ingest import CleanPhoto, ingest_photo
from herald.media.limits import (
    FACE_BLUR_SIGMA_DIVISOR,
    FACE_DETECT_MAX_SIDE_PX,
    FACE_MARGIN_FRACTION,
    FACE_MIN_SIZE_PX,
    FACE_PIXELATE_BLOCKS,
    JPEG_QUALITY,
)
from herald.media.metadata import has_metadata

if TYPE_CHECKING:
    import cv2
    import numpy as np
    from numpy.typing import NDArray

logger = logging.getLogger(__name__)

FRONTAL_CASCADE: Final = "haarcascade_frontalface_default.xml"
PROFILE_CASCADE: Final = "haarcascade_profileface.xml"  # trained on faces turned to one side

# Detection parameters: the pyramid step (1.1, OpenCV's default) and the neighbours a hit needs
# (5: few false positives on textures, at the cost of some faces in busy scenes).
_SCALE_FACTOR = 1.1
_MIN_NEIGHBOURS = 5
_CLAHE_CLIP = 2.0  # OpenCV's usual contrast limit for CLAHE

ProtectMode = Literal["blur", "pixelate"]


class FaceProtectionUnavailable(PhotoError):
    """Faces cannot be detected or protected here: OpenCV or its cascade files are missing."""


@dataclass(frozen=True, order=True)
class Box:
    """A rectangle in photo pixels: left ``x``, top ``y``, ``width`` and ``height``."""

    x: int
    y: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.x + self.width

    @property
    def bottom(self) -> int:
        return self.y + self.height

    def clamp(self, width: int, height: int) -> Box | None:
        """This box cut to a ``width`` x ``height`` photo; ``None`` if nothing is left."""
        x0, y0 = max(0, self.x), max(0, self.y)
        x1, y1 = min(width, self.right), min(height, self.bottom)
        if x1 <= x0 or y1 <= y0:
            return None
        return Box(x0, y0, x1 - x0, y1 - y0)

    def grow(self, fraction: float) -> Box:
        """This box with each side pushed out by ``fraction`` of its width or height."""
        dx = round(self.width * fraction)
        dy = round(self.height * fraction)
        return Box(self.x - dx, self.y - dy, self.width + 2 * dx, self.height + 2 * dy)

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )

    def union(self, other: Box) -> Box:
        x0, y0 = min(self.x, other.x), min(self.y, other.y)
        return Box(x0, y0, max(self.right, other.right) - x0, max(self.bottom, other.bottom) - y0)


# -- OpenCV -------------------------------------------------------------------------------------


def _require_opencv() -> None:
    """Import ``cv2`` with its cascades, or raise ``FaceProtectionUnavailable`` saying what to
    install. Called before anything else so a missing OpenCV fails before any decoding."""
    try:
        import cv2
        import cv2.data
    except ImportError as exc:
        raise FaceProtectionUnavailable(
            "faces cannot be detected: OpenCV is not installed "
            "(pip install 'opencv-python-headless>=4.9,<5'); nothing was blurred"
        ) from exc
    if not hasattr(cv2, "CascadeClassifier"):
        raise FaceProtectionUnavailable(
            f"faces cannot be detected: OpenCV {cv2.__version__} has no Haar cascades "
            "(OpenCV 5 dropped them; install 'opencv-python-headless>=4.9,<5')"
        )


# A CascadeClassifier is not documented as safe to share between threads; each thread that
# detects loads its own (about 30 ms, once).
_local = threading.local()


def _cascade(name: str) -> cv2.CascadeClassifier:
    import cv2
    import cv2.data

    cache: dict[str, cv2.CascadeClassifier] = getattr(_local, "cascades", None) or {}
    _local.cascades = cache
    if name not in cache:
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise FaceProtectionUnavailable(
                f"faces cannot be detected: OpenCV's cascade file {name} is missing or unreadable"
            )
        cache[name] = classifier
    return cache[name]


def _detect(name: str, grey: NDArray[np.uint8], mirrored: bool) -> list[Box]:
    """Boxes from one cascade on a greyscale image (mirrored back to it if ``mirrored``)."""
    found = _cascade(name).detectMultiScale(
        grey,
        scaleFactor=_SCALE_FACTOR,
        minNeighbors=_MIN_NEIGHBOURS,
        minSize=(FACE_MIN_SIZE_PX, FACE_MIN_SIZE_PX),
    )
    width = grey.shape[1]
    boxes = []
    for x, y, w, h in found:
        left = width - int(x) - int(w) if mirrored else int(x)
        boxes.append(Box(left, int(y), int(w), int(h)))
    return boxes


def merge_boxes(boxes: list[Box]) -> list[Box]:
    """Overlapping boxes replaced by their union, until none overlap; sorted."""
    merged = sorted(boxes)
    changed = True
    while changed:
        changed = False
        out: list[Box] = []
        for box in merged:
            for i, kept in enumerate(out):
                if kept.overlaps(box):
                    out[i] = kept.union(box)
                    changed = True
                    break
            else:
                out.append(box)
        merged = sorted(out)
    return merged


def detect_faces(photo_bytes: bytes) -> list[Box]:
    """Faces in a JPEG, PNG, WebP or GIF photo, as boxes in its pixels: frontal faces and
    profiles turned either way, each box grown by ``FACE_MARGIN_FRACTION`` on every side, cut
    to the photo, overlapping boxes merged, sorted. ``[]`` if none is found.

    Raises ``PhotoError`` if ``photo_bytes`` is not a photo, ``FaceProtectionUnavailable`` if
    OpenCV or its cascades are missing (checked before the photo is decoded)."""
    _require_opencv()
    import cv2
    import numpy as np  # installed with opencv-python-headless

    img, _ = open_photo(photo_bytes)
    try:
        width, height = img.size
        # Transparent pixels keep whatever colour they had; greyscale ignores alpha.
        grey_img = img.convert("L")
    finally:
        img.close()
    factor = min(1.0, FACE_DETECT_MAX_SIDE_PX / max(width, height))
    if factor < 1.0:
        small = (max(1, round(width * factor)), max(1, round(height * factor)))
        grey_img = grey_img.resize(small, Image.Resampling.BOX, reducing_gap=2.0)
    # Local contrast (CLAHE), not a global histogram stretch: faces in shadow or against a bright
    # window come up, and a frame dominated by one tone (a dark hall) does not flatten the face.
    clahe = cv2.createCLAHE(clipLimit=_CLAHE_CLIP, tileGridSize=(8, 8))
    grey: NDArray[np.uint8] = clahe.apply(np.asarray(grey_img, dtype=np.uint8)).astype(np.uint8)
    flipped = np.ascontiguousarray(grey[:, ::-1])
    raw = (
        _detect(FRONTAL_CASCADE, grey, False)
        + _detect(PROFILE_CASCADE, grey, False)
        + _detect(PROFILE_CASCADE, flipped, True)
    )
    boxes = []
    for box in raw:
        full = Box(
            math.floor(box.x / factor),
            math.floor(box.y / factor),
            math.ceil(box.width / factor),
            math.ceil(box.height / factor),
        )
        clamped = full.grow(FACE_MARGIN_FRACTION).clamp(width, height)
        if clamped is not None:
            boxes.append(clamped)
    merged = merge_boxes(boxes)
    logger.debug("faces: %d found (%d raw) in a %dx%d photo", len(merged), len(raw), width, height)
    return merged


# -- protection ---------------------------------------------------------------------------------


def _blur(img: Image.Image, box: Box) -> None:
    """Gaussian-blur ``box`` in place with sigma = its longer side / FACE_BLUR_SIGMA_DIVISOR.
    The blur reads pixels around the box too (3 sigma), so the box has no hard inner edge."""
    sigma = max(2.0, max(box.width, box.height) / FACE_BLUR_SIGMA_DIVISOR)
    reach = math.ceil(3 * sigma)
    outer = Box(box.x - reach, box.y - reach, box.width + 2 * reach, box.height + 2 * reach).clamp(*img.size)
    assert outer is not None  # it contains ``box``, which is inside the image
    region = img.crop((outer.x, outer.y, outer.right, outer.bottom)).filter(ImageFilter.GaussianBlur(sigma))
    inner = (box.x - outer.x, box.y - outer.y, box.right - outer.x, box.bottom - outer.y)
    img.paste(region.crop(inner), (box.x, box.y))


def _pixelate(img: Image.Image, box: Box) -> None:
    """Replace ``box`` in place by square blocks, each its pixels' average: at most
    FACE_PIXELATE_BLOCKS blocks across and as many down as the same block size gives."""
    block = max(1, math.ceil(max(box.width, box.height) / FACE_PIXELATE_BLOCKS))
    across = max(1, math.ceil(box.width / block))
    down = max(1, math.ceil(box.height / block))
    region = img.crop((box.x, box.y, box.right, box.bottom))
    coarse = region.resize((across, down), Image.Resampling.BOX)
    img.paste(coarse.resize((box.width, box.height), Image.Resampling.NEAREST), (box.x, box.y))


def protect_faces(
    photo_bytes: bytes,
    mime_type: str,
    mode: ProtectMode,
    boxes: list[Box] | None = None,
) -> bytes:
    """``photo_bytes`` with every face box blurred or pixelated (``mode``), re-encoded from its
    pixels with no metadata: PNG if the input is PNG or has transparency, else JPEG at
    ``JPEG_QUALITY``. ``boxes`` defaults to ``detect_faces(photo_bytes)``; boxes reaching
    outside the photo are cut to it. With no box left the input is returned as it was when it
    is already a metadata-free JPEG or PNG.

    Raises ``ValueError`` for an unknown ``mode``, ``PhotoError`` if the bytes are not a photo
    of ``mime_type``, ``FaceProtectionUnavailable`` if detection is needed and OpenCV is missing.
    """
    if mode not in ("blur", "pixelate"):
        raise ValueError(f"mode must be 'blur' or 'pixelate', not {mode!r}")
    if boxes is None:
        boxes = detect_faces(photo_bytes)
    img, actual = open_photo(photo_bytes, mime_type)
    try:
        width, height = img.size
        inside = [b for b in (box.clamp(width, height) for box in boxes) if b is not None]
        clean = not any(has_metadata(photo_bytes).values())
        if not inside and clean and actual in (JPEG, PNG):
            return photo_bytes
        apply = _blur if mode == "blur" else _pixelate
        for box in merge_boxes(inside):
            apply(img, box)
        out_type = PNG if actual == PNG or img.mode == "RGBA" else JPEG
        data = encode(img, out_type, JPEG_QUALITY)
    finally:
        img.close()
    left = [key for key, present in has_metadata(data).items() if present]
    if left:
        raise PhotoError(f"the photo still carried {', '.join(left)} after protecting faces; refused")
    logger.debug("faces: %d box(es) %s in a %dx%d photo", len(inside), mode, width, height)
    return data


def protect_photo(photo: CleanPhoto, mode: str | None) -> tuple[CleanPhoto, int | None]:
    """``photo`` with its faces blurred or pixelated (``mode``), cleaned again: a new
    metadata-free photo with its own hash, and how many faces were protected (None when no
    protection was asked, 0 when none was found). Deterministic, so a preview of it shows
    exactly what will be stored."""
    if not mode:
        return photo, None
    if mode not in ("blur", "pixelate"):
        raise InputError("protect_faces", "protect faces must be blur or pixelate")
    boxes = detect_faces(photo.data)
    if not boxes:
        return photo, 0
    data = protect_faces(photo.data, photo.mime_type, "blur" if mode == "blur" else "pixelate", boxes)
    return ingest_photo(data, photo.original_name), len(boxes)
