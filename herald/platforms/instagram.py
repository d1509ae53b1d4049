"""Instagram (Graph API content publishing): a container per photo, a ``CAROUSEL`` container
for 2-4 of them, ``media_publish``, then the ``permalink``.

Instagram takes no photo bytes: it fetches each photo from ``Photo.public_url`` (Herald serves
it under ``HERALD_PUBLIC_URL``), so a draft whose photos have no URL is refused before any
call. Every post needs a photo. The container flow, its polling and ``reconcile`` live in
``platforms.graph.ContainerConnector``.

Posts cannot be deleted: the IG Media reference (v21.0) lists no delete operation for
API-published feed posts, so ``can_delete`` is ``False``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from herald.media import PhotoRules
from herald.platforms.base import Draft, PhotoInfo, Problem, TextCount
from herald.platforms.containers import ContainerConnector

#: A hashtag: ``#`` and word characters, not glued to a word (``a#b``) or an HTML entity.
_HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")
#: A mention: ``@`` and a username (letters, digits, ``.`` and ``_``), not inside an e-mail
#: address (``a@b.example``).
_MENTION_RE = re.compile(r"(?<![\w@.])@[\w.]+")


def count_hashtags(text: str) -> int:
    return len(_HASHTAG_RE.findall(text))


def count_mentions(text: str) -> int:
    return len(_MENTION_RE.findall(text))


class InstagramConnector(ContainerConnector):
    name = "instagram"
    title = "Instagram"
    #: "Instagram API with Facebook Login"; ``https://graph.instagram.com`` for accounts using
    #: Instagram Login (same paths).
    default_base_url = "https://graph.facebook.com"
    credential_keys = ("ig_user_id", "access_token")
    token_key = "access_token"
    node_key = "ig_user_id"
    #: Caption limit, in code points (Instagram does not say how it counts emoji).
    max_text = 2200
    text_unit = "characters"
    max_hashtags = 30
    max_mentions = 20
    #: A carousel takes 2-10; Herald posts at most 4 photos anywhere.
    max_photos = 4
    #: JPEG only (sRGB), ≤ 8 MiB, width / height between 4:5 and 1.91:1. Instagram rescales a
    #: photo outside 320-1440 px wide; renditions bring it within and never upscale (a
    #: narrower photo is refused).
    photo_rules = PhotoRules(
        max_bytes=8 * 1024 * 1024,
        mime_types=frozenset({"image/jpeg"}),
        min_aspect=0.8,
        max_aspect=1.91,
        min_width_px=320,
        max_width_px=1440,
        platform="Instagram",
    )
    idempotent = False
    can_delete = False
    #: API-published posts per account per rolling 24 h (``content_publishing_limit``
    #: ``quota_total``; it was 25, then 50, now 100).
    posts_per_window = (100, 86400.0)

    container_edge = "media"
    publish_edge = "media_publish"
    status_field = "status_code"
    status_detail_field = "status"
    text_field = "caption"

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(len(text), cls.max_text, cls.text_unit)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        problems = super().validate(text, photos)
        if not photos:
            problems.append(
                Problem(cls.name, "photos", "Instagram needs at least one photo; it has no text-only posts")
            )
        hashtags = count_hashtags(text)
        if hashtags > cls.max_hashtags:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    f"Instagram allows {cls.max_hashtags} hashtags; this caption has {hashtags}",
                    hashtags,
                    cls.max_hashtags,
                )
            )
        mentions = count_mentions(text)
        if mentions > cls.max_mentions:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    f"Instagram allows {cls.max_mentions} @mentions; this caption has {mentions}",
                    mentions,
                    cls.max_mentions,
                )
            )
        return problems

    def _make_container(self, draft: Draft) -> str:
        if len(draft.photos) == 1:
            [photo] = draft.photos
            params = {"image_url": self._photo_url(photo)}
            if draft.text:
                params["caption"] = draft.text
            if photo.alt_text:
                params["alt_text"] = photo.alt_text
            return self._new_container(params)
        children: list[str] = []
        for photo in draft.photos:
            params = {"image_url": self._photo_url(photo), "is_carousel_item": "true"}
            if photo.alt_text:
                params["alt_text"] = photo.alt_text
            child = self._new_container(params)
            # The carousel is made from finished children only.
            self._wait_for_container(child)
            children.append(child)
        carousel = {"media_type": "CAROUSEL", "children": ",".join(children)}
        if draft.text:
            carousel["caption"] = draft.text
        return self._new_container(carousel)
