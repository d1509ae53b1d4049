"""Threads (graph.threads.net): a ``TEXT``, ``IMAGE`` or ``CAROUSEL`` container, then
``threads_publish``, then the ``permalink``.

Like Instagram, Threads fetches each photo from ``Photo.public_url``; unlike Instagram, text-only
posts exist. The container flow, its polling and ``reconcile`` live in
``platforms.graph.ContainerConnector``. Posts can be deleted (``DELETE /{threads-media-id}``,
scope ``threads_delete``, 100 deletions per account per day).
"""

from __future__ import annotations

import unicodedata

from herald.media import PhotoRules
from herald.platforms.base import Draft, TextCount
from herald.platforms.containers import ContainerConnector

# Threads counts an emoji as one character: the emoji rule lives in platforms.text.
from herald.platforms.text import _emoji_prefix, graphemes


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

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(threads_length(text), cls.max_text, cls.text_unit)

    def delete(self, remote_id: str) -> None:
        """Delete a post. One that no longer exists counts as deleted."""
        self._delete_node(remote_id)

    def _make_container(self, draft: Draft) -> str:
        if not draft.photos:
            return self._new_container({"media_type": "TEXT", "text": draft.text})
        if len(draft.photos) == 1:
            [photo] = draft.photos
            params = {"media_type": "IMAGE", "image_url": self._photo_url(photo)}
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
        carousel = {"media_type": "CAROUSEL", "children": ",".join(children)}
        if draft.text:
            carousel["text"] = draft.text
        return self._new_container(carousel)
