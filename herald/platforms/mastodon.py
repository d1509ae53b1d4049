"""Mastodon: ``POST /api/v2/media`` per photo, then ``POST /api/v1/statuses`` with an
``Idempotency-Key``.

The key makes this connector idempotent: Mastodon remembers (account, key) → status for one
hour and answers a repeat with the original status, so after an uncertain outcome the same
request is simply sent again. Media uploads carry no key; re-uploading is harmless because
the server deletes unattached media.
"""

from __future__ import annotations

import logging
import time

import requests

from herald.core.errors import PermanentError, RetryableError, UncertainError
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.base import Connector, ConnectorConfig, Draft, Photo, Published, TextCount, Verified
from herald.platforms.text import mastodon_length

log = logging.getLogger(__name__)

#: How long one upload may stay "processing" (206) before the try is given up, seconds.
MEDIA_PROCESSING_TIMEOUT_SECONDS = 30.0
#: First and largest pause between processing polls, seconds (doubling in between): small
#: images are usually ready on the first poll, large ones within a few seconds.
MEDIA_POLL_FIRST_SECONDS = 0.05
MEDIA_POLL_MAX_SECONDS = 1.0
#: How long Mastodon remembers an ``Idempotency-Key`` per account, seconds.
IDEMPOTENCY_WINDOW_SECONDS = 3600


class MastodonConnector(Connector):
    name = "mastodon"
    title = "Mastodon"
    default_base_url = "https://mastodon.social"
    credential_keys = ("access_token",)
    #: Mastodon's default ``configuration.statuses.max_characters``; instances may raise it.
    max_text = 500
    text_unit = "characters"
    #: ``max_media_attachments``.
    max_photos = 4
    #: ``image_size_limit`` (16 MiB) and ``image_matrix_limit`` (33,177,600 px) by default;
    #: an instance may set lower ones. Renditions never write GIF, but a GIF is taken.
    photo_rules = PhotoRules(
        max_bytes=16 * 1024 * 1024,
        mime_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        max_pixels=33_177_600,
        platform="Mastodon",
    )
    #: ``configuration.media_attachments.description_limit``.
    max_alt_text = 1500
    idempotent = True
    can_delete = True
    can_verify = True
    #: Mastodon's default status limit per account: 300 per 3 hours (app/lib/rate_limiter.rb).
    posts_per_window = (300, 3 * 3600.0)
    #: A long post continues as replies (``in_reply_to_id``), each with its own key.
    follow_up = "thread"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.session.headers["Authorization"] = f"Bearer {self.secret('access_token')}"

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(mastodon_length(text), cls.max_text, cls.text_unit)

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """Upload the photos, wait until each is processed, then create the status.

        Raises ``AuthError`` (401, or 403 naming a scope); ``PermanentError`` (a draft that
        does not fit ``validate``, before any call; 422 and other refusals; failed media
        processing); ``RetryableError`` (429 with ``retry_after``; 5xx or no answer before the
        status call; media still processing after ``MEDIA_PROCESSING_TIMEOUT_SECONDS``);
        ``UncertainError`` (5xx, timeout or dropped connection on the status call).
        """
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        media_ids = [self._upload(photo) for photo in draft.photos]
        body: dict[str, object] = {
            "status": draft.text,
            "media_ids": media_ids,
            "visibility": "public",
        }
        if draft.language:
            body["language"] = draft.language
        if draft.reply_to is not None:
            body["in_reply_to_id"] = draft.reply_to.parent.remote_id
        response = self._send(
            "POST",
            "/api/v1/statuses",
            create=True,
            json=body,
            headers={"Idempotency-Key": draft.idempotency_key},
        )
        status = http.response_json(response)
        remote_id = http.string_at(status, "id")
        url = http.string_at(status, "url")
        if remote_id is None or url is None:
            # A 2xx without a status entity: something answered, but we cannot tell what.
            raise UncertainError(self.name, "the status answer had no id or url", status=200)
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            remote_id,
            len(media_ids),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": remote_id},
        )
        return Published(remote_id=remote_id, url=url)

    def reconcile(self, draft: Draft) -> Published | None:
        """Send the same request again with the same ``Idempotency-Key``: Mastodon answers with
        the status the first try created, if there was one, and creates it otherwise. Never
        returns ``None``; raises what ``publish`` raises.

        Mastodon remembers a key for one hour (``IDEMPOTENCY_WINDOW_SECONDS``): a reconcile
        later than that could post a second copy, so callers must reconcile promptly.
        """
        return self.publish(draft)

    def delete(self, remote_id: str) -> None:
        """Delete a status. A 404 means it is already gone, which is what was asked."""
        try:
            self._send("DELETE", f"/api/v1/statuses/{remote_id}", create=False)
        except PermanentError as exc:
            if exc.status != 404:
                raise
            log.info(
                "delete of a missing status platform=%s remote_id=%s",
                self.name,
                remote_id,
                extra={"platform": self.name, "remote_id": remote_id},
            )

    def verify(self) -> Verified:
        """``GET /api/v1/accounts/verify_credentials``: the account the token acts for."""
        response = self._send("GET", "/api/v1/accounts/verify_credentials", create=False)
        acct = http.string_at(http.response_json(response), "acct")
        if acct is None:
            raise RetryableError(self.name, "verify_credentials answered without the account's name")
        return Verified(f"@{acct}")

    # -- media -----------------------------------------------------------------------------

    def _upload(self, photo: Photo) -> str:
        """Upload one photo and return its media id once Mastodon has processed it."""
        data = {"description": photo.alt_text} if photo.alt_text else None
        response = self._send(
            "POST",
            "/api/v2/media",
            create=False,
            files={"file": (photo.filename, photo.data, photo.mime_type)},
            data=data,
        )
        attachment = http.response_json(response)
        media_id = http.string_at(attachment, "id")
        if media_id is None:
            raise PermanentError(self.name, "the media answer had no id", status=response.status_code)
        # 200 means processed; 202 (url null) means poll until the url appears.
        if response.status_code == 202 or http.string_at(attachment, "url") is None:
            self._wait_for_media(media_id)
        return media_id

    def _wait_for_media(self, media_id: str) -> None:
        """Poll ``GET /api/v1/media/{id}``: 206 while processing, 200 with a url when ready,
        422 when processing failed (``PermanentError``). Gives up with ``RetryableError``."""
        deadline = time.monotonic() + MEDIA_PROCESSING_TIMEOUT_SECONDS
        pause = MEDIA_POLL_FIRST_SECONDS
        while True:
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            try:
                response = self._send("GET", f"/api/v1/media/{media_id}", create=False)
            except PermanentError as exc:
                if exc.status == 422:
                    raise PermanentError(
                        self.name, f"media {media_id} could not be processed: {exc.detail}", status=422
                    ) from exc
                raise
            if response.status_code == 200 and http.string_at(http.response_json(response), "url"):
                return
            if time.monotonic() >= deadline:
                raise RetryableError(
                    self.name,
                    f"media {media_id} still processing after {MEDIA_PROCESSING_TIMEOUT_SECONDS:g} s",
                )
            pause = min(pause * 2, MEDIA_POLL_MAX_SECONDS)

    # -- plumbing --------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        path: str,
        *,
        create: bool,
        json: object = None,
        data: dict[str, str] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        return http.send(
            self.session,
            method,
            self.base_url + path,
            platform=self.name,
            create=create,
            timeout=self.timeout,
            secrets=http.revealed(self.config.credentials),
            json=json,
            data=data,
            files=files,
            headers=headers,
        )
