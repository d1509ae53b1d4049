"""Per-platform renditions: make a clean photo fit one platform's rules.

``render_for(photo_bytes, mime_type, rules)`` takes a photo that ``ingest_photo`` already
cleaned (it also accepts any JPEG, PNG, WebP or GIF, decoded with the same bomb and size checks)
and the platform's ``PhotoRules`` (each connector declares them as ``photo_rules``), and returns
a ``Rendition`` that the platform will take, changing as little as it can, in this order:

1. **Nothing**, if the photo already fits (type, bytes, size, aspect) and carries no metadata:
   the rendition is the input, byte for byte (``steps == ()``).
2. **Format**: a type the platform does not take becomes JPEG (or PNG when the platform takes
   PNG and the photo has real transparency or is a GIF). Transparency is flattened on white for
   JPEG.
3. **Size limits** (longest side, pixel count, width, width + height): scaled down to fit,
   never up. A photo narrower than the platform's minimum width is refused, not upscaled.
4. **Aspect ratio**: a photo outside the platform's range is **padded**, never cropped: bands
   of ``RENDITION_PAD_RGB`` (white; transparent for PNG) are added on the short sides. Cropping
   could cut a person or a face out of the frame, or the text of a poster, without anyone
   noticing; padding only adds a border. So Instagram (4:5 to 1.91:1) gets a 9:16 phone photo
   as a 4:5 photo with white bands left and right, and Telegram (ratio at most 20) a 30:1
   panorama as a 20:1 one with bands above and below.
5. **Bytes**: quality steps down before dimensions: JPEG quality 90, 85, ... 60 (the highest
   that fits, found by bisection), then the photo is scaled down by about 0.85 (more when the
   byte count shows it must shrink more) and the qualities are tried again. A PNG that is too
   large becomes a JPEG first if the platform takes JPEG.

The output is re-encoded from pixels with no metadata at all, and checked with
``has_metadata`` before it is returned. Output is deterministic: the same bytes and rules give
the same rendition bytes (for one Pillow build), so ``RenditionCache`` can keep renditions by
(input SHA-256, ``rules.key``) in memory and on disk.

Memory (``python -m bench.media_memory``; Pillow keeps RGB at 4 bytes a pixel): a JPEG that
must shrink to half its size or less is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
(``Image.draft``), and a JPEG too large for any quality at full size (see
``RENDITION_LOWEST_QUALITY_MIN_RATIO``) skips the full-size encodings and is decoded at the
reduced scale too; the first downscale releases the decoded photo halfway through
(``layout.shrink``), and only small frames get optimised Huffman tables. Measured on a 50 MP photo,
above the baseline: Instagram 22 MB, Bluesky 101 MB, Mastodon (to 33 MP) 364 MB; the raw RGB
buffer is 150 MB.

Errors: ``PhotoError`` when the bytes are not a photo (or not of ``mime_type``), when the photo
is narrower than ``min_width_px``, and when no rendition down to ``RENDITION_MIN_SIDE_PX`` fits
``max_bytes``. ``ConfigError`` if Pillow's ``LOAD_TRUNCATED_IMAGES`` is on.

The pieces: the rules type in ``media.rules``, decoding, encoding and clean-file checks in
``media.codec``, scaling and padding in ``media.layout``, the cache in ``media.cache``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass, field

from PIL import Image

from herald.core.errors import PhotoError
from herald.media.codec import (
    JPEG,
    PNG,
    choose_type,
    encode,
    flatten,
    has_transparency,
    is_clean,
    load_pixels,
    open_header,
)
from herald.media.layout import Layout, draw, layout_at, min_width_scale, shrink, start_scale, too_big
from herald.media.limits import (
    RENDITION_LOWEST_QUALITY_GUESS_RATIO,
    RENDITION_LOWEST_QUALITY_MIN_RATIO,
    RENDITION_MIN_SCALE_STEP,
    RENDITION_MIN_SIDE_PX,
    RENDITION_QUALITIES,
    RENDITION_SCALE_STEP,
)
from herald.media.metadata import has_metadata
from herald.media.rules import PhotoRules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendition:
    """A photo made to fit one platform: metadata-free bytes and what was done to them
    (``steps``, in words, empty when the input already fitted and is returned as it was)."""

    data: bytes = field(repr=False)
    mime_type: str
    width: int
    height: int
    sha256: str  # hex digest of ``data``
    steps: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not self.steps


def render_for(photo_bytes: bytes, mime_type: str, rules: PhotoRules) -> Rendition:
    """``photo_bytes`` (of type ``mime_type``) made to fit ``rules``; see the module docstring
    for the order of changes and the errors raised."""
    img, source = open_header(photo_bytes, mime_type)
    w, h = img.size
    try:
        start = start_scale(w, h, rules)
        first = layout_at(w, h, rules, start)
        floor = min_width_scale(w, h, rules)
        if rules.min_width_px is not None and first.width < rules.min_width_px:
            raise PhotoError(
                f"the photo is {first.width} px wide; {rules.title} needs at least "
                f"{rules.min_width_px} px and Herald does not upscale photos"
            )
        clean = is_clean(photo_bytes)
        if (
            clean
            and source in rules.mime_types
            and len(photo_bytes) <= rules.max_bytes
            and first == (w, h, w, h)
        ):
            # Already fits: verify it decodes completely (a JPEG at 1/8 scale is enough; libjpeg
            # still reads every coefficient), then hand back the very same bytes.
            load_pixels(img, (max(1, w // 8), max(1, h // 8))).close()
            return _rendition(photo_bytes, source, w, h, (), rules)
        scale = _first_scale(len(photo_bytes), source, start, floor, rules)
        plan = layout_at(w, h, rules, scale)
        src = load_pixels(img, (plan.content_w, plan.content_h) if scale < 0.5 else None)
    except BaseException:
        img.close()
        raise
    return _fit(src, source, w, h, scale, floor, clean, rules)


def _first_scale(size: int, source: str, start: float, floor: float, rules: PhotoRules) -> float:
    """``start``, unless ``source`` is a JPEG so large for ``rules.max_bytes`` that no quality
    can fit at that size (``RENDITION_LOWEST_QUALITY_MIN_RATIO``): then a first downscaling
    step guessed from the byte counts, so the full-size encodings are never made."""
    if source != JPEG or choose_type(JPEG, False, rules.mime_types) == PNG:
        return start
    if size * RENDITION_LOWEST_QUALITY_MIN_RATIO <= rules.max_bytes:
        return start
    guess = math.sqrt(rules.max_bytes / (size * RENDITION_LOWEST_QUALITY_GUESS_RATIO))
    return max(floor, start * max(RENDITION_MIN_SCALE_STEP, min(RENDITION_SCALE_STEP, guess)))


def _fit(
    src: Image.Image, source: str, w: int, h: int, scale: float, floor: float, clean: bool, rules: PhotoRules
) -> Rendition:
    """Steps 2-5 of the module docstring on the decoded ``src``, which this closes."""
    holder = [src]
    try:
        return _fit_pixels(holder, source, w, h, scale, floor, clean, rules)
    finally:
        holder[0].close()


def _fit_pixels(
    holder: list[Image.Image],
    source: str,
    w: int,
    h: int,
    scale: float,
    floor: float,
    clean: bool,
    rules: PhotoRules,
) -> Rendition:
    src = holder[0]
    transparent = has_transparency(src)
    if src.mode == "RGBA" and not transparent:
        src = holder[0] = _swap(src, src.convert("RGB"))
    out_type = choose_type(source, transparent, rules.mime_types)
    steps: list[str] = [] if clean else ["strip metadata"]
    if out_type != source:
        steps.append(f"convert {source} -> {out_type}")
    if out_type == JPEG and transparent:
        src = holder[0] = _swap(src, flatten(src))
        steps.append("flatten transparency on white")

    rescaled = False
    while True:
        layout = layout_at(w, h, rules, scale)
        size = (layout.content_w, layout.content_h)
        if src.size != size and not rescaled:
            # The first scaled copy replaces the decoded photo, and later (smaller) sizes are
            # made from it: at most two full sets of pixels are ever held, for a moment.
            src = holder[0] = shrink(src, size)
            rescaled = True
        frame = draw(src, layout)
        try:
            if out_type == PNG:
                data = encode(frame, PNG)
                if len(data) <= rules.max_bytes:
                    return _done(data, PNG, layout, w, h, steps, "png", rules)
                if JPEG in rules.mime_types:
                    # Quality before dimensions: a too-large PNG becomes a JPEG at this size.
                    steps.append(f"convert {PNG} -> {JPEG} (PNG over {rules.max_bytes} bytes)")
                    if transparent:
                        src = holder[0] = _swap(src, flatten(src))
                        steps.append("flatten transparency on white")
                    out_type = JPEG
                    continue
                smallest = len(data)
            else:
                found = _best_quality(frame, out_type, rules.max_bytes)
                if not isinstance(found, int):
                    quality, data = found
                    label = f"{out_type.removeprefix('image/')} quality {quality}"
                    return _done(data, out_type, layout, w, h, steps, label, rules)
                smallest = found
        finally:
            if frame is not src:
                frame.close()
        # Dimensions only now: shrink by 0.85, or by what the byte count says is needed.
        step = math.sqrt(rules.max_bytes / smallest) * 0.95
        next_scale = scale * min(RENDITION_SCALE_STEP, max(RENDITION_MIN_SCALE_STEP, step))
        if next_scale < floor:
            next_scale = floor
        nxt = layout_at(w, h, rules, next_scale)
        if (
            next_scale >= scale
            or nxt == layout
            or min(nxt.content_w, nxt.content_h) < min(RENDITION_MIN_SIDE_PX, w, h)
        ):
            raise PhotoError(
                f"the photo does not fit {rules.title}'s {rules.max_bytes} bytes "
                f"(still {smallest} bytes at {layout.describe()})"
            )
        scale = next_scale


def _swap(old: Image.Image, new: Image.Image) -> Image.Image:
    if new is not old:
        old.close()
    return new


def _done(
    data: bytes,
    mime_type: str,
    layout: Layout,
    w: int,
    h: int,
    steps: list[str],
    encoding: str,
    rules: PhotoRules,
) -> Rendition:
    done = list(steps)
    if (layout.content_w, layout.content_h) != (w, h):
        done.append(f"scale {w}x{h} -> {layout.content_w}x{layout.content_h}")
    if (layout.width, layout.height) != (layout.content_w, layout.content_h):
        done.append(
            f"pad {layout.content_w}x{layout.content_h} -> {layout.width}x{layout.height} "
            f"(aspect {layout.width / layout.height:.3f})"
        )
    done.append(encoding)
    return _rendition(data, mime_type, layout.width, layout.height, tuple(done), rules)


def _rendition(
    data: bytes, mime_type: str, width: int, height: int, steps: tuple[str, ...], rules: PhotoRules
) -> Rendition:
    """The rendition, after checking what it promises; a failed check is a bug in this module,
    and refusing is better than publishing something that leaks or that the platform rejects."""
    left = [key for key, present in has_metadata(data).items() if present]
    if left:
        raise PhotoError(f"the photo still carried {', '.join(left)} after rendering; refused")
    if len(data) > rules.max_bytes or mime_type not in rules.mime_types:
        raise PhotoError(f"the photo rendition ({mime_type}, {len(data)} bytes) breaks {rules.title}'s rules")
    if too_big(Layout(width, height, width, height), rules) or not rules.aspect_fits(width, height):
        raise PhotoError(f"the photo rendition ({width}x{height}) breaks {rules.title}'s size rules")
    rendition = Rendition(
        data=data,
        mime_type=mime_type,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        steps=steps,
    )
    logger.debug(
        "rendition for %s: %s %dx%d, %d bytes, steps=%s",
        rules.title,
        mime_type,
        width,
        height,
        len(data),
        "; ".join(steps) or "unchanged",
    )
    return rendition


# -- fitting the bytes --------------------------------------------------------------------------


def _best_quality(frame: Image.Image, mime_type: str, max_bytes: int) -> tuple[int, bytes] | int:
    """The highest quality in ``RENDITION_QUALITIES`` whose encoding fits ``max_bytes``, with
    its bytes; else the size at the lowest quality. Sizes fall with quality, so after the
    highest and the lowest, bisection finds it in at most three more encodings."""
    qualities = RENDITION_QUALITIES
    data = encode(frame, mime_type, qualities[0])
    if len(data) <= max_bytes:
        return qualities[0], data
    lowest = encode(frame, mime_type, qualities[-1])
    if len(lowest) > max_bytes:
        return len(lowest)
    best = (qualities[-1], lowest)
    lo, hi = 0, len(qualities) - 1  # qualities[lo] is too large, qualities[hi] fits
    while hi - lo > 1:
        mid = (lo + hi) // 2
        data = encode(frame, mime_type, qualities[mid])
        if len(data) <= max_bytes:
            hi, best = mid, (qualities[mid], data)
        else:
            lo = mid
    return best
