"""LinkedIn's versioned REST API, posting as an organization (a LinkedIn Page): each photo
through the Images API (``initializeUpload``, ``PUT`` the bytes, wait until ``AVAILABLE``),
then ``POST /rest/posts``.

Every call carries ``Authorization: Bearer``, ``LinkedIn-Version`` (the channel option
``version``, ``YYYYMM``; versions are retired about a year after release, and a retired one is
refused with 426) and ``X-Restli-Protocol-Version: 2.0.0``.

**Text.** ``commentary`` is LinkedIn's "little text": the characters in
``platforms.text.LINKEDIN_RESERVED`` are markup, and LinkedIn silently cuts the text at the first
one that is not backslash-escaped (and still answers 201). Herald escapes every one of them, so
the post shows exactly the draft's text; mentions and hashtag templates are not made.

**Idempotency.** None (``idempotent = False``). ``reconcile`` lists the organization's latest
posts (``RECONCILE_LOOKBACK_POSTS``, needs the ``r_organization_social`` scope) and compares their
unescaped commentary with the draft's text. LinkedIn refuses a post whose commentary equals a
live post's with 422 ``DUPLICATE_POST`` naming that post: on a first try that means the text
was already posted (``PermanentError``); when this connector has reconciled the same draft just
before (the "look, then send again" path after an uncertain outcome), it means the earlier try
went out, and ``publish`` returns the named post.

**First comments** (``follow_up = "comment"``): a draft with ``reply_to`` becomes a comment of the
organization under ``reply_to.root`` (``POST /rest/socialActions/{post urn}/comments`` with
``{"actor", "object", "message": {"text"}}``, answered 201 with the comment in the body). Comment
text is plain (LinkedIn marks mentions with ``attributes``, not little text [unconfirmed]), so it
is sent as written, at most ``MAX_COMMENT_CHARACTERS``. Its ``remote_id`` is the full comment URN,
``urn:li:comment:({post urn},{comment id})``, which carries what ``delete`` needs (``DELETE
/rest/socialActions/{post urn}/comments/{comment id}?actor=``); its URL is the post's feed URL
with ``?commentUrn=``. ``reconcile`` reads all the post's comments for the organization's one
with the same text.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import urllib.parse
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import requests

from herald.core.errors import (
    AuthError,
    InputError,
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
)
from herald.platforms.comments import COMMENT_PAGE_SIZE, COMMENT_PAGES, commented_post
from herald.platforms.text import linkedin_escape, linkedin_unescape, utf16_length

log = logging.getLogger(__name__)

#: ``LinkedIn-Version`` when the channel sets no ``version`` option: the newest version the
#: digest confirms (its sources run to 2026-01). LinkedIn retires a version about a year after
#: release, so this constant must move forward with Herald's releases.
DEFAULT_VERSION = "202601"
RESTLI_PROTOCOL_VERSION = "2.0.0"
#: Hosts of the real API: posts made through them live at ``PUBLIC_URL_ROOT``.
REAL_API_HOSTS = frozenset({"https://api.linkedin.com"})
PUBLIC_URL_ROOT = "https://www.linkedin.com"
#: How many of the organization's latest posts ``reconcile`` compares.
RECONCILE_LOOKBACK_POSTS = 20
#: How long one image may take to become ``AVAILABLE`` before the try is given up, seconds
#: (LinkedIn: "usually within seconds").
IMAGE_PROCESSING_TIMEOUT_SECONDS = 30.0
#: First and largest pause between image status polls, seconds (doubling in between).
IMAGE_POLL_FIRST_SECONDS = 0.05
IMAGE_POLL_MAX_SECONDS = 1.0
#: Idempotency keys remembered as "reconciled, not found" per connector (see ``publish``).
RECONCILED_KEYS_KEPT = 256
#: A comment's text limit, characters: 1,250 [unconfirmed: the limit LinkedIn's own comment box
#: enforces, quoted by third-party API tools; the Comments API reference names none]. Counted in
#: UTF-16 units like the commentary.
MAX_COMMENT_CHARACTERS = 1250

_VERSION_RE = re.compile(r"\A\d{6}(?:\.\d{2})?\Z")
# A post URN as LinkedIn names the original of a duplicate.
_POST_URN_RE = re.compile(r"urn:li:(?:share|ugcPost):\d+")
# A comment URN: the post (or activity) it is under, and the comment's own id.
_COMMENT_URN_RE = re.compile(r"\Aurn:li:comment:\((urn:li:[A-Za-z]+:[^,()/?#]+),(\d+)\)\Z")
# Templates LinkedIn may send back in commentary (Herald never writes them): a mention shows its
# name, a hashtag template its sign and tag.
_MENTION_TEMPLATE_RE = re.compile(r"@\[((?:[^\]\\]|\\.)*)\]\(urn:li:[^)]*\)")
_HASHTAG_TEMPLATE_RE = re.compile(r"\{hashtag\|\\?([#\uff03])\|((?:[^}\\]|\\.)*)\}")


class _Duplicate(PermanentError):
    """422 ``DUPLICATE_POST``: a live post of this author has the same commentary."""

    def __init__(self, platform: str, detail: str, *, status: int | None, existing_urn: str | None) -> None:
        super().__init__(platform, detail, status=status)
        self.existing_urn = existing_urn


class LinkedInConnector(Connector):
    name = "linkedin"
    title = "LinkedIn"
    default_base_url = "https://api.linkedin.com"
    credential_keys = ("organization_urn", "access_token")
    identity_keys = ("organization_urn",)
    #: Posts API ``commentary``: 3,000 characters. Counted on the text as LinkedIn shows it
    #: (before escaping), in UTF-16 code units: LinkedIn is a Java service and says
    #: "characters", whose length in Java is UTF-16 units; an emoji then costs 2, which can only
    #: err on the safe side. ``validate`` also checks the escaped commentary.
    max_text = 3000
    text_unit = "characters"
    #: Herald's maximum; LinkedIn's multiImage takes 2-20.
    max_photos = 4
    #: Images API: JPG, PNG, GIF (at most 250 frames), at most 36,152,320 pixels (width ×
    #: height). LinkedIn publishes no byte cap for images [unconfirmed]: 10 MB is Herald's own,
    #: the same as Telegram's and Facebook's.
    photo_rules = PhotoRules(
        max_bytes=10_000_000,
        mime_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        max_pixels=36_152_320,
        platform="LinkedIn",
    )
    #: The Posts API's ``altText`` limit as documented by LinkedIn's media content schema
    #: (4,086 characters; not in the digest).
    max_alt_text = 4086
    idempotent = False
    can_delete = True
    can_verify = True
    #: LinkedIn's quotas are daily, per application and per member, shown only in the developer
    #: portal (digest: "not published as fixed numbers"): no window Herald could enforce. A 429
    #: carries ``retry_after`` until the quotas reset at midnight UTC.
    posts_per_window = None
    #: A long post continues as one first comment of the organization under it.
    follow_up = "comment"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.version = (config.options.get("version") or DEFAULT_VERSION).strip()
        if not _VERSION_RE.match(self.version):
            raise InputError("version", f"LinkedIn versions look like YYYYMM (e.g. {DEFAULT_VERSION})")
        self.organization = self.secret("organization_urn").strip()
        self.session.headers.update(
            {
                "Authorization": f"Bearer {self.secret('access_token')}",
                "LinkedIn-Version": self.version,
                "X-Restli-Protocol-Version": RESTLI_PROTOCOL_VERSION,
            }
        )
        # Idempotency keys whose reconcile found nothing, latest last: for them a duplicate is the
        # earlier try. Bounded: only a publish right after its reconcile needs it.
        self._reconciled: deque[str] = deque(maxlen=RECONCILED_KEYS_KEPT)

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(utf16_length(text), cls.max_text, cls.text_unit)

    @classmethod
    def count_follow_up(cls, text: str) -> TextCount:
        return TextCount(utf16_length(text), MAX_COMMENT_CHARACTERS, cls.text_unit)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        """The shared rules (the Images API's pixel cap is in ``photo_rules``), and the 3,000
        limit applied to the escaped commentary as well: whether LinkedIn counts before or after
        escaping is not documented, so a text full of reserved characters must fit both ways."""
        problems = super().validate(text, photos)
        escaped = utf16_length(linkedin_escape(text))
        if cls.count_text(text).fits and escaped > cls.max_text:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    f"{cls.title} allows {cls.max_text} characters; with its reserved characters "
                    f"escaped this text has {escaped}",
                    escaped,
                    cls.max_text,
                )
            )
        return problems

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Upload the photos, then create the post with escaped commentary.

        Raises ``AuthError`` (401; 403, a missing role or scope); ``PermanentError`` (a draft
        that does not fit ``validate``, before any call; a retired ``version`` option, 426 or
        400; a duplicate of a live post, 422, unless this connector reconciled the draft just
        before; failed image processing; other refusals); ``RetryableError`` (429, with
        ``retry_after`` until midnight UTC; 5xx or no answer before the create call; an image
        still processing after ``IMAGE_PROCESSING_TIMEOUT_SECONDS``); ``UncertainError`` (5xx,
        timeout or dropped connection on the create call, or a 201 without a post id). A draft
        with ``reply_to`` is a first comment (see the module docstring), with the same errors.
        """
        if draft.reply_to is not None:
            return self._comment(draft)
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        images = [(self._upload(photo), photo.alt_text) for photo in draft.photos]
        body: dict[str, object] = {
            "author": self.organization,
            "commentary": linkedin_escape(draft.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if len(images) == 1:
            body["content"] = {"media": _image(*images[0])}
        elif images:
            body["content"] = {"multiImage": {"images": [_image(urn, alt) for urn, alt in images]}}
        try:
            response = self._send("POST", "/rest/posts", create=True, json=body)
        except _Duplicate as exc:
            if exc.existing_urn is None or draft.idempotency_key not in self._reconciled:
                raise PermanentError(self.name, exc.detail, status=exc.status) from exc
            # We looked just before and did not see it, yet LinkedIn knows the same text as
            # this post: the earlier, uncertain try went out (the listing lagged or was full).
            log.info(
                "duplicate of the earlier try platform=%s remote_id=%s",
                self.name,
                exc.existing_urn,
                extra={"platform": self.name, "remote_id": exc.existing_urn},
            )
            return Published(remote_id=exc.existing_urn, url=self.post_url(exc.existing_urn))
        urn = response.headers.get("x-restli-id")
        if not urn:
            # Created (2xx), but LinkedIn did not say as what: only a look-up can tell.
            raise UncertainError(
                self.name, "the create answer had no x-restli-id", status=response.status_code
            )
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            urn,
            len(images),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": urn},
        )
        return Published(remote_id=urn, url=self.post_url(urn))

    def reconcile(self, draft: Draft) -> Published | None:
        """Look for ``draft``'s text among the organization's ``RECONCILE_LOOKBACK_POSTS`` latest
        posts: ``Published`` if one shows the same text, ``None`` if none does. Raises
        ``AuthError`` if the token is refused (401) and ``UncertainError`` if the posts cannot be
        listed (including 403: the token may post without the read scope). A first comment is
        looked for among all the post's comments."""
        if draft.reply_to is not None:
            return self._find_first_comment(draft)
        try:
            response = self._send(
                "GET",
                "/rest/posts",
                create=False,
                params={
                    "q": "author",
                    "author": self.organization,
                    "count": str(RECONCILE_LOOKBACK_POSTS),
                },
                headers={"X-RestLi-Method": "FINDER"},
            )
        except AuthError as exc:
            if exc.status == 401:
                raise
            raise UncertainError(
                self.name,
                f"could not list recent posts (needs r_organization_social): {exc.detail}",
                status=exc.status,
            ) from exc
        except PlatformError as exc:
            raise UncertainError(
                self.name, f"could not list recent posts: {exc.detail}", status=exc.status
            ) from exc
        wanted = _comparable(draft.text)
        elements = http.response_json(response).get("elements")
        for post in elements if isinstance(elements, list) else []:
            urn = http.string_at(post, "id")
            commentary = http.string_at(post, "commentary")
            if urn and commentary is not None and _comparable(shown_text(commentary)) == wanted:
                log.info(
                    "reconciled platform=%s remote_id=%s",
                    self.name,
                    urn,
                    extra={"platform": self.name, "remote_id": urn},
                )
                return Published(remote_id=urn, url=self.post_url(urn))
        self._reconciled.append(draft.idempotency_key)
        return None

    def delete(self, remote_id: str) -> None:
        """Delete a post by URN, or a comment by its comment URN (``urn:li:comment:(post,id)``).
        A 404 means it is already gone, which is what was asked."""
        comment = _COMMENT_URN_RE.match(remote_id)
        if comment is not None:
            path = f"{_comments_path(comment.group(1))}/{urllib.parse.quote(comment.group(2), safe='')}"
            params: dict[str, str] | None = {"actor": self.organization}
        elif remote_id.startswith("urn:li:comment:"):
            raise PermanentError(self.name, f"{remote_id!r} is not a comment URN Herald can delete")
        else:
            path = f"/rest/posts/{urllib.parse.quote(remote_id, safe='')}"
            params = None
        try:
            self._send("DELETE", path, create=False, params=params, headers={"X-RestLi-Method": "DELETE"})
        except PermanentError as exc:
            if exc.status != 404:
                raise
            log.info(
                "delete of a missing post platform=%s remote_id=%s",
                self.name,
                remote_id,
                extra={"platform": self.name, "remote_id": remote_id},
            )

    def verify(self) -> Verified:
        """List one of the organization's posts (the look-up ``reconcile`` makes): 401, a bad or
        expired token, is refused. A 403 is a warning, not a refusal: the token lacks the read
        right (r_organization_social) or the organization's role, and only a post can tell which;
        without the read right a post whose answer was lost cannot be looked for."""
        try:
            self._send(
                "GET",
                "/rest/posts",
                create=False,
                params={"q": "author", "author": self.organization, "count": "1"},
                headers={"X-RestLi-Method": "FINDER"},
            )
        except AuthError as exc:
            if exc.status != 403:
                raise
            return Verified(
                self.organization,
                warning="the token may not read the organization's posts (it needs "
                f"r_organization_social to look for a post whose answer was lost): {exc.detail}",
            )
        return Verified(self.organization)

    def post_url(self, urn: str) -> str:
        """The post's public address: on ``www.linkedin.com`` for the real API, on the overridden
        base URL otherwise (the simulator), so links resolve locally."""
        root = PUBLIC_URL_ROOT if self.base_url in REAL_API_HOSTS else self.base_url
        return f"{root}/feed/update/{urn}"

    def comment_url(self, post: Published, comment_urn: str) -> str:
        """A comment's address: its post's feed URL with ``?commentUrn=``, as linkedin.com links
        to a comment."""
        base = post.url or self.post_url(post.remote_id)
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}commentUrn={urllib.parse.quote(comment_urn, safe='')}"

    # -- first comments --------------------------------------------------------------------

    def _comment(self, draft: Draft) -> Published:
        """Comment as the organization under ``reply_to.root``; the comment URN from the answer's
        ``commentUrn``, else built from its ``id`` (or ``x-restli-id``) and the post."""
        post = commented_post(self, draft)
        body = {"actor": self.organization, "object": post.remote_id, "message": {"text": draft.text}}
        response = self._send("POST", _comments_path(post.remote_id), create=True, json=body)
        answer = http.response_json(response)
        urn = http.string_at(answer, "commentUrn")
        if not urn:
            comment_id = http.string_at(answer, "id") or response.headers.get("x-restli-id")
            if comment_id and comment_id.startswith("urn:li:comment:"):
                urn = comment_id
            elif comment_id:
                urn = f"urn:li:comment:({post.remote_id},{comment_id})"
        if not urn:
            # Created (2xx), but LinkedIn did not say as what: only a look-up can tell.
            raise UncertainError(
                self.name, "the comment answer had no comment id", status=response.status_code
            )
        log.info(
            "commented platform=%s remote_id=%s on=%s",
            self.name,
            urn,
            post.remote_id,
            extra={"platform": self.name, "remote_id": urn},
        )
        return Published(remote_id=urn, url=self.comment_url(post, urn))

    def _find_first_comment(self, draft: Draft) -> Published | None:
        """The organization's comment with ``draft``'s text among all the post's comments, read
        page by page (``start``/``count``) to the end; ``None`` if it is not there. Raises
        ``AuthError`` on 401 and ``UncertainError`` if a page cannot be read or
        ``COMMENT_PAGES`` pages did not reach the end."""
        assert draft.reply_to is not None
        post = draft.reply_to.root
        wanted = _comparable(draft.text)
        for page in range(COMMENT_PAGES):
            start = page * COMMENT_PAGE_SIZE
            try:
                response = self._send(
                    "GET",
                    _comments_path(post.remote_id),
                    create=False,
                    params={"start": str(start), "count": str(COMMENT_PAGE_SIZE)},
                )
            except AuthError as exc:
                if exc.status == 401:
                    raise
                raise UncertainError(
                    self.name,
                    f"could not list the post's comments (needs r_organization_social): {exc.detail}",
                    status=exc.status,
                ) from exc
            except PlatformError as exc:
                raise UncertainError(
                    self.name, f"could not list the post's comments: {exc.detail}", status=exc.status
                ) from exc
            answer = http.response_json(response)
            elements = answer.get("elements")
            listed = elements if isinstance(elements, list) else []
            for comment in listed:
                text = http.string_at(comment, "message", "text")
                actor = http.string_at(comment, "actor")
                if text is None or _comparable(text) != wanted or actor not in (None, self.organization):
                    continue
                urn = http.string_at(comment, "commentUrn")
                comment_id = http.string_at(comment, "id")
                if not urn and comment_id:
                    urn = f"urn:li:comment:({post.remote_id},{comment_id})"
                if urn:
                    log.info(
                        "reconciled platform=%s remote_id=%s",
                        self.name,
                        urn,
                        extra={"platform": self.name, "remote_id": urn},
                    )
                    return Published(remote_id=urn, url=self.comment_url(post, urn))
            total = http.string_at(answer, "paging", "total")
            seen = start + len(listed)
            if len(listed) < COMMENT_PAGE_SIZE or (
                total is not None and total.isdigit() and seen >= int(total)
            ):
                return None
        raise UncertainError(
            self.name,
            f"the post has more than {COMMENT_PAGES * COMMENT_PAGE_SIZE} comments and the first "
            "ones do not include this text: cannot tell whether it went out",
        )

    # -- images ----------------------------------------------------------------------------

    def _upload(self, photo: Photo) -> str:
        """Register, upload and await one image; its URN."""
        response = self._send(
            "POST",
            "/rest/images",
            create=False,
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": self.organization}},
        )
        value = http.json_object(http.response_json(response).get("value"))
        upload_url = http.string_at(value, "uploadUrl")
        urn = http.string_at(value, "image")
        if not upload_url or not urn:
            raise PermanentError(self.name, "the initializeUpload answer had no uploadUrl or image")
        upload_url = urllib.parse.urljoin(self.base_url + "/", upload_url)
        if not upload_url.startswith(("https://", "http://")):
            raise PermanentError(self.name, "the initializeUpload answer had an unusable uploadUrl")
        # The upload URL is LinkedIn's own (dms-uploads); it takes the same Bearer token.
        self._send(
            "PUT", upload_url, create=False, content=photo.data, headers={"Content-Type": photo.mime_type}
        )
        self._wait_for_image(urn)
        return urn

    def _wait_for_image(self, urn: str) -> None:
        """Poll ``GET /rest/images/{urn}`` until ``AVAILABLE``. ``PROCESSING_FAILED`` is a
        ``PermanentError``; still waiting after ``IMAGE_PROCESSING_TIMEOUT_SECONDS`` a
        ``RetryableError``."""
        deadline = time.monotonic() + IMAGE_PROCESSING_TIMEOUT_SECONDS
        pause = IMAGE_POLL_FIRST_SECONDS
        path = f"/rest/images/{urllib.parse.quote(urn, safe='')}"
        while True:
            status = http.string_at(http.response_json(self._send("GET", path, create=False)), "status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise PermanentError(self.name, f"image {urn} could not be processed")
            if time.monotonic() >= deadline:
                raise RetryableError(
                    self.name,
                    f"image {urn} still {status or 'not ready'} after {IMAGE_PROCESSING_TIMEOUT_SECONDS:g} s",
                )
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, IMAGE_POLL_MAX_SECONDS)

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        create: bool,
        params: Mapping[str, str] | None = None,
        json: object = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """One call; ``path`` is under the base URL unless it is already absolute (uploads)."""
        url = path if path.startswith(("https://", "http://")) else self.base_url + path
        return http.send(
            self.session,
            method,
            url,
            platform=self.name,
            create=create,
            timeout=self.timeout,
            secrets=http.revealed(self.config.credentials),
            params=params,
            json=json,
            content=content,
            headers=headers,
            refine=self._refine,
        )

    def _refine(self, response: requests.Response, error: PlatformError) -> PlatformError:
        """LinkedIn's cases on top of the shared mapping: any 403 is a missing role or scope; a
        422 ``DUPLICATE_POST`` names the live post; 426 (or 400 naming the version) is a retired
        ``version`` option; 429 waits until the daily quotas reset."""
        status = response.status_code
        body = http.response_json(response)
        code = http.string_at(body, "code") or ""
        message = http.string_at(body, "message") or ""
        if code and code not in error.detail:
            # Rest.li's code (ACCESS_DENIED, EXPIRED_ACCESS_TOKEN...) says more than the message.
            error = _with_detail(error, f"{code}: {error.detail}")
        if status == 403:
            return AuthError(self.name, error.detail, status=status)
        if status == 422 and ("DUPLICATE_POST" in _input_error_codes(body) or "duplicate" in message.lower()):
            found = _POST_URN_RE.search(message)
            return _Duplicate(
                self.name,
                f"the same text is already a live post{f' ({found.group(0)})' if found else ''}: "
                f"{error.detail}",
                status=status,
                existing_urn=found.group(0) if found else None,
            )
        if status == 426 or (status == 400 and "VERSION" in code.upper()):
            return PermanentError(
                self.name,
                f"LinkedIn refused API version {self.version} ({code or error.detail}): set the "
                f"channel's version option to a current YYYYMM",
                status=status,
            )
        if status == 429:
            wait = http.retry_after_seconds(response.headers)
            return RetryableError(
                self.name,
                error.detail,
                status=status,
                retry_after=wait if wait is not None else seconds_until_utc_midnight(),
            )
        return error


def _comments_path(post_urn: str) -> str:
    """``/rest/socialActions/{post urn, URL-encoded}/comments``."""
    return f"/rest/socialActions/{urllib.parse.quote(post_urn, safe='')}/comments"


def _with_detail(error: PlatformError, detail: str) -> PlatformError:
    """``error`` again, of the same class, with another ``detail``."""
    if isinstance(error, RetryableError):
        return RetryableError(error.platform, detail, status=error.status, retry_after=error.retry_after)
    return type(error)(error.platform, detail, status=error.status)


def _image(urn: str, alt_text: str) -> dict[str, object]:
    item: dict[str, object] = {"id": urn}
    if alt_text:
        item["altText"] = alt_text
    return item


def _input_error_codes(body: Mapping[str, object]) -> list[str]:
    errors = http.json_object(body.get("errorDetails")).get("inputErrors")
    codes = [http.string_at(item, "code") for item in errors] if isinstance(errors, list) else []
    return [code for code in codes if code]


def seconds_until_utc_midnight(now: datetime | None = None) -> float:
    """Seconds from ``now`` to the next 00:00 UTC, when LinkedIn's daily quotas reset."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight - now).total_seconds()


def shown_text(commentary: str) -> str:
    """The text LinkedIn shows for a little-text ``commentary``: templates replaced by what
    they display, escapes removed."""
    out: list[str] = []
    i = 0
    while i < len(commentary):
        ch = commentary[i]
        if ch == "\\" and i + 1 < len(commentary):
            out.append(commentary[i + 1])
            i += 2
            continue
        template = None
        if ch == "@":
            template = _MENTION_TEMPLATE_RE.match(commentary, i)
            if template:
                out.append(linkedin_unescape(template.group(1)))
        elif ch == "{":
            template = _HASHTAG_TEMPLATE_RE.match(commentary, i)
            if template:
                out.append(template.group(1) + linkedin_unescape(template.group(2)))
        if template:
            i = template.end()
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _comparable(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()
