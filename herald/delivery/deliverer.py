"""Publishing deliveries: claim them in SQL, call the connectors, record the outcomes, ack Redis.

This is the worker's whole job and the heart of "exactly once":

1. ``claim_many`` is a compare-and-set (queued → publishing, with a fresh attempt token and
   a SQL lease); a re-delivered Celery message, a second worker or a cancelled post all lose
   here.
2. The attempt rows (and each delivery's idempotency key) are in SQL before any platform call.
3. If an earlier try may have gone out (an expired lease, an uncertain answer), the connector
   reconciles first: idempotent platforms resend with the same key, the others look the post up.
4. Outcomes are written with the attempt token; only then is Redis acknowledged. A crash in
   between leaves the deliveries in flight, the reaper returns them, and step 1 sorts it out.

A batch (``deliver_many``) costs one SQL commit to claim and one to record, and a handful of
Redis round trips, whatever its size; each platform call is still made and judged on its own.
The price of batching the record step: if the worker dies after publishing part of a batch,
those deliveries are reconciled by the next claim instead of being recorded at once — the
same path as any crash, so nothing is lost or sent twice.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from content_queue import ContentQueue, Payload
from herald.core.errors import (
    AuthError,
    HeraldError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.delivery.staging import build_payloads, photo_bytes, to_epoch
from herald.platforms import Connector, ConnectorConfig, Draft, Photo, Published, connector_class
from herald.store import states
from herald.store.crypto import CredentialBox
from herald.store.db import Database
from herald.store.deliveries import (
    Claim,
    PublishedRecord,
    claim_many,
    claim_takedown,
    defer,
    extend_leases,
    finish_takedown,
    mark_final,
    mark_retry,
    pause_channel,
    record_published_many,
)
from herald.store.models import Channel, Delivery, utcnow

log = logging.getLogger(__name__)

#: How long a photo shared for a platform to fetch stays reachable if nobody revokes it.
SHARED_PHOTO_TTL_SECONDS = 3600


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


@dataclass
class Outcome:
    """What became of one claimed delivery, to be recorded (SQL) and acknowledged (Redis).

    ``kind``: ``published`` | ``retry`` | ``final`` | ``defer`` | ``keep`` (leave the claim:
    its lease will run out and the next claim reconciles).
    """

    claim: Claim
    kind: str
    payload: Payload | None = None
    result: Published | None = None
    label: str = ""  # published | reconciled ; the final state ; "retry" ; "deferred"
    state: str | None = None
    error: str | None = None
    status: int | None = None
    due: datetime | None = None
    needs_reconcile: bool = False
    latency_ms: float | None = None
    pause_channel: tuple[int, str] | None = None
    fields: dict[str, object] = field(default_factory=dict)

    @property
    def answer(self) -> str:
        return self.label or self.kind

    @classmethod
    def ended(
        cls,
        c: Claim,
        payload: Payload,
        state: str,
        error: str,
        *,
        status: int | None = None,
        latency_ms: float | None = None,
        fields: dict[str, object] | None = None,
        pause_channel: tuple[int, str] | None = None,
    ) -> Outcome:
        """A final outcome: failed, uncertain or held."""
        return cls(
            c,
            "final",
            payload,
            label=state,
            state=state,
            error=error,
            status=status,
            latency_ms=latency_ms,
            fields=fields or {},
            pause_channel=pause_channel,
        )


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
        public_url: str | None = None,
    ) -> None:
        self.db = db
        self.queue = queue
        self.box = box
        self.lease_seconds = lease_seconds
        self.retry = retry or RetryPolicy()
        self.connector_factory = connector_factory
        self.worker_name = worker_name or socket.gethostname()
        #: Base URL where the web app serves shared photos (``/p/{token}``), if any.
        self.public_url = public_url.rstrip("/") if public_url else None
        self._connectors: dict[int, tuple[bytes, str | None, Connector]] = {}
        self._lock = threading.Lock()
        #: Leases held right now, by claim token, for the heartbeat thread.
        self._held: dict[str, list[int]] = {}
        self._beater: threading.Thread | None = None
        self._stop = threading.Event()

    # -- public ----------------------------------------------------------------------------

    def deliver(self, delivery_id: int) -> str:
        """Publish one delivery if it is ours to publish. Returns what happened."""
        return self.deliver_many([delivery_id])[0]

    def deliver_many(self, delivery_ids: Sequence[int]) -> list[str]:
        """Publish every one of ``delivery_ids`` that is ours to publish, in order. Returns what
        happened to each (for logs and tests)."""
        ids = [int(i) for i in delivery_ids]
        with self.db.session() as s:
            claims = claim_many(s, ids, lease_seconds=self.lease_seconds)
            channels = self._channels(s, {c.channel_id for c in claims})
        answers: dict[int, str] = {}
        claimed = {c.delivery_id for c in claims}
        for i in ids:
            if i not in claimed and i not in answers:
                answers[i] = self._not_claimed(i)
        if claims:
            outcomes: list[Outcome] = []
            try:
                with self._heartbeat(claims):
                    # 429 holds for the batch's channels in one round trip; channels with a
                    # posting window still go through the rate gate script, one call each.
                    holds = self.queue.channel_holds(sorted(channels))
                    for c, payload, photos, channel in self._prepare(claims, channels):
                        outcomes.append(self._decide(c, payload, photos, channel, holds))
            except Exception:
                # A bug or an infrastructure failure (SQL, Redis): what is decided is recorded
                # below; the rest keep their claims, whose leases expire, and the next claim
                # takes them over and reconciles, so nothing is lost or sent twice.
                log.exception(
                    "deliveries %s: unexpected error; the leases will expire and they will be retried",
                    [
                        c.delivery_id
                        for c in claims
                        if c.delivery_id not in {o.claim.delivery_id for o in outcomes}
                    ],
                )
            done = {o.claim.delivery_id for o in outcomes}
            outcomes += [Outcome(c, "keep", label="error") for c in claims if c.delivery_id not in done]
            self._record(outcomes)
            answers.update({o.claim.delivery_id: o.answer for o in outcomes})
        return [answers[i] for i in ids]

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            for _, _, conn in self._connectors.values():
                conn.close()
            self._connectors.clear()

    # -- claiming and preparing ------------------------------------------------------------

    @contextmanager
    def _heartbeat(self, claims: Sequence[Claim]) -> Iterator[None]:
        """Hold these claims' leases while we publish: one long-lived thread per Deliverer
        extends every held lease (SQL and Redis) each third of the lease, so a slow but alive
        worker is never taken over, and a dead one stops beating and its leases run out."""
        token = claims[0].token
        with self._lock:
            self._held[token] = [c.delivery_id for c in claims]
            if self._beater is None or not self._beater.is_alive():
                self._beater = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
                self._beater.start()
        try:
            yield
        finally:
            with self._lock:
                self._held.pop(token, None)

    def _beat(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = dict(self._held)
            if not held:
                continue
            try:
                with self.db.session() as s:
                    for token, ids in held.items():
                        extend_leases(s, ids, token, lease_seconds=self.lease_seconds)
                self.queue.extend_leases([i for ids in held.values() for i in ids], self.lease_seconds)
            except Exception:  # a failed beat only shortens the leases; never kill a publish
                log.warning("lease heartbeat failed for %s", held, exc_info=True)

    @staticmethod
    def _channels(s: Any, ids: set[int]) -> dict[int, Channel]:
        if not ids:
            return {}
        found = {ch.id: ch for ch in s.execute(select(Channel).where(Channel.id.in_(ids))).scalars()}
        for ch in found.values():
            s.expunge(ch)
        return found

    def _prepare(
        self, claims: Sequence[Claim], channels: dict[int, Channel]
    ) -> Iterator[tuple[Claim, Payload, dict[str, bytes], Channel]]:
        """Payloads (Redis, one round trip; SQL for any Redis lost or that an edit outdated)
        and photo bytes for the claimed deliveries."""
        staged = self.queue.payloads([c.delivery_id for c in claims])
        stale = [
            c.delivery_id
            for c in claims
            if c.delivery_id not in staged or staged[c.delivery_id].post_version != c.post_version
        ]
        rebuilt: dict[int, tuple[Payload, dict[str, bytes]]] = {}
        if stale:
            with self.db.read() as s:
                rebuilt = {p.delivery_id: (p, ph) for p, ph in build_payloads(s, stale)}
        shas = sorted({p.sha256 for i, pl in staged.items() if i not in rebuilt for p in pl.photos})
        photos = self.queue.photos(shas)
        missing = [sha for sha in shas if sha not in photos]
        if missing:
            with self.db.read() as s:
                photos.update(photo_bytes(s, missing))
        for c in claims:
            if c.delivery_id in rebuilt:
                payload, own = rebuilt[c.delivery_id]
            else:
                payload, own = staged[c.delivery_id], photos
            yield c, payload, own, channels[payload.channel_id]

    def _connector(self, channel: Channel) -> Connector:
        with self._lock:
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

    def _draft(
        self, payload: Payload, photos: dict[str, bytes], connector: Connector
    ) -> tuple[Draft, list[str]]:
        """The draft for this channel; photos get a short-lived public URL when the platform
        fetches them itself (returns the tokens to revoke afterwards)."""
        share = type(connector).needs_public_photo_url and self.public_url
        tokens: list[str] = []
        out = []
        for p in payload.photos:
            url = None
            if share:
                token = self.queue.share_photo(photos[p.sha256], p.mime_type, SHARED_PHOTO_TTL_SECONDS)
                tokens.append(token)
                url = f"{self.public_url}/p/{token}"
            out.append(
                Photo(
                    data=photos[p.sha256],
                    mime_type=p.mime_type,
                    width=p.width,
                    height=p.height,
                    alt_text=p.alt_text,
                    filename=p.filename,
                    public_url=url,
                )
            )
        draft = Draft(
            text=payload.text,
            idempotency_key=payload.idempotency_key,
            photos=tuple(out),
            language=payload.language,
        )
        return draft, tokens

    # -- deciding --------------------------------------------------------------------------

    def _decide(
        self,
        c: Claim,
        payload: Payload,
        photos: dict[str, bytes],
        channel: Channel,
        holds: dict[int, float] | None = None,
    ) -> Outcome:
        """Everything short of recording: checks, the platform call, the judgement."""
        fields: dict[str, object] = {
            "delivery_id": c.delivery_id,
            "post_id": payload.post_id,
            "platform": payload.platform,
            "attempt": c.attempt_no,
        }

        if channel.paused_at is not None:
            reason = f"channel {channel.name} is paused: {channel.pause_reason}"
            return Outcome.ended(c, payload, states.HELD, reason, fields=fields)
        now = time.time()
        if not c.takeover and payload.hold_after is not None and now > payload.hold_after:
            late = now - payload.hold_after
            log.warning("delivery %s held: %.0f s past its window", c.delivery_id, late, extra=fields)
            return Outcome.ended(
                c,
                payload,
                states.HELD,
                f"missed its window: {_human(late)} past the campaign's tolerance for "
                f"lateness; release it to send it anyway",
                fields=fields,
            )
        connector = self._connector(channel)
        window = posting_window(channel, type(connector))
        if window is None and holds is not None:
            wait = max(0.0, holds.get(channel.id, 0.0) - time.time())
        else:
            wait = self.queue.rate_gate(channel.id, window, f"{c.token}:{c.delivery_id}")
        if wait > 0:
            log.info(
                "delivery %s deferred %.1f s: channel %s rate-limited",
                c.delivery_id,
                wait,
                channel.name,
                extra=fields,
            )
            return Outcome(
                c,
                "defer",
                payload,
                label="deferred",
                due=utcnow() + timedelta(seconds=wait),
                needs_reconcile=c.takeover,
                error=f"channel {channel.name} rate-limited for {wait:.1f} s",
                fields=fields,
            )
        draft, shared = self._draft(payload, photos, connector)
        try:
            return self._call(c, payload, channel, connector, draft, fields, holds)
        finally:
            # The platform has fetched what it needed once the call returns: stop serving it.
            self.queue.unshare_photos(shared)

    def _call(
        self,
        c: Claim,
        payload: Payload,
        channel: Channel,
        connector: Connector,
        draft: Draft,
        fields: dict[str, object],
        holds: dict[int, float] | None = None,
    ) -> Outcome:
        t0 = time.monotonic()

        def ms() -> float:
            return (time.monotonic() - t0) * 1000

        try:
            if c.takeover:
                found = connector.reconcile(draft)
                if found is not None:
                    return Outcome(
                        c, "published", payload, found, "reconciled", latency_ms=ms(), fields=fields
                    )
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
                until = time.time() + e.retry_after
                self.queue.hold_channel(channel.id, until)
                if holds is not None:  # later deliveries of this batch see it too
                    holds[channel.id] = max(holds.get(channel.id, 0.0), until)
            return self._retry_or_fail(c, payload, e, t0, fields, retry_after=e.retry_after)
        except AuthError as e:
            log.error(
                "delivery %s failed: credentials refused; channel %s paused",
                c.delivery_id,
                channel.name,
                extra=fields,
            )
            return Outcome.ended(
                c,
                payload,
                states.FAILED,
                str(e),
                status=e.status,
                latency_ms=ms(),
                fields=fields,
                pause_channel=(channel.id, f"credentials refused by {payload.platform}: {e.detail}"),
            )
        except PermanentError as e:
            if c.takeover:
                # An earlier try may have gone out and the look-up did not find it: a refusal
                # now (a duplicate, typically) is no proof of failure. A person must look.
                return Outcome.ended(
                    c,
                    payload,
                    states.UNCERTAIN,
                    f"refused after an earlier try whose outcome is unknown, so it may "
                    f"already be published: {e}",
                    status=e.status,
                    latency_ms=ms(),
                    fields=fields,
                )
            log.error("delivery %s failed: %s", c.delivery_id, e, extra=fields)
            return Outcome.ended(
                c,
                payload,
                states.FAILED,
                str(e),
                status=e.status,
                latency_ms=ms(),
                fields=fields,
            )
        except HeraldError as e:
            return self._retry_or_fail(c, payload, e, t0, fields, retry_after=None)
        return Outcome(c, "published", payload, result, "published", latency_ms=ms(), fields=fields)

    def _uncertain(
        self,
        c: Claim,
        payload: Payload,
        connector: Connector,
        draft: Draft,
        e: UncertainError,
        t0: float,
        fields: dict[str, object],
    ) -> Outcome:
        log.warning("delivery %s: uncertain outcome (%s); reconciling", c.delivery_id, e.detail, extra=fields)
        try:
            found = connector.reconcile(draft)
        except UncertainError as e2:
            return Outcome.ended(
                c,
                payload,
                states.UNCERTAIN,
                f"{e}; could not confirm whether it was published ({e2.detail}): check the "
                f"account, then retry or confirm it",
                status=e.status,
                latency_ms=(time.monotonic() - t0) * 1000,
                fields=fields,
            )
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
            return Outcome(
                c,
                "published",
                payload,
                found,
                "reconciled",
                latency_ms=(time.monotonic() - t0) * 1000,
                fields=fields,
            )
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
    ) -> Outcome:
        status = e.status if isinstance(e, PlatformError) else None
        msg = str(e) if first_error is None else f"{first_error}; then {e}"
        ms = (time.monotonic() - t0) * 1000
        if c.attempt_no >= self.retry.max_attempts:
            final = states.UNCERTAIN if needs_reconcile else states.FAILED
            return Outcome.ended(
                c,
                payload,
                final,
                f"gave up after {c.attempt_no} attempts: {msg}",
                status=status,
                latency_ms=ms,
                fields=fields,
            )
        delay = self.retry.delay(c.attempt_no, retry_after)
        log.warning(
            "delivery %s: retry %d in %.1f s: %s",
            c.delivery_id,
            c.attempt_no,
            delay,
            msg,
            extra={**fields, "retry_in_s": round(delay, 3)},
        )
        return Outcome(
            c,
            "retry",
            payload,
            label="retry",
            error=msg,
            status=status,
            due=utcnow() + timedelta(seconds=delay),
            needs_reconcile=needs_reconcile,
            latency_ms=ms,
            fields=fields,
        )

    # -- recording -------------------------------------------------------------------------

    def _record(self, outcomes: Sequence[Outcome]) -> None:
        """Write every outcome in one transaction (each a compare-and-set with the attempt
        token), then acknowledge Redis in one round trip. A lost compare-and-set means our
        lease ran out and another worker took over: it reconciles, so we touch nothing."""
        acks: list[tuple[str, int, object]] = []
        with self.db.session() as s:
            published = record_published_many(
                s,
                [
                    PublishedRecord(
                        o.claim.delivery_id,
                        o.claim.token,
                        o.result.remote_id,
                        o.result.url,
                        o.label,
                        o.latency_ms,
                    )
                    for o in outcomes
                    if o.kind == "published" and o.result is not None
                ],
            )
            for o in outcomes:
                c, d = o.claim, o.claim.delivery_id
                shas = [p.sha256 for p in o.payload.photos] if o.payload else []
                if o.kind == "keep":
                    continue
                if o.kind == "published":
                    ok, takedown = published[d]
                    if takedown:
                        # Someone pulled the post while we were publishing it: delete it next.
                        acks.append(("requeue", d, time.time()))
                    elif ok:
                        acks.append(("release", d, shas))
                elif o.kind == "retry":
                    assert o.due is not None and o.error is not None
                    ok = mark_retry(
                        s,
                        d,
                        c.token,
                        due_at=o.due,
                        error=o.error,
                        http_status=o.status,
                        latency_ms=o.latency_ms,
                        needs_reconcile=o.needs_reconcile,
                    )
                    if ok:
                        acks.append(("requeue", d, to_epoch(o.due)))
                elif o.kind == "defer":
                    assert o.due is not None and o.error is not None
                    ok = defer(s, d, c.token, due_at=o.due, reason=o.error, reconcile=o.needs_reconcile)
                    if ok:
                        acks.append(("requeue", d, to_epoch(o.due)))
                else:
                    assert o.state is not None and o.error is not None
                    ok = mark_final(
                        s, d, c.token, o.state, error=o.error, http_status=o.status, latency_ms=o.latency_ms
                    )
                    if o.pause_channel is not None:
                        pause_channel(s, *o.pause_channel)
                    if ok:
                        acks.append(("release", d, shas))
                if not ok:
                    log.error(
                        "delivery %s: %s but the claim was lost; the new holder will reconcile",
                        d,
                        o.answer,
                        extra=o.fields,
                    )
                    o.label = "lost-claim"
        self.queue.settle(acks)
        for o in outcomes:
            if (
                o.kind == "published"
                and o.result is not None
                and o.payload is not None
                and o.label != "lost-claim"
            ):
                log.info(
                    "delivery %s %s on %s as %s (%.0f ms, %.3f s after due)",
                    o.claim.delivery_id,
                    o.label,
                    o.payload.platform,
                    o.result.remote_id,
                    o.latency_ms or 0.0,
                    time.time() - o.payload.due,
                    extra={
                        **o.fields,
                        "duration_ms": round(o.latency_ms or 0.0, 1),
                        "remote_id": o.result.remote_id,
                    },
                )

    # -- not ours, and takedowns ------------------------------------------------------------

    def _not_claimed(self, delivery_id: int) -> str:
        with self.db.session() as s:
            d = s.get(Delivery, delivery_id)
            state = d.state if d else None
            lease = d.lease_expires_at if d else None
            due = d.due_at if d else None
        if d is None:
            self.queue.release(delivery_id, [])
            return "missing"
        if state == states.DELETING:
            return self._takedown(delivery_id, lease)
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

    def _takedown(self, delivery_id: int, lease: datetime | None) -> str:
        """Delete a published post from its platform (a person asked for a takedown)."""
        now = utcnow()
        if lease is not None and lease > now:
            self.queue.hold_inflight(delivery_id, to_epoch(lease) + 0.05)
            return "busy"
        with self.db.session() as s:
            tc = claim_takedown(s, delivery_id, lease_seconds=self.lease_seconds)
            channel = s.get(Channel, tc.channel_id) if tc else None
            if channel is not None:
                s.expunge(channel)
        if tc is None or channel is None:
            return "busy"
        fields = {"delivery_id": delivery_id, "platform": channel.platform, "attempt": tc.attempt_no}
        t0 = time.monotonic()
        try:
            self._connector(channel).delete(tc.remote_id)
        except (RetryableError, UncertainError) as e:
            delay = self.retry.delay(tc.attempt_no, getattr(e, "retry_after", None))
            with self.db.session() as s:
                ok = finish_takedown(
                    s, tc, "retry", error=str(e), retry_at=utcnow() + timedelta(seconds=delay)
                )
            if ok:
                self.queue.requeue(delivery_id, time.time() + delay)
            log.warning("takedown of delivery %s: retry in %.1f s: %s", delivery_id, delay, e, extra=fields)
            return "retry"
        except HeraldError as e:
            with self.db.session() as s:
                finish_takedown(s, tc, "refused", error=str(e))
            self.queue.release(delivery_id)
            log.error("takedown of delivery %s refused: %s", delivery_id, e, extra=fields)
            return "takedown-refused"
        ms = (time.monotonic() - t0) * 1000
        with self.db.session() as s:
            finish_takedown(s, tc, "deleted", latency_ms=ms)
        self.queue.release(delivery_id)
        log.info("delivery %s taken down from %s (%.0f ms)", delivery_id, channel.platform, ms, extra=fields)
        return states.DELETED


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
