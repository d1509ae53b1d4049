"""Instagram (Graph API content publishing): a container per photo, a ``CAROUSEL`` container
for 2-4 of them, ``media_publish``, then the ``permalink``.

Instagram takes no photo bytes: it fetches each photo from ``Photo.public_url`` (Herald serves
it under ``HERALD_PUBLIC_URL``), so a draft whose photos have no URL is refused before any
call. Every post needs a photo. The container flow, its polling and ``reconcile`` live in
``platforms.graph.ContainerConnector``.

Posts cannot be deleted: the IG Media reference (v21.0) lists no delete operation for
API-published feed posts, so ``can_delete`` is ``False``.

**First comments** (``follow_up = "comment"``): a draft with ``reply_to`` becomes a comment under
``reply_to.root`` (``POST /{ig-media-id}/comments`` with ``message``, answered ``{"id": ...}``),
text only. Its URL is the media's permalink (comments have no address of their own). Comments
read back carry their text in ``text``; ``reconcile`` matches it among all the media's comments.
Graph can delete a comment (``DELETE /{ig-comment-id}``) but answers a delete of a media like one
of a missing node (code 100, subcode 33), and both ids look alike: ``delete`` stays the base
refusal, with no call, so that a takedown can never report a post as deleted when it is not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from herald.core.errors import PermanentError
from herald.media import PhotoRules
from herald.platforms.base import Draft, PhotoInfo, Problem, Published, TextCount
from herald.platforms.comments import commented_post
from herald.platforms.containers import ContainerConnector

log = logging.getLogger(__name__)

#: A hashtag: ``#`` and word characters, not glued to a word (``a#b``) or an HTML entity.
_HASHTAG_RE = re.compile(r"(?<![\w&])#\w+")
#: A mention: ``@`` and a username (letters, digits, ``.`` and ``_``), not inside an e-mail
#: address (``a@b.example``).
_MENTION_RE = re.compile(r"(?<![\w@.])@[\w.]+")


def count_hashtags(text: str) -> int:
    return len(_HASHTAG_RE.findall(text))


def count_mentions(text: str) -> int:
    return len(_MENTION_RE.findall(text))


#: A comment's limits: 2,200 characters and 30 hashtags, as for captions [unconfirmed: secondary
#: sources only, and some of them say 1,000 characters; Meta's IG Comment reference names none].
MAX_COMMENT_CHARACTERS = 2200
MAX_COMMENT_HASHTAGS = 30


class InstagramConnector(ContainerConnector):
    name = "instagram"
    title = "Instagram"
    #: "Instagram API with Facebook Login"; ``https://graph.instagram.com`` for accounts using
    #: Instagram Login (same paths).
    default_base_url = "https://graph.facebook.com"
    #: Meta's tokens expire (a long-lived user token after 60 days): ``debug_token`` says when.
    reads_token_expiry = True
    credential_keys = ("ig_user_id", "access_token")
    token_key = "access_token"
    node_key = "ig_user_id"
    identity_keys = ("ig_user_id",)
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

    #: A long post continues as one first comment under it.
    follow_up = "comment"

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(len(text), cls.max_text, cls.text_unit)

    @classmethod
    def count_follow_up(cls, text: str) -> TextCount:
        return TextCount(len(text), MAX_COMMENT_CHARACTERS, cls.text_unit)

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

    # -- first comments --------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """A post (``ContainerConnector.publish``), or with ``reply_to`` a first comment: one
        call, refused before it when the comment does not fit (``PermanentError``), uncertain
        on a 5xx or a lost answer (``UncertainError``)."""
        if draft.reply_to is None:
            return super().publish(draft)
        hashtags = count_hashtags(draft.text)
        if hashtags > MAX_COMMENT_HASHTAGS:
            raise PermanentError(
                self.name,
                f"Instagram allows {MAX_COMMENT_HASHTAGS} hashtags in a comment; this one has {hashtags}",
            )
        post = commented_post(self, draft)
        comment_id = self._comment_on(post.remote_id, draft.text)
        log.info(
            "commented platform=%s remote_id=%s on=%s",
            self.name,
            comment_id,
            post.remote_id,
            extra={"platform": self.name, "remote_id": comment_id},
        )
        return Published(remote_id=comment_id, url=self._comment_url(post))

    def reconcile(self, draft: Draft) -> Published | None:
        """A post: ``ContainerConnector.reconcile``. A first comment: looked for among all the
        media's comments by its text (not by author: the ``from`` id of an own comment is not
        documented to equal the IG user id), ``None`` when absent."""
        if draft.reply_to is None:
            return super().reconcile(draft)
        post = draft.reply_to.root
        found = self._find_comment(post.remote_id, draft.text, text_field="text", author=None)
        return None if found is None else Published(remote_id=found, url=self._comment_url(post))

    def _comment_url(self, post: Published) -> str:
        return post.url or self._permalink(post.remote_id)

    # -- containers ------------------------------------------------------------------------

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
