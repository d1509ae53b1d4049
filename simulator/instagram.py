"""Instagram content publishing (Graph API) as a simulator platform, mounted at ``/instagram``.

Follows docs/platforms.md §6 with the Graph plumbing of ``simulator.graph``:

- ``POST /{ig-user-id}/media`` with ``image_url`` creates an image container. The simulator
  fetches the URL itself, loopback hosts only (anything else answers code 9004 subcode 2207052,
  "media could not be fetched"; a fetch timeout 2207003), and checks what Instagram checks:
  JPEG only (36001/2207005), ≤ 8 MiB (36000/2207004), aspect ratio 4:5 to 1.91:1
  (36003/2207009), caption ≤ 2,200 characters, ≤ 30 hashtags and ≤ 20 @mentions
  (36004/2207010). Width is not checked: Instagram scales 320-1440 px itself. ``alt_text`` is
  kept; ``is_carousel_item=true`` makes a carousel child (its caption is ignored).
- ``media_type=CAROUSEL&children=a,b`` (comma-separated or a JSON array, 2-10 children of the
  same account: 100/2207028 otherwise) creates a carousel container with ``caption``.
- ``GET /{container-id}?fields=status_code,status``: ``IN_PROGRESS`` for the first
  ``Simulator.instagram_processing_polls`` reads of that container, then ``FINISHED``;
  ``PUBLISHED`` once published; ``EXPIRED`` 24 h after creation.
- ``POST /{ig-user-id}/media_publish?creation_id=``: a container still in progress answers
  9007/2207027; an expired one -2/2207020; a published one (a second publish) 24/2207006 and no
  second post; the account's 24 h quota (``Simulator.instagram_publish_limit``, default 100,
  a carousel counts once) answers 9/2207042.
- ``GET /{ig-user-id}/content_publishing_limit?fields=config,quota_usage``,
  ``GET /{ig-user-id}/media`` (newest first), ``GET /{media-id}?fields=permalink,shortcode,...``.
  Permalinks are ``{base}/instagram/p/{shortcode}/``, served by the simulator.

Ledger entries carry the bytes Instagram fetched (so tests can check no GPS reached it), the
caption as text, ``creation_id`` as the idempotency key and the container ids in ``extra``.

Credentials: ``ig_user_id``, ``access_token``. Expire the token with ``expires_at`` (epoch
seconds) → code 190/463. A ``rate_limit`` fault answers code 4 with usage headers at 100 %.
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
    count_hashtags,
    count_mentions,
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
    html_response,
    inspect_image,
    json_response,
    register_platform,
)

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 8 * 1024 * 1024
#: Width / height must lie between 4:5 and 1.91:1.
MIN_ASPECT_RATIO = 0.8
MAX_ASPECT_RATIO = 1.91
MAX_CAPTION_CHARACTERS = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MIN_CAROUSEL_CHILDREN = 2
MAX_CAROUSEL_CHILDREN = 10
#: Containers expire 24 h after creation.
CONTAINER_LIFETIME_SECONDS = 86_400
#: The publishing quota is counted over a rolling 24 h.
PUBLISH_WINDOW_SECONDS = 86_400
_STATUS_TEXT = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "PUBLISHED": "Published: Media has been successfully published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}


def _media_error(message: str, code: int, subcode: int, user_title: str, user_msg: str) -> HttpError:
    return graph_error(message, code, subcode=subcode, user_title=user_title, user_msg=user_msg)


def _not_found(media_id: str) -> HttpError:
    return _media_error(
        "Media ID is not available",
        24,
        2207006,
        "Media Not Found",
        f"The media with id {media_id} cannot be found.",
    )


@dataclass
class _Container:
    id: str
    owner: Account
    media_type: str
    is_carousel_item: bool
    caption: str
    created_at: float
    pending_polls: int
    media: StoredMedia | None = None
    children: list[str] = field(default_factory=list)
    published_media_id: str | None = None

    def status_code(self, now: float) -> str:
        if self.published_media_id is not None:
            return "PUBLISHED"
        if now >= self.created_at + CONTAINER_LIFETIME_SECONDS:
            return "EXPIRED"
        return "IN_PROGRESS" if self.pending_polls > 0 else "FINISHED"


@dataclass
class _Media:
    entry: LedgerEntry
    container: _Container
    shortcode: str
    created_at: float
    children: list[str]


@register_platform
class Instagram(GraphPlatform):
    name = "instagram"
    node_credential = "ig_user_id"
    required_credentials = ("ig_user_id", "access_token")
    buc_type = "instagram"
    #: 17-digit ids, like Instagram's media and container ids.
    id_shift = 13

    def __init__(self, sim: Simulator) -> None:
        self._containers: dict[str, _Container] = {}
        self._media: dict[str, _Media] = {}
        self._by_account: dict[str, list[str]] = {}
        self._publishes: dict[str, list[float]] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("GET", "/p/{shortcode}/", self.public_page, public=True)
        self.route("POST", "/{node}/media", self.create_container)
        self.route("POST", "/{node}/media_publish", self.publish)
        self.route("GET", "/{node}/media", self.list_media)
        self.route("GET", "/{node}/content_publishing_limit", self.publishing_limit)
        self.route("GET", "/{node}", self.read_node)

    def reset(self) -> None:
        super().reset()
        self._containers.clear()
        self._media.clear()
        self._by_account.clear()
        self._publishes.clear()

    # -- containers ------------------------------------------------------------------------

    def create_container(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        media_type = (as_text(params.get("media_type")) or "").upper()
        caption = as_text(params.get("caption")) or ""
        is_item = truthy(params.get("is_carousel_item"))
        if media_type == "CAROUSEL":
            _check_caption(caption)
            children = self._carousel_children(account, params.get("children"))
            container = self._new_container(account, "CAROUSEL", caption, is_item=False)
            container.children = children
        elif media_type in ("", "IMAGE"):
            url = as_text(params.get("image_url"))
            if not url:
                raise invalid_parameter("(#100) The parameter image_url is required.")
            if not is_item:
                _check_caption(caption)
            container = self._new_container(account, "IMAGE", "" if is_item else caption, is_item=is_item)
            container.media = self._fetch_image(account, container.id, url)
            container.media.alt_text = as_text(params.get("alt_text")) or ""
        elif media_type in ("VIDEO", "REELS", "STORIES"):
            raise invalid_parameter(f"(#100) media_type {media_type} is not supported by this simulator")
        else:
            raise invalid_parameter(
                "The media type is unknown",
                subcode=2207023,
                user_msg=f"The media type {media_type} is not one of IMAGE, CAROUSEL, VIDEO, REELS, STORIES.",
            )
        with self.sim.lock:
            if container.media is not None:
                self.sim.store_media(container.media)
            self._containers[container.id] = container
        return json_response(200, {"id": container.id})

    def _new_container(self, account: Account, media_type: str, caption: str, *, is_item: bool) -> _Container:
        return _Container(
            id=self.sim.new_id(self.name),
            owner=account,
            media_type=media_type,
            is_carousel_item=is_item,
            caption=caption,
            created_at=time.time(),
            pending_polls=self.sim.instagram_processing_polls,
        )

    def _fetch_image(self, account: Account, container_id: str, url: str) -> StoredMedia:
        # Outside the lock: the URL may well be served by this very simulator.
        try:
            fetched = fetch_url(url, cap=MAX_IMAGE_BYTES)
        except FetchFailed as exc:
            logger.info("instagram image fetch failed", extra={"platform": self.name, "reason": str(exc)})
            if exc.timed_out:
                raise _media_error(
                    "The media could not be fetched in time",
                    -2,
                    2207003,
                    "Media download timed out",
                    "It takes too long to download the media.",
                ) from None
            raise _media_error(
                "Media download has failed.",
                9004,
                2207052,
                "Media download has failed.",
                f"The media could not be fetched from this uri: {url}",
            ) from None
        if fetched.truncated:
            raise _media_error(
                "The image size is too large.",
                36000,
                2207004,
                "Image size too large",
                "The image is too large to download. It should be less than 8 MiB.",
            )
        try:
            info = inspect_image(fetched.data)
        except InvalidImage:
            info = None
        if info is None or info.mime_type != "image/jpeg":
            raise _media_error(
                "The image format is not supported.",
                36001,
                2207005,
                "Unsupported image format",
                "The image format is not supported. Supported formats are: JPEG",
            )
        ratio = info.width / info.height
        if not MIN_ASPECT_RATIO <= ratio <= MAX_ASPECT_RATIO:
            raise _media_error(
                f"The submitted image with aspect ratio ('{info.width}/{info.height}') cannot be published. "
                "Please submit an image with a valid aspect ratio.",
                36003,
                2207009,
                "Aspect ratio not supported",
                "The aspect ratio must be between 4:5 and 1.91:1.",
            )
        return StoredMedia(
            platform=self.name,
            media_id=container_id,
            owner_id=account.id,
            data=fetched.data,
            info=info,
            created_at=time.time(),
        )

    def _carousel_children(self, account: Account, raw: Any) -> list[str]:  # Any: form text or JSON
        if isinstance(raw, list):
            ids = [as_text(i) or "" for i in raw]
        else:
            text = as_text(raw) or ""
            if text.strip().startswith("["):
                try:
                    decoded = json.loads(text)
                except json.JSONDecodeError:
                    decoded = None
                ids = [as_text(i) or "" for i in decoded] if isinstance(decoded, list) else []
            else:
                ids = [part.strip() for part in text.split(",") if part.strip()]
        if not MIN_CAROUSEL_CHILDREN <= len(ids) <= MAX_CAROUSEL_CHILDREN:
            raise invalid_parameter(
                "(#100) The carousel must have between 2 and 10 children",
                subcode=2207028,
                user_msg="Carousels need between 2 and 10 photos or videos.",
            )
        now = time.time()
        with self.sim.lock:
            for child_id in ids:
                child = self._containers.get(child_id)
                if (
                    child is None
                    or child.owner.id != account.id
                    or not child.is_carousel_item
                    or child.status_code(now) in ("EXPIRED", "PUBLISHED")
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
            status = container.status_code(now)
            if status == "PUBLISHED":
                # A container produces one post: publishing it again is refused, never repeated.
                raise _not_found(creation_id)
            if status == "EXPIRED":
                raise _media_error(
                    "The media has expired",
                    -2,
                    2207020,
                    "Media expired",
                    "The media you are trying to access has expired. Please try to upload again.",
                )
            if status == "IN_PROGRESS":
                raise _media_error(
                    "Media ID is not available",
                    9007,
                    2207027,
                    "Media Not Ready For Publishing",
                    "The media is not ready for publishing, please wait for a moment",
                )
            recent = [t for t in self._publishes.get(account.id, []) if t > now - PUBLISH_WINDOW_SECONDS]
            self._publishes[account.id] = recent
            if len(recent) >= self.sim.instagram_publish_limit:
                raise _media_error(
                    "Application request limit reached",
                    9,
                    2207042,
                    "Max Posts Limit Reached",
                    "You reached maximum number of posts that is allowed to be published by "
                    "Content Publishing API.",
                )
            media = self._commit(account, container, now)
            recent.append(now)
        return json_response(200, {"id": media.entry.remote_id})

    def _commit(self, account: Account, container: _Container, now: float) -> _Media:
        media_id = self.sim.new_id(self.name)
        if container.media_type == "CAROUSEL":
            parts = [self._containers[c] for c in container.children]
        else:
            parts = [container]
        code = media_shortcode(media_id)
        entry = LedgerEntry(
            platform=self.name,
            account=account.username,
            remote_id=media_id,
            url=f"{self.sim.base_url}/instagram/p/{code}/",
            text=container.caption,
            media=tuple(p.media.ledger_media() for p in parts if p.media is not None),
            idempotency_key=container.id,
            received_at=now,
            extra={
                "container_id": container.id,
                "media_type": "CAROUSEL_ALBUM" if container.media_type == "CAROUSEL" else "IMAGE",
                "children": list(container.children),
                "shortcode": code,
            },
        )
        child_media = []
        for part in parts:
            part.published_media_id = media_id if part is container else self.sim.new_id(self.name)
            child_media.append(part.published_media_id)
            if part.media is not None:
                part.media.attached_to = media_id
        container.published_media_id = media_id
        media = _Media(entry, container, code, now, child_media if container.media_type == "CAROUSEL" else [])
        self._media[media_id] = media
        self._by_account.setdefault(account.id, []).append(media_id)
        self.sim.commit(entry)
        return media

    def publishing_limit(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        fields = requested_fields(graph_params(request)) or ["quota_usage"]
        now = time.time()
        with self.sim.lock:
            usage = sum(1 for t in self._publishes.get(account.id, []) if t > now - PUBLISH_WINDOW_SECONDS)
        item: dict[str, Any] = {}
        if "config" in fields:
            item["config"] = {
                "quota_total": self.sim.instagram_publish_limit,
                "quota_duration": PUBLISH_WINDOW_SECONDS,
            }
        if "quota_usage" in fields:
            item["quota_usage"] = usage
        return json_response(200, {"data": [item]})

    # -- reads -----------------------------------------------------------------------------

    def _media_json(self, media: _Media) -> dict[str, Any]:
        entry = media.entry
        first = entry.media[0] if entry.media else None
        node: dict[str, Any] = {
            "id": entry.remote_id,
            "caption": entry.text or None,
            "media_type": entry.extra["media_type"],
            "media_product_type": "FEED",
            "media_url": f"{self.sim.base_url}/_sim/media/instagram/{first.media_id}" if first else None,
            "permalink": entry.url,
            "shortcode": media.shortcode,
            "timestamp": graph_time(media.created_at),
            "username": media.container.owner.username,
            "owner": {"id": self.node_id(media.container.owner)},
            "alt_text": first.alt_text if first and entry.extra["media_type"] == "IMAGE" else None,
            "comments_count": 0,
            "like_count": 0,
        }
        if media.children:
            node["children"] = {"data": [{"id": child} for child in media.children]}
        return node

    def list_media(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        fields = requested_fields(params)
        with self.sim.lock:
            items = [
                pick(self._media_json(self._media[i]), fields, ("id",))
                for i in reversed(self._by_account.get(account.id, []))
            ]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    def read_node(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        if node in ("me", self.node_id(account)):
            with self.sim.lock:
                count = len(self._by_account.get(account.id, []))
            user = {
                "id": self.node_id(account),
                "user_id": self.node_id(account),
                "username": account.username,
                "name": account.username,
                "media_count": count,
                "followers_count": 0,
                "account_type": "BUSINESS",
            }
            return json_response(200, pick(user, fields, ("id", "username")))
        now = time.time()
        with self.sim.lock:
            container = self._containers.get(node)
            if container is not None and container.owner.id == account.id:
                status = container.status_code(now)
                if (
                    fields is not None
                    and ("status_code" in fields or "status" in fields)
                    and status == "IN_PROGRESS"
                ):
                    # Each status read advances processing one step.
                    container.pending_polls -= 1
                payload = {"id": container.id, "status_code": status, "status": _STATUS_TEXT[status]}
                return json_response(200, pick(payload, fields, ()))
            media = self._media.get(node)
            if media is not None and media.container.owner.id == account.id:
                return json_response(200, pick(self._media_json(media), fields, ("id",)))
        raise unsupported_request("GET", node)

    def public_page(self, request: Request) -> Response:
        code = request.params["shortcode"]
        with self.sim.lock:
            media = next((m for m in self._media.values() if m.shortcode == code), None)
            if media is None:
                return html_response(
                    404, "<!doctype html><title>Not found</title><p>Sorry, this page isn't available.</p>"
                )
            images = "".join(
                f'<img src="/_sim/media/instagram/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
                for m in media.entry.media
            )
            name = html.escape(media.container.owner.username)
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>@{name}</title><p><b>{name}</b> · {graph_time(media.created_at)}</p>"
                f"{images}<p style='white-space:pre-wrap'>{html.escape(media.entry.text)}</p>",
            )


def _check_caption(caption: str) -> None:
    problems = []
    if len(caption) > MAX_CAPTION_CHARACTERS:
        problems.append(f"at most {MAX_CAPTION_CHARACTERS} characters")
    if count_hashtags(caption) > MAX_HASHTAGS:
        problems.append(f"at most {MAX_HASHTAGS} hashtags")
    if count_mentions(caption) > MAX_MENTIONS:
        problems.append(f"at most {MAX_MENTIONS} @ tags")
    if problems:
        raise _media_error(
            "The caption is too long",
            36004,
            2207010,
            "Caption too long",
            "Captions can have " + ", ".join(problems) + ".",
        )
