"""Photos: decode, verify and strip every piece of metadata before anything is published.

This room imports nothing from Celery, SQL or Redis; of Herald it uses only ``herald.errors``.
"""

from __future__ import annotations

from media.ingest import CleanPhoto, has_metadata, ingest_photo, sanitize_filename
from media.limits import (
    JPEG_QUALITY,
    MAX_FILENAME_BYTES,
    MAX_PHOTO_BYTES,
    MAX_PHOTO_PIXELS,
    MAX_PHOTO_SIDE_PX,
    MIN_PHOTO_SIDE_PX,
)

__all__ = [
    "JPEG_QUALITY",
    "MAX_FILENAME_BYTES",
    "MAX_PHOTO_BYTES",
    "MAX_PHOTO_PIXELS",
    "MAX_PHOTO_SIDE_PX",
    "MIN_PHOTO_SIDE_PX",
    "CleanPhoto",
    "has_metadata",
    "ingest_photo",
    "sanitize_filename",
]
