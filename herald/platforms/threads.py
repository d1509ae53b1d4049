"""Threads (graph.threads.net): a ``TEXT``, ``IMAGE`` or ``CAROUSEL`` container, then
``threads_publish``, then the ``permalink``.

Like Instagram, Threads fetches each photo from ``Photo.public_url``; unlike Instagram, text-only
posts exist. The container flow, its polling and ``reconcile`` live in
``platforms.graph.ContainerConnector``. Posts can be deleted (``DELETE /{threads-media-id}``,
scope ``threads_delete``, 100 deletions per account per day).

**Threads** (``follow_up = "thread"``): a draft with ``reply_to`` is a reply to
``reply_to.parent``: its container carries ``reply_to_id`` and is published the same way
(scope ``threads_manage_replies``). Replies count against their own quota (1,000 per profile per
moving 24 h, ``reply_quota_usage``/``reply_config`` of ``threads_publishing_limit``), not the
250 posts. After an uncertain outcome the container says whether it went out, as for a post;
without it, the reply is looked for among all the parent's direct replies (``GET
/{media-id}/replies``, which lists them in full), so absence there means it did not go out.
"""

from __future__ import annotations

import logging
import unicodedata

from herald.core.errors import UncertainError
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.base import Draft, Published, TextCount
from herald.platforms.comments import COMMENT_PAGE_SIZE, COMMENT_PAGES
from herald.platforms.containers import ContainerConnector
from herald.platforms.graph import comparable

# Threads counts an emoji as one character: the emoji rule lives in platforms.text.
from herald.platforms.text import _emoji_prefix, graphemes

log = logging.getLogger(__name__)


def threads_length(text: str) -> int:
    """Length of ``text`` as Threads counts it against its 500 limit: one per character (code
    point, after NFC), except that an emoji counts as many as its UTF-8 bytes — 4 for 😀,
    8 for 👍🏽 or a flag, 18 for a ZWJ family of three. Hangul and CJK count 1."""
    total = 0
    for cluster in graphemes(unicodedata.normalize("NFC", text)):
        code_points = [ord(ch) for ch in cluster]
        emoji = _emoji_prefix(code_points)
        total += len(cluster[:emoji].encode("utf-8", "surrogatepass")) + len(code_points) - emoji
    return total


class ThreadsConnector(ContainerConnector):
    name = "threads"
    title = "Threads"
    default_base_url = "https://graph.threads.net"
    default_graph_version = "v1.0"
    credential_keys = ("threads_user_id", "access_token")
    token_key = "access_token"
    node_key = "threads_user_id"
    identity_keys = ("threads_user_id",)
    max_text = 500
    text_unit = "characters (emoji by UTF-8 bytes)"
    #: A carousel takes 2-20; Herald posts at most 4 photos anywhere.
    max_photos = 4
    #: "JPEG/PNG ≤ 8 MB" (unconfirmed in the digest); read as decimal megabytes, the stricter.
    photo_rules = PhotoRules(
        max_bytes=8_000_000, mime_types=frozenset({"image/jpeg", "image/png"}), platform="Threads"
    )
    idempotent = False
    can_delete = True
    #: API-published posts per profile per moving 24 h (``threads_publishing_limit``).
    posts_per_window = (250, 86400.0)

    container_edge = "threads"
    publish_edge = "threads_publish"
    status_field = "status"
    status_detail_field = "error_message"
    text_field = "text"
    #: A long post continues as a chain of replies, each to the part before it.
    follow_up = "thread"

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(threads_length(text), cls.max_text, cls.text_unit)

    def delete(self, remote_id: str) -> None:
        """Delete a post. One that no longer exists counts as deleted."""
        self._delete_node(remote_id)

    def _make_container(self, draft: Draft) -> str:
        # A reply names its parent on the container that is published (not on carousel items).
        reply = {"reply_to_id": draft.reply_to.parent.remote_id} if draft.reply_to is not None else {}
        if not draft.photos:
            return self._new_container({"media_type": "TEXT", "text": draft.text, **reply})
        if len(draft.photos) == 1:
            [photo] = draft.photos
            params = {"media_type": "IMAGE", "image_url": self._photo_url(photo), **reply}
            if draft.text:
                params["text"] = draft.text
            if photo.alt_text:
                params["alt_text"] = photo.alt_text
            return self._new_container(params)
        children: list[str] = []
        for photo in draft.photos:
            params = {
                "media_type": "IMAGE",
                "image_url": self._photo_url(photo),
                "is_carousel_item": "true",
            }
            if photo.alt_text:
                params["alt_text"] = photo.alt_text
            child = self._new_container(params)
            # The carousel is made from finished children only.
            self._wait_for_container(child)
            children.append(child)
        carousel = {"media_type": "CAROUSEL", "children": ",".join(children), **reply}
        if draft.text:
            carousel["text"] = draft.text
        return self._new_container(carousel)

    def _check(self, draft: Draft) -> None:
        super()._check(draft)
        if draft.reply_to is not None:
            self._node_id(draft.reply_to.parent.remote_id)

    # -- finding replies -------------------------------------------------------------------

    def _listing_is_complete(self, draft: Draft) -> bool:
        # A reply is looked for among all its parent's replies (see _find_recent).
        return draft.reply_to is not None

    def _find_recent(self, draft: Draft) -> Published | None:
        """A post: the latest posts with its text. A reply: the parent's direct reply with its
        text, read from ``GET /{parent-id}/replies`` page by page to the end, or ``None``.
        Raises ``UncertainError`` when ``COMMENT_PAGES`` pages did not reach the end."""
        if draft.reply_to is None:
            return super()._find_recent(draft)
        parent = self._node_id(draft.reply_to.parent.remote_id)
        wanted = comparable(draft.text)
        if not wanted:
            # A photo-only reply cannot be told apart from another one by its text.
            raise UncertainError(self.name, "a reply without text cannot be found again among the replies")
        query = {
            "fields": "id,text,timestamp,permalink,replied_to",
            "limit": str(COMMENT_PAGE_SIZE),
        }
        for _ in range(COMMENT_PAGES):
            answer = self._call("GET", f"/{parent}/replies", create=False, params=query)
            replies = answer.get("data")
            for reply in replies if isinstance(replies, list) else []:
                remote_id = http.string_at(reply, "id")
                text = http.string_at(reply, self.text_field)
                replied_to = http.string_at(reply, "replied_to", "id")
                if (
                    remote_id is not None
                    and text is not None
                    and comparable(text) == wanted
                    and replied_to in (None, parent)
                ):
                    log.info(
                        "reconciled platform=%s remote_id=%s",
                        self.name,
                        remote_id,
                        extra={"platform": self.name, "remote_id": remote_id},
                    )
                    url = http.string_at(reply, "permalink") or self._permalink(remote_id)
                    return Published(remote_id=remote_id, url=url)
            after = http.string_at(answer, "paging", "cursors", "after")
            if http.string_at(answer, "paging", "next") is None or after is None:
                return None
            query = {**query, "after": after}
        raise UncertainError(
            self.name,
            f"post {parent} has more than {COMMENT_PAGES * COMMENT_PAGE_SIZE} replies and the "
            "first ones do not include this text: cannot tell whether it went out",
        )
