"""Limits for photo ingest, each with its unit in its name.

These are Herald's own safety limits for anything a person uploads, and the tuning of
renditions, faces and credits; not a platform's limits: those are each connector's
``photo_rules`` (X's 5 MB, Mastodon's 16 MiB), which renditions are later made to fit.
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

# -- renditions (media/renditions.py, codec.py, layout.py, cache.py) ----------------------------

#: JPEG (and WebP) qualities tried, best first, before any downscaling: a photo loses less from
#: quality 60 than from losing a fifth of its pixels, and platforms recompress anyway.
RENDITION_QUALITIES = (90, 85, 80, 75, 70, 65, 60)

#: Largest scale factor of one downscaling step when even the lowest quality is too large. The
#: step is smaller when the byte count says the photo must shrink more.
RENDITION_SCALE_STEP = 0.85

#: Smallest scale factor of one downscaling step: bounds an overshoot of the size estimate.
RENDITION_MIN_SCALE_STEP = 0.3

#: A JPEG re-encoded at the lowest quality keeps at least this fraction of its bytes (even from
#: quality 100 it keeps about a fifth). When that is still over a platform's byte limit, no
#: quality can fit at full size, so the full-size encodings are skipped and the photo is
#: decoded at a reduced scale from the start: a 50 MP photo for Bluesky never holds 50 MP.
RENDITION_LOWEST_QUALITY_MIN_RATIO = 0.1

#: First guess of that fraction, for the first downscaling step (quality 90 to 60 roughly
#: halves a JPEG; 0.3 errs towards a larger first step than needed, refined by the next ones).
RENDITION_LOWEST_QUALITY_GUESS_RATIO = 0.3

#: Shortest side a rendition may be scaled down to, pixels; below it the photo is refused.
RENDITION_MIN_SIDE_PX = 32

#: Colour of the bands added to bring a photo into a platform's aspect ratio, and of the
#: background that transparency is flattened on for JPEG-only platforms (RGB).
RENDITION_PAD_RGB = (255, 255, 255)

#: Largest rendition, pixels, whose JPEG Huffman tables are optimised. Optimising saves 3-4 % of
#: the bytes but makes libjpeg hold the whole image's coefficients and Pillow a width x height
#: output buffer, about 3.3 bytes a pixel: 13 MB at this size, 160 MB at 50 MP.
RENDITION_OPTIMIZE_MAX_PIXELS = 4_000_000

#: In-memory rendition cache: most entries and most bytes of rendition data held.
RENDITION_CACHE_ENTRIES = 64
RENDITION_CACHE_BYTES = 128 * 1024 * 1024

# -- faces (media/faces.py) ---------------------------------------------------------------------

#: Each side of a detected face box is pushed out by this fraction of the box's size: Haar boxes
#: cover brows to mouth and leave out hair, ears and chin, which also identify a person.
FACE_MARGIN_FRACTION = 0.2

#: Detection runs on a copy whose longest side is at most this many pixels (faces smaller than
#: the cascade's 24 px window at that scale are missed; protect them with explicit boxes).
FACE_DETECT_MAX_SIDE_PX = 1600

#: Smallest face the cascades look for on the detection copy, pixels (their training window).
FACE_MIN_SIZE_PX = 24

#: Pixelation leaves at most this many blocks across a face box.
FACE_PIXELATE_BLOCKS = 8

#: Gaussian blur strength: sigma is the face box's longer side divided by this.
FACE_BLUR_SIGMA_DIVISOR = 6

# -- credits (media/credit.py) ------------------------------------------------------------------

#: Longest photo credit line ("Photo: ..."), characters.
MAX_CREDIT_CHARS = 200
