"""The preview shown before a post is queued: when it goes out (in the chosen zone and in
UTC, per channel when each takes its own next free slot), the parts it becomes on each channel
(from the service's ``plan_post``), and each photo as it will be stored.

The steps are the service's own (``Herald.add_post``): the upload is cleaned by
``media.ingest_photo``; if its faces are to be protected, ``media.protect_photo`` finds them,
blurs or pixelates them, and cleans the result again. All of it is
deterministic, so when the confirmed draft (the same uploaded bytes, kept server-side, with the
same choices) is queued, the service stores exactly the photo shown here.

The preview is embedded in the page as a ``data:`` URL (the policy allows ``img-src data:``),
scaled down for display when large; the stored photo is the full one.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from datetime import datetime

from PIL import Image

from herald.core.i18n import format_wall_time
from herald.media import CleanPhoto, ingest_photo, protect_photo
from herald.service.answers import PostPlan
from herald.web.forms import ComposeForm

#: Fields of a refusal shown next to the compose form's "When" choices (the form's own, the
#: service's for a local time, a zone, a slot, and the campaign's date range).
WHEN_FIELDS = ("at", "tz", "after", "when", "fold", "gap", "next-slot", "each-channel", "slot")

#: Longest side of a preview image, pixels: enough to judge a face on a large screen without
#: putting a 50 MP photo into the page.
PREVIEW_MAX_SIDE_PX = 1600
#: JPEG quality of a scaled-down preview (display only; the stored photo is not touched).
PREVIEW_JPEG_QUALITY = 85


@dataclass(frozen=True)
class PhotoPreview:
    position: int
    filename: str
    alt: str
    #: Who took it, as the person typed it ("" when none): ``media.credit`` publishes it.
    credit: str
    #: "blur", "pixelate", or None (faces left as they are).
    mode: str | None
    by_campaign: bool
    #: Faces found and protected; None when no protection was asked.
    faces: int | None
    data_url: str
    width: int
    height: int
    #: The preview is a smaller copy of the photo (``PREVIEW_MAX_SIDE_PX``).
    scaled: bool
    #: SHA-256 of the photo that will be stored (the service's content address).
    sha256: str


def _data_url(photo: CleanPhoto) -> tuple[str, bool]:
    data, mime = photo.data, photo.mime_type
    scaled = max(photo.width, photo.height) > PREVIEW_MAX_SIDE_PX
    if scaled:
        with Image.open(io.BytesIO(photo.data)) as img:
            img.thumbnail((PREVIEW_MAX_SIDE_PX, PREVIEW_MAX_SIDE_PX), Image.Resampling.LANCZOS)
            buf = io.BytesIO()
            if img.mode in ("RGBA", "LA", "P"):
                img.save(buf, "PNG")
                mime = "image/png"
            else:
                img.convert("RGB").save(buf, "JPEG", quality=PREVIEW_JPEG_QUALITY)
                mime = "image/jpeg"
            data = buf.getvalue()
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}", scaled


def preview_photos(form: ComposeForm, campaign_faces: str | None) -> list[PhotoPreview]:
    """Every photo of ``form`` as it will be stored. Raises ``PhotoError`` (an InputError) for
    a photo that is refused, ``FaceProtectionUnavailable`` when OpenCV is missing."""
    choices = {c.position: c for c in form.faces(campaign_faces)}
    out = []
    for i, slot in enumerate(form.slots, 1):
        if slot.upload is None:
            continue
        choice = choices[i]
        clean, faces = protect_photo(ingest_photo(slot.upload.data, slot.upload.filename), choice.mode)
        url, scaled = _data_url(clean)
        out.append(
            PhotoPreview(
                position=i,
                filename=clean.original_name,
                alt=slot.alt,
                credit=slot.credit,
                mode=choice.mode,
                by_campaign=choice.by_campaign,
                faces=faces,
                data_url=url,
                width=clean.width,
                height=clean.height,
                scaled=scaled,
                sha256=clean.sha256,
            )
        )
    return out


# -- when ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WhenRow:
    """A time the post goes out, for all its channels (``channel`` None) or for one."""

    channel: str | None
    #: ISO 8601 UTC, for ``<time datetime>``.
    at: str
    #: The wall-clock time in the post's zone and in UTC, as a person reads them.
    local: str
    utc: str


def _shown(value: str) -> str:
    return format_wall_time(datetime.fromisoformat(value.replace("Z", "+00:00")))


def when_rows(plan: PostPlan) -> list[WhenRow]:
    """One row for the post, or one per channel when each has its own next free slot."""
    if plan.each_channel:
        return [WhenRow(c.channel, c.at, _shown(c.local), _shown(c.at)) for c in plan.channels]
    return [WhenRow(None, plan.at, _shown(plan.local), _shown(plan.at))]
