"""Photos: decode, verify and strip every piece of metadata before anything is published; make
per-platform renditions to the ``PhotoRules`` each connector declares; protect faces; credit
photographers.

This room imports nothing from Celery, SQL or Redis; of Herald it uses only ``herald.core.errors``.
``media.faces`` needs OpenCV (``opencv-python-headless``), imported only when faces are
detected, so the rest of the room works without it.
"""

from __future__ import annotations

from herald.media.cache import RenditionCache
from herald.media.credit import alt_with_credit, append_credits, credit_line
from herald.media.faces import Box, FaceProtectionUnavailable, detect_faces, protect_faces, protect_photo
from herald.media.ingest import CleanPhoto, ingest_photo
from herald.media.limits import (
    JPEG_QUALITY,
    MAX_CREDIT_CHARS,
    MAX_FILENAME_BYTES,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_PHOTO_SIDE_PX,
    MIN_PHOTO_SIDE_PX,
)
from herald.media.metadata import has_metadata
from herald.media.names import sanitize_filename
from herald.media.renditions import Rendition, render_for
from herald.media.rules import PhotoRules

__all__ = [
    "JPEG_QUALITY",
    "MAX_CREDIT_CHARS",
    "MAX_FILENAME_BYTES",
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "MAX_PHOTO_SIDE_PX",
    "MIN_PHOTO_SIDE_PX",
    "Box",
    "CleanPhoto",
    "FaceProtectionUnavailable",
    "PhotoRules",
    "Rendition",
    "RenditionCache",
    "alt_with_credit",
    "append_credits",
    "credit_line",
    "detect_faces",
    "has_metadata",
    "ingest_photo",
    "protect_faces",
    "protect_photo",
    "render_for",
    "sanitize_filename",
]
