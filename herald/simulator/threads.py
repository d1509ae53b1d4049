"""Threads publishing (graph.threads.net) as a simulator platform, mounted at ``/threads``.

Follows shared/platforms.md §8 with the Graph plumbing of ``simulator.graph``:

- ``POST /{threads-user-id}/threads`` (or ``/me/threads``) creates a container:
  ``media_type`` ``TEXT`` (``text`` required), ``IMAGE`` (``image_url``, optional ``alt_text``,
  ``is_carousel_item=true`` for a carousel child) or ``CAROUSEL`` (``children`` 2-20, ``text``).
  ``text`` is at most 500 characters, an emoji counting as its UTF-8 byte length (a ZWJ family
  counts 25); longer text answers code 100. The image is fetched from a loopback URL when the
  container is created; a failed fetch, a non-JPEG/PNG image or one over 8 MiB does not fail
  the request but leaves the container in ``ERROR`` with an ``error_message``, as Threads
  reports processing failures through the container status.
- ``GET /{container-id}?fields=status,error_message``: ``IN_PROGRESS`` for the first
  ``Simulator.threads_processing_polls`` reads, then ``FINISHED``; ``PUBLISHED``; ``ERROR``;
  ``EXPIRED`` after 24 h.
- ``POST /{threads-user-id}/threads_publish?creation_id=``; ``GET
  /{threads-user-id}/threads_publishing_limit?fields=quota_usage,config`` (250 posts per 24 h,
  ``Simulator.threads_publish_limit``); ``GET /{threads-user-id}/threads`` (newest first);
  ``GET /{media-id}?fields=permalink,...``; ``DELETE /{media-id}``. Permalinks are
  ``{base}/threads/@{username}/post/{shortcode}``, served by the simulator.

Replies (``threads_manage_replies``): a container with ``reply_to_id`` (a published, undeleted
Threads media; anything else answers code 100 when the container is made, and again at publish
if the parent was deleted meanwhile) is published as a reply. Replies count against their own
quota (``Simulator.threads_reply_limit``, 1,000 per 24 h; ``reply_quota_usage``/``reply_config``
in ``threads_publishing_limit``), carry ``is_reply``, ``replied_to`` and ``root_post``, are left
out of ``GET /{user}/threads`` and listed by ``GET /{user}/replies`` (the user's) and ``GET
/{media-id}/replies`` (a media's direct replies, newest first unless ``reverse=false``). The
ledger entry of a reply has ``extra["reply_to"]`` (the parent) and ``extra["root_post"]``.

Threads documents no error codes for publishing failures; this simulator answers them with
Instagram's (not ready 9007/2207027, already published or unknown container 24/2207006, expired
-2/2207020, quota 9/2207042) since Threads runs on the same container machinery.

Credentials: ``threads_user_id``, ``access_token``. Expire the token with ``expires_at``
(epoch seconds) → code 190/463. A ``rate_limit`` fault answers code 4 with usage headers.
"""

from __future__ import annotations

import html
from typing import Any

from herald.simulator.containers import MEDIA_TYPES, Container, ContainerPlatform, ImageRejected, Published
from herald.simulator.graph import (
    as_text,
    edge_page,
    graph_error,
    graph_params,
    graph_time,
    invalid_parameter,
    pick,
    requested_fields,
    truthy,
    unsupported_request,
)
from herald.simulator.server import (
    Account,
    HttpError,
    Request,
    Response,
    grapheme_clusters,
    is_emoji_sequence,
    json_response,
    register_platform,
)

MAX_TEXT_LENGTH = 500
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
MAX_CAROUSEL_CHILDREN = 20
#: Fields of a listed reply when ``fields`` is not given.
REPLY_DEFAULT_FIELDS = ("id", "text", "timestamp")
#: Container ``error_message`` by the way ``fetch_image`` rejected the image.
_IMAGE_ERRORS = {
    "download": "FAILED_DOWNLOADING_IMAGE",
    "too_large": "IMAGE_TOO_LARGE",
    "format": "INVALID_IMAGE_FORMAT",
}
#: Single code points drawn as emoji (pictographs, dingbats, misc symbols and technical).
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0x2300, 0x23FF))


def _is_emoji(cluster: str) -> bool:
    if is_emoji_sequence(cluster):
        return True
    cp = ord(cluster[0])
    return any(lo <= cp <= hi for lo, hi in _EMOJI_RANGES)


def text_length(text: str) -> int:
    """Characters Threads counts: code points, except that an emoji (with its modifiers and
    joiners) counts as many as its UTF-8 bytes."""
    if text.isascii():
        return len(text)
    return sum(
        len(cluster.encode("utf-8")) if _is_emoji(cluster) else len(cluster)
        for cluster in grapheme_clusters(text)
    )


def _error(message: str, code: int, subcode: int | None, user_msg: str) -> HttpError:
    return graph_error(message, code, subcode=subcode, user_msg=user_msg)


@register_platform
class Threads(ContainerPlatform):
    name = "threads"
    node_credential = "threads_user_id"
    required_credentials = ("threads_user_id", "access_token")
    buc_type = "threads"
    id_shift = 13
    max_children = MAX_CAROUSEL_CHILDREN
    image_types = IMAGE_TYPES
    status_fields = ("status",)
    quota_fields = ("quota_usage", "config", "reply_quota_usage", "reply_config")
    user_default_fields = ("id",)
    split_malformed_children = True

    def setup_routes(self) -> None:
        self.route("GET", "/@{username}/post/{shortcode}", self.public_page, public=True)
        self.route("POST", "/{node}/threads", self.create_container)
        self.route("POST", "/{node}/threads_publish", self.publish)
        self.route("GET", "/{node}/threads", self.list_published)
        self.route("GET", "/{node}/threads_publishing_limit", self.publishing_limit)
        self.route("GET", "/{node}/replies", self.list_replies)
        self.route("GET", "/{node}", self.read_node)
        self.route("DELETE", "/{node}", self.delete_post)

    # -- settings and errors ---------------------------------------------------------------

    def processing_polls(self) -> int:
        return self.sim.threads_processing_polls

    def publish_quota(self) -> int:
        return self.sim.threads_publish_limit

    def missing_container(self, container_id: str) -> HttpError:
        return _error(
            "Media ID is not available", 24, 2207006, f"The media with id {container_id} cannot be found."
        )

    def reply_quota(self) -> int:
        return self.sim.threads_reply_limit

    def reply_quota_error(self) -> HttpError:
        # Threads documents the reply quota but not its error; the publishing quota's is reused.
        return _error(
            "Application request limit reached",
            9,
            2207042,
            f"You reached the limit of {self.sim.threads_reply_limit} replies per 24 hours.",
        )

    def children_count_error(self) -> HttpError:
        return invalid_parameter(
            f"(#100) Param children must have between {self.min_children} and {self.max_children} items",
            user_msg="Carousels need between 2 and 20 images.",
        )

    def expired_error(self) -> HttpError:
        return _error("The media has expired", -2, 2207020, "The container expired; create a new one.")

    def not_ready_error(self) -> HttpError:
        return _error(
            "Media ID is not available",
            9007,
            2207027,
            "The media is not ready for publishing, please wait for a moment",
        )

    def quota_error(self) -> HttpError:
        return _error(
            "Application request limit reached",
            9,
            2207042,
            f"You reached the limit of {self.sim.threads_publish_limit} posts per 24 hours.",
        )

    # -- containers ------------------------------------------------------------------------

    def create_container(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        media_type = (as_text(params.get("media_type")) or "").upper()
        text = as_text(params.get("text")) or ""
        is_item = truthy(params.get("is_carousel_item"))
        if media_type not in MEDIA_TYPES:
            if media_type == "VIDEO":
                raise invalid_parameter("(#100) media_type VIDEO is not supported by this simulator")
            raise invalid_parameter(
                "(#100) Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}",
                user_msg=f"Unknown media_type {media_type or '(missing)'}.",
            )
        length = text_length(text)
        if length > MAX_TEXT_LENGTH:
            raise invalid_parameter(
                f"(#100) Param text must be at most {MAX_TEXT_LENGTH} characters long.",
                user_msg=f"The text is {length} characters long (emoji count as their UTF-8 bytes).",
            )
        reply_to = as_text(params.get("reply_to_id"))
        if reply_to is not None:
            if is_item:
                raise invalid_parameter("(#100) Param reply_to_id is not allowed on a carousel item")
            with self.sim.lock:
                self._reply_parent(reply_to)
        container = self.new_container(account, media_type, "" if is_item else text, is_item=is_item)
        container.reply_to = reply_to
        if media_type == "TEXT":
            if not text.strip():
                raise invalid_parameter("(#100) Param text is required for media_type TEXT")
        elif media_type == "IMAGE":
            url = as_text(params.get("image_url"))
            if not url:
                raise invalid_parameter("(#100) Param image_url is required for media_type IMAGE")
            # Threads reports a bad image through the container status, not the request.
            try:
                container.media = self.fetch_image(container, url, as_text(params.get("alt_text")) or "")
            except ImageRejected as exc:
                container.error_message = _IMAGE_ERRORS[exc.kind]
        else:
            container.children = self.carousel_children(account, params.get("children"))
        return self.store_container(container)

    # -- replies ---------------------------------------------------------------------------

    def _reply_parent(self, media_id: str) -> Published:
        """The published, undeleted media a reply answers (call under the lock). Anything else
        is refused the Graph way, code 100 [the exact message and subcode are a guess: Threads
        documents none]."""
        parent = self._published.get(media_id)
        if parent is None or self.sim.is_deleted(self.name, media_id):
            raise invalid_parameter(
                "(#100) Param reply_to_id must be the id of a published Threads post",
                user_msg=f"The post {media_id} you are replying to does not exist or was deleted.",
            )
        return parent

    def check_publishable(self, container: Container) -> None:
        if container.reply_to is not None:
            self._reply_parent(container.reply_to)

    def commit_extra(self, container: Container) -> dict[str, Any]:  # Any: JSON values
        if container.reply_to is None:
            return {}
        parent = self._published[container.reply_to]
        root = parent.entry.extra.get("root_post") or parent.entry.remote_id
        return {"reply_to": container.reply_to, "root_post": root}

    def in_feed(self, published: Published) -> bool:
        return published.container.reply_to is None

    def list_replies(self, request: Request) -> Response:
        """``GET /{user}/replies``: the user's replies, newest first. ``GET /{media}/replies``:
        the media's direct replies, newest first unless ``reverse=false``."""
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        with self.sim.lock:
            if node in self._nodes or node == "me":
                owner = self.owner_of(request, node)
                replies = [
                    self._published[i]
                    for i in reversed(self._by_account.get(owner.id, []))
                    if self._published[i].container.reply_to is not None
                ]
            else:
                if self._visible(account, node) is None:
                    raise unsupported_request("GET", node)
                replies = [p for p in reversed(self._published.values()) if p.container.reply_to == node]
                if (as_text(params.get("reverse")) or "").lower() == "false":
                    replies.reverse()
            items = [
                pick(self.published_json(p), fields, REPLY_DEFAULT_FIELDS)
                for p in replies
                if not self.sim.is_deleted(self.name, p.entry.remote_id)
            ]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    # -- reads and deletion ----------------------------------------------------------------

    def permalink(self, account: Account, shortcode: str) -> str:
        return f"{self.sim.base_url}/threads/@{account.username}/post/{shortcode}"

    def user_json(self, account: Account) -> dict[str, Any]:  # Any: JSON values
        return {
            "id": self.node_id(account),
            "username": account.username,
            "name": account.username,
            "threads_biography": "",
            "threads_profile_picture_url": None,
        }

    def container_json(self, container: Container, status: str) -> dict[str, Any]:  # Any: JSON
        return {"id": container.id, "status": status, "error_message": container.error_message}

    def published_json(self, published: Published) -> dict[str, Any]:  # Any: JSON values
        entry = published.entry
        first = entry.media[0] if entry.media else None
        node: dict[str, Any] = {
            "id": entry.remote_id,
            "media_product_type": "THREADS",
            "media_type": entry.extra["media_type"],
            "media_url": f"{self.sim.base_url}/_sim/media/threads/{first.media_id}" if first else None,
            "permalink": entry.url,
            "owner": {"id": self.node_id(published.container.owner)},
            "username": published.container.owner.username,
            "text": entry.text or None,
            "timestamp": graph_time(published.created_at),
            "shortcode": published.shortcode,
            "is_quote_post": False,
            "is_reply": published.container.reply_to is not None,
            "alt_text": first.alt_text if first and entry.extra["media_type"] == "IMAGE" else None,
        }
        if published.children:
            node["children"] = {"data": [{"id": child} for child in published.children]}
        if published.container.reply_to is not None:
            node["replied_to"] = {"id": published.container.reply_to}
            node["root_post"] = {"id": entry.extra["root_post"]}
        return node

    def delete_post(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        with self.sim.lock:
            if self._visible(account, node) is None:
                raise unsupported_request("DELETE", node)
            self.sim.mark_deleted(self.name, node)
        return json_response(200, {"success": True, "deleted_id": node})

    def page_matches(self, request: Request, published: Published) -> bool:
        return published.container.owner.username == request.params["username"]

    def render_page(self, published: Published) -> str:
        name = html.escape(published.container.owner.username)
        text = html.escape(published.entry.text)
        return (
            "<!doctype html><meta charset='utf-8'>"
            f"<title>@{name}</title><p><b>@{name}</b> · {graph_time(published.created_at)}</p>"
            f"<p style='white-space:pre-wrap'>{text}</p>{self.page_images(published)}"
        )
