"""Threads publishing (graph.threads.net) as a simulator platform, mounted at ``/threads``.

Follows docs/platforms.md §8 with the Graph plumbing of ``simulator.graph``:

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

Threads documents no error codes for publishing failures; this simulator answers them with
Instagram's (not ready 9007/2207027, already published or unknown container 24/2207006, expired
-2/2207020, quota 9/2207042) since Threads runs on the same container machinery.

Credentials: ``threads_user_id``, ``access_token``. Expire the token with ``expires_at``
(epoch seconds) → code 190/463. A ``rate_limit`` fault answers code 4 with usage headers.
"""

from __future__ import annotations

import html
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from simulator.graph import (
    FetchFailed,
    GraphPlatform,
    as_text,
    edge_page,
    fetch_url,
    graph_error,
    graph_params,
    graph_time,
    invalid_parameter,
    media_shortcode,
    pick,
    requested_fields,
    truthy,
    unsupported_request,
)
from simulator.server import (
    Account,
    HttpError,
    InvalidImage,
    LedgerEntry,
    Request,
    Response,
    Simulator,
    StoredMedia,
    grapheme_clusters,
    html_response,
    inspect_image,
    is_emoji_sequence,
    json_response,
    register_platform,
)

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 500
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_TYPES = frozenset({"image/jpeg", "image/png"})
MIN_CAROUSEL_CHILDREN = 2
MAX_CAROUSEL_CHILDREN = 20
CONTAINER_LIFETIME_SECONDS = 86_400
PUBLISH_WINDOW_SECONDS = 86_400
MEDIA_TYPES = {"TEXT": "TEXT_POST", "IMAGE": "IMAGE", "CAROUSEL": "CAROUSEL_ALBUM"}
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


def _not_found(container_id: str) -> HttpError:
    return _error(
        "Media ID is not available", 24, 2207006, f"The media with id {container_id} cannot be found."
    )


@dataclass
class _Container:
    id: str
    owner: Account
    media_type: str
    is_carousel_item: bool
    text: str
    created_at: float
    pending_polls: int
    media: StoredMedia | None = None
    children: list[str] = field(default_factory=list)
    error_message: str | None = None
    published_media_id: str | None = None

    def status(self, now: float) -> str:
        if self.published_media_id is not None:
            return "PUBLISHED"
        if self.error_message is not None:
            return "ERROR"
        if now >= self.created_at + CONTAINER_LIFETIME_SECONDS:
            return "EXPIRED"
        return "IN_PROGRESS" if self.pending_polls > 0 else "FINISHED"


@dataclass
class _Post:
    entry: LedgerEntry
    container: _Container
    shortcode: str
    created_at: float
    children: list[str]


@register_platform
class Threads(GraphPlatform):
    name = "threads"
    node_credential = "threads_user_id"
    required_credentials = ("threads_user_id", "access_token")
    buc_type = "threads"
    id_shift = 13

    def __init__(self, sim: Simulator) -> None:
        self._containers: dict[str, _Container] = {}
        self._posts: dict[str, _Post] = {}
        self._by_account: dict[str, list[str]] = {}
        self._publishes: dict[str, list[float]] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("GET", "/@{username}/post/{shortcode}", self.public_page, public=True)
        self.route("POST", "/{node}/threads", self.create_container)
        self.route("POST", "/{node}/threads_publish", self.publish)
        self.route("GET", "/{node}/threads", self.list_posts)
        self.route("GET", "/{node}/threads_publishing_limit", self.publishing_limit)
        self.route("GET", "/{node}", self.read_node)
        self.route("DELETE", "/{node}", self.delete_post)

    def reset(self) -> None:
        super().reset()
        self._containers.clear()
        self._posts.clear()
        self._by_account.clear()
        self._publishes.clear()

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
        container = _Container(
            id=self.sim.new_id(self.name),
            owner=account,
            media_type=media_type,
            is_carousel_item=is_item,
            text="" if is_item else text,
            created_at=time.time(),
            pending_polls=self.sim.threads_processing_polls,
        )
        if media_type == "TEXT":
            if not text.strip():
                raise invalid_parameter("(#100) Param text is required for media_type TEXT")
        elif media_type == "IMAGE":
            url = as_text(params.get("image_url"))
            if not url:
                raise invalid_parameter("(#100) Param image_url is required for media_type IMAGE")
            self._fetch_image(container, url, as_text(params.get("alt_text")) or "")
        else:
            container.children = self._carousel_children(account, params.get("children"))
        with self.sim.lock:
            if container.media is not None:
                self.sim.store_media(container.media)
            self._containers[container.id] = container
        return json_response(200, {"id": container.id})

    def _fetch_image(self, container: _Container, url: str, alt: str) -> None:
        # Outside the lock: the URL may be served by this very simulator.
        try:
            fetched = fetch_url(url, cap=MAX_IMAGE_BYTES)
        except FetchFailed as exc:
            logger.info("threads image fetch failed", extra={"platform": self.name, "reason": str(exc)})
            container.error_message = "FAILED_DOWNLOADING_IMAGE"
            return
        if fetched.truncated:
            container.error_message = "IMAGE_TOO_LARGE"
            return
        try:
            info = inspect_image(fetched.data)
        except InvalidImage:
            info = None
        if info is None or info.mime_type not in IMAGE_TYPES:
            container.error_message = "INVALID_IMAGE_FORMAT"
            return
        container.media = StoredMedia(
            platform=self.name,
            media_id=container.id,
            owner_id=container.owner.id,
            data=fetched.data,
            info=info,
            created_at=time.time(),
            alt_text=alt,
        )

    def _carousel_children(self, account: Account, raw: Any) -> list[str]:  # Any: form text or JSON
        if isinstance(raw, list):
            ids = [as_text(i) or "" for i in raw]
        else:
            text = as_text(raw) or ""
            try:
                decoded = json.loads(text) if text.strip().startswith("[") else None
            except json.JSONDecodeError:
                decoded = None
            if isinstance(decoded, list):
                ids = [as_text(i) or "" for i in decoded]
            else:
                ids = [part.strip() for part in text.split(",") if part.strip()]
        if not MIN_CAROUSEL_CHILDREN <= len(ids) <= MAX_CAROUSEL_CHILDREN:
            raise invalid_parameter(
                f"(#100) Param children must have between {MIN_CAROUSEL_CHILDREN} and "
                f"{MAX_CAROUSEL_CHILDREN} items",
                user_msg="Carousels need between 2 and 20 images.",
            )
        now = time.time()
        with self.sim.lock:
            for child_id in ids:
                child = self._containers.get(child_id)
                if (
                    child is None
                    or child.owner.id != account.id
                    or not child.is_carousel_item
                    or child.status(now) in ("EXPIRED", "PUBLISHED", "ERROR")
                ):
                    raise _not_found(child_id)
        return ids

    # -- publishing ------------------------------------------------------------------------

    def publish(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        creation_id = as_text(params.get("creation_id"))
        if not creation_id:
            raise invalid_parameter("(#100) The parameter creation_id is required.")
        now = time.time()
        with self.sim.lock:
            container = self._containers.get(creation_id)
            if container is None or container.owner.id != account.id or container.is_carousel_item:
                raise _not_found(creation_id)
            status = container.status(now)
            if status == "PUBLISHED":
                # One container, one post: a second publish is refused and posts nothing.
                raise _not_found(creation_id)
            if status == "ERROR":
                raise invalid_parameter(
                    "(#100) The media container failed to process",
                    user_msg=f"Container {creation_id} is in ERROR: {container.error_message}.",
                )
            if status == "EXPIRED":
                raise _error("The media has expired", -2, 2207020, "The container expired; create a new one.")
            if status == "IN_PROGRESS":
                raise _error(
                    "Media ID is not available",
                    9007,
                    2207027,
                    "The media is not ready for publishing, please wait for a moment",
                )
            recent = [t for t in self._publishes.get(account.id, []) if t > now - PUBLISH_WINDOW_SECONDS]
            self._publishes[account.id] = recent
            if len(recent) >= self.sim.threads_publish_limit:
                raise _error(
                    "Application request limit reached",
                    9,
                    2207042,
                    f"You reached the limit of {self.sim.threads_publish_limit} posts per 24 hours.",
                )
            post = self._commit(account, container, now)
            recent.append(now)
        return json_response(200, {"id": post.entry.remote_id})

    def _commit(self, account: Account, container: _Container, now: float) -> _Post:
        media_id = self.sim.new_id(self.name)
        parts = [self._containers[c] for c in container.children] if container.children else [container]
        code = media_shortcode(media_id)
        entry = LedgerEntry(
            platform=self.name,
            account=account.username,
            remote_id=media_id,
            url=f"{self.sim.base_url}/threads/@{account.username}/post/{code}",
            text=container.text,
            media=tuple(p.media.ledger_media() for p in parts if p.media is not None),
            idempotency_key=container.id,
            received_at=now,
            extra={
                "container_id": container.id,
                "media_type": MEDIA_TYPES[container.media_type],
                "children": list(container.children),
                "shortcode": code,
            },
        )
        children = []
        for part in parts:
            part.published_media_id = media_id if part is container else self.sim.new_id(self.name)
            children.append(part.published_media_id)
            if part.media is not None:
                part.media.attached_to = media_id
        container.published_media_id = media_id
        post = _Post(entry, container, code, now, children if container.children else [])
        self._posts[media_id] = post
        self._by_account.setdefault(account.id, []).append(media_id)
        self.sim.commit(entry)
        return post

    def publishing_limit(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        fields = requested_fields(graph_params(request)) or ["quota_usage"]
        now = time.time()
        with self.sim.lock:
            usage = sum(1 for t in self._publishes.get(account.id, []) if t > now - PUBLISH_WINDOW_SECONDS)
        item: dict[str, Any] = {}
        if "quota_usage" in fields:
            item["quota_usage"] = usage
        if "config" in fields:
            item["config"] = {
                "quota_total": self.sim.threads_publish_limit,
                "quota_duration": PUBLISH_WINDOW_SECONDS,
            }
        return json_response(200, {"data": [item]})

    # -- reads and deletion ----------------------------------------------------------------

    def _post_json(self, post: _Post) -> dict[str, Any]:
        entry = post.entry
        first = entry.media[0] if entry.media else None
        node: dict[str, Any] = {
            "id": entry.remote_id,
            "media_product_type": "THREADS",
            "media_type": entry.extra["media_type"],
            "media_url": f"{self.sim.base_url}/_sim/media/threads/{first.media_id}" if first else None,
            "permalink": entry.url,
            "owner": {"id": self.node_id(post.container.owner)},
            "username": post.container.owner.username,
            "text": entry.text or None,
            "timestamp": graph_time(post.created_at),
            "shortcode": post.shortcode,
            "is_quote_post": False,
            "alt_text": first.alt_text if first and entry.extra["media_type"] == "IMAGE" else None,
        }
        if post.children:
            node["children"] = {"data": [{"id": child} for child in post.children]}
        return node

    def list_posts(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        fields = requested_fields(params)
        with self.sim.lock:
            items = [
                pick(self._post_json(self._posts[i]), fields, ("id",))
                for i in reversed(self._by_account.get(account.id, []))
                if not self.sim.is_deleted(self.name, i)
            ]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    def read_node(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        if node in ("me", self.node_id(account)):
            user = {
                "id": self.node_id(account),
                "username": account.username,
                "name": account.username,
                "threads_biography": "",
                "threads_profile_picture_url": None,
            }
            return json_response(200, pick(user, fields, ("id",)))
        now = time.time()
        with self.sim.lock:
            container = self._containers.get(node)
            if container is not None and container.owner.id == account.id:
                status = container.status(now)
                if fields is not None and "status" in fields and status == "IN_PROGRESS":
                    # Each status read advances processing one step.
                    container.pending_polls -= 1
                payload = {"id": container.id, "status": status, "error_message": container.error_message}
                return json_response(200, pick(payload, fields, ()))
            post = self._posts.get(node)
            if (
                post is not None
                and post.container.owner.id == account.id
                and not self.sim.is_deleted(self.name, node)
            ):
                return json_response(200, pick(self._post_json(post), fields, ("id",)))
        raise unsupported_request("GET", node)

    def delete_post(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        with self.sim.lock:
            post = self._posts.get(node)
            if post is None or post.container.owner.id != account.id or self.sim.is_deleted(self.name, node):
                raise unsupported_request("DELETE", node)
            self.sim.mark_deleted(self.name, node)
        return json_response(200, {"success": True, "deleted_id": node})

    def public_page(self, request: Request) -> Response:
        code = request.params["shortcode"]
        with self.sim.lock:
            post = next((p for p in self._posts.values() if p.shortcode == code), None)
            if (
                post is None
                or post.container.owner.username != request.params["username"]
                or self.sim.is_deleted(self.name, post.entry.remote_id)
            ):
                return html_response(
                    404, "<!doctype html><title>Not found</title><p>Sorry, this page isn't available.</p>"
                )
            images = "".join(
                f'<img src="/_sim/media/threads/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
                for m in post.entry.media
            )
            name = html.escape(post.container.owner.username)
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>@{name}</title><p><b>@{name}</b> · {graph_time(post.created_at)}</p>"
                f"<p style='white-space:pre-wrap'>{html.escape(post.entry.text)}</p>{images}",
            )
