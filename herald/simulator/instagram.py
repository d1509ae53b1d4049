"""Instagram content publishing (Graph API) as a simulator platform, mounted at ``/instagram``.

Follows shared/platforms.md §6 with the Graph plumbing of ``simulator.graph``:

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

Comments: ``POST /{ig-media-id}/comments`` with ``message`` (required; at most 2,200 characters
and 30 hashtags [unconfirmed]) on the account's own published media (anything else answers
100/33 like an unknown node) → ``{"id": ...}``; ``GET /{ig-media-id}/comments`` (oldest first;
the text is in ``text``), ``GET /{ig-comment-id}`` and ``DELETE /{ig-comment-id}`` (a media
cannot be deleted: that answers 100/33 as well). A comment's ledger entry has
``extra["comment_on"]`` (the media id) and the media's permalink as its URL.

Ledger entries carry the bytes Instagram fetched (so tests can check no GPS reached it), the
caption as text, ``creation_id`` as the idempotency key and the container ids in ``extra``.

Credentials: ``ig_user_id``, ``access_token``. Expire the token with ``expires_at`` (epoch
seconds) → code 190/463. A ``rate_limit`` fault answers code 4 with usage headers at 100 %.
"""

from __future__ import annotations

import html
import time
from typing import Any

from herald.simulator.comments import Comment, CommentStore, comment_entry
from herald.simulator.containers import Container, ContainerPlatform, ImageRejected, Published
from herald.simulator.graph import (
    as_text,
    count_hashtags,
    count_mentions,
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
    Simulator,
    StoredMedia,
    json_response,
    register_platform,
)

#: Width / height must lie between 4:5 and 1.91:1.
MIN_ASPECT_RATIO = 0.8
MAX_ASPECT_RATIO = 1.91
MAX_CAPTION_CHARACTERS = 2200
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
MAX_CAROUSEL_CHILDREN = 10
#: A comment's limits, as for captions [unconfirmed: secondary sources only].
MAX_COMMENT_CHARACTERS = 2200
MAX_COMMENT_HASHTAGS = 30
COMMENT_FIELDS = ("id", "text", "timestamp")
_STATUS_TEXT = {
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "PUBLISHED": "Published: Media has been successfully published.",
    "EXPIRED": "Expired: Media was not published within 24 hours.",
}


def _media_error(message: str, code: int, subcode: int, user_title: str, user_msg: str) -> HttpError:
    return graph_error(message, code, subcode=subcode, user_title=user_title, user_msg=user_msg)


@register_platform
class Instagram(ContainerPlatform):
    name = "instagram"
    node_credential = "ig_user_id"
    required_credentials = ("ig_user_id", "access_token")
    buc_type = "instagram"
    #: 17-digit ids, like Instagram's media and container ids.
    id_shift = 13
    max_children = MAX_CAROUSEL_CHILDREN
    image_types = frozenset({"image/jpeg"})
    status_fields = ("status_code", "status")
    quota_fields = ("config", "quota_usage")
    user_default_fields = ("id", "username")
    split_malformed_children = False

    token_scopes = ("instagram_basic", "instagram_content_publish", "pages_show_list")

    def __init__(self, sim: Simulator) -> None:
        self._comments = CommentStore()
        super().__init__(sim)

    def reset(self) -> None:
        super().reset()
        self._comments.clear()

    def setup_routes(self) -> None:
        self.route("GET", "/p/{shortcode}/", self.public_page, public=True)
        self.route("GET", "/debug_token", self.debug_token)
        self.route("POST", "/{node}/media", self.create_container)
        self.route("POST", "/{node}/media_publish", self.publish)
        self.route("GET", "/{node}/media", self.list_published)
        self.route("GET", "/{node}/content_publishing_limit", self.publishing_limit)
        self.route("POST", "/{node}/comments", self.create_comment)
        self.route("GET", "/{node}/comments", self.list_comments)
        self.route("GET", "/{node}", self.read_any)
        self.route("DELETE", "/{node}", self.delete_comment)

    # -- settings and errors ---------------------------------------------------------------

    def processing_polls(self) -> int:
        return self.sim.instagram_processing_polls

    def publish_quota(self) -> int:
        return self.sim.instagram_publish_limit

    def missing_container(self, container_id: str) -> HttpError:
        return _media_error(
            "Media ID is not available",
            24,
            2207006,
            "Media Not Found",
            f"The media with id {container_id} cannot be found.",
        )

    def children_count_error(self) -> HttpError:
        return invalid_parameter(
            "(#100) The carousel must have between 2 and 10 children",
            subcode=2207028,
            user_msg="Carousels need between 2 and 10 photos or videos.",
        )

    def expired_error(self) -> HttpError:
        return _media_error(
            "The media has expired",
            -2,
            2207020,
            "Media expired",
            "The media you are trying to access has expired. Please try to upload again.",
        )

    def not_ready_error(self) -> HttpError:
        return _media_error(
            "Media ID is not available",
            9007,
            2207027,
            "Media Not Ready For Publishing",
            "The media is not ready for publishing, please wait for a moment",
        )

    def quota_error(self) -> HttpError:
        return _media_error(
            "Application request limit reached",
            9,
            2207042,
            "Max Posts Limit Reached",
            "You reached maximum number of posts that is allowed to be published by Content Publishing API.",
        )

    # -- containers ------------------------------------------------------------------------

    def create_container(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        media_type = (as_text(params.get("media_type")) or "").upper()
        caption = as_text(params.get("caption")) or ""
        is_item = truthy(params.get("is_carousel_item"))
        if media_type == "CAROUSEL":
            _check_caption(caption)
            children = self.carousel_children(account, params.get("children"))
            container = self.new_container(account, "CAROUSEL", caption, is_item=False)
            container.children = children
        elif media_type in ("", "IMAGE"):
            url = as_text(params.get("image_url"))
            if not url:
                raise invalid_parameter("(#100) The parameter image_url is required.")
            if not is_item:
                _check_caption(caption)
            container = self.new_container(account, "IMAGE", "" if is_item else caption, is_item=is_item)
            container.media = self._image(container, url, as_text(params.get("alt_text")) or "")
        elif media_type in ("VIDEO", "REELS", "STORIES"):
            raise invalid_parameter(f"(#100) media_type {media_type} is not supported by this simulator")
        else:
            raise invalid_parameter(
                "The media type is unknown",
                subcode=2207023,
                user_msg=f"The media type {media_type} is not one of IMAGE, CAROUSEL, VIDEO, REELS, STORIES.",
            )
        return self.store_container(container)

    def _image(self, container: Container, url: str, alt: str) -> StoredMedia:
        try:
            media = self.fetch_image(container, url, alt)
        except ImageRejected as exc:
            if exc.kind == "too_large":
                raise _media_error(
                    "The image size is too large.",
                    36000,
                    2207004,
                    "Image size too large",
                    "The image is too large to download. It should be less than 8 MiB.",
                ) from None
            if exc.kind == "format":
                raise _media_error(
                    "The image format is not supported.",
                    36001,
                    2207005,
                    "Unsupported image format",
                    "The image format is not supported. Supported formats are: JPEG",
                ) from None
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
        info = media.info
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
        return media

    # -- comments --------------------------------------------------------------------------

    def create_comment(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        message = as_text(graph_params(request).get("message")) or ""
        if not message.strip():
            raise invalid_parameter("(#100) The parameter message is required.")
        if len(message) > MAX_COMMENT_CHARACTERS or count_hashtags(message) > MAX_COMMENT_HASHTAGS:
            raise invalid_parameter(
                "(#100) The comment is too long",
                user_msg=f"Comments can have at most {MAX_COMMENT_CHARACTERS} characters and "
                f"{MAX_COMMENT_HASHTAGS} hashtags.",
            )
        now = time.time()
        with self.sim.lock:
            media = self._visible(account, node)
            if media is None:
                raise unsupported_request("POST", node)
            comment_id = self.sim.new_id(self.name)
            entry = comment_entry(self.name, account, comment_id, node, media.entry.url, message, now)
            self._comments.add(Comment(comment_id, node, account, message, now, entry))
            self.sim.commit(entry)
        return json_response(200, {"id": comment_id})

    def _live_comments(self, media_id: str) -> list[Comment]:
        return [c for c in self._comments.under(media_id) if not self.sim.is_deleted(self.name, c.id)]

    def _comment_json(self, comment: Comment) -> dict[str, Any]:  # Any: JSON values
        return {
            "id": comment.id,
            "text": comment.message,
            "timestamp": graph_time(comment.created_at),
            "username": comment.account.username,
            "from": {"id": self.node_id(comment.account), "username": comment.account.username},
            "media": {"id": comment.post_id},
            "like_count": 0,
            "hidden": False,
        }

    def list_comments(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        with self.sim.lock:
            if self._visible(account, node) is None:
                raise unsupported_request("GET", node)
            items = [pick(self._comment_json(c), fields, COMMENT_FIELDS) for c in self._live_comments(node)]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    def _own_comment(self, account: Account, node: str) -> Comment | None:
        """A live comment the account may see and remove: its own, or one under its media."""
        comment = self._comments.get(node)
        if comment is None or self.sim.is_deleted(self.name, node):
            return None
        if comment.account.id != account.id and self._visible(account, comment.post_id) is None:
            return None
        return comment

    def read_any(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        with self.sim.lock:
            comment = self._own_comment(account, request.params["node"])
            if comment is not None:
                fields = requested_fields(graph_params(request))
                return json_response(200, pick(self._comment_json(comment), fields, COMMENT_FIELDS))
        return self.read_node(request)

    def delete_comment(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        with self.sim.lock:
            if self._own_comment(account, node) is None:
                # Media cannot be deleted through the API: Graph answers as for a missing node.
                raise unsupported_request("DELETE", node)
            self.sim.mark_deleted(self.name, node)
        return json_response(200, {"success": True})

    # -- reads -----------------------------------------------------------------------------

    def permalink(self, account: Account, shortcode: str) -> str:
        return f"{self.sim.base_url}/instagram/p/{shortcode}/"

    def user_json(self, account: Account) -> dict[str, Any]:  # Any: JSON values
        with self.sim.lock:
            count = len(self._by_account.get(account.id, []))
        return {
            "id": self.node_id(account),
            "user_id": self.node_id(account),
            "username": account.username,
            "name": account.username,
            "media_count": count,
            "followers_count": 0,
            "account_type": "BUSINESS",
        }

    def container_json(self, container: Container, status: str) -> dict[str, Any]:  # Any: JSON
        return {"id": container.id, "status_code": status, "status": _STATUS_TEXT[status]}

    def published_json(self, published: Published) -> dict[str, Any]:  # Any: JSON values
        entry = published.entry
        first = entry.media[0] if entry.media else None
        node: dict[str, Any] = {
            "id": entry.remote_id,
            "caption": entry.text or None,
            "media_type": entry.extra["media_type"],
            "media_product_type": "FEED",
            "media_url": f"{self.sim.base_url}/_sim/media/instagram/{first.media_id}" if first else None,
            "permalink": entry.url,
            "shortcode": published.shortcode,
            "timestamp": graph_time(published.created_at),
            "username": published.container.owner.username,
            "owner": {"id": self.node_id(published.container.owner)},
            "alt_text": first.alt_text if first and entry.extra["media_type"] == "IMAGE" else None,
            "comments_count": len(self._live_comments(entry.remote_id)),
            "like_count": 0,
        }
        if published.children:
            node["children"] = {"data": [{"id": child} for child in published.children]}
        return node

    def render_page(self, published: Published) -> str:
        name = html.escape(published.container.owner.username)
        text = html.escape(published.entry.text)
        return (
            "<!doctype html><meta charset='utf-8'>"
            f"<title>@{name}</title><p><b>{name}</b> · {graph_time(published.created_at)}</p>"
            f"{self.page_images(published)}<p style='white-space:pre-wrap'>{text}</p>"
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
