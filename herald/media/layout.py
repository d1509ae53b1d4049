"""The geometry of a rendition: where a photo, scaled, sits on a canvas padded to the platform's
aspect range, the largest scale that meets the size limits, and drawing that canvas.

A photo is padded, never cropped (see ``media.renditions``); bands are ``RENDITION_PAD_RGB``,
transparent where the output keeps transparency.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from PIL import Image

from herald.core.errors import PhotoError
from herald.media.limits import RENDITION_PAD_RGB
from herald.media.rules import ASPECT_TOLERANCE, PhotoRules


class Layout(NamedTuple):
    """A photo scaled (``content_w`` x ``content_h``) on its canvas (``width`` x ``height``)."""

    content_w: int  # the photo, scaled
    content_h: int
    width: int  # the canvas: the photo plus padding
    height: int

    def describe(self) -> str:
        return f"{self.width}x{self.height}"


def layout_at(w: int, h: int, rules: PhotoRules, scale: float) -> Layout:
    """The photo ``w`` x ``h`` scaled by ``scale``, and the canvas padded to the aspect range."""
    cw = max(1, round(w * scale))
    ch = max(1, round(h * scale))
    width, height = cw, ch
    if rules.min_aspect is not None and width < height * rules.min_aspect * (1 - ASPECT_TOLERANCE):
        width = math.ceil(height * rules.min_aspect - ASPECT_TOLERANCE)
    if rules.max_aspect is not None and width > height * rules.max_aspect * (1 + ASPECT_TOLERANCE):
        height = math.ceil(width / rules.max_aspect - ASPECT_TOLERANCE)
    return Layout(cw, ch, max(width, cw), max(height, ch))


def too_big(layout: Layout, rules: PhotoRules) -> bool:
    """Whether the canvas breaks a size limit of ``rules`` (longest side, pixels, width, sum)."""
    w, h = layout.width, layout.height
    return (
        (rules.max_side_px is not None and max(w, h) > rules.max_side_px)
        or (rules.max_pixels is not None and w * h > rules.max_pixels)
        or (rules.max_width_px is not None and w > rules.max_width_px)
        or (rules.max_sum_wh is not None and w + h > rules.max_sum_wh)
    )


def start_scale(w: int, h: int, rules: PhotoRules) -> float:
    """The largest scale (at most 1) whose padded canvas meets the size limits."""
    base = layout_at(w, h, rules, 1.0)
    bw, bh = base.width, base.height
    scale = 1.0
    if rules.max_side_px is not None:
        scale = min(scale, rules.max_side_px / max(bw, bh))
    if rules.max_pixels is not None:
        scale = min(scale, math.sqrt(rules.max_pixels / (bw * bh)))
    if rules.max_width_px is not None:
        scale = min(scale, rules.max_width_px / bw)
    if rules.max_sum_wh is not None:
        scale = min(scale, rules.max_sum_wh / (bw + bh))
    # Rounding and padding can leave the canvas a pixel over; shrink a little until it fits.
    for _ in range(2000):
        if not too_big(layout_at(w, h, rules, scale), rules):
            return scale
        scale *= 0.998
    raise PhotoError(f"the photo ({w}x{h}) cannot be brought within {rules.title}'s size limits")


def min_width_scale(w: int, h: int, rules: PhotoRules) -> float:
    """The smallest scale whose canvas is still at least ``min_width_px`` wide (0 if none)."""
    if rules.min_width_px is None:
        return 0.0
    scale = rules.min_width_px / layout_at(w, h, rules, 1.0).width
    for _ in range(2000):
        if layout_at(w, h, rules, scale).width >= rules.min_width_px or scale >= 1.0:
            return min(scale, 1.0)
        scale *= 1.001
    return 1.0


def _pad_fill(mode: str) -> int | tuple[int, ...]:
    if mode == "L":
        return RENDITION_PAD_RGB[0]
    if mode == "RGBA":
        return (*RENDITION_PAD_RGB, 0)  # transparent bands where the output keeps transparency
    return RENDITION_PAD_RGB


def draw(src: Image.Image, layout: Layout) -> Image.Image:
    """``src`` scaled to the layout's content size and centred on its padded canvas."""
    size = (layout.content_w, layout.content_h)
    content = src if src.size == size else src.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if (layout.width, layout.height) == size:
        return content
    canvas = Image.new(content.mode, (layout.width, layout.height), _pad_fill(content.mode))
    canvas.paste(content, ((layout.width - size[0]) // 2, (layout.height - size[1]) // 2))
    if content is not src:
        content.close()
    return canvas


def shrink(src: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``src`` scaled down to ``size`` in two one-axis passes, ``src`` closed between them.
    One ``resize`` call does the same two passes but holds the source, the intermediate and the
    result at once; this holds two of them (at 50 MP to 33 MP: 360 MB instead of 500 MB)."""
    wide = src.resize((size[0], src.height), Image.Resampling.LANCZOS, reducing_gap=3.0)
    src.close()
    out = wide.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    wide.close()
    return out
