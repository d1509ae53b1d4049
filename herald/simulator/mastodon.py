"""Mastodon's client API as a simulator platform, mounted at ``/mastodon``.

Follows shared/platforms.md §2: bearer-token auth, instance configuration, media upload v2 (with
optional asynchronous processing), statuses with ``Idempotency-Key``, deletion, the account
timeline for reconciliation, and ``X-RateLimit-*`` headers (Reset as ISO 8601) everywhere. A
301st status in 3 hours on one account is answered 429 (``herald.simulator.limits``).
Errors are ``{"error": "..."}`` bodies with Mastodon's wording.
"""

from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from herald.simulator.limits import PostLimit
from herald.simulator.server import (
    Account,
    BadBody,
    Form,
    HttpError,
    InvalidImage,
    LedgerEntry,
    Platform,
    Request,
    Response,
    Simulator,
    StoredMedia,
    find_urls,
    grapheme_length,
    html_response,
    inspect_image,
    iso_utc,
    json_response,
    phrase,
    register_platform,
)

logger = logging.getLogger(__name__)

VERSION = "4.3.0"
#: configuration.statuses.max_characters (Mastodon default).
MAX_CHARACTERS = 500
#: Every http(s) URL counts as this many characters (URL_PLACEHOLDER in Mastodon).
CHARACTERS_RESERVED_PER_URL = 23
MAX_MEDIA_ATTACHMENTS = 4
#: configuration.media_attachments.image_size_limit: 16 MiB.
IMAGE_SIZE_LIMIT_BYTES = 16 * 1024 * 1024
IMAGE_MATRIX_LIMIT = 33_177_600
VIDEO_SIZE_LIMIT_BYTES = 103_809_024
DESCRIPTION_LIMIT = 1500
#: Idempotency-Key memory, seconds (Mastodon keeps keys one hour).
IDEMPOTENCY_SECONDS = 3600.0
#: Images this simulator accepts; Mastodon also takes video and audio, which Herald never sends.
IMAGE_MIME_TYPES = (
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/heic",
    "image/heif",
    "image/webp",
    "image/avif",
)
SUPPORTED_MIME_TYPES = (
    *IMAGE_MIME_TYPES,
    "video/webm",
    "video/mp4",
    "video/quicktime",
    "video/ogg",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wave",
    "audio/vnd.wave",
    "audio/ogg",
    "audio/vorbis",
    "audio/mpeg",
    "audio/mp3",
    "audio/webm",
    "audio/flac",
    "audio/aac",
    "audio/m4a",
    "audio/x-m4a",
    "audio/mp4",
    "audio/3gpp",
    "video/x-ms-asf",
)
VISIBILITIES = ("public", "unlisted", "private", "direct")
#: Statuses listed per page by GET /api/v1/accounts/:id/statuses (default and maximum).
TIMELINE_DEFAULT_LIMIT = 20
TIMELINE_MAX_LIMIT = 40

INVALID_TOKEN = "The access token is invalid"
INVALID_FILE = "Validation failed: File content type is invalid, File is invalid"
TOO_LONG = f"Validation failed: Text character limit of {MAX_CHARACTERS} exceeded"
TEXT_BLANK = "Validation failed: Text can't be blank"
TOO_MANY_MEDIA = f"Cannot attach more than {MAX_MEDIA_ATTACHMENTS} files"
MEDIA_NOT_READY = "Cannot attach files that have not finished processing. Try again in a moment!"
RECORD_NOT_FOUND = "Record not found"
#: statuses.errors.in_reply_not_found: the parent of a reply does not exist or is not visible.
IN_REPLY_NOT_FOUND = "The post you are trying to reply to does not appear to exist."
TOO_MANY_REQUESTS = "Too many requests"

# A remote mention counts only its local part: "@user@example.social" counts as "@user".
_REMOTE_MENTION_RE = re.compile(r"(?<![\w/@])@(\w+(?:[.-]+\w+)*)@[\w.-]*\w", re.ASCII)
_TRUTHY = ("1", "true", "t", "on", "yes")
# Blurhash of a mid-grey image: clients only need a plausible string.
_BLURHASH = "U00000fQfQfQfQfQfQfQfQfQfQfQfQfQfQfQ"


def status_length(text: str, spoiler_text: str = "") -> int:
    """Characters Mastodon counts for a status: grapheme clusters of spoiler + text, each
    http(s) URL as 23, a remote mention ``@user@domain`` as ``@user``."""
    combined = spoiler_text + text
    spans = find_urls(combined)
    if spans:
        pieces, last = [], 0
        for start, end in spans:
            pieces.append(combined[last:start])
            pieces.append("x" * CHARACTERS_RESERVED_PER_URL)
            last = end
        pieces.append(combined[last:])
        combined = "".join(pieces)
    combined = _REMOTE_MENTION_RE.sub(r"@\1", combined)
    return grapheme_length(combined)


def render_content(text: str) -> str:
    """Plain text as Mastodon renders it: paragraphs on blank lines, ``<br />`` on newlines."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p]
    return "".join(f"<p>{html.escape(p, quote=False).replace(chr(10), '<br />')}</p>" for p in paragraphs)


def _error(status: int, message: str) -> HttpError:
    return HttpError(json_response(status, {"error": message}))


@dataclass
class _Status:
    entry: LedgerEntry
    account: Account
    created_at: float
    visibility: str
    sensitive: bool
    spoiler_text: str
    language: str | None
    media: list[StoredMedia]
    #: The status this one answers (``in_reply_to_id``), if any.
    in_reply_to: _Status | None = None


@register_platform
class Mastodon(Platform):
    name = "mastodon"
    rate_limit = 300
    rate_window_seconds = 300.0
    required_credentials = ("access_token",)
    id_shift = 16
    #: app/lib/rate_limiter.rb: 300 statuses per 3 hours per account (the instance default).
    post_limits = (PostLimit("statuses per account", 300, 3 * 3600.0),)

    def __init__(self, sim: Simulator) -> None:
        self._tokens: dict[str, Account] = {}
        self._statuses: dict[str, _Status] = {}
        # Status ids per account, oldest first: timelines and counts without scanning all posts.
        self._by_account: dict[str, list[str]] = {}
        self._live_counts: dict[str, int] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, float]] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("GET", "/api/v1/instance", self.instance_v1, public=True)
        self.route("GET", "/api/v2/instance", self.instance_v2, public=True)
        self.route("GET", "/api/v1/accounts/verify_credentials", self.verify_credentials)
        self.route("GET", "/api/v1/accounts/{id}/statuses", self.account_statuses)
        self.route("POST", "/api/v2/media", self.upload_media_v2)
        self.route("POST", "/api/v1/media", self.upload_media_v1)
        self.route("GET", "/api/v1/media/{id}", self.get_media)
        self.route("PUT", "/api/v1/media/{id}", self.update_media)
        self.route("POST", "/api/v1/statuses", self.create_status)
        self.route("GET", "/api/v1/statuses/{id}", self.get_status)
        self.route("DELETE", "/api/v1/statuses/{id}", self.delete_status)
        self.route("GET", "/@{username}/{id}", self.public_page, public=True)

    # -- platform hooks ------------------------------------------------------------------------

    def index_accounts(self, accounts: list[Account]) -> None:
        self._tokens = {a.credentials["access_token"]: a for a in accounts}

    def reset(self) -> None:
        super().reset()
        self._statuses.clear()
        self._by_account.clear()
        self._live_counts.clear()
        self._idempotency.clear()

    def authenticate(self, request: Request) -> Account:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        account = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise _error(401, INVALID_TOKEN)
        return account

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"error": "Not Found"})

    def error_response(self, status: int) -> Response:
        return json_response(status, {"error": phrase(status)})

    def rate_limited_body(self) -> Response:
        return json_response(429, {"error": TOO_MANY_REQUESTS})

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": iso_utc(reset_at, digits=6),
        }

    # -- entities ------------------------------------------------------------------------------

    def _account_json(self, account: Account, *, source: bool = False) -> dict[str, Any]:
        base = self.sim.base_url
        count = self._live_counts.get(account.id, 0)
        payload: dict[str, Any] = {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.username,
            "locked": False,
            "bot": False,
            "discoverable": True,
            "group": False,
            "created_at": iso_utc(0),
            "note": "",
            "url": f"{base}/mastodon/@{account.username}",
            "uri": f"{base}/mastodon/users/{account.username}",
            "avatar": f"{base}/mastodon/avatars/original/missing.png",
            "avatar_static": f"{base}/mastodon/avatars/original/missing.png",
            "header": f"{base}/mastodon/headers/original/missing.png",
            "header_static": f"{base}/mastodon/headers/original/missing.png",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": count,
            "last_status_at": None,
            "emojis": [],
            "fields": [],
        }
        if source:
            payload["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": None,
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
            }
        return payload

    def _media_json(self, media: StoredMedia) -> dict[str, Any]:
        url = f"{self.sim.base_url}/_sim/media/mastodon/{media.media_id}"
        width, height = media.info.width, media.info.height
        meta = {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}
        return {
            "id": media.media_id,
            "type": "image",
            "url": url if media.processed else None,
            "preview_url": url,
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": {
                "original": meta,
                "small": meta,
                "focus": {"x": media.focus[0], "y": media.focus[1]},
            },
            "description": media.alt_text or None,
            "blurhash": _BLURHASH,
        }

    def _status_json(self, status: _Status) -> dict[str, Any]:
        entry = status.entry
        return {
            "id": entry.remote_id,
            "created_at": iso_utc(status.created_at),
            "in_reply_to_id": status.in_reply_to.entry.remote_id if status.in_reply_to else None,
            "in_reply_to_account_id": status.in_reply_to.account.id if status.in_reply_to else None,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{self.sim.base_url}/mastodon/users/{status.account.username}/statuses/{entry.remote_id}",
            "url": entry.url,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "pinned": False,
            "content": render_content(entry.text),
            "filtered": [],
            "reblog": None,
            "application": {"name": "Herald", "website": None},
            "account": self._account_json(status.account),
            "media_attachments": [self._media_json(m) for m in status.media],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    # -- instance and accounts -----------------------------------------------------------------

    def _configuration(self) -> dict[str, Any]:
        return {
            "statuses": {
                "max_characters": MAX_CHARACTERS,
                "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
                "characters_reserved_per_url": CHARACTERS_RESERVED_PER_URL,
            },
            "media_attachments": {
                "supported_mime_types": list(SUPPORTED_MIME_TYPES),
                "description_limit": DESCRIPTION_LIMIT,
                "image_size_limit": IMAGE_SIZE_LIMIT_BYTES,
                "image_matrix_limit": IMAGE_MATRIX_LIMIT,
                "video_size_limit": VIDEO_SIZE_LIMIT_BYTES,
                "video_frame_rate_limit": 120,
                "video_matrix_limit": 8_294_400,
            },
            "polls": {
                "max_options": 4,
                "max_characters_per_option": 50,
                "min_expiration": 300,
                "max_expiration": 2_629_746,
            },
            "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
        }

    def instance_v1(self, request: Request) -> Response:
        host = request.host or "127.0.0.1"
        return json_response(
            200,
            {
                "uri": host,
                "title": "Herald simulator",
                "short_description": "A local Mastodon stand-in for tests.",
                "description": "",
                "email": "admin@example.invalid",
                "version": VERSION,
                "urls": {"streaming_api": f"ws://{host}"},
                "stats": {
                    "user_count": len(self._tokens),
                    "status_count": len(self._statuses),
                    "domain_count": 1,
                },
                "thumbnail": None,
                "languages": ["en"],
                "registrations": False,
                "approval_required": False,
                "invites_enabled": False,
                "configuration": self._configuration(),
                "contact_account": None,
                "rules": [],
            },
        )

    def instance_v2(self, request: Request) -> Response:
        host = request.host or "127.0.0.1"
        configuration = self._configuration()
        configuration["urls"] = {"streaming": f"ws://{host}", "status": None}
        configuration["translation"] = {"enabled": False}
        return json_response(
            200,
            {
                "domain": host,
                "title": "Herald simulator",
                "version": VERSION,
                "source_url": "https://github.com/mastodon/mastodon",
                "description": "A local Mastodon stand-in for tests.",
                "usage": {"users": {"active_month": len(self._tokens)}},
                "thumbnail": {"url": f"{self.sim.base_url}/mastodon/thumbnail.png"},
                "languages": ["en"],
                "configuration": configuration,
                "registrations": {"enabled": False, "approval_required": False, "message": None},
                "api_versions": {"mastodon": 2},
                "contact": {"email": "admin@example.invalid", "account": None},
                "rules": [],
            },
        )

    def verify_credentials(self, request: Request) -> Response:
        assert request.account is not None  # set by authenticate for non-public routes
        with self.sim.lock:
            return json_response(200, self._account_json(request.account, source=True))

    def account_statuses(self, request: Request) -> Response:
        account = self.sim.account_by_id(self.name, request.params["id"])
        if account is None:
            raise _error(404, RECORD_NOT_FOUND)
        try:
            limit = int(request.query("limit") or TIMELINE_DEFAULT_LIMIT)
        except ValueError:
            limit = TIMELINE_DEFAULT_LIMIT
        limit = max(1, min(limit, TIMELINE_MAX_LIMIT))
        max_id, since_id = request.query("max_id"), request.query("since_id")
        upper = _as_int(max_id) if max_id else None
        lower = _as_int(since_id) if since_id else None
        found: list[_Status] = []
        with self.sim.lock:
            for status_id in reversed(self._by_account.get(account.id, [])):
                if len(found) >= limit or (lower is not None and int(status_id) <= lower):
                    break
                if (upper is not None and int(status_id) >= upper) or self.sim.is_deleted(
                    self.name, status_id
                ):
                    continue
                found.append(self._statuses[status_id])
            return json_response(200, [self._status_json(s) for s in found])

    # -- media ---------------------------------------------------------------------------------

    def upload_media_v2(self, request: Request) -> Response:
        return self._upload_media(request, allow_async=True)

    def upload_media_v1(self, request: Request) -> Response:
        # The deprecated v1 endpoint always processes synchronously.
        return self._upload_media(request, allow_async=False)

    def _upload_media(self, request: Request, *, allow_async: bool) -> Response:
        assert request.account is not None
        form = _form(request)
        part = form.part("file")
        if part is None:
            raise _error(422, "Validation failed: File can't be blank")
        if len(part.data) > IMAGE_SIZE_LIMIT_BYTES:
            raise _error(422, "Validation failed: File file size must be less than 16 MB")
        if not part.content_type:
            # Rails' upload validation needs the part's declared type.
            raise _error(422, INVALID_FILE)
        try:
            info = inspect_image(part.data)
        except InvalidImage as exc:
            logger.info("mastodon upload rejected", extra={"platform": self.name, "reason": str(exc)})
            raise _error(422, INVALID_FILE) from None
        if info.mime_type not in IMAGE_MIME_TYPES:
            raise _error(422, INVALID_FILE)
        description = form.get("description") or ""
        _check_description(description)
        pending = self.sim.mastodon_async_media if allow_async else 0
        media = StoredMedia(
            platform=self.name,
            media_id=self.sim.new_id(self.name),
            owner_id=request.account.id,
            data=part.data,
            info=info,
            created_at=time.time(),
            alt_text=description,
            focus=_parse_focus(form.get("focus")),
            pending_polls=pending,
        )
        self.sim.store_media(media)
        return json_response(202 if pending else 200, self._media_json(media))

    def _own_media(self, request: Request) -> StoredMedia:
        assert request.account is not None
        media = self.sim.get_media(self.name, request.params["id"])
        if media is None or media.owner_id != request.account.id:
            raise _error(404, RECORD_NOT_FOUND)
        return media

    def get_media(self, request: Request) -> Response:
        with self.sim.lock:
            media = self._own_media(request)
            if not media.processed:
                # Each poll advances processing one step: N polls answer 206, then it is done.
                payload = self._media_json(media)
                media.pending_polls -= 1
                return json_response(206, payload)
            return json_response(200, self._media_json(media))

    def update_media(self, request: Request) -> Response:
        fields = _params(request)
        with self.sim.lock:
            media = self._own_media(request)
            if media.attached_to is not None:
                # Mastodon only lets unattached media be edited through this endpoint.
                raise _error(404, RECORD_NOT_FOUND)
            description = fields.get("description")
            if isinstance(description, str):
                _check_description(description)
                media.alt_text = description
            focus = fields.get("focus")
            if isinstance(focus, str):
                media.focus = _parse_focus(focus)
            return json_response(200 if media.processed else 206, self._media_json(media))

    # -- statuses ------------------------------------------------------------------------------

    def create_status(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        fields = _params(request)
        key = request.headers.get("Idempotency-Key")
        text = fields.get("status")
        text = text if isinstance(text, str) else ""
        spoiler = fields.get("spoiler_text")
        spoiler = spoiler if isinstance(spoiler, str) else ""
        length = status_length(text, spoiler)
        visibility = fields.get("visibility") or "public"
        language = fields.get("language")
        sensitive = fields.get("sensitive")
        sensitive = sensitive is True or (isinstance(sensitive, str) and sensitive.lower() in _TRUTHY)
        media_ids = fields.get("media_ids")
        now = time.time()
        with self.sim.lock:
            if key:
                remembered = self._idempotency.get((account.id, key))
                if remembered is not None and remembered[1] > now:
                    # Mastodon answers the first status, whatever this request's body says.
                    original = self._statuses.get(remembered[0])
                    if original is None or self.sim.is_deleted(self.name, remembered[0]):
                        raise _error(404, RECORD_NOT_FOUND)
                    return json_response(200, self._status_json(original))
            parent_id = fields.get("in_reply_to_id")
            parent = None
            if parent_id not in (None, ""):
                # StatusesController#set_thread: an unknown or invisible parent is a 404.
                parent = self._statuses.get(str(parent_id))
                if parent is None or self.sim.is_deleted(self.name, parent.entry.remote_id):
                    raise _error(404, IN_REPLY_NOT_FOUND)
            media = self._attachable_media(account, media_ids)
            if not media and not text.strip():
                raise _error(422, TEXT_BLANK)
            if length > MAX_CHARACTERS:
                raise _error(422, TOO_LONG)
            if visibility not in VISIBILITIES:
                raise _error(422, f"'{visibility}' is not a valid visibility")
            self.count_post(account, now=now)
            status_id = self.sim.new_id(self.name)
            entry = LedgerEntry(
                platform=self.name,
                account=account.username,
                remote_id=status_id,
                url=f"{self.sim.base_url}/mastodon/@{account.username}/{status_id}",
                text=text,
                media=tuple(m.ledger_media() for m in media),
                idempotency_key=key or None,
                received_at=now,
                extra={"in_reply_to_id": parent.entry.remote_id} if parent is not None else {},
            )
            for item in media:
                item.attached_to = status_id
            status = _Status(
                entry=entry,
                account=account,
                created_at=now,
                visibility=str(visibility),
                sensitive=sensitive,
                spoiler_text=spoiler,
                language=language if isinstance(language, str) else None,
                media=media,
                in_reply_to=parent,
            )
            self._statuses[status_id] = status
            self._by_account.setdefault(account.id, []).append(status_id)
            self._live_counts[account.id] = self._live_counts.get(account.id, 0) + 1
            if key:
                self._idempotency[(account.id, key)] = (status_id, now + IDEMPOTENCY_SECONDS)
            self.sim.commit(entry)
            return json_response(200, self._status_json(status))

    def _attachable_media(self, account: Account, media_ids: Any) -> list[StoredMedia]:  # Any: client JSON
        # Rails only treats an array as media ids: a scalar "media_ids=1" is silently ignored,
        # exactly as on a real server.
        if not isinstance(media_ids, list) or not media_ids:
            return []
        if len(media_ids) > MAX_MEDIA_ATTACHMENTS:
            raise _error(422, TOO_MANY_MEDIA)
        ids = [str(i) for i in media_ids]
        found: list[StoredMedia] = []
        missing: list[str] = []
        for media_id in ids:
            media = self.sim.get_media(self.name, media_id)
            if media is None or media.owner_id != account.id or media.attached_to is not None:
                missing.append(media_id)
            else:
                found.append(media)
        if missing:
            raise _error(422, f"Media {', '.join(missing)} not found or already attached to another post")
        if any(not m.processed for m in found):
            raise _error(422, MEDIA_NOT_READY)
        return found

    def get_status(self, request: Request) -> Response:
        with self.sim.lock:
            status = self._statuses.get(request.params["id"])
            if status is None or self.sim.is_deleted(self.name, status.entry.remote_id):
                raise _error(404, RECORD_NOT_FOUND)
            return json_response(200, self._status_json(status))

    def delete_status(self, request: Request) -> Response:
        assert request.account is not None
        with self.sim.lock:
            status = self._statuses.get(request.params["id"])
            if (
                status is None
                or status.account.id != request.account.id
                or self.sim.is_deleted(self.name, status.entry.remote_id)
            ):
                raise _error(404, RECORD_NOT_FOUND)
            self.sim.mark_deleted(self.name, status.entry.remote_id)
            self._live_counts[status.account.id] -= 1
            payload = self._status_json(status)
        # A deleted status comes back with its source text, for "delete and redraft".
        payload["text"] = status.entry.text
        return json_response(200, payload)

    def public_page(self, request: Request) -> Response:
        with self.sim.lock:
            status = self._statuses.get(request.params["id"])
            if (
                status is None
                or status.account.username != request.params["username"]
                or self.sim.is_deleted(self.name, status.entry.remote_id)
            ):
                return html_response(404, "<!doctype html><title>Not found</title><p>Not found</p>")
            images = "".join(
                f'<img src="/_sim/media/mastodon/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
                for m in status.media
            )
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>@{html.escape(status.account.username)}</title>"
                f"<p><b>@{html.escape(status.account.username)}</b> · {iso_utc(status.created_at)}</p>"
                f"{render_content(status.entry.text)}{images}",
            )


def _as_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise _error(422, f"invalid id {value!r}") from None


def _form(request: Request) -> Form:
    try:
        return request.form
    except BadBody as exc:
        raise _error(400, f"Error occurred while parsing request parameters: {exc}") from None


def _params(request: Request) -> dict[str, Any]:  # Any: strings, lists, bools from the client
    """Request parameters the way Rails merges them: JSON body, or form fields where
    ``name[]`` collects an array."""
    if request.content_type == "application/json":
        try:
            data = request.json()
        except BadBody as exc:
            raise _error(400, f"Error occurred while parsing request parameters: {exc}") from None
        if not isinstance(data, dict):
            raise _error(400, "Error occurred while parsing request parameters")
        return data
    params: dict[str, Any] = {}
    for part in _form(request).parts:
        if part.name.endswith("[]"):
            params.setdefault(part.name[:-2], []).append(part.text)
        else:
            params[part.name] = part.text
    for key, value in request.query_pairs:
        params.setdefault(key, value)
    return params


def _check_description(description: str) -> None:
    if len(description) > DESCRIPTION_LIMIT:
        raise _error(
            422, f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} characters)"
        )


def _parse_focus(value: str | None) -> tuple[float, float]:
    """``"x,y"`` with each within -1..1; anything else centres the focus, as Mastodon does."""
    if not value:
        return (0.0, 0.0)
    try:
        x_text, y_text = value.split(",", 1)
        x, y = float(x_text), float(y_text)
    except ValueError:
        return (0.0, 0.0)
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        return (0.0, 0.0)
    return (x, y)
