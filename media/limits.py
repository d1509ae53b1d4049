"""Limits for photo ingest, each with its unit in its name.

These are Herald's own safety limits for anything a person uploads, not a platform's limits:
per-platform renditions (X's 5 MB, Mastodon's 16 MiB) are made later from the clean photo.
"""

from __future__ import annotations

#: Largest upload accepted, checked before any decoding. A 50 MP camera JPEG is 15-25 MB.
MAX_PHOTO_BYTES = 30 * 1024 * 1024

#: Most pixels a photo may have, read from the header before decoding. 60 MP leaves room for
#: 50 MP cameras; a decoded 60 MP RGB image already needs about 180 MB of memory.
MAX_PHOTO_PIXELS = 60_000_000

#: Longest side accepted, pixels. Real photos and panoramas stay well under this; a header that
#: claims more is a decompression bomb or a corrupt file.
MAX_PHOTO_SIDE_PX = 20_000

#: Shortest side accepted, pixels.
MIN_PHOTO_SIDE_PX = 1

#: Longest display name accepted, bytes of UTF-8 (the common file-system limit).
MAX_FILENAME_BYTES = 255

#: How much of a file name an error message quotes, characters.
MAX_DISPLAY_NAME_CHARS = 60

#: JPEG re-encoding quality (libjpeg scale 1-95); 90 keeps photos visually unchanged.
JPEG_QUALITY = 90

#: zlib level for PNG re-encoding: 6 is zlib's default balance of size and time; ``optimize``
#: (level 9 plus filter search) takes many seconds on a 50 MP image.
PNG_COMPRESS_LEVEL = 6
