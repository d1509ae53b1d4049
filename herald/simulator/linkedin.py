"""LinkedIn's versioned REST Posts and Images APIs as a simulator platform, mounted at
``/linkedin``.

Follows shared/platforms.md §7:

- Every ``/rest/...`` call needs ``Authorization: Bearer``, ``LinkedIn-Version: YYYYMM``
  (missing → 400 ``VERSION_MISSING``; malformed, in the future or more than 12 months old →
  426 ``NONEXISTENT_VERSION``) and ``X-Restli-Protocol-Version: 2.0.0`` (400 otherwise).
- ``POST /rest/images?action=initializeUpload`` → an ``uploadUrl`` served by the simulator
  (``/linkedin/dms-uploads/{token}``, ``PUT`` the raw bytes with the same Bearer token → 201)
  and an image URN; ``GET /rest/images/{urn}`` reports ``WAITING_UPLOAD``, ``AVAILABLE`` or
  ``PROCESSING_FAILED`` (not JPEG/PNG/GIF, or over 36,152,320 pixels).
- ``POST /rest/posts`` → 201, empty body, the URN in ``x-restli-id``. ``commentary`` is
  "little text": the simulator keeps it up to the first reserved character
  (``| { } @ [ ] ( ) < > # * _ ~`` or a backslash) that is not backslash-escaped, silently, as
  LinkedIn does; escaped characters appear unescaped in the ledger text; well-formed mention
  (``@[Name](urn:li:organization:1)``) and hashtag (``{hashtag|\\#|tag}``) templates are kept.
  At most 3,000 characters. ``content.media`` (one image, ``altText``) or
  ``content.multiImage.images`` (2-20). The same commentary as a live post of the same author
  answers 422 ``DUPLICATE_POST`` naming that post's URN.
- ``GET /rest/posts?q=author&author=...`` (newest first, ``count``/``start``), ``GET`` and
  ``DELETE /rest/posts/{urn}`` (204). Errors are Rest.li JSON: ``{"status", "message",
  "serviceErrorCode"?, "code"?, ...}``; a rate-limit fault answers 429 ``TOO_MANY_REQUESTS``
  without headers (LinkedIn sends none).

- Comments (Comments API): ``POST /rest/socialActions/{post urn}/comments`` with ``{"actor",
  "object", "message": {"text"}}`` → 201 with the comment entity (``commentUrn``
  ``urn:li:comment:({post urn},{id})``, ``id``, ``actor``, ``object``, ``message``, ``created``)
  and ``x-restli-id`` holding the comment id [which of the two LinkedIn puts there is
  unconfirmed]. The actor must be the token's organization (403 ``ACCESS_DENIED``), ``object``
  the post of the path (422), the text non-empty and at most 1,250 characters [unconfirmed]
  (422); an unknown or deleted post is 404. ``GET /rest/socialActions/{post urn}/comments``
  (oldest first, ``start``/``count``, ``paging.total``); ``DELETE
  /rest/socialActions/{post urn}/comments/{id}?actor=`` (204; the actor must be the comment's).
  A comment's ledger entry has ``extra["comment_on"]`` (the post URN) and the post's feed URL
  with ``?commentUrn=`` as its URL.

Credentials: ``organization_urn``, ``access_token``. Expire the token with ``expires_at``
(epoch seconds) → 401 ``EXPIRED_ACCESS_TOKEN``.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import logging
import re
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from herald.simulator.comments import Comment, CommentStore, comment_entry
from herald.simulator.graph import parse_expiry
from herald.simulator.server import (
    Account,
    BadBody,
    HttpError,
    InvalidImage,
    LedgerEntry,
    LedgerMedia,
    Platform,
    Request,
    Response,
    Simulator,
    StoredMedia,
    html_response,
    inspect_image,
    json_response,
    phrase,
    register_platform,
)

logger = logging.getLogger(__name__)

MAX_COMMENTARY_CHARACTERS = 3000
#: A comment's text limit [unconfirmed: LinkedIn's comment box; the API reference names none].
MAX_COMMENT_CHARACTERS = 1250
MIN_MULTI_IMAGES = 2
MAX_MULTI_IMAGES = 20
MAX_IMAGE_PIXELS = 36_152_320
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
#: Versions stay active for about a year after release.
VERSION_ACTIVE_MONTHS = 12
UPLOAD_URL_LIFETIME_SECONDS = 86_400
RESTLI_PROTOCOL_VERSION = "2.0.0"
#: Characters "little text" reserves; unescaped, LinkedIn cuts the commentary there.
RESERVED = frozenset("|{}@[]()<>#*_~\\")
VISIBILITIES = frozenset({"PUBLIC", "CONNECTIONS", "LOGGED_IN", "CONTAINER"})
LIFECYCLE_STATES = frozenset({"PUBLISHED", "DRAFT"})
FEED_DISTRIBUTIONS = frozenset({"MAIN_FEED", "NONE"})
_VERSION_RE = re.compile(r"\A(\d{4})(\d{2})(?:\.\d{2})?\Z")
_MENTION_RE = re.compile(r"@\[([^\]\\]*)\]\((urn:li:(?:person|organization|company):[\w-]+)\)")
_HASHTAG_RE = re.compile(r"\{hashtag\|\\#\|([^{}|\\]+)\}")


def render_little_text(commentary: str) -> tuple[str, bool]:
    """The text LinkedIn shows for ``commentary``, and whether it cut the text short."""
    out: list[str] = []
    i = 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\":
            if i + 1 < len(commentary) and commentary[i + 1] in RESERVED:
                out.append(commentary[i + 1])
                i += 2
                continue
            return "".join(out), True
        if ch == "@":
            mention = _MENTION_RE.match(commentary, i)
            if mention:
                out.append(mention.group(1))
                i = mention.end()
                continue
        if ch == "{":
            tag = _HASHTAG_RE.match(commentary, i)
            if tag:
                out.append("#" + tag.group(1))
                i = tag.end()
                continue
        if ch in RESERVED:
            return "".join(out), True
        out.append(ch)
        i += 1
    return "".join(out), False


def _error(status: int, message: str, **extra: Any) -> HttpError:  # Any: JSON values
    return HttpError(json_response(status, {"status": status, "message": message, **extra}))


def _input_error(path: str, message: str) -> HttpError:
    """Rest.li's schema validation answer: 422 with ``ERROR :: /path :: message``."""
    return _error(422, f"ERROR :: {path} :: {message}\n")


@dataclass
class _Image:
    urn: str
    owner: str
    account: Account
    upload_token: str
    created_at: float
    status: str = "WAITING_UPLOAD"
    media: StoredMedia | None = None


@dataclass
class _Post:
    entry: LedgerEntry
    account: Account
    body: dict[str, Any]  # Any: the post as LinkedIn returns it
    commentary: str
    created_at: float


@register_platform
class LinkedIn(Platform):
    name = "linkedin"
    required_credentials = ("organization_urn", "access_token")
    rate_limit = 100_000
    rate_window_seconds = 86_400.0
    #: 19-digit share ids, like LinkedIn's.
    id_shift = 22

    def __init__(self, sim: Simulator) -> None:
        self._tokens: dict[str, Account] = {}
        self._images: dict[str, _Image] = {}
        self._uploads: dict[str, _Image] = {}
        self._posts: dict[str, _Post] = {}
        self._by_author: dict[str, list[str]] = {}
        self._comments = CommentStore()
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("POST", "/rest/images", self.initialize_upload)
        self.route("GET", "/rest/images/{urn}", self.get_image)
        self.route("PUT", "/dms-uploads/{token}", self.upload)
        self.route("POST", "/rest/posts", self.create_post)
        self.route("GET", "/rest/posts", self.find_posts)
        self.route("GET", "/rest/posts/{urn}", self.get_post)
        self.route("DELETE", "/rest/posts/{urn}", self.delete_post)
        self.route("POST", "/rest/socialActions/{urn}/comments", self.create_comment)
        self.route("GET", "/rest/socialActions/{urn}/comments", self.list_comments)
        self.route("DELETE", "/rest/socialActions/{urn}/comments/{comment_id}", self.delete_comment)
        self.route("GET", "/feed/update/{urn}", self.public_page, public=True)

    # -- platform hooks --------------------------------------------------------------------

    def validate_credentials(self, credentials: Mapping[str, str]) -> None:
        super().validate_credentials(credentials)
        parse_expiry(self.name, credentials)
        urn = credentials["organization_urn"]
        if not re.fullmatch(r"urn:li:(organization|person):\w+", urn):
            raise ValueError(f"linkedin organization_urn must be urn:li:organization:<id>, got {urn!r}")

    def index_accounts(self, accounts: list[Account]) -> None:
        self._tokens = {a.credentials["access_token"]: a for a in accounts}

    def reset(self) -> None:
        super().reset()
        self._images.clear()
        self._uploads.clear()
        self._posts.clear()
        self._by_author.clear()
        self._comments.clear()

    def authenticate(self, request: Request) -> Account:
        scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
        account = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise _error(401, "Invalid access token", serviceErrorCode=65600, code="INVALID_ACCESS_TOKEN")
        expires_at = parse_expiry(self.name, account.credentials)
        if expires_at is not None and time.time() >= expires_at:
            raise _error(
                401,
                "The token used in the request has expired",
                serviceErrorCode=65601,
                code="EXPIRED_ACCESS_TOKEN",
            )
        return account

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"status": 404, "message": f"No virtual resource found: {request.path}"})

    def error_response(self, status: int) -> Response:
        return json_response(status, {"status": status, "message": phrase(status)})

    def rate_limited_body(self) -> Response:
        return json_response(
            429,
            {
                "status": 429,
                "serviceErrorCode": 101,
                "code": "TOO_MANY_REQUESTS",
                "message": (
                    "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
                ),
            },
        )

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {}  # LinkedIn publishes quotas in the developer portal, not in headers

    # -- shared checks ---------------------------------------------------------------------

    def _check_rest_headers(self, request: Request) -> None:
        version = request.headers.get("LinkedIn-Version")
        if not version:
            raise _error(
                400,
                "A version must be present. Please specify a version by adding the LinkedIn-Version header.",
                code="VERSION_MISSING",
            )
        if not _version_active(version.strip(), time.time()):
            raise _error(426, f"Requested version {version} is not active", code="NONEXISTENT_VERSION")
        if request.headers.get("X-Restli-Protocol-Version", "").strip() != RESTLI_PROTOCOL_VERSION:
            raise _error(
                400,
                f"This endpoint needs Rest.li protocol {RESTLI_PROTOCOL_VERSION}: "
                f"send X-Restli-Protocol-Version: {RESTLI_PROTOCOL_VERSION}",
            )

    def _organization(self, account: Account) -> str:
        return account.credentials["organization_urn"]

    def _access_denied(self, what: str, request: Request) -> HttpError:
        version = (request.headers.get("LinkedIn-Version") or "").strip()
        return _error(
            403,
            f"Not enough permissions to access: {what}.{version}",
            serviceErrorCode=100,
            code="ACCESS_DENIED",
        )

    # -- images ----------------------------------------------------------------------------

    def initialize_upload(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        if request.query("action") != "initializeUpload":
            raise _error(400, f"Unsupported action {request.query('action')!r} on /images")
        data = _json_object(request)
        init = data.get("initializeUploadRequest")
        owner = init.get("owner") if isinstance(init, dict) else None
        if not isinstance(owner, str):
            raise _input_error(
                "/initializeUploadRequest/owner", "field is required but not found and has no default value"
            )
        if owner != self._organization(account):
            raise self._access_denied("partnerApiImages.ACTION.initializeUpload", request)
        number = self.sim.new_id(self.name)
        image = _Image(
            urn=f"urn:li:image:D4E10AQ{_b64(number)}",
            owner=owner,
            account=account,
            upload_token=_b64(number + "u"),
            created_at=time.time(),
        )
        with self.sim.lock:
            self._images[image.urn] = image
            self._uploads[image.upload_token] = image
        return json_response(
            200,
            {
                "value": {
                    "uploadUrlExpiresAt": int((image.created_at + UPLOAD_URL_LIFETIME_SECONDS) * 1000),
                    "uploadUrl": f"{self.sim.base_url}/linkedin/dms-uploads/{image.upload_token}",
                    "image": image.urn,
                }
            },
        )

    def upload(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        with self.sim.lock:
            image = self._uploads.get(request.params["token"])
            if image is None or image.account.id != account.id:
                raise _error(404, "Upload URL not found")
            if time.time() > image.created_at + UPLOAD_URL_LIFETIME_SECONDS:
                raise _error(400, "The upload URL has expired")
        if not request.body:
            raise _error(400, "Empty upload body")
        status = "AVAILABLE"
        try:
            info = inspect_image(request.body)
        except InvalidImage as exc:
            logger.info("linkedin upload not an image", extra={"platform": self.name, "reason": str(exc)})
            info = None
        if info is None or info.mime_type not in IMAGE_TYPES or info.width * info.height > MAX_IMAGE_PIXELS:
            status = "PROCESSING_FAILED"
        with self.sim.lock:
            image.status = status
            if info is not None:
                image.media = StoredMedia(
                    platform=self.name,
                    media_id=image.urn,
                    owner_id=account.id,
                    data=request.body,
                    info=info,
                    created_at=time.time(),
                )
                self.sim.store_media(image.media)
        return Response(201, b"", "text/plain")

    def get_image(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        with self.sim.lock:
            image = self._images.get(request.params["urn"])
            if image is None or image.account.id != account.id:
                raise _error(404, f"Image {request.params['urn']} not found")
            payload: dict[str, Any] = {"id": image.urn, "owner": image.owner, "status": image.status}
            if image.media is not None:
                payload.update(
                    downloadUrl=f"{self.sim.base_url}/_sim/media/linkedin/{image.urn}",
                    downloadUrlExpiresAt=int((time.time() + 3600) * 1000),
                    aspectRatioWidth=image.media.info.width,
                    aspectRatioHeight=image.media.info.height,
                )
        return json_response(200, payload)

    # -- posts -----------------------------------------------------------------------------

    def create_post(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        data = _json_object(request)
        author = _required_str(data, "author")
        visibility = _required_str(data, "visibility")
        lifecycle = _required_str(data, "lifecycleState")
        distribution = data.get("distribution")
        if not isinstance(distribution, dict):
            raise _input_error("/distribution", "field is required but not found and has no default value")
        feed = distribution.get("feedDistribution")
        if not isinstance(feed, str):
            raise _input_error(
                "/distribution/feedDistribution", "field is required but not found and has no default value"
            )
        if feed not in FEED_DISTRIBUTIONS:
            raise _input_error("/distribution/feedDistribution", f'"{feed}" is not an enum symbol')
        if visibility not in VISIBILITIES:
            raise _input_error("/visibility", f'"{visibility}" is not an enum symbol')
        if lifecycle not in LIFECYCLE_STATES:
            raise _input_error("/lifecycleState", f'"{lifecycle}" is not an enum symbol')
        commentary = data.get("commentary", "")
        if not isinstance(commentary, str):
            raise _input_error("/commentary", "is not a string")
        if len(commentary) > MAX_COMMENTARY_CHARACTERS:
            raise _input_error(
                "/commentary",
                f"length of {len(commentary)} exceeds the maximum of {MAX_COMMENTARY_CHARACTERS}",
            )
        if author != self._organization(account):
            raise self._access_denied("partnerApiPostsExternal.CREATE", request)
        rendered, truncated = render_little_text(commentary)
        now = time.time()
        with self.sim.lock:
            media = self._content_images(account, data.get("content"))
            if commentary:
                duplicate = self._live_duplicate(author, commentary)
                if duplicate is not None:
                    raise _error(
                        422,
                        f"Unable to create the post: Content is a duplicate of {duplicate}",
                        errorDetailType="com.linkedin.common.error.BadRequest",
                        errorDetails={
                            "inputErrors": [
                                {
                                    "description": "Duplicate post is detected",
                                    "input": {},
                                    "code": "DUPLICATE_POST",
                                }
                            ]
                        },
                    )
            urn = f"urn:li:share:{self.sim.new_id(self.name)}"
            entry = LedgerEntry(
                platform=self.name,
                account=account.username,
                remote_id=urn,
                url=f"{self.sim.base_url}/linkedin/feed/update/{urn}",
                text=rendered,
                media=tuple(media),
                idempotency_key=None,
                received_at=now,
                extra={"commentary": commentary, "truncated": truncated, "lifecycleState": lifecycle},
            )
            body = {
                "id": urn,
                "author": author,
                "commentary": commentary,
                "visibility": visibility,
                "distribution": distribution,
                "lifecycleState": lifecycle,
                "isReshareDisabledByAuthor": bool(data.get("isReshareDisabledByAuthor", False)),
                "createdAt": int(now * 1000),
                "publishedAt": int(now * 1000),
                "lastModifiedAt": int(now * 1000),
                "lifecycleStateInfo": {"isEditedByAuthor": False},
            }
            if "content" in data:
                body["content"] = data["content"]
            self._posts[urn] = _Post(entry, account, body, commentary, now)
            self._by_author.setdefault(author, []).append(urn)
            if lifecycle == "PUBLISHED":
                self.sim.commit(entry)
        if truncated:
            logger.info("linkedin commentary truncated", extra={"platform": self.name, "post": urn})
        headers = {"x-restli-id": urn, "Location": f"/rest/posts/{urllib.parse.quote(urn, safe='')}"}
        return Response(201, b"", "application/json", headers)

    def _content_images(self, account: Account, content: Any) -> list[LedgerMedia]:  # Any: client JSON
        if content is None:
            return []
        if not isinstance(content, dict):
            raise _input_error("/content", "is not a record")
        if "media" in content:
            item = content["media"]
            if not isinstance(item, dict):
                raise _input_error("/content/media", "is not a record")
            return [self._usable_image(account, item, "/content/media")]
        if "multiImage" in content:
            multi = content["multiImage"]
            images = multi.get("images") if isinstance(multi, dict) else None
            if not isinstance(images, list):
                raise _input_error(
                    "/content/multiImage/images", "field is required but not found and has no default value"
                )
            if not MIN_MULTI_IMAGES <= len(images) <= MAX_MULTI_IMAGES:
                raise _error(
                    422,
                    f"ERROR :: /content/multiImage/images :: must have between {MIN_MULTI_IMAGES} and "
                    f"{MAX_MULTI_IMAGES} images, found {len(images)}\n",
                )
            return [
                self._usable_image(account, item, f"/content/multiImage/images/{index}")
                for index, item in enumerate(images)
            ]
        raise _input_error("/content", "only media and multiImage content is supported by this simulator")

    def _usable_image(self, account: Account, item: Any, path: str) -> LedgerMedia:  # Any: client JSON
        urn = item.get("id") if isinstance(item, dict) else None
        if not isinstance(urn, str):
            raise _input_error(path + "/id", "field is required but not found and has no default value")
        alt = item.get("altText", "")
        if not isinstance(alt, str):
            raise _input_error(path + "/altText", "is not a string")
        image = self._images.get(urn)
        if image is None or image.account.id != account.id:
            raise _error(422, f"ERROR :: {path}/id :: {urn} does not exist or is not owned by the author\n")
        if image.status != "AVAILABLE" or image.media is None:
            raise _error(400, f"Image {urn} is not ready to be used: its status is {image.status}")
        return dataclasses.replace(image.media.ledger_media(), alt_text=alt)

    def _live_duplicate(self, author: str, commentary: str) -> str | None:
        for urn in reversed(self._by_author.get(author, [])):
            post = self._posts[urn]
            if post.commentary == commentary and not self.sim.is_deleted(self.name, urn):
                return urn
        return None

    def find_posts(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        if request.query("q") != "author":
            raise _error(400, "Only the author finder (q=author) is supported")
        author = request.query("author") or ""
        if author != self._organization(account):
            raise self._access_denied("partnerApiPostsExternal.FINDER-author", request)
        try:
            count = int(request.query("count") or 10)
            start = int(request.query("start") or 0)
        except ValueError:
            raise _error(400, "count and start must be integers") from None
        count = max(1, min(count, 100))
        with self.sim.lock:
            live = [
                self._posts[urn].body
                for urn in reversed(self._by_author.get(author, []))
                if not self.sim.is_deleted(self.name, urn)
            ]
        page = live[start : start + count]
        return json_response(
            200,
            {"paging": {"start": start, "count": count, "links": [], "total": len(live)}, "elements": page},
        )

    def _own_post(self, request: Request) -> _Post:
        account = request.account
        assert account is not None
        urn = request.params["urn"]
        post = self._posts.get(urn)
        if post is None or self.sim.is_deleted(self.name, urn):
            raise _error(404, f"Post {urn} not found")
        if post.account.id != account.id:
            raise self._access_denied("partnerApiPostsExternal.GET", request)
        return post

    def get_post(self, request: Request) -> Response:
        self._check_rest_headers(request)
        with self.sim.lock:
            return json_response(200, self._own_post(request).body)

    def delete_post(self, request: Request) -> Response:
        self._check_rest_headers(request)
        with self.sim.lock:
            post = self._own_post(request)
            self.sim.mark_deleted(self.name, post.entry.remote_id)
        return Response(204, b"", "application/json")

    # -- comments --------------------------------------------------------------------------

    def _live_post(self, urn: str) -> _Post:
        """A published, undeleted post of anyone (call under the lock); else 404."""
        post = self._posts.get(urn)
        if post is None or self.sim.is_deleted(self.name, urn) or post.body["lifecycleState"] != "PUBLISHED":
            raise _error(404, f"Post {urn} not found")
        return post

    def _comment_json(self, comment: Comment) -> dict[str, Any]:  # Any: JSON values
        stamp = {
            "actor": comment.account.credentials["organization_urn"],
            "time": int(comment.created_at * 1000),
        }
        return {
            "actor": stamp["actor"],
            "commentUrn": comment.id,
            "id": _comment_number(comment.id),
            "object": comment.post_id,
            "message": {"text": comment.message, "attributes": []},
            "created": stamp,
            "lastModified": stamp,
        }

    def create_comment(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        urn = request.params["urn"]
        data = _json_object(request)
        actor = _required_str(data, "actor")
        target = _required_str(data, "object")
        message = data.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        if not isinstance(text, str):
            raise _input_error("/message/text", "field is required but not found and has no default value")
        if not text.strip():
            raise _input_error("/message/text", "must not be empty")
        if len(text) > MAX_COMMENT_CHARACTERS:
            raise _input_error(
                "/message/text", f"length of {len(text)} exceeds the maximum of {MAX_COMMENT_CHARACTERS}"
            )
        if actor != self._organization(account):
            raise self._access_denied("partnerApiSocialActions.CREATE", request)
        if target != urn:
            raise _input_error("/object", f"must be the entity of the path, {urn}")
        now = time.time()
        with self.sim.lock:
            self._live_post(urn)
            number = self.sim.new_id(self.name)
            comment_urn = f"urn:li:comment:({urn},{number})"
            url = (
                f"{self.sim.base_url}/linkedin/feed/update/{urn}"
                f"?commentUrn={urllib.parse.quote(comment_urn, safe='')}"
            )
            entry = comment_entry(self.name, account, comment_urn, urn, url, text, now)
            comment = Comment(comment_urn, urn, account, text, now, entry)
            self._comments.add(comment)
            self.sim.commit(entry)
            body = self._comment_json(comment)
        headers = {"x-restli-id": number}
        return json_response(201, body, headers=headers)

    def list_comments(self, request: Request) -> Response:
        self._check_rest_headers(request)
        urn = request.params["urn"]
        try:
            count = int(request.query("count") or 10)
            start = int(request.query("start") or 0)
        except ValueError:
            raise _error(400, "count and start must be integers") from None
        count = max(1, min(count, 100))
        with self.sim.lock:
            self._live_post(urn)
            live = [
                self._comment_json(c)
                for c in self._comments.under(urn)
                if not self.sim.is_deleted(self.name, c.id)
            ]
        return json_response(
            200,
            {
                "paging": {"start": start, "count": count, "links": [], "total": len(live)},
                "elements": live[start : start + count],
            },
        )

    def delete_comment(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        self._check_rest_headers(request)
        urn = request.params["urn"]
        comment_urn = f"urn:li:comment:({urn},{request.params['comment_id']})"
        with self.sim.lock:
            comment = self._comments.get(comment_urn)
            if comment is None or self.sim.is_deleted(self.name, comment_urn):
                raise _error(404, f"Comment {comment_urn} not found")
            if request.query("actor") != self._organization(account) or comment.account.id != account.id:
                raise self._access_denied("partnerApiSocialActions.DELETE", request)
            self.sim.mark_deleted(self.name, comment_urn)
        return Response(204, b"", "application/json")

    def public_page(self, request: Request) -> Response:
        urn = request.params["urn"]
        with self.sim.lock:
            post = self._posts.get(urn)
            if (
                post is None
                or self.sim.is_deleted(self.name, urn)
                or post.body["lifecycleState"] != "PUBLISHED"
            ):
                return html_response(
                    404, "<!doctype html><title>Not found</title><p>This post cannot be displayed.</p>"
                )
            images = "".join(
                f'<img src="/_sim/media/linkedin/{html.escape(m.media_id)}" '
                f'alt="{html.escape(m.alt_text)}" width="240">'
                for m in post.entry.media
            )
            name = html.escape(post.account.username)
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>{name}</title><p><b>{name}</b></p>"
                f"<p style='white-space:pre-wrap'>{html.escape(post.entry.text)}</p>{images}",
            )


def _version_active(version: str, now: float) -> bool:
    match = _VERSION_RE.match(version)
    if not match:
        return False
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        return False
    today = time.gmtime(now)
    age = (today.tm_year * 12 + today.tm_mon) - (year * 12 + month)
    return 0 <= age <= VERSION_ACTIVE_MONTHS


def _comment_number(comment_urn: str) -> str:
    """The comment's own id, the last part of ``urn:li:comment:({post},{id})``."""
    return comment_urn.rsplit(",", 1)[-1].rstrip(")")


def _b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


def _json_object(request: Request) -> dict[str, Any]:  # Any: client JSON
    try:
        data = request.json()
    except BadBody as exc:
        raise _error(400, f"Invalid JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise _error(400, "The request body must be a JSON object")
    return data


def _required_str(data: dict[str, Any], name: str) -> str:  # Any: client JSON
    value = data.get(name)
    if value is None:
        raise _input_error(f"/{name}", "field is required but not found and has no default value")
    if not isinstance(value, str):
        raise _input_error(f"/{name}", "is not a string")
    return value
