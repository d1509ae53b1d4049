"""Bluesky (AT Protocol) over plain XRPC: an app-password session, photos through
``com.atproto.repo.uploadBlob``, the post through ``com.atproto.repo.createRecord`` with a record
key chosen by Herald.

**Session and PDS**: ``atproto.XrpcClient`` (log in once, refresh before expiry, the account's
own PDS).

**Idempotency.** The record key is a TID derived from a hash of the draft's idempotency key
(``record_key``), so every try of one draft writes the same record. ``reconcile`` is therefore
exact: ``getRecord`` finds the post or the PDS says ``RecordNotFound``. A second
``createRecord`` on an existing key fails (the reference PDS answers 500); ``publish`` then
looks the record up and returns it, so publishing again is safe (``idempotent = True``).

**Facets.** Bluesky detects nothing in the text: links, hashtags and mentions only work with
facets carrying UTF-8 byte offsets (``platforms.text.bluesky_facets``). Each mentioned handle is
resolved to a DID with ``com.atproto.identity.resolveHandle``; a handle that does not resolve is
left as plain text.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from herald.core.errors import (
    AuthError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.atproto import RecordNotFound, XrpcClient
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
from herald.platforms.text import bluesky_facets, bluesky_length, utf8_length

log = logging.getLogger(__name__)

#: Hosts of the real service: posts made through them live at ``PUBLIC_URL_ROOT``.
REAL_API_HOSTS = frozenset({"https://bsky.social"})
PUBLIC_URL_ROOT = "https://bsky.app"
#: The collection (lexicon NSID) of posts.
POST_COLLECTION = "app.bsky.feed.post"
#: The base32-sortable alphabet of TIDs (atproto.com/specs/tid).
TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
#: TIDs made by ``record_key`` keep their timestamp within [2**50, 2**51) microseconds
#: (2005-09 .. 2041-05), so they start with "3" like the TIDs of real clients of this era.
_TID_TIME_BITS = 50


def _strong_ref(post: Published, platform: str) -> dict[str, str]:
    """com.atproto.repo.strongRef of a post replied to: its URI and the CID of its record."""
    if not post.cid:
        raise PermanentError(platform, f"cannot reply to {post.remote_id}: its record's CID is unknown")
    return {"uri": post.remote_id, "cid": post.cid}


def record_key(idempotency_key: str) -> str:
    """The TID used as record key for every try of the draft with ``idempotency_key``.

    A TID is a 64-bit integer (top bit 0, 53 bits of microseconds, 10 bits of clock id) written
    as 13 base32-sortable characters. Here all of it comes from SHA-256 of the key: 50 bits of
    timestamp above a fixed floor and 10 bits of clock id, 60 bits of hash in all, so two
    drafts share a key with negligible probability. The timestamp is not the post's time; the
    atproto spec warns that record keys carry no trustworthy time, and Bluesky orders posts by
    ``createdAt``.
    """
    digest = hashlib.sha256(b"herald/bluesky/rkey\x00" + idempotency_key.encode("utf-8")).digest()
    bits = int.from_bytes(digest[:8], "big")
    timestamp_us = (1 << _TID_TIME_BITS) | ((bits >> 10) & ((1 << _TID_TIME_BITS) - 1))
    value = (timestamp_us << 10) | (bits & 0x3FF)
    return "".join(TID_ALPHABET[(value >> (5 * shift)) & 31] for shift in range(12, -1, -1))


def created_at(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z``, the form Bluesky's own clients write."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class BlueskyConnector(Connector):
    name = "bluesky"
    title = "Bluesky"
    default_base_url = "https://bsky.social"
    credential_keys = ("handle", "app_password")
    identity_keys = ("handle",)
    #: app.bsky.feed.post ``text``: ``maxGraphemes`` 300 ...
    max_text = 300
    text_unit = "graphemes"
    #: ... and ``maxLength`` 3,000 (UTF-8 bytes), checked by ``validate``.
    max_text_bytes = 3000
    #: app.bsky.embed.images: ``images`` ≤ 4.
    max_photos = 4
    #: Blob ``maxSize``: 1,000,000 bytes until April 2026, 2,000,000 since; the digest's safe
    #: rule is 1,000,000 until the target PDS is known to take more.
    photo_rules = PhotoRules(
        max_bytes=1_000_000, mime_types=frozenset({"image/jpeg", "image/png"}), platform="Bluesky"
    )
    #: The lexicon sets no limit on ``alt``; 2,000 is the Bluesky app's (not in the digest).
    max_alt_text = 2000
    #: The record key is derived from the idempotency key: see the module docstring.
    idempotent = True
    can_delete = True
    can_verify = True
    #: Writes cost points: 5,000 per hour and 35,000 per day per account, a create 3 points
    #: (digest, "Rate limits"). The hourly cap binds bursts; the daily one (11,666 posts) is
    #: only reached by seven hours at the hourly maximum.
    posts_per_window = (5000 // 3, 3600.0)
    #: A long post continues as replies naming the thread's root and the part before.
    follow_up = "thread"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.handle = self.secret("handle").strip().removeprefix("@")
        self.xrpc = XrpcClient(
            platform=self.name,
            base_url=self.base_url,
            handle=self.handle,
            password=self.config.credentials["app_password"],
            http_session=self.session,
            timeout=self.timeout,
            credential_values=http.revealed(self.config.credentials),
        )
        self._dids: dict[str, str | None] = {}  # handle -> DID (None: does not resolve)

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(bluesky_length(text), cls.max_text, cls.text_unit)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        """The shared rules plus Bluesky's second text limit, 3,000 bytes of UTF-8 (300
        graphemes of a script with long encodings can pass the first and fail this one)."""
        problems = super().validate(text, photos)
        size = utf8_length(text)
        if size > cls.max_text_bytes:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    f"{cls.title} allows {cls.max_text_bytes} bytes of UTF-8; this text has {size}",
                    size,
                    cls.max_text_bytes,
                )
            )
        return problems

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Log in if needed, upload the photos, resolve mentions, create the post record.

        Raises ``AuthError`` (the app password was refused, or a refreshed session is still
        refused); ``PermanentError`` (a draft that does not fit ``validate``, before any call;
        ``InvalidRequest`` and other refusals); ``RetryableError`` (429 with ``retry_after``
        from ``ratelimit-reset``; 5xx or no answer before the create call); ``UncertainError``
        (timeout or dropped connection on the create call, or a 5xx after which the record is
        not found). If the create call fails because the record already exists (an earlier try
        went out), returns that record.
        """
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        session = self.xrpc.ensure()
        rkey = record_key(draft.idempotency_key)
        record: dict[str, object] = {
            "$type": POST_COLLECTION,
            "text": draft.text,
            "createdAt": created_at(),
        }
        if draft.language:
            record["langs"] = [draft.language]
        facets = self._facets(draft.text)
        if facets:
            record["facets"] = facets
        if draft.reply_to is not None:
            record["reply"] = {
                "root": _strong_ref(draft.reply_to.root, self.name),
                "parent": _strong_ref(draft.reply_to.parent, self.name),
            }
        if draft.photos:
            record["embed"] = {
                "$type": "app.bsky.embed.images",
                "images": [self._image(photo, self._upload(photo)) for photo in draft.photos],
            }
        body = {"repo": session.did, "collection": POST_COLLECTION, "rkey": rkey, "record": record}
        try:
            answer = self.xrpc.call("POST", "com.atproto.repo.createRecord", create=True, json=body)
        except PlatformError as exc:
            if not _may_exist(exc):
                raise
            # The reference PDS answers 500 when the key is taken, i.e. an earlier try of this
            # draft went out; another PDS may say so in words. Either way, look before failing.
            found = self._find_quietly(rkey)
            if found is None:
                raise
            log.info(
                "record already existed platform=%s remote_id=%s",
                self.name,
                found.remote_id,
                extra={"platform": self.name, "remote_id": found.remote_id},
            )
            return found
        uri = http.string_at(answer, "uri") or self._uri(rkey)
        cid = http.string_at(answer, "cid")
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            uri,
            len(draft.photos),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": uri},
        )
        return Published(remote_id=uri, url=self.post_url(rkey), cid=cid)

    def reconcile(self, draft: Draft) -> Published | None:
        """``getRecord`` on the draft's record key: ``Published`` if the record exists, ``None``
        if the PDS says ``RecordNotFound``. Raises ``AuthError`` if the credentials are refused
        and ``UncertainError`` if the look-up fails otherwise."""
        rkey = record_key(draft.idempotency_key)
        try:
            return self._get_record(rkey)
        except AuthError:
            raise
        except PlatformError as exc:
            raise UncertainError(
                self.name, f"could not look the record up: {exc.detail}", status=exc.status
            ) from exc

    def delete(self, remote_id: str) -> None:
        """Delete a post given its ``at://`` URI (or bare record key). Deleting a record that is
        not there is a no-op for the PDS, so a second delete succeeds too."""
        repo, rkey = self._parse_remote_id(remote_id)
        try:
            self.xrpc.call(
                "POST",
                "com.atproto.repo.deleteRecord",
                json={"repo": repo, "collection": POST_COLLECTION, "rkey": rkey},
            )
        except RecordNotFound:
            log.info(
                "delete of a missing record platform=%s remote_id=%s",
                self.name,
                remote_id,
                extra={"platform": self.name, "remote_id": remote_id},
            )

    def verify(self) -> Verified:
        """Log in with the app password (the session publishing keeps) and ask the account's PDS
        ``getSession`` with it. ``createSession`` is limited to 30 per 5 minutes per account: one
        check costs one."""
        session = self.xrpc.ensure()
        answer = self.xrpc.call("GET", "com.atproto.server.getSession")
        return Verified("@" + (http.string_at(answer, "handle") or session.handle))

    def post_url(self, rkey: str) -> str:
        """The post's public address: on ``bsky.app`` for the real service, on the overridden
        base URL otherwise (the simulator), so links resolve locally."""
        root = PUBLIC_URL_ROOT if self.base_url in REAL_API_HOSTS else self.base_url
        handle = self.xrpc.auth.handle if self.xrpc.auth is not None else self.handle
        return f"{root}/profile/{handle}/post/{rkey}"

    # -- records ---------------------------------------------------------------------------

    def _uri(self, rkey: str) -> str:
        return f"at://{self.xrpc.ensure().did}/{POST_COLLECTION}/{rkey}"

    def _parse_remote_id(self, remote_id: str) -> tuple[str, str]:
        """(repo, rkey) of ``at://{did}/{collection}/{rkey}`` or of a bare record key."""
        if remote_id.startswith("at://"):
            parts = remote_id[len("at://") :].split("/")
            if len(parts) == 3 and parts[1] == POST_COLLECTION and parts[0] and parts[2]:
                return parts[0], parts[2]
            raise PermanentError(self.name, f"not a Bluesky post URI: {remote_id}")
        return self.xrpc.ensure().did, remote_id

    def _get_record(self, rkey: str) -> Published | None:
        did = self.xrpc.ensure().did
        try:
            answer = self.xrpc.call(
                "GET",
                "com.atproto.repo.getRecord",
                params={"repo": did, "collection": POST_COLLECTION, "rkey": rkey},
            )
        except RecordNotFound:
            return None
        uri = http.string_at(answer, "uri") or self._uri(rkey)
        return Published(remote_id=uri, url=self.post_url(rkey), cid=http.string_at(answer, "cid"))

    def _find_quietly(self, rkey: str) -> Published | None:
        """``_get_record`` for the path where a create already failed: a failed look-up is not
        reported (the create's own error is), it just finds nothing."""
        try:
            return self._get_record(rkey)
        except PlatformError as exc:
            log.info(
                "look-up after a failed create failed platform=%s status=%s",
                self.name,
                exc.status,
                extra={"platform": self.name},
            )
            return None

    # -- facets and photos -----------------------------------------------------------------

    def _facets(self, text: str) -> list[dict[str, object]]:
        facets: list[dict[str, object]] = []
        for span in bluesky_facets(text):
            feature: dict[str, object]
            if span.kind == "link":
                feature = {"$type": "app.bsky.richtext.facet#link", "uri": span.value}
            elif span.kind == "tag":
                feature = {"$type": "app.bsky.richtext.facet#tag", "tag": span.value}
            else:
                did = self._resolve(span.value)
                if did is None:
                    continue  # not a handle anyone holds: leave "@name" as plain text
                feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
            facets.append(
                {
                    "index": {"byteStart": span.byte_start, "byteEnd": span.byte_end},
                    "features": [feature],
                }
            )
        return facets

    def _resolve(self, handle: str) -> str | None:
        """The DID of ``handle``, or ``None`` when the PDS says it does not resolve. A failure
        that may pass (429, 5xx, no answer) is raised: nothing was created yet, and a retry
        later beats a post whose mention silently became plain text."""
        key = handle.lower()
        if key not in self._dids:
            try:
                answer = self.xrpc.call("GET", "com.atproto.identity.resolveHandle", params={"handle": key})
            except (RetryableError, AuthError):
                raise
            except PermanentError as exc:
                log.info(
                    "mention left as text: handle does not resolve platform=%s status=%s",
                    self.name,
                    exc.status,
                    extra={"platform": self.name},
                )
                self._dids[key] = None
            else:
                did = http.string_at(answer, "did")
                self._dids[key] = did if did and did.startswith("did:") else None
        return self._dids[key]

    def _upload(self, photo: Photo) -> dict[str, object]:
        """Upload one photo's bytes; the blob object exactly as the PDS returned it."""
        answer = self.xrpc.call(
            "POST", "com.atproto.repo.uploadBlob", content=photo.data, content_type=photo.mime_type
        )
        blob = http.json_object(answer.get("blob"))
        if not blob.get("ref"):
            raise PermanentError(self.name, "the uploadBlob answer had no blob")
        return blob

    @staticmethod
    def _image(photo: Photo, blob: dict[str, object]) -> dict[str, object]:
        # ``alt`` is required (may be empty); without ``aspectRatio`` clients crop to a square.
        image: dict[str, object] = {"alt": photo.alt_text, "image": blob}
        if photo.width >= 1 and photo.height >= 1:
            image["aspectRatio"] = {"width": photo.width, "height": photo.height}
        return image

    # -- plumbing --------------------------------------------------------------------------


def _may_exist(exc: PlatformError) -> bool:
    """Whether a failed create may have failed because the record key is taken: a 5xx (the
    reference PDS's answer today) or a refusal that says so."""
    if isinstance(exc, UncertainError):
        return exc.status is not None  # a 5xx; no answer at all is for ``reconcile``
    if isinstance(exc, AuthError) or not isinstance(exc, PermanentError):
        return False
    return exc.status == 409 or "exist" in exc.detail.lower()
