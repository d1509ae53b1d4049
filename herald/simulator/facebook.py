"""Facebook Page publishing (Meta Graph API) as a simulator platform, mounted at ``/facebook``.

Follows shared/platforms.md §5 with the Graph plumbing of ``simulator.graph`` (version prefix
optional, token in query/form/JSON/Bearer, Graph error envelope, no 429s, usage headers):

- ``POST /{page-id}/photos`` with a multipart ``source`` or a loopback ``url``, ``caption`` (or
  ``message``), ``alt_text_custom``, ``published`` (``false`` leaves an unpublished photo to
  attach later; ``temporary`` is accepted with it). Photos must be < 10 MiB and JPEG, PNG, GIF,
  BMP or TIFF.
- ``POST /{page-id}/feed`` with ``message``, ``link``, ``published`` and ``attached_media``
  (form fields ``attached_media[0]={"media_fbid": "..."}`` or a JSON array); each unpublished
  photo attaches once. The same message as the Page's latest post answers (#506).
- ``GET /{page-id}/feed``, ``/published_posts`` and ``/posts`` (newest first, ``fields``,
  ``limit``, ``after``, ``since``/``until``), ``GET /{post-id}`` and ``DELETE /{post-id}``.
- Posts are ``{page-id}_{post-id}``; ``permalink_url`` (and the ledger URL) is
  ``{base}/facebook/www.facebook.com/{page-id}_{post-id}``, a page the simulator serves.
- Comments: ``POST /{post-id}/comments`` with ``message`` (required, at most 8,000 characters
  [unconfirmed]) on a published, undeleted post (anything else answers 100/33 like an unknown
  node) → ``{"id": "{post-id}_{comment-id}"}``; ``GET /{post-id}/comments`` (``fields``, ``limit``,
  ``after``, ``order=chronological|reverse_chronological``); ``GET`` and ``DELETE
  /{comment-id}``. A comment's ledger entry has ``extra["comment_on"]`` (the post id) and the
  post's permalink with ``?comment_id=`` as its URL; the public page shows the comments.

Credentials: ``page_id``, ``page_access_token``. Expire the token with ``expires_at`` (epoch
seconds) → code 190/463; ``password_changed="1"`` → 190/460. A ``rate_limit`` fault answers
code 32 (Page request limit) with usage headers at 100 %.
"""

from __future__ import annotations

import html
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from herald.simulator.comments import Comment, CommentStore, comment_entry
from herald.simulator.graph import (
    FetchFailed,
    GraphPlatform,
    as_text,
    edge_page,
    fetch_url,
    file_part,
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
    ImageInfo,
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

#: Static images must be smaller than 10 MB.
MAX_PHOTO_BYTES = 10 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff"})
#: The widely cited post text limit.
MAX_MESSAGE_CHARACTERS = 63_206
#: The widely cited comment text limit [unconfirmed].
MAX_COMMENT_CHARACTERS = 8000
DUPLICATE_USER_MSG = (
    "This status update is identical to the last one you posted. Try posting something different, "
    "or delete your previous update."
)
POST_FIELDS = ("id", "message", "created_time")
PAGE_FIELDS = ("id", "name")
COMMENT_FIELDS = ("id", "message", "created_time", "from")


@dataclass
class _Photo:
    media: StoredMedia
    page_id: str
    caption: str
    published: bool
    created_at: float
    #: The post this photo belongs to (its own post, or the feed post it was attached to).
    post_id: str | None = None


@dataclass
class _Post:
    entry: LedgerEntry
    page_id: str
    message: str
    link: str | None
    published: bool
    created_at: float
    photos: list[_Photo] = field(default_factory=list)


@register_platform
class Facebook(GraphPlatform):
    name = "facebook"
    token_credential = "page_access_token"
    node_credential = "page_id"
    required_credentials = ("page_id", "page_access_token")
    buc_type = "pages"
    throttle_code = 32
    throttle_message = "(#32) Page request limit reached"
    #: Ids of 15-16 digits, like current photo and post ids.
    id_shift = 12

    token_scopes = ("pages_manage_posts", "pages_read_engagement", "pages_show_list")

    def __init__(self, sim: Simulator) -> None:
        self._photos: dict[str, _Photo] = {}
        self._posts: dict[str, _Post] = {}
        self._by_page: dict[str, list[str]] = {}
        self._comments = CommentStore()
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("GET", "/www.facebook.com/{post_id}", self.public_page, public=True)
        self.route("GET", "/debug_token", self.debug_token)
        self.route("POST", "/{node}/photos", self.create_photo)
        self.route("POST", "/{node}/feed", self.create_post)
        for edge in ("feed", "published_posts", "posts"):
            self.route("GET", "/{node}/" + edge, self.list_posts)
        self.route("POST", "/{node}/comments", self.create_comment)
        self.route("GET", "/{node}/comments", self.list_comments)
        self.route("GET", "/{node}", self.read_node)
        self.route("DELETE", "/{node}", self.delete_node)

    def reset(self) -> None:
        super().reset()
        self._photos.clear()
        self._posts.clear()
        self._by_page.clear()
        self._comments.clear()

    # -- photos ----------------------------------------------------------------------------

    def create_photo(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        data = self._photo_bytes(request, params)
        published = "published" not in params or truthy(params["published"])
        caption = as_text(params.get("caption")) or as_text(params.get("message")) or ""
        alt = as_text(params.get("alt_text_custom")) or ""
        _check_message(caption)
        now = time.time()
        media = StoredMedia(
            platform=self.name,
            media_id=self.sim.new_id(self.name),
            owner_id=account.id,
            data=data,
            info=_photo_info(data),
            created_at=now,
            alt_text=alt,
        )
        photo = _Photo(
            media=media, page_id=self.node_id(account), caption=caption, published=published, created_at=now
        )
        with self.sim.lock:
            self.sim.store_media(media)
            self._photos[media.media_id] = photo
            if not published:
                return json_response(200, {"id": media.media_id})
            post = self._commit_post(account, caption, None, [photo], now, published=True)
        return json_response(200, {"id": media.media_id, "post_id": post.entry.remote_id})

    def _photo_bytes(self, request: Request, params: dict[str, Any]) -> bytes:
        part = file_part(request, "source")
        if part is not None and part.data:
            return part.data
        url = as_text(params.get("url"))
        if not url:
            raise graph_error("(#324) Requires upload file", 324)
        try:
            fetched = fetch_url(url, cap=MAX_PHOTO_BYTES)
        except FetchFailed as exc:
            logger.info("facebook photo url refused", extra={"platform": self.name, "reason": str(exc)})
            raise invalid_parameter(
                "(#100) url should represent a valid URL",
                user_msg=f"The photo at {url} could not be downloaded.",
            ) from None
        return fetched.data

    # -- posts -----------------------------------------------------------------------------

    def create_post(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        message = as_text(params.get("message")) or ""
        link = as_text(params.get("link"))
        published = "published" not in params or truthy(params["published"])
        if params.get("scheduled_publish_time") not in (None, ""):
            raise invalid_parameter("(#100) scheduled_publish_time is not supported by this simulator")
        fbids = _attached_media_ids(params)
        _check_message(message)
        page_id = self.node_id(account)
        now = time.time()
        with self.sim.lock:
            photos = [self._attachable(page_id, index, fbid) for index, fbid in enumerate(fbids)]
            if not message and not link and not photos:
                raise invalid_parameter("(#100) Missing message or attachment")
            if message and published and self._latest_message(page_id) == message:
                raise graph_error(
                    "(#506) Duplicate status message",
                    506,
                    user_title="Duplicate post",
                    user_msg=DUPLICATE_USER_MSG,
                )
            post = self._commit_post(account, message, link, photos, now, published=published)
        return json_response(200, {"id": post.entry.remote_id})

    def _attachable(self, page_id: str, index: int, fbid: str) -> _Photo:
        photo = self._photos.get(fbid)
        if (
            photo is None
            or photo.page_id != page_id
            or photo.published
            or photo.post_id is not None
            or self.sim.is_deleted(self.name, fbid)
        ):
            raise invalid_parameter(
                f"(#100) param attached_media[{index}] has an invalid media_fbid: {fbid}",
                user_msg="Attach unpublished photos of this Page, each to one post only.",
            )
        return photo

    def _latest_message(self, page_id: str) -> str | None:
        for post_id in reversed(self._by_page.get(page_id, [])):
            post = self._posts[post_id]
            if post.published and not self.sim.is_deleted(self.name, post_id):
                return post.message
        return None

    def _commit_post(
        self,
        account: Account,
        message: str,
        link: str | None,
        photos: list[_Photo],
        now: float,
        *,
        published: bool,
    ) -> _Post:
        page_id = self.node_id(account)
        post_id = f"{page_id}_{self.sim.new_id(self.name)}"
        entry = LedgerEntry(
            platform=self.name,
            account=account.username,
            remote_id=post_id,
            url=self._permalink(post_id),
            text=message,
            media=tuple(p.media.ledger_media() for p in photos),
            idempotency_key=None,
            received_at=now,
            extra={
                "page_id": page_id,
                "photo_ids": [p.media.media_id for p in photos],
                "published": published,
            }
            | ({"link": link} if link else {}),
        )
        post = _Post(entry, page_id, message, link, published, now, photos)
        for photo in photos:
            photo.post_id = post_id
            photo.media.attached_to = post_id
        self._posts[post_id] = post
        self._by_page.setdefault(page_id, []).append(post_id)
        self.sim.commit(entry)
        return post

    def _permalink(self, post_id: str) -> str:
        return f"{self.sim.base_url}/facebook/www.facebook.com/{post_id}"

    def _post_json(self, post: _Post) -> dict[str, Any]:
        node: dict[str, Any] = {
            "id": post.entry.remote_id,
            "message": post.message or None,
            "created_time": graph_time(post.created_at),
            "updated_time": graph_time(post.created_at),
            "permalink_url": post.entry.url,
            "is_published": post.published,
            "status_type": "added_photos"
            if post.photos
            else ("shared_story" if post.link else "mobile_status_update"),
            "from": {"id": post.page_id, "name": self._page_name(post.page_id)},
        }
        if post.link:
            node["link"] = post.link
        if post.photos:
            node["attachments"] = {
                "data": [
                    {
                        "type": "photo",
                        "target": {"id": p.media.media_id},
                        "description": p.media.alt_text or None,
                        "media": {"image": {"width": p.media.info.width, "height": p.media.info.height}},
                    }
                    for p in post.photos
                ]
            }
        return node

    def _photo_json(self, photo: _Photo) -> dict[str, Any]:
        info = photo.media.info
        return {
            "id": photo.media.media_id,
            "created_time": graph_time(photo.created_at),
            "name": photo.caption or None,
            "alt_text_custom": photo.media.alt_text or None,
            "width": info.width,
            "height": info.height,
            "images": [{"width": info.width, "height": info.height, "source": self._media_url(photo)}],
            "link": self._permalink(photo.post_id) if photo.post_id else None,
            "published": photo.published,
        }

    def _media_url(self, photo: _Photo) -> str:
        return f"{self.sim.base_url}/_sim/media/facebook/{photo.media.media_id}"

    def _page_name(self, page_id: str) -> str:
        account = self._nodes.get(page_id)
        return account.username if account is not None else page_id

    def list_posts(self, request: Request) -> Response:
        account = self.owner_of(request, request.params["node"])
        params = graph_params(request)
        fields = requested_fields(params)
        since = _epoch_param(params, "since")
        until = _epoch_param(params, "until")
        page_id = self.node_id(account)
        with self.sim.lock:
            items = [
                pick(self._post_json(post), fields, POST_FIELDS)
                for post in (self._posts[i] for i in reversed(self._by_page.get(page_id, [])))
                if post.published
                and not self.sim.is_deleted(self.name, post.entry.remote_id)
                and (since is None or post.created_at >= since)
                and (until is None or post.created_at <= until)
            ]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    # -- comments --------------------------------------------------------------------------

    def _live_post(self, node: str, method: str) -> _Post:
        """The published, undeleted post ``node`` (call under the lock); else 100/33."""
        post = self._posts.get(node)
        if post is None or not post.published or self.sim.is_deleted(self.name, node):
            raise unsupported_request(method, node)
        return post

    def _live_comment(self, node: str) -> Comment | None:
        comment = self._comments.get(node)
        if comment is None or self.sim.is_deleted(self.name, node):
            return None
        return comment

    def create_comment(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        message = as_text(params.get("message")) or ""
        if not message.strip():
            raise invalid_parameter("(#100) Missing message or attachment")
        if len(message) > MAX_COMMENT_CHARACTERS:
            raise invalid_parameter(
                "(#100) The message is too long",
                user_msg=f"Comments can be at most {MAX_COMMENT_CHARACTERS} characters.",
            )
        now = time.time()
        with self.sim.lock:
            post = self._live_post(node, "POST")
            comment_id = f"{node.rsplit('_', 1)[-1]}_{self.sim.new_id(self.name)}"
            url = f"{post.entry.url}?comment_id={comment_id.rsplit('_', 1)[-1]}"
            entry = comment_entry(self.name, account, comment_id, node, url, message, now)
            self._comments.add(Comment(comment_id, node, account, message, now, entry))
            self.sim.commit(entry)
        return json_response(200, {"id": comment_id})

    def _comment_json(self, comment: Comment) -> dict[str, Any]:  # Any: JSON values
        author = self.node_id(comment.account)
        return {
            "id": comment.id,
            "message": comment.message,
            "created_time": graph_time(comment.created_at),
            "from": {"id": author, "name": comment.account.username},
            "permalink_url": comment.entry.url,
            "like_count": 0,
            "comment_count": 0,
            "is_hidden": False,
            "can_remove": True,
        }

    def list_comments(self, request: Request) -> Response:
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        order = as_text(params.get("order")) or "chronological"
        if order not in ("chronological", "reverse_chronological"):
            raise invalid_parameter(
                "(#100) Param order must be one of {chronological, reverse_chronological}"
            )
        with self.sim.lock:
            self._live_post(node, "GET")
            comments = [c for c in self._comments.under(node) if not self.sim.is_deleted(self.name, c.id)]
            if order == "reverse_chronological":
                comments.reverse()
            items = [pick(self._comment_json(c), fields, COMMENT_FIELDS) for c in comments]
        return json_response(200, edge_page(request, params, items, self.sim.base_url))

    # -- nodes -----------------------------------------------------------------------------

    def read_node(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        params = graph_params(request)
        fields = requested_fields(params)
        page_id = self.node_id(account)
        if node in ("me", page_id):
            page = {
                "id": page_id,
                "name": account.username,
                "link": f"{self.sim.base_url}/facebook/{page_id}",
            }
            return json_response(200, pick(page, fields, PAGE_FIELDS))
        with self.sim.lock:
            post = self._posts.get(node)
            if post is not None and post.page_id == page_id and not self.sim.is_deleted(self.name, node):
                return json_response(200, pick(self._post_json(post), fields, POST_FIELDS))
            photo = self._photos.get(node)
            if photo is not None and photo.page_id == page_id and not self.sim.is_deleted(self.name, node):
                return json_response(200, pick(self._photo_json(photo), fields, ("id", "created_time")))
            comment = self._live_comment(node)
            if comment is not None:
                return json_response(200, pick(self._comment_json(comment), fields, COMMENT_FIELDS))
        raise unsupported_request("GET", node)

    def delete_node(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        node = request.params["node"]
        page_id = self.node_id(account)
        with self.sim.lock:
            post = self._posts.get(node)
            photo = self._photos.get(node)
            if post is not None and post.page_id == page_id and not self.sim.is_deleted(self.name, node):
                self.sim.mark_deleted(self.name, node)
            elif photo is not None and photo.page_id == page_id and not self.sim.is_deleted(self.name, node):
                self.sim.mark_deleted(self.name, node)
            elif (comment := self._live_comment(node)) is not None and self._may_remove(account, comment):
                self.sim.mark_deleted(self.name, node)
            else:
                raise unsupported_request("DELETE", node)
        return json_response(200, {"success": True})

    def _may_remove(self, account: Account, comment: Comment) -> bool:
        """A Page removes its own comments and any comment under its own posts."""
        post = self._posts.get(comment.post_id)
        page_id = self.node_id(account)
        return comment.account.id == account.id or (post is not None and post.page_id == page_id)

    def public_page(self, request: Request) -> Response:
        post_id = request.params["post_id"]
        with self.sim.lock:
            post = self._posts.get(post_id)
            if post is None or not post.published or self.sim.is_deleted(self.name, post_id):
                return html_response(
                    404, "<!doctype html><title>Not found</title><p>This content isn't available</p>"
                )
            images = "".join(
                f'<img src="/_sim/media/facebook/{p.media.media_id}" '
                f'alt="{html.escape(p.media.alt_text)}" width="240">'
                for p in post.photos
            )
            name = html.escape(self._page_name(post.page_id))
            comments = "".join(
                f"<li id='comment-{html.escape(c.id)}'><b>{html.escape(c.account.username)}</b> "
                f"<span style='white-space:pre-wrap'>{html.escape(c.message)}</span></li>"
                for c in self._comments.under(post_id)
                if not self.sim.is_deleted(self.name, c.id)
            )
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>{name}</title><p><b>{name}</b> · {graph_time(post.created_at)}</p>"
                f"<p style='white-space:pre-wrap'>{html.escape(post.message)}</p>{images}"
                + (f"<ul>{comments}</ul>" if comments else ""),
            )


def _photo_info(data: bytes) -> ImageInfo:
    if len(data) >= MAX_PHOTO_BYTES:
        raise invalid_parameter(
            "(#100) The photo is too large", user_msg="Photos must be smaller than 10 MB."
        )
    try:
        info = inspect_image(data)
    except InvalidImage:
        raise graph_error("(#324) Missing or invalid image file", 324) from None
    if info.mime_type not in PHOTO_TYPES:
        raise graph_error("(#324) Missing or invalid image file", 324)
    return info


def _check_message(message: str) -> None:
    if len(message) > MAX_MESSAGE_CHARACTERS:
        raise invalid_parameter(
            "(#100) The message is too long",
            user_msg=f"Posts can be at most {MAX_MESSAGE_CHARACTERS} characters.",
        )


def _attached_media_ids(params: dict[str, Any]) -> list[str]:  # Any: see graph_params
    """``attached_media`` as a JSON array (JSON body or one form field) or as indexed form
    fields ``attached_media[N]``, each item ``{"media_fbid": "..."}`` (an object or its JSON)."""
    items: list[Any] = []  # Any: client JSON
    whole = params.get("attached_media")
    if isinstance(whole, list):
        items = whole
    elif isinstance(whole, str) and whole.strip():
        items = _json_value(whole, "attached_media")
        if not isinstance(items, list):
            raise invalid_parameter("(#100) param attached_media must be an array")
    else:
        indexed = []
        for key, value in params.items():
            if key.startswith("attached_media[") and key.endswith("]"):
                number = key[len("attached_media[") : -1]
                if not number.isdigit():
                    raise invalid_parameter(f"(#100) Invalid parameter {key}")
                indexed.append((int(number), value))
        items = [value for _, value in sorted(indexed, key=lambda pair: pair[0])]
    ids = []
    for index, item in enumerate(items):
        value = _json_value(item, f"attached_media[{index}]") if isinstance(item, str) else item
        fbid = as_text(value.get("media_fbid")) if isinstance(value, dict) else None
        if not fbid:
            raise invalid_parameter(
                f"(#100) param attached_media[{index}] must be an object with a media_fbid"
            )
        ids.append(fbid)
    return ids


def _json_value(raw: str, name: str) -> Any:  # Any: client JSON
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        raise invalid_parameter(f"(#100) param {name} must be JSON") from None


def _epoch_param(params: dict[str, Any], name: str) -> float | None:  # Any: see graph_params
    raw = as_text(params.get(name))
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise invalid_parameter(f"(#100) Param {name} must be a unix timestamp") from None
