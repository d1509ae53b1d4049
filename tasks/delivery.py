"""Publishing one delivery: claim it in SQL, call the connector, record the outcome, ack Redis.

This is the worker's whole job and the heart of "exactly once":

1. ``claim`` is a compare-and-set (queued → publishing, with a fresh attempt token and a SQL
   lease); a re-delivered Celery message, a second worker or a cancelled post all lose here.
2. The attempt row (and the delivery's idempotency key) is in SQL before any platform call.
3. If an earlier try may have gone out (an expired lease, an uncertain answer), the connector
   reconciles first: idempotent platforms resend with the same key, the others look the post up.
4. The outcome is written with the attempt token; only then is Redis acknowledged. A crash in
   between leaves the delivery in flight, the reaper returns it, and step 1 sorts it out.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from content_queue import ContentQueue, Payload
from content_queue.staging import build_payloads, photo_bytes, to_epoch
from herald.errors import (
    AuthError,
    HeraldError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from platforms import Connector, ConnectorConfig, Draft, Photo, Published, connector_class
from store import states
from store.crypto import CredentialBox
from store.db import Database
from store.deliveries import (
    Claim,
    claim,
    defer,
    extend_lease,
    mark_final,
    mark_published,
    mark_retry,
    pause_channel,
)
from store.models import Channel, Delivery, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 900.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff with "equal jitter" (half fixed, half random, so retries of a
        burst spread out but never come back at once); a platform's own Retry-After/reset is a
        floor, never shortened."""
        backoff = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempt - 1))
        delay = backoff / 2 + random.uniform(0, backoff / 2)
        if retry_after is not None:
            delay = max(retry_after + random.uniform(0, 0.25), min(delay, retry_after + 1.0))
        return delay


ConnectorFactory = Callable[[str, ConnectorConfig], Connector]


def default_connector_factory(platform: str, config: ConnectorConfig) -> Connector:
    return connector_class(platform)(config)


class Deliverer:
    """One per worker process; connectors are cached per channel so HTTP connections are reused."""

    def __init__(
        self,
        db: Database,
        queue: ContentQueue,
        box: CredentialBox,
        *,
        lease_seconds: float = 30.0,
        retry: RetryPolicy | None = None,
        connector_factory: ConnectorFactory = default_connector_factory,
        worker_name: str | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        self.box = box
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self.connector_factory = connector_factory
        self.worker_name = worker_name or socket.gethostname()
        self._connectors: dict[int, tuple[bytes, str | None, Connector]] = {}

    # -- public ----------------------------------------------------------------------------

    def deliver(self, delivery_id: int) -> str:
        """Publish one delivery if it is ours to publish. Returns the outcome (for logs and tests)."""
        with self.db.session() as s:
            c = claim(s, delivery_id, lease_seconds=self.lease_seconds)
        if c is None:
            return self._not_claimed(delivery_id)
        try:
            with self._heartbeat(c):
                return self._publish(c)
        except Exception:
            # A bug or an infrastructure failure (SQL, Redis) after the claim: leave the claim in
            # place. The lease expires, the reaper hands the delivery out again and the next
            # claim takes over and reconciles, so nothing is lost or sent twice.
            log.exception(
                "delivery %s: unexpected error; the lease will expire and it will be retried",
                delivery_id,
                extra={"delivery_id": delivery_id},
            )
            return "error"

    @contextmanager
    def _heartbeat(self, c: Claim) -> Iterator[None]:
        """Extend the lease (SQL and Redis) every third of it while we publish, so a slow but
        alive worker is never taken over; a dead one stops beating and its lease runs out."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(self.lease_seconds / 3):
                try:
                    with self.db.session() as s:
                        if not extend_lease(s, c.delivery_id, c.token, lease_seconds=self.lease_seconds):
                            return
                    self.queue.extend_lease(c.delivery_id, self.lease_seconds)
                except Exception:  # a failed beat only shortens the lease; never kill the publish
                    log.warning("delivery %s: lease heartbeat failed", c.delivery_id, exc_info=True)

        t = threading.Thread(target=beat, name=f"lease-{c.delivery_id}", daemon=True)
        t.start()
        try:
            yield
        finally:
            stop.set()

    def close(self) -> None:
        for _, _, conn in self._connectors.values():
            conn.close()
        self._connectors.clear()

    # -- internals -------------------------------------------------------------------------

    def _not_claimed(self, delivery_id: int) -> str:
        with self.db.session() as s:
            d = s.get(Delivery, delivery_id)
            state = d.state if d else None
            lease = d.lease_expires_at if d else None
            due = d.due_at if d else None
        if d is None:
            self.queue.release(delivery_id, [])
            return "missing"
        if state == states.PUBLISHING and lease is not None:
            # Another worker holds it under a live lease: look again when that lease ends.
            self.queue.hold_inflight(delivery_id, to_epoch(lease) + 0.05)
            return "busy"
        if state == states.QUEUED and due is not None:
            # Not due yet (edited to a later time, or a stale message): back on the due set.
            self.queue.requeue(delivery_id, to_epoch(due))
            return "not-due"
        self.queue.release(delivery_id)
        return "done"

    def _payload(self, c: Claim) -> tuple[Payload, dict[str, bytes]]:
        payload = self.queue.payload(c.delivery_id)
        if payload is None or payload.post_version != c.post_version:
            # Redis lost it, or the post was edited after staging: SQL has the truth.
            with self.db.session() as s:
                built = build_payloads(s, [c.delivery_id])
            payload, photos = built[0]
            return payload, photos
        shas = [p.sha256 for p in payload.photos]
        photos = self.queue.photos(shas)
        missing = [sha for sha in shas if sha not in photos]
        if missing:
            with self.db.session() as s:
                photos.update(photo_bytes(s, missing))
        return payload, photos

    def _connector(self, channel: Channel) -> Connector:
        cached = self._connectors.get(channel.id)
        if cached and cached[0] == channel.credentials_encrypted and cached[1] == channel.base_url:
            return cached[2]
        config = ConnectorConfig(
            credentials=self.box.open(channel.credentials_encrypted),
            base_url=channel.base_url,
            options=dict(channel.options or {}),
        )
        conn = self.connector_factory(channel.platform, config)
        if cached:
            cached[2].close()
        self._connectors[channel.id] = (channel.credentials_encrypted, channel.base_url, conn)
        return conn

    def _publish(self, c: Claim) -> str:
        payload, photos = self._payload(c)
        with self.db.session() as s:
            channel = s.get(Channel, payload.channel_id)
            assert channel is not None, "deliveries reference channels by foreign key"
            paused = channel.pause_reason if channel.paused_at is not None else None
            s.expunge(channel)
        fields = {
            "delivery_id": c.delivery_id,
            "post_id": payload.post_id,
            "platform": payload.platform,
            "attempt": c.attempt_no,
        }
        if paused is not None:
            self._final(c, payload, states.HELD, f"channel {channel.name} is paused: {paused}", None, None)
            return states.HELD
        draft = Draft(
            text=payload.text,
            idempotency_key=payload.idempotency_key,
            photos=tuple(
                Photo(
                    data=photos[p.sha256],
                    mime_type=p.mime_type,
                    width=p.width,
                    height=p.height,
                    alt_text=p.alt_text,
                    filename=p.filename,
                )
                for p in payload.photos
            ),
            language=payload.language,
        )
        now = time.time()
        if not c.takeover and payload.hold_after is not None and now > payload.hold_after:
            late = now - payload.hold_after
            self._final(
                c,
                payload,
                states.HELD,
                f"missed its window: {_human(late)} past the campaign's tolerance for lateness; "
                f"release it to send it anyway",
                None,
                None,
            )
            log.warning("delivery %s held: %.0f s late", c.delivery_id, late, extra=fields)
            return states.HELD
        connector = self._connector(channel)
        wait = self.queue.rate_gate(channel.id, posting_window(channel, type(connector)), c.token)
        if wait > 0:
            due = utcnow() + timedelta(seconds=wait)
            with self.db.session() as s:
                ok = defer(
                    s,
                    c.delivery_id,
                    c.token,
                    due_at=due,
                    reconcile=c.takeover,
                    reason=f"channel {channel.name} rate-limited for {wait:.1f} s",
                )
            if ok:
                self.queue.requeue(c.delivery_id, to_epoch(due))
            log.info(
                "delivery %s deferred %.1f s: channel %s rate-limited",
                c.delivery_id,
                wait,
                channel.name,
                extra=fields,
            )
            return "deferred"
        t0 = time.monotonic()
        try:
            if c.takeover:
                found = connector.reconcile(draft)
                if found is not None:
                    return self._published(c, payload, found, t0, fields, outcome="reconciled")
                log.info(
                    "delivery %s: reconcile found nothing on %s; publishing",
                    c.delivery_id,
                    payload.platform,
                    extra=fields,
                )
            result = connector.publish(draft)
        except UncertainError as e:
            return self._uncertain(c, payload, connector, draft, e, t0, fields)
        except RetryableError as e:
            if e.status == 429 and e.retry_after:
                # The whole account is limited, not just this post: every worker waits.
                self.queue.hold_channel(channel.id, time.time() + e.retry_after)
            return self._retry_or_fail(c, payload, e, t0, fields, retry_after=e.retry_after)
        except AuthError as e:
            with self.db.session() as s:
                pause_channel(s, channel.id, f"credentials refused by {payload.platform}: {e.detail}")
            self._final(c, payload, states.FAILED, str(e), e.status, t0)
            log.error(
                "delivery %s failed: credentials refused; channel %s paused",
                c.delivery_id,
                channel.name,
                extra=fields,
            )
            return states.FAILED
        except PermanentError as e:
            if c.takeover:
                # An earlier try may have gone out and the look-up did not find it: a refusal
                # now (a duplicate, typically) is no proof of failure. A person must look.
                self._final(
                    c,
                    payload,
                    states.UNCERTAIN,
                    f"refused after an earlier try whose outcome is unknown, so it may already be "
                    f"published: {e}",
                    e.status,
                    t0,
                )
                return states.UNCERTAIN
            self._final(c, payload, states.FAILED, str(e), e.status, t0)
            log.error("delivery %s failed: %s", c.delivery_id, e, extra=fields)
            return states.FAILED
        except HeraldError as e:
            return self._retry_or_fail(c, payload, e, t0, fields, retry_after=None)
        return self._published(c, payload, result, t0, fields)

    def _published(
        self,
        c: Claim,
        payload: Payload,
        result: Published,
        t0: float,
        fields: dict[str, object],
        outcome: str = "published",
    ) -> str:
        ms = (time.monotonic() - t0) * 1000
        with self.db.session() as s:
            ok = mark_published(
                s,
                c.delivery_id,
                c.token,
                remote_id=result.remote_id,
                remote_url=result.url,
                latency_ms=ms,
                outcome=outcome,
            )
        if not ok:
            # Our lease expired and someone else took over; they will reconcile and find this post.
            log.error(
                "delivery %s: published as %s but the claim was lost; the new holder will reconcile",
                c.delivery_id,
                result.remote_id,
                extra=fields,
            )
            return "lost-claim"
        self.queue.release(c.delivery_id, [p.sha256 for p in payload.photos])
        lateness = time.time() - payload.due
        log.info(
            "delivery %s %s on %s as %s (%.0f ms, %.3f s after due)",
            c.delivery_id,
            outcome,
            payload.platform,
            result.remote_id,
            ms,
            lateness,
            extra={**fields, "duration_ms": round(ms, 1), "remote_id": result.remote_id},
        )
        return outcome

    def _uncertain(
        self,
        c: Claim,
        payload: Payload,
        connector: Connector,
        draft: Draft,
        e: UncertainError,
        t0: float,
        fields: dict[str, object],
    ) -> str:
        log.warning("delivery %s: uncertain outcome (%s); reconciling", c.delivery_id, e.detail, extra=fields)
        try:
            found = connector.reconcile(draft)
        except UncertainError as e2:
            self._final(
                c,
                payload,
                states.UNCERTAIN,
                f"{e}; could not confirm whether it was published ({e2.detail}): check the "
                f"account and retry or dismiss",
                e.status,
                t0,
            )
            return states.UNCERTAIN
        except PlatformError as e2:
            # The look-up itself failed: we still do not know. Try the look-up again later.
            return self._retry_or_fail(
                c,
                payload,
                e2,
                t0,
                fields,
                retry_after=getattr(e2, "retry_after", None),
                needs_reconcile=True,
                first_error=e,
            )
        if found is not None:
            return self._published(c, payload, found, t0, fields, outcome="reconciled")
        return self._retry_or_fail(c, payload, e, t0, fields, retry_after=None, needs_reconcile=True)

    def _retry_or_fail(
        self,
        c: Claim,
        payload: Payload,
        e: HeraldError,
        t0: float,
        fields: dict[str, object],
        *,
        retry_after: float | None,
        needs_reconcile: bool = False,
        first_error: HeraldError | None = None,
    ) -> str:
        status = e.status if isinstance(e, PlatformError) else None
        msg = str(e) if first_error is None else f"{first_error}; then {e}"
        if c.attempt_no >= self.retry.max_attempts:
            final = states.UNCERTAIN if needs_reconcile else states.FAILED
            self._final(c, payload, final, f"gave up after {c.attempt_no} attempts: {msg}", status, t0)
            return final
        delay = self.retry.delay(c.attempt_no, retry_after)
        due = utcnow() + timedelta(seconds=delay)
        ms = (time.monotonic() - t0) * 1000
        with self.db.session() as s:
            ok = mark_retry(
                s,
                c.delivery_id,
                c.token,
                due_at=due,
                error=msg,
                http_status=status,
                latency_ms=ms,
                needs_reconcile=needs_reconcile,
            )
        if ok:
            self.queue.requeue(c.delivery_id, to_epoch(due))
            log.warning(
                "delivery %s: retry %d in %.1f s: %s",
                c.delivery_id,
                c.attempt_no,
                delay,
                msg,
                extra={**fields, "retry_in_s": round(delay, 3)},
            )
        return "retry"

    def _final(
        self, c: Claim, payload: Payload, state: str, error: str, status: int | None, t0: float | None
    ) -> None:
        ms = (time.monotonic() - t0) * 1000 if t0 is not None else None
        with self.db.session() as s:
            ok = mark_final(s, c.delivery_id, c.token, state, error=error, http_status=status, latency_ms=ms)
        if ok:
            self.queue.release(c.delivery_id, [p.sha256 for p in payload.photos])


def posting_window(channel: Channel, cls: type[Connector]) -> tuple[int, float] | None:
    """The channel's posting-rate window: its ``rate_limit`` option ("N/SECONDS" or "off",
    for instances with other limits, or a simulator) or the platform's default."""
    opt = (channel.options or {}).get("rate_limit")
    if opt is None:
        return cls.posts_per_window
    if opt.strip().lower() in ("off", "none", "0"):
        return None
    n, _, secs = opt.partition("/")
    return int(n), float(secs)


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
