"""X (Twitter) API v2: photos through the v2 media endpoints, the post through tweepy's
``Client``, both signed with OAuth 1.0a user context.

Two things tweepy does not do, done here:

- **Host.** tweepy's ``Client`` calls the hard-coded ``https://api.twitter.com``. The client's
  session is replaced by ``_RedirectingSession``, which rewrites that prefix to the
  connector's base URL before ``requests`` prepares the request, so OAuth1 signs the URL that
  is actually called (``https://api.x.com`` by default, the simulator in tests).
- **Media.** ``Client`` cannot upload and tweepy's ``API`` only knows the deprecated v1.1
  upload host, so the v2 upload (one-shot up to ``SIMPLE_UPLOAD_MAX_BYTES``, chunked above)
  and the alt-text call are plain ``requests`` calls with the same OAuth1 credentials.
  Multipart and JSON bodies are not part of an OAuth1 signature; query strings are.

X has no idempotency key (``idempotent = False``): after an uncertain outcome ``reconcile``
looks for the text among the account's latest posts. A retry refused as duplicate content
(``PermanentError``, HTTP 403, "duplicate") is strong evidence that an earlier try went out:
the caller should ``reconcile`` rather than dead-letter.
"""

from __future__ import annotations

import html
import logging
import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import requests
import tweepy
from requests_oauthlib import OAuth1

from herald.core.errors import (
    AuthError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.base import (
    Connector,
    ConnectorConfig,
    Draft,
    Photo,
    PhotoInfo,
    Problem,
    Published,
    TextCount,
    Verified,
    settle_environment,
)
from herald.platforms.text import x_parse, x_weighted_length

log = logging.getLogger(__name__)

#: The host tweepy 4.x hard-codes in ``BaseClient.request``.
TWEEPY_HOST = "https://api.twitter.com"
#: Hosts of the real API: posts made through them live at ``PUBLIC_URL_ROOT``.
REAL_API_HOSTS = frozenset({"https://api.x.com", TWEEPY_HOST})
PUBLIC_URL_ROOT = "https://x.com"

#: Photos up to this size go in one ``POST /2/media/upload``; larger ones are chunked.
SIMPLE_UPLOAD_MAX_BYTES = 1024 * 1024
#: Chunk size for ``append``: tweepy's default; X accepts up to 5 MiB.
CHUNK_BYTES = 1024 * 1024
#: How long X may keep one upload in processing before the try is given up, seconds.
MEDIA_PROCESSING_TIMEOUT_SECONDS = 60.0
#: Bounds on X's ``check_after_secs`` hint, seconds: never busy-poll, never sleep past the
#: deadline for one hint.
MEDIA_POLL_MIN_SECONDS = 0.05
MEDIA_POLL_MAX_SECONDS = 10.0
#: How many of the account's latest posts ``reconcile`` searches.
RECONCILE_LOOKBACK_POSTS = 100

#: The t.co link X appends to the text of a post with media.
_TRAILING_TCO = re.compile(r"\s*https://t\.co/\w+\s*$")


class _DropDebug(logging.Filter):
    """oauthlib and requests-oauthlib log the OAuth parameters (consumer key, access token) and
    the signature base string at DEBUG. Herald never logs a credential, so those records are
    dropped where they are made."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_DROP_DEBUG = _DropDebug()
for _logger_name in (
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
):
    logging.getLogger(_logger_name).addFilter(_DROP_DEBUG)


class _RedirectingSession(requests.Session):
    """A session that sends tweepy's ``https://api.twitter.com/...`` calls to ``base_url`` and
    gives every call a timeout. The rewrite happens before ``requests`` prepares the request,
    so the OAuth1 signature covers the URL actually called."""

    def __init__(self, base_url: str, timeout: tuple[float, float]) -> None:
        super().__init__()
        self.base_url = base_url
        self.default_timeout = timeout

    # Any: a pass-through of requests.Session.request's many typed keyword arguments.
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST + "/"):
            url = self.base_url + url[len(TWEEPY_HOST) :]
        if kwargs.get("timeout") is None and len(args) < 7:  # args[6] would be a positional timeout
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


class XConnector(Connector):
    name = "x"
    title = "X"
    default_base_url = "https://api.x.com"
    credential_keys = ("api_key", "api_secret", "access_token", "access_token_secret")
    #: twitter-text v3 ``maxWeightedTweetLength`` (Premium accounts may post longer).
    max_text = 280
    text_unit = "weighted characters"
    max_photos = 4
    #: "image ≤ 5 MB" without saying which megabyte: the decimal reading fits either way.
    #: ``tweet_image`` also takes BMP and TIFF, which Herald never makes.
    photo_rules = PhotoRules(
        max_bytes=5_000_000,
        mime_types=frozenset({"image/jpeg", "image/png", "image/webp"}),
        platform="X",
    )
    max_alt_text = 1000
    idempotent = False
    can_delete = True
    can_verify = True
    #: A long post continues as a reply chain (``reply.in_reply_to_tweet_id``).
    follow_up = "thread"
    #: ``POST /2/tweets``: 100 requests per 15 minutes per user; 10,000 per 24 hours per app,
    #: shared by every user (channel) of one developer app (docs.x.com/x-api/fundamentals/rate-limits).
    posts_per_window = (100, 900.0)
    shared_posts_per_window = (10_000, 86400.0)
    shared_credential = "api_key"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        user_agent = self.session.headers["User-Agent"]
        self.session.close()
        self.session = _RedirectingSession(self.base_url, self.timeout)
        settle_environment(self.session, self.base_url)  # as in Connector.__init__
        self.session.headers["User-Agent"] = user_agent
        self._oauth = OAuth1(
            self.secret("api_key"),
            client_secret=self.secret("api_secret"),
            resource_owner_key=self.secret("access_token"),
            resource_owner_secret=self.secret("access_token_secret"),
        )
        # tweepy is untyped: the client is Any to mypy; every answer goes through json_object.
        self.client = tweepy.Client(
            consumer_key=self.secret("api_key"),
            consumer_secret=self.secret("api_secret"),
            access_token=self.secret("access_token"),
            access_token_secret=self.secret("access_token_secret"),
            return_type=dict,
        )
        self.client.session = self.session
        self._account: tuple[str, str] | None = None  # (user id, username) from /2/users/me

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(x_weighted_length(text), cls.max_text, cls.text_unit)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        """The shared rules plus twitter-text's invalid characters (U+FFFE, U+FEFF, U+FFFF),
        which X refuses wherever they are. (twitter-text also calls an empty text invalid; X
        takes a post of photos alone, and the shared rules already refuse one of neither.)"""
        problems = super().validate(text, photos)
        bad = x_parse(text).invalid_characters
        if bad:
            shown = ", ".join(f"U+{ord(ch):04X}" for ch in bad)
            problems.append(Problem(cls.name, "text", f"{cls.title} refuses these characters: {shown}"))
        return problems

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Upload the photos (with alt text), then create the post.

        Raises ``AuthError`` (401), ``PermanentError`` (a draft that does not fit ``validate``,
        before any call; 400; 403, including duplicate content, after which the caller should
        ``reconcile``; failed media processing),
        ``RetryableError`` (429 with ``retry_after``, 5xx or no answer before the create call,
        connection refused) and ``UncertainError`` (5xx, timeout or dropped connection on the
        create call).
        """
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        # Learn the username first, so that nothing can fail between the create and the URL.
        _, username = self._me()
        media_ids = [self._upload(photo) for photo in draft.photos]
        parent = draft.reply_to.parent.remote_id if draft.reply_to is not None else None
        answer = self._tweepy(
            lambda: self.client.create_tweet(
                text=draft.text or None,
                media_ids=media_ids or None,
                in_reply_to_tweet_id=parent,
                user_auth=True,
            ),
            create=True,
        )
        remote_id = http.string_at(answer, "data", "id")
        if remote_id is None:
            # A 2xx without data.id (X may add an "errors" array): we cannot tell what happened.
            raise UncertainError(self.name, "the create answer had no post id")
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            remote_id,
            len(media_ids),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": remote_id},
        )
        return Published(remote_id=remote_id, url=self.status_url(username, remote_id))

    def reconcile(self, draft: Draft) -> Published | None:
        """Look for ``draft``'s text among the account's ``RECONCILE_LOOKBACK_POSTS`` latest
        posts: ``Published`` if one matches, ``None`` if none does (the caller may publish
        again). Raises ``AuthError`` if the credentials are refused and ``UncertainError`` if
        the lookup fails otherwise."""
        try:
            user_id, username = self._me()
            answer = self._tweepy(
                lambda: self.client.get_users_tweets(
                    user_id,
                    max_results=RECONCILE_LOOKBACK_POSTS,
                    tweet_fields=["entities", "referenced_tweets"],
                    user_auth=True,
                ),
                create=False,
            )
        except AuthError:
            raise
        except PlatformError as exc:
            raise UncertainError(
                self.name, f"could not list recent posts: {exc.detail}", status=exc.status
            ) from exc
        wanted = _comparable(draft.text)
        # A part of a thread is found only as a reply to its parent (the same words may be out
        # as a post of their own).
        parent = draft.reply_to.parent.remote_id if draft.reply_to is not None else None
        posts = answer.get("data")
        for post in posts if isinstance(posts, list) else []:
            remote_id = http.string_at(post, "id")
            if (
                remote_id is not None
                and wanted in _readings(http.json_object(post))
                and _replies_to(http.json_object(post)) == parent
            ):
                log.info(
                    "reconciled platform=%s remote_id=%s",
                    self.name,
                    remote_id,
                    extra={"platform": self.name, "remote_id": remote_id},
                )
                return Published(remote_id=remote_id, url=self.status_url(username, remote_id))
        return None

    def delete(self, remote_id: str) -> None:
        """Delete a post. A 404 means it is already gone, which is what was asked."""
        try:
            self._tweepy(lambda: self.client.delete_tweet(remote_id, user_auth=True), create=False)
        except PermanentError as exc:
            if exc.status != 404:
                raise
            log.info(
                "delete of a missing post platform=%s remote_id=%s",
                self.name,
                remote_id,
                extra={"platform": self.name, "remote_id": remote_id},
            )

    def status_url(self, username: str, remote_id: str) -> str:
        """The post's public address. Against the real API that is on ``x.com``; against an
        overridden base URL (the simulator) it is on that host, so links resolve locally."""
        root = PUBLIC_URL_ROOT if self.base_url in REAL_API_HOSTS else self.base_url
        return f"{root}/{username}/status/{remote_id}"

    # -- account ---------------------------------------------------------------------------

    def verify(self) -> Verified:
        """``GET /2/users/me``, the call publishing makes first: the account the four OAuth
        1.0a credentials act for."""
        _, username = self._me()
        return Verified(f"@{username}")

    def _me(self) -> tuple[str, str]:
        """(user id, username) of the credentials' account, asked once per connector."""
        if self._account is None:
            answer = self._tweepy(lambda: self.client.get_me(user_auth=True), create=False)
            user_id = http.string_at(answer, "data", "id")
            username = http.string_at(answer, "data", "username")
            if user_id is None or username is None:
                raise RetryableError(self.name, "GET /2/users/me answered without id or username")
            self._account = (user_id, username)
        return self._account

    # -- media -----------------------------------------------------------------------------

    def _upload(self, photo: Photo) -> str:
        """Upload one photo (one-shot or chunked), wait for processing, set its alt text."""
        size = len(photo.data)
        if size <= SIMPLE_UPLOAD_MAX_BYTES:
            answer = self._send(
                "POST",
                "/2/media/upload",
                files={"media": (photo.filename, photo.data, photo.mime_type)},
                data={"media_category": "tweet_image", "media_type": photo.mime_type},
            )
        else:
            started = self._send(
                "POST",
                "/2/media/upload/initialize",
                json={"media_type": photo.mime_type, "total_bytes": size, "media_category": "tweet_image"},
            )
            upload_id = self._media_id(started, "initialize")
            for index, offset in enumerate(range(0, size, CHUNK_BYTES)):
                chunk = photo.data[offset : offset + CHUNK_BYTES]
                self._send(
                    "POST",
                    f"/2/media/upload/{upload_id}/append",
                    data={"segment_index": str(index)},
                    files={"media": (photo.filename, chunk, "application/octet-stream")},
                )
            answer = self._send("POST", f"/2/media/upload/{upload_id}/finalize")
        media_id = self._media_id(answer, "upload")
        processing = http.json_object(http.json_object(answer.get("data")).get("processing_info"))
        if processing:
            self._wait_for_media(media_id, processing)
        if photo.alt_text:
            self._send(
                "POST",
                "/2/media/metadata",
                json={"id": media_id, "metadata": {"alt_text": {"text": photo.alt_text}}},
            )
        return media_id

    def _media_id(self, answer: dict[str, object], step: str) -> str:
        media_id = http.string_at(answer, "data", "id")
        if media_id is None:
            raise PermanentError(self.name, f"the media {step} answer had no id")
        return media_id

    def _wait_for_media(self, media_id: str, processing: dict[str, object]) -> None:
        """Poll ``STATUS`` as X's ``check_after_secs`` says until ``succeeded``. ``failed`` is a
        ``PermanentError``; still processing after ``MEDIA_PROCESSING_TIMEOUT_SECONDS`` is a
        ``RetryableError``."""
        deadline = time.monotonic() + MEDIA_PROCESSING_TIMEOUT_SECONDS
        while True:
            state = http.string_at(processing, "state")
            if state == "succeeded":
                return
            if state == "failed":
                reason = http.string_at(processing, "error", "message") or "processing failed"
                raise PermanentError(self.name, f"media {media_id} could not be processed: {reason}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RetryableError(
                    self.name,
                    f"media {media_id} still processing after {MEDIA_PROCESSING_TIMEOUT_SECONDS:g} s",
                )
            hint = processing.get("check_after_secs")
            wait = float(hint) if isinstance(hint, int | float) and not isinstance(hint, bool) else 1.0
            time.sleep(min(max(wait, MEDIA_POLL_MIN_SECONDS), MEDIA_POLL_MAX_SECONDS, remaining))
            answer = self._send("GET", "/2/media/upload", params={"command": "STATUS", "media_id": media_id})
            processing = http.json_object(http.json_object(answer.get("data")).get("processing_info"))
            if not processing:
                return  # no processing_info: the media is usable

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: object = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> dict[str, object]:
        """A media call (never a create: nothing visible exists until the post)."""
        response = http.send(
            self.session,
            method,
            self.base_url + path,
            platform=self.name,
            create=False,
            timeout=self.timeout,
            secrets=http.revealed(self.config.credentials),
            params=params,
            json=json,
            data=data,
            files=files,
            auth=self._oauth,
        )
        return http.response_json(response)

    def _tweepy(self, call: Callable[[], object], *, create: bool) -> dict[str, object]:
        """Run one tweepy call and translate its exceptions at the boundary."""
        secrets = http.revealed(self.config.credentials)
        try:
            return http.json_object(call())
        except tweepy.errors.HTTPException as exc:
            raise http.error_for_status(self.name, exc.response, create=create, secrets=secrets) from exc
        except requests.RequestException as exc:
            raise http.error_for_transport(self.name, exc, create=create, secrets=secrets) from exc
        except tweepy.errors.TweepyException as exc:
            raise PermanentError(self.name, http.mask(str(exc), secrets)) from exc


def _comparable(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _replies_to(post: dict[str, object]) -> str | None:
    """The id of the post a listed post replies to (``referenced_tweets`` of type
    ``replied_to``), or None for a post that starts a conversation."""
    refs = post.get("referenced_tweets")
    for ref in refs if isinstance(refs, list) else []:
        if http.string_at(ref, "type") == "replied_to":
            return http.string_at(ref, "id")
    return None


def _readings(post: dict[str, object]) -> set[str]:
    """The ways a listed post's text may equal the draft's. X sends ``&``, ``<`` and ``>`` as
    HTML entities, shortens every link to t.co and appends a t.co link for media. With
    ``entities.urls`` the links are expanded and media links dropped; without them only a
    trailing t.co link is dropped, as the one X adds for photos."""
    raw = post.get("text")
    if not isinstance(raw, str):
        return set()
    text = html.unescape(raw)
    readings = {_comparable(text)}
    urls = http.json_object(post.get("entities")).get("urls")
    if not isinstance(urls, list):
        readings.add(_comparable(_TRAILING_TCO.sub("", text)))
        return readings
    expanded = text
    for entity in urls:
        short = http.string_at(entity, "url")
        if not short:
            continue
        # A media link has a media_key and stands for the photos, not for text.
        long = "" if http.string_at(entity, "media_key") else http.string_at(entity, "expanded_url")
        expanded = expanded.replace(short, short if long is None else long)
    readings.add(_comparable(expanded))
    return readings
