"""X API v2 as a simulator platform, mounted at ``/x``.

Follows shared/platforms.md §1: OAuth 1.0a HMAC-SHA1 user context (signature verified, replays
and stale timestamps refused), ``POST /2/tweets`` with twitter-text v3 weighted length and the
duplicate-content 403, media upload v2 (one-shot and chunked, optional asynchronous
processing), alt text through ``/2/media/metadata``, ``/2/users/me`` and the user timeline for
reconciliation, deletion, and ``x-rate-limit-*`` headers (reset in epoch seconds) everywhere.
Posts over 100 per 15 minutes per user, or 10,000 per day per app, are answered 429
(``herald.simulator.limits``).
Errors are RFC 7807 problem objects as X sends them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from herald.platforms.text import x_parse
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
    ceil_epoch,
    html_response,
    inspect_image,
    iso_utc,
    json_response,
    phrase,
    register_platform,
)

logger = logging.getLogger(__name__)

#: twitter-text v3: maxWeightedTweetLength (scale 100 folded in: weights are 1 or 2).
MAX_WEIGHTED_LENGTH = 280
#: Every URL is shortened to a t.co link of this length.
TRANSFORMED_URL_LENGTH = 23
#: Code points weighing 1 in twitter-text v3; all others weigh 2.
_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
MAX_MEDIA_PER_TWEET = 4
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_GIF_BYTES = 15 * 1024 * 1024
MAX_ALT_TEXT_CHARACTERS = 1000
#: A media id is usable this long after upload.
MEDIA_EXPIRES_SECONDS = 86_400
#: APPEND accepts segment indexes 0..999.
MAX_SEGMENT_INDEX = 999
#: OAuth timestamps further than this from the server clock are refused.
TIMESTAMP_SKEW_SECONDS = 300
#: Nonces are remembered long enough to cover every timestamp still accepted.
NONCE_MEMORY_SECONDS = 2 * TIMESTAMP_SKEW_SECONDS
#: check_after_secs sent while asynchronous processing is switched on.
CHECK_AFTER_SECONDS = 1
#: Snowflake epoch of X ids (2010-11-04), which makes current ids 19 digits long.
TWITTER_EPOCH_MS = 1_288_834_974_657

#: media_type values the tweet_image category accepts (the v2 enum) and what they decode to.
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "image/bmp", "image/tiff"})
DECLARED_TYPES = IMAGE_TYPES | {"image/pjpeg", "image/gif"}
CATEGORY_TYPES = {"tweet_image": IMAGE_TYPES, "tweet_gif": frozenset({"image/gif"})}

#: Top-level fields of POST /2/tweets; X's schema refuses any other.
TWEET_FIELDS = frozenset(
    {
        "text",
        "media",
        "reply",
        "quote_tweet_id",
        "poll",
        "reply_settings",
        "community_id",
        "for_super_followers_only",
        "geo",
        "nullcast",
        "card_uri",
        "edit_options",
        "direct_message_deep_link",
        "share_with_followers",
        "made_with_ai",
        "paid_partnership",
    }
)

#: X's answer to a reply whose parent was deleted or is not visible.
REPLY_TO_GONE_DETAIL = "You attempted to reply to a Tweet that is deleted or not visible to you."

PROBLEM_JSON = "application/problem+json"
INVALID_REQUEST_TYPE = "https://api.twitter.com/2/problems/invalid-request"
NOT_FOUND_TYPE = "https://api.twitter.com/2/problems/resource-not-found"
DUPLICATE_DETAIL = "You are not allowed to create a Tweet with duplicate content."
INVALID_MEDIA_IDS = "Your media IDs are invalid."
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def weighted_length(text: str) -> int:
    """Length of a post per twitter-text v3 (NFC; light code points 1, others 2; an emoji
    sequence 2; each URL, bare domains with a known TLD included, 23): the twitter-text rules
    Herald's connector counts with, from the same data (``herald.platforms.text``)."""
    return x_parse(text).weighted_length


# -- OAuth 1.0a ------------------------------------------------------------------------------

_OAUTH_PARAM_RE = re.compile(r'([^\s=,]+)\s*=\s*"([^"]*)"')
_REQUIRED_OAUTH = (
    "oauth_consumer_key",
    "oauth_token",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)
#: Hosts a client may have signed for when its traffic is rewritten to the simulator after
#: signing (tweepy's Client hard-codes api.twitter.com; see platforms.md §1).
_SIGNED_ELSEWHERE = ("https://api.x.com", "https://api.twitter.com")


def pct(value: str) -> str:
    """RFC 5849 percent-encoding: everything but A-Z a-z 0-9 - . _ ~ is encoded (UTF-8)."""
    return urllib.parse.quote(value, safe="~")


def parse_oauth_header(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        return None
    return {
        urllib.parse.unquote(key): urllib.parse.unquote(value) for key, value in _OAUTH_PARAM_RE.findall(rest)
    }


def signature_base_string(method: str, base_uri: str, params: list[tuple[str, str]]) -> str:
    encoded = sorted((pct(key), pct(value)) for key, value in params)
    normalized = "&".join(f"{key}={value}" for key, value in encoded)
    return "&".join((method.upper(), pct(base_uri), pct(normalized)))


def hmac_sha1_signature(base_string: str, consumer_secret: str, token_secret: str) -> str:
    key = f"{pct(consumer_secret)}&{pct(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base_string.encode(), hashlib.sha1).digest()).decode()


def _local_base_uri(request: Request) -> str:
    host = request.host.lower()
    if host.endswith(":80"):
        host = host[:-3]  # the default port is not part of the signed URL
    return f"http://{host}{request.raw_path}"


# -- errors ----------------------------------------------------------------------------------


def _problem(status: int, payload: dict[str, Any]) -> HttpError:  # Any: JSON values
    return HttpError(json_response(status, payload, content_type=PROBLEM_JSON))


def _unauthorized(reason: str) -> HttpError:
    logger.info("x request refused", extra={"platform": "x", "reason": reason})
    return _problem(401, UNAUTHORIZED)


def _invalid(message: str, parameters: dict[str, list[str]] | None = None) -> HttpError:
    error: dict[str, Any] = {"message": message}
    if parameters:
        error = {"parameters": parameters, "message": message}
    return _problem(
        400,
        {
            "errors": [error],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": INVALID_REQUEST_TYPE,
        },
    )


def _not_found_error(resource_type: str, value: str, parameter: str) -> dict[str, str]:
    return {
        "value": value,
        "detail": f"Could not find {resource_type} with {parameter}: [{value}].",
        "title": "Not Found Error",
        "resource_type": resource_type,
        "parameter": parameter,
        "resource_id": value,
        "type": NOT_FOUND_TYPE,
    }


@dataclass
class _Tweet:
    entry: LedgerEntry
    account: Account
    created_at: float
    #: The post this one replies to (``reply.in_reply_to_tweet_id``), and its thread's first post.
    reply_to: str | None = None
    conversation_id: str | None = None


@dataclass
class _ChunkedUpload:
    media_id: str
    owner_id: str
    media_type: str
    category: str
    total_bytes: int
    created_at: float
    segments: dict[int, bytes] = field(default_factory=dict)


@register_platform
class X(Platform):
    name = "x"
    rate_limit = 300
    rate_window_seconds = 900.0
    required_credentials = ("api_key", "api_secret", "access_token", "access_token_secret")
    id_epoch_ms = TWITTER_EPOCH_MS
    id_shift = 22
    #: ``POST /2/tweets`` as docs.x.com/x-api/fundamentals/rate-limits lists it (2026): 100 per
    #: 15 minutes per user, 10,000 per 24 hours per app (the developer app: its API key). The
    #: 2023 tiers were lower (Free 17, Basic 100 per user per 24 h): a test can lower these.
    post_limits = (
        PostLimit("posts per user", 100, 900.0),
        PostLimit("posts per app", 10_000, 86400.0, scope="api_key"),
    )

    def __init__(self, sim: Simulator) -> None:
        self._keys: dict[tuple[str, str], Account] = {}
        self._bearer: dict[str, Account] = {}
        self._nonces: dict[tuple[str, str, str], float] = {}
        self._nonce_sweep_at = 0.0
        self._tweets: dict[str, _Tweet] = {}
        self._by_account: dict[str, list[str]] = {}
        self._texts: dict[tuple[str, str], str] = {}
        self._uploads: dict[str, _ChunkedUpload] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        self.route("POST", "/2/tweets", self.create_tweet)
        self.route("GET", "/2/tweets/{id}", self.get_tweet)
        self.route("DELETE", "/2/tweets/{id}", self.delete_tweet)
        self.route("GET", "/2/users/me", self.users_me)
        self.route("GET", "/2/users/{id}/tweets", self.user_tweets)
        self.route("POST", "/2/media/upload", self.upload_one_shot)
        self.route("GET", "/2/media/upload", self.upload_status)
        self.route("POST", "/2/media/upload/initialize", self.upload_initialize)
        self.route("POST", "/2/media/upload/{id}/append", self.upload_append)
        self.route("POST", "/2/media/upload/{id}/finalize", self.upload_finalize)
        # X announced /2/media/metadata/create; its current reference lists /2/media/metadata.
        self.route("POST", "/2/media/metadata", self.media_metadata)
        self.route("POST", "/2/media/metadata/create", self.media_metadata)
        self.route("GET", "/{username}/status/{id}", self.public_page, public=True)

    # -- platform hooks ------------------------------------------------------------------------

    def index_accounts(self, accounts: list[Account]) -> None:
        self._keys = {(a.credentials["api_key"], a.credentials["access_token"]): a for a in accounts}
        self._bearer = {
            a.credentials["bearer_token"]: a for a in accounts if a.credentials.get("bearer_token")
        }

    def reset(self) -> None:
        super().reset()
        self._nonces.clear()
        self._tweets.clear()
        self._by_account.clear()
        self._texts.clear()
        self._uploads.clear()

    def not_found(self, request: Request) -> Response:
        return json_response(
            404,
            {"title": "Not Found", "type": "about:blank", "status": 404, "detail": "Not Found"},
            content_type=PROBLEM_JSON,
        )

    def error_response(self, status: int) -> Response:
        text = phrase(status)
        return json_response(
            status,
            {"title": text, "detail": text, "type": "about:blank", "status": status},
            content_type=PROBLEM_JSON,
        )

    def rate_limited_body(self) -> Response:
        return self.error_response(429)

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(ceil_epoch(reset_at)),
        }

    def authenticate(self, request: Request) -> Account:
        header = request.headers.get("Authorization", "")
        if header[:7].lower() == "bearer ":
            account = self._bearer.get(header[7:].strip())
            if account is None:
                raise _unauthorized("unknown bearer token")
            return account
        oauth = parse_oauth_header(header)
        if oauth is None:
            raise _unauthorized("no OAuth Authorization header")
        missing = [name for name in _REQUIRED_OAUTH if not oauth.get(name)]
        if missing:
            raise _unauthorized(f"OAuth header lacks {', '.join(missing)}")
        if oauth["oauth_signature_method"] != "HMAC-SHA1" or oauth.get("oauth_version", "1.0") != "1.0":
            raise _unauthorized("unsupported OAuth signature method or version")
        account = self._keys.get((oauth["oauth_consumer_key"], oauth["oauth_token"]))
        if account is None:
            raise _unauthorized("unknown consumer key or token")
        try:
            timestamp = int(oauth["oauth_timestamp"])
        except ValueError:
            raise _unauthorized("malformed oauth_timestamp") from None
        now = time.time()
        if abs(now - timestamp) > TIMESTAMP_SKEW_SECONDS:
            raise _unauthorized("oauth_timestamp too far from the server clock")
        params = list(request.query_pairs)
        if request.content_type == "application/x-www-form-urlencoded":
            try:
                params.extend(request.form_pairs())
            except BadBody:
                raise _unauthorized("undecodable form body") from None
        params.extend((k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm"))
        platform_path = request.raw_path[len(self.name) + 1 :]
        candidates = [_local_base_uri(request)] + [host + platform_path for host in _SIGNED_ELSEWHERE]
        secrets = (account.credentials["api_secret"], account.credentials["access_token_secret"])
        if not any(
            hmac.compare_digest(
                hmac_sha1_signature(signature_base_string(request.method, uri, params), *secrets),
                oauth["oauth_signature"],
            )
            for uri in candidates
        ):
            raise _unauthorized("OAuth signature mismatch")
        nonce_key = (oauth["oauth_consumer_key"], oauth["oauth_nonce"], oauth["oauth_timestamp"])
        with self.sim.lock:
            if now >= self._nonce_sweep_at:
                self._nonces = {k: t for k, t in self._nonces.items() if t > now}
                self._nonce_sweep_at = now + TIMESTAMP_SKEW_SECONDS
            if nonce_key in self._nonces:
                raise _unauthorized("OAuth nonce replayed")
            self._nonces[nonce_key] = now + NONCE_MEMORY_SECONDS
        return account

    # -- tweets --------------------------------------------------------------------------------

    def _tweet_json(self, tweet: _Tweet, fields: set[str]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": tweet.entry.remote_id,
            "text": tweet.entry.text,
            "edit_history_tweet_ids": [tweet.entry.remote_id],
        }
        # Like X, optional fields only when asked for with tweet.fields.
        if "created_at" in fields:
            payload["created_at"] = iso_utc(tweet.created_at)
        if "author_id" in fields:
            payload["author_id"] = tweet.account.id
        if "conversation_id" in fields:
            payload["conversation_id"] = tweet.conversation_id or tweet.entry.remote_id
        if tweet.reply_to is not None:
            parent = self._tweets.get(tweet.reply_to)
            if "referenced_tweets" in fields:
                payload["referenced_tweets"] = [{"type": "replied_to", "id": tweet.reply_to}]
            if "in_reply_to_user_id" in fields and parent is not None:
                payload["in_reply_to_user_id"] = parent.account.id
        return payload

    def create_tweet(self, request: Request) -> Response:
        account = request.account
        assert account is not None  # set by authenticate for non-public routes
        data = _json_object(request)
        unknown = sorted(set(data) - TWEET_FIELDS)
        if unknown:
            raise _invalid(
                f"$.{unknown[0]}: is not defined in the schema and the schema does not allow "
                "additional properties",
                {unknown[0]: [str(data[unknown[0]])]},
            )
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise _invalid("$.text: string expected", {"text": [str(text)]})
        media_ids = _media_ids(data.get("media"))
        reply_to = _reply_to(data.get("reply"))
        if not text and not media_ids:
            raise _invalid("Requires at least one of text, media, poll, quote_tweet_id or card_uri.")
        if text:
            parsed = x_parse(text)
            if parsed.weighted_length > MAX_WEIGHTED_LENGTH:
                raise _invalid(
                    f"Text is too long (weighted length {parsed.weighted_length} > {MAX_WEIGHTED_LENGTH}).",
                    {"text": [text]},
                )
            if parsed.invalid_characters:
                raise _invalid("Text contains invalid characters.", {"text": [text]})
        now = time.time()
        with self.sim.lock:
            media = [self._usable_media(account, media_id, now) for media_id in media_ids]
            parent = self._live_tweet(reply_to) if reply_to is not None else None
            if reply_to is not None and parent is None:
                # What X answers for a reply to a post that was deleted or never existed.
                raise _problem(
                    403,
                    {
                        "detail": REPLY_TO_GONE_DETAIL,
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    },
                )
            if text and (account.id, text) in self._texts:
                raise _problem(
                    403,
                    {"detail": DUPLICATE_DETAIL, "type": "about:blank", "title": "Forbidden", "status": 403},
                )
            self.count_post(account, now=now)
            tweet_id = self.sim.new_id(self.name)
            entry = LedgerEntry(
                platform=self.name,
                account=account.username,
                remote_id=tweet_id,
                url=f"{self.sim.base_url}/x/{account.username}/status/{tweet_id}",
                text=text or "",
                media=tuple(m.ledger_media() for m in media),
                idempotency_key=None,
                received_at=now,
                extra={"reply_to": reply_to} if reply_to is not None else {},
            )
            conversation = (parent.conversation_id or parent.entry.remote_id) if parent is not None else None
            self._tweets[tweet_id] = _Tweet(entry, account, now, reply_to, conversation)
            self._by_account.setdefault(account.id, []).append(tweet_id)
            if text:
                self._texts[(account.id, text)] = tweet_id
            self.sim.commit(entry)
        return json_response(
            201, {"data": {"id": tweet_id, "text": text or "", "edit_history_tweet_ids": [tweet_id]}}
        )

    def _usable_media(self, account: Account, media_id: str, now: float) -> StoredMedia:
        media = self.sim.get_media(self.name, media_id)
        if (
            media is None
            or media.owner_id != account.id
            or not media.processed
            or now > media.created_at + MEDIA_EXPIRES_SECONDS
        ):
            raise _invalid(INVALID_MEDIA_IDS, {"media.media_ids": [media_id]})
        return media

    def get_tweet(self, request: Request) -> Response:
        fields = _fields(request)
        with self.sim.lock:
            tweet = self._live_tweet(request.params["id"])
            if tweet is None:
                return json_response(200, {"errors": [_not_found_error("tweet", request.params["id"], "id")]})
            return json_response(200, {"data": self._tweet_json(tweet, fields)})

    def _live_tweet(self, tweet_id: str) -> _Tweet | None:
        tweet = self._tweets.get(tweet_id)
        if tweet is None or self.sim.is_deleted(self.name, tweet_id):
            return None
        return tweet

    def delete_tweet(self, request: Request) -> Response:
        assert request.account is not None
        tweet_id = request.params["id"]
        with self.sim.lock:
            tweet = self._live_tweet(tweet_id)
            if tweet is None:
                raise _problem(
                    404, {"errors": [_not_found_error("tweet", tweet_id, "id")], "title": "Not Found Error"}
                )
            if tweet.account.id != request.account.id:
                raise _problem(
                    403,
                    {
                        "detail": "You are not allowed to delete a Tweet you did not author.",
                        "type": "about:blank",
                        "title": "Forbidden",
                        "status": 403,
                    },
                )
            self.sim.mark_deleted(self.name, tweet_id)
            # A deleted post no longer blocks posting the same text again.
            if self._texts.get((tweet.account.id, tweet.entry.text)) == tweet_id:
                del self._texts[(tweet.account.id, tweet.entry.text)]
        return json_response(200, {"data": {"deleted": True}})

    def users_me(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        return json_response(
            200, {"data": {"id": account.id, "name": account.username, "username": account.username}}
        )

    def user_tweets(self, request: Request) -> Response:
        user_id = request.params["id"]
        account = self.sim.account_by_id(self.name, user_id)
        if account is None:
            return json_response(200, {"errors": [_not_found_error("user", user_id, "id")]})
        raw_max = request.query("max_results")
        try:
            max_results = int(raw_max) if raw_max is not None else 10
        except ValueError:
            max_results = -1
        if not 5 <= max_results <= 100:
            raise _invalid(
                f"The `max_results` query parameter value [{raw_max}] is not between 5 and 100",
                {"max_results": [str(raw_max)]},
            )
        bounds = {}
        for name in ("pagination_token", "until_id", "since_id"):
            value = request.query(name)
            if value is not None:
                if not value.isdigit():
                    raise _invalid(
                        f"The `{name}` query parameter value [{value}] is not valid", {name: [value]}
                    )
                bounds[name] = int(value)
        upper = min(bounds.get("pagination_token", 1 << 64), bounds.get("until_id", 1 << 64))
        lower = bounds.get("since_id", -1)
        fields = _fields(request)
        with self.sim.lock:
            page: list[_Tweet] = []
            more = False
            for tweet_id in reversed(self._by_account.get(account.id, [])):
                number = int(tweet_id)
                if number <= lower:
                    break
                if number >= upper or self.sim.is_deleted(self.name, tweet_id):
                    continue
                if len(page) == max_results:
                    more = True
                    break
                page.append(self._tweets[tweet_id])
            data = [self._tweet_json(t, fields) for t in page]
        if not data:
            return json_response(200, {"meta": {"result_count": 0}})
        meta: dict[str, Any] = {
            "result_count": len(data),
            "newest_id": data[0]["id"],
            "oldest_id": data[-1]["id"],
        }
        if more:
            meta["next_token"] = data[-1]["id"]
        return json_response(200, {"data": data, "meta": meta})

    def public_page(self, request: Request) -> Response:
        with self.sim.lock:
            tweet = self._live_tweet(request.params["id"])
            if tweet is None or tweet.account.username != request.params["username"]:
                return html_response(404, "<!doctype html><title>Not found</title><p>Not found</p>")
            images = "".join(
                f'<img src="/_sim/media/x/{m.media_id}" alt="{html.escape(m.alt_text)}" width="240">'
                for m in tweet.entry.media
            )
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>@{html.escape(tweet.account.username)}</title>"
                f"<p><b>@{html.escape(tweet.account.username)}</b> · {iso_utc(tweet.created_at)}</p>"
                f"<p style='white-space:pre-wrap'>{html.escape(tweet.entry.text)}</p>{images}",
            )

    # -- media ---------------------------------------------------------------------------------

    def _media_payload(self, media: StoredMedia) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": media.media_id,
            "media_key": f"3_{media.media_id}",
            "size": media.info.size,
            "expires_after_secs": max(0, int(media.created_at + MEDIA_EXPIRES_SECONDS - time.time())),
            "image": {"image_type": media.info.mime_type, "w": media.info.width, "h": media.info.height},
        }
        if not media.processed:
            payload["processing_info"] = {"state": "pending", "check_after_secs": CHECK_AFTER_SECONDS}
        return payload

    def _accept_image(
        self, account: Account, data: bytes, category: str, *, media_id: str | None = None
    ) -> StoredMedia:
        limit = MAX_GIF_BYTES if category == "tweet_gif" else MAX_IMAGE_BYTES
        if len(data) > limit:
            raise _invalid(f"File size exceeds {limit} bytes.", {"media": [f"{len(data)} bytes"]})
        try:
            info = inspect_image(data)
        except InvalidImage as exc:
            raise _invalid(f"Media type unrecognized: {exc}", {"media": ["<binary>"]}) from None
        if info.mime_type not in CATEGORY_TYPES[category]:
            raise _invalid(
                f"Media type {info.mime_type} is not allowed for media_category {category}.",
                {"media_type": [info.mime_type]},
            )
        media = StoredMedia(
            platform=self.name,
            media_id=media_id or self.sim.new_id(self.name),
            owner_id=account.id,
            data=data,
            info=info,
            created_at=time.time(),
            pending_polls=self.sim.x_async_media,
        )
        self.sim.store_media(media)
        return media

    def upload_one_shot(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        if request.query("command") is not None:
            raise _invalid(
                "The command form of media upload is deprecated: use /2/media/upload/initialize, "
                "/2/media/upload/{id}/append and /2/media/upload/{id}/finalize.",
                {"command": [request.query("command") or ""]},
            )
        form = _form(request)
        part = form.part("media")
        if part is None:
            raise _invalid("The `media` field is required.", {"media": []})
        category = _category(form.get("media_category"), required=True, media_type=None)
        media_type = form.get("media_type")
        if media_type is not None and media_type not in DECLARED_TYPES:
            raise _invalid(f"Unsupported media_type [{media_type}].", {"media_type": [media_type]})
        media = self._accept_image(account, part.data, category)
        return json_response(200, {"data": self._media_payload(media)})

    def upload_initialize(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        data = _json_object(request)
        media_type = data.get("media_type")
        if not isinstance(media_type, str) or media_type not in DECLARED_TYPES:
            raise _invalid(f"Unsupported media_type [{media_type}].", {"media_type": [str(media_type)]})
        category = _category(data.get("media_category"), required=False, media_type=media_type)
        total = data.get("total_bytes")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0:
            raise _invalid("total_bytes must be a positive integer.", {"total_bytes": [str(total)]})
        limit = MAX_GIF_BYTES if category == "tweet_gif" else MAX_IMAGE_BYTES
        if total > limit:
            raise _invalid(f"File size exceeds {limit} bytes.", {"total_bytes": [str(total)]})
        upload = _ChunkedUpload(
            media_id=self.sim.new_id(self.name),
            owner_id=account.id,
            media_type=media_type,
            category=category,
            total_bytes=total,
            created_at=time.time(),
        )
        with self.sim.lock:
            self._uploads[upload.media_id] = upload
        return json_response(
            200,
            {
                "data": {
                    "id": upload.media_id,
                    "media_key": f"3_{upload.media_id}",
                    "expires_after_secs": MEDIA_EXPIRES_SECONDS,
                }
            },
        )

    def _open_upload(self, request: Request) -> _ChunkedUpload:
        assert request.account is not None
        upload = self._uploads.get(request.params["id"])
        if upload is None or upload.owner_id != request.account.id:
            raise _invalid(
                "Invalid media_id: no upload in progress with this id.", {"id": [request.params["id"]]}
            )
        return upload

    def upload_append(self, request: Request) -> Response:
        form = _form(request)
        raw_index = form.get("segment_index")
        part = form.part("media")
        if raw_index is None or not raw_index.strip().isdigit() or int(raw_index) > MAX_SEGMENT_INDEX:
            raise _invalid(
                "segment_index must be an integer within 0..999.", {"segment_index": [str(raw_index)]}
            )
        if part is None:
            raise _invalid("The `media` field is required.", {"media": []})
        with self.sim.lock:
            upload = self._open_upload(request)
            upload.segments[int(raw_index)] = part.data
            expires_at = int(upload.created_at + MEDIA_EXPIRES_SECONDS)
        return json_response(200, {"data": {"expires_at": expires_at}})

    def upload_finalize(self, request: Request) -> Response:
        account = request.account
        assert account is not None
        with self.sim.lock:
            upload = self._open_upload(request)
            indexes = sorted(upload.segments)
            if indexes != list(range(len(indexes))) or not indexes:
                raise _invalid(
                    "Segments are not contiguous from index 0.", {"segment_index": [str(i) for i in indexes]}
                )
            data = b"".join(upload.segments[i] for i in indexes)
            if len(data) != upload.total_bytes:
                raise _invalid(
                    f"File size mismatch: received {len(data)} bytes, total_bytes was {upload.total_bytes}.",
                    {"total_bytes": [str(upload.total_bytes)]},
                )
            del self._uploads[upload.media_id]
        # The id announced at INIT stays the media id.
        media = self._accept_image(account, data, upload.category, media_id=upload.media_id)
        return json_response(200, {"data": self._media_payload(media)})

    def upload_status(self, request: Request) -> Response:
        assert request.account is not None
        command = request.query("command")
        media_id = request.query("media_id") or ""
        if command != "STATUS":
            raise _invalid(f"Unsupported command [{command}].", {"command": [str(command)]})
        with self.sim.lock:
            media = self.sim.get_media(self.name, media_id)
            if media is None or media.owner_id != request.account.id:
                raise _invalid(f"Invalid media_id [{media_id}].", {"media_id": [media_id]})
            if media.processed:
                info: dict[str, Any] = {"state": "succeeded", "progress_percent": 100}
            else:
                # Each poll advances processing one step: N polls answer in_progress.
                media.pending_polls -= 1
                info = {
                    "state": "in_progress",
                    "check_after_secs": CHECK_AFTER_SECONDS,
                    "progress_percent": 50,
                }
        return json_response(
            200, {"data": {"id": media.media_id, "media_key": f"3_{media.media_id}", "processing_info": info}}
        )

    def media_metadata(self, request: Request) -> Response:
        assert request.account is not None
        data = _json_object(request)
        media_id = data.get("id")
        metadata = data.get("metadata")
        alt = metadata.get("alt_text") if isinstance(metadata, dict) else None
        text = alt.get("text") if isinstance(alt, dict) else None
        if not isinstance(media_id, str) or not media_id.isdigit():
            raise _invalid("$.id: string of digits expected.", {"id": [str(media_id)]})
        if not isinstance(text, str):
            raise _invalid(
                "$.metadata.alt_text.text: string expected.", {"metadata.alt_text.text": [str(text)]}
            )
        if len(text) > MAX_ALT_TEXT_CHARACTERS:
            raise _invalid(
                f"Alt text is longer than {MAX_ALT_TEXT_CHARACTERS} characters.",
                {"metadata.alt_text.text": [text]},
            )
        with self.sim.lock:
            media = self.sim.get_media(self.name, media_id)
            if media is None or media.owner_id != request.account.id:
                raise _invalid(f"Invalid media id [{media_id}].", {"id": [media_id]})
            media.alt_text = text
        return json_response(
            200, {"data": {"id": media_id, "associated_metadata": {"alt_text": {"text": text}}}}
        )


def _json_object(request: Request) -> dict[str, Any]:  # Any: client JSON
    try:
        data = request.json()
    except BadBody as exc:
        raise _invalid(f"Request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise _invalid("Request body must be a JSON object.")
    return data


def _form(request: Request) -> Form:
    if request.content_type != "multipart/form-data":
        raise _invalid("Expected a multipart/form-data body.")
    try:
        return request.form
    except BadBody as exc:
        raise _invalid(f"Malformed multipart body: {exc}") from None


def _reply_to(reply: Any) -> str | None:  # Any: client JSON
    """The post ``reply.in_reply_to_tweet_id`` names, or None without a ``reply`` object."""
    if reply is None:
        return None
    if not isinstance(reply, dict):
        raise _invalid("$.reply: object expected", {"reply": [str(reply)]})
    unknown = sorted(set(reply) - {"in_reply_to_tweet_id", "exclude_reply_user_ids"})
    if unknown:
        raise _invalid(
            f"$.reply.{unknown[0]}: is not defined in the schema and the schema does not allow "
            "additional properties",
            {f"reply.{unknown[0]}": [str(reply[unknown[0]])]},
        )
    parent = reply.get("in_reply_to_tweet_id")
    if not isinstance(parent, str) or not parent.isdigit() or len(parent) > 19:
        raise _invalid(
            f"$.reply.in_reply_to_tweet_id: string [{parent}] does not match pattern ^[0-9]{{1,19}}$",
            {"reply.in_reply_to_tweet_id": [str(parent)]},
        )
    return parent


def _media_ids(media: Any) -> list[str]:  # Any: client JSON
    if media is None:
        return []
    ids = media.get("media_ids") if isinstance(media, dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_MEDIA_PER_TWEET:
        raise _invalid(
            f"$.media.media_ids: must be an array of 1 to {MAX_MEDIA_PER_TWEET} media ids.",
            {"media.media_ids": [str(ids)]},
        )
    for media_id in ids:
        # X's schema wants strings of digits; numbers lose precision in JavaScript clients.
        if not isinstance(media_id, str) or not media_id.isdigit():
            raise _invalid(
                f"$.media.media_ids: {type(media_id).__name__} found, string of digits expected.",
                {"media.media_ids": [str(media_id)]},
            )
    return ids


def _category(value: str | None, *, required: bool, media_type: str | None) -> str:
    if value is None and not required:
        return "tweet_gif" if media_type == "image/gif" else "tweet_image"
    if value not in CATEGORY_TYPES:
        raise _invalid(
            f"media_category must be one of {', '.join(sorted(CATEGORY_TYPES))} (got [{value}]).",
            {"media_category": [str(value)]},
        )
    return value


def _fields(request: Request) -> set[str]:
    raw = request.query("tweet.fields") or ""
    return {name.strip() for name in raw.split(",") if name.strip()}
