"""A platform's photo rules: the one type every limit on a photo is written in.

Each connector declares its platform's rules once, as ``Connector.photo_rules`` (see
``herald.platforms``); validation reads them there and ``render_for`` makes a photo fit them.
This module knows no platform: media sits below platforms and never imports them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

#: Bump when the rendering changes in a way that changes output bytes: it is part of every
#: rules key, so renditions cached on disk by an older Herald are not served as current ones.
RENDITION_VERSION = 1

#: Float noise allowed when an integer width / height ratio is compared with an aspect bound:
#: padding to exactly 4:5 must count as 4:5.
ASPECT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PhotoRules:
    """One platform's limits on a single photo. ``None`` means the platform sets no such limit.

    Every rendition meets every limit. Validation (``Connector.validate``) refuses a photo that
    breaks any of them except the width range: outside ``min_width_px``..``max_width_px`` the
    platform rescales the photo itself (Instagram), and renditions only keep that work, and any
    upscaling, away from it.

    ``min_aspect``/``max_aspect`` bound width / height; ``max_sum_wh`` bounds width + height
    (Telegram). ``platform`` only names the platform in messages.
    """

    max_bytes: int
    mime_types: frozenset[str]
    max_side_px: int | None = None
    max_pixels: int | None = None
    min_aspect: float | None = None
    max_aspect: float | None = None
    min_width_px: int | None = None
    max_width_px: int | None = None
    max_sum_wh: int | None = None
    platform: str = ""

    @property
    def key(self) -> str:
        """A stable hex digest of every limit (not ``platform``) and ``RENDITION_VERSION``: two
        rules with the same key make the same renditions."""
        canon = json.dumps(
            [
                RENDITION_VERSION,
                self.max_bytes,
                sorted(self.mime_types),
                self.max_side_px,
                self.max_pixels,
                None if self.min_aspect is None else repr(float(self.min_aspect)),
                None if self.max_aspect is None else repr(float(self.max_aspect)),
                self.min_width_px,
                self.max_width_px,
                self.max_sum_wh,
            ]
        )
        return hashlib.sha256(canon.encode("ascii")).hexdigest()[:32]

    @property
    def title(self) -> str:
        return self.platform or "the platform"

    def aspect_fits(self, width: int, height: int) -> bool:
        """Whether ``width`` x ``height`` (both at least 1) lies in the aspect range."""
        ratio = width / height
        return (self.min_aspect is None or ratio >= self.min_aspect * (1 - ASPECT_TOLERANCE)) and (
            self.max_aspect is None or ratio <= self.max_aspect * (1 + ASPECT_TOLERANCE)
        )
