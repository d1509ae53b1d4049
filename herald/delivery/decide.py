"""From what we know about a delivery to its outcome: the checks before the platform call,
and the judgement of the call's result under the retry policy.

Nothing here touches SQL, Redis or a platform; ``record`` writes what is decided.

- A paused channel, or a post past its window (unless an earlier try may be out), is held.
- A delivery that comes due inside one of its campaign's blackout windows (a retry, a
  deferral, a post queued before the window was added) waits for the window's end, or is held
  for a person in a ``hold`` window; the payload carries the windows (``herald.core.intervals``).
- A channel over its posting rate defers the delivery without using up an attempt.
- A refusal fails it; refused credentials fail it and pause the channel. A refusal after an
  earlier try whose outcome is unknown is uncertain: the refusal may be "already posted".
- Anything retryable is retried after a backoff until the attempts run out. A lost answer
  that the look-up could not settle is retried with a look-up first, and is uncertain when
  the attempts run out.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import assert_never

from herald.core.errors import (
    AuthError,
    HeraldError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.core.intervals import Span, blocked_at
from herald.delivery.call import CallResult, Raised, Sent, Unconfirmed
from herald.delivery.outcomes import (
    ChannelPause,
    Deferred,
    Failed,
    Held,
    Outcome,
    Published,
    Retry,
    Uncertain,
    log_fields,
)
from herald.delivery.prepare import Job
from herald.delivery.retry import RetryPolicy
from herald.delivery.staging import from_epoch
from herald.store.models import utcnow

log = logging.getLogger(__name__)


def before_call(job: Job, *, now: float) -> Held | Deferred | None:
    """Held if the channel is paused, a blackout window holds it, or the post missed its
    window; deferred to a blackout window's end (``now``: epoch seconds)."""
    c, payload, channel = job.claim, job.payload, job.channel
    if channel.paused_at is not None:
        return Held(c, payload, f"channel {channel.name} is paused: {channel.pause_reason}")
    blackout = _blackout(job, now)
    if blackout is not None:
        return blackout
    if not c.takeover and payload.hold_after is not None and now > payload.hold_after:
        late = now - payload.hold_after
        log.warning(
            "delivery %s held: %.0f s past its window", c.delivery_id, late, extra=log_fields(c, payload)
        )
        return Held(
            c,
            payload,
            f"missed its window: {_human(late)} past the campaign's tolerance for "
            f"lateness; release it to send it anyway",
        )
    return None


def _blackout(job: Job, now: float) -> Held | Deferred | None:
    """Inside a blackout window of the post's campaign: held (a hold window), or deferred to
    the first instant clear of every window, in the order it was due. A claim taken over after
    an earlier try whose outcome is unknown is deferred either way: holding it would let a
    person's release drop the look-up that must come before sending again."""
    c, payload = job.claim, job.payload
    b = blocked_at([Span(*w) for w in payload.blackouts], now)
    if b is None:
        return None
    name = f"blackout {b.span.label!r}" if b.span.label else "a blackout window"
    if b.hold and not c.takeover:
        log.info("delivery %s held: %s", c.delivery_id, name, extra=log_fields(c, payload))
        return Held(c, payload, f"{name} holds posts due then for a person; release it to send it anyway")
    until = b.release_at(min(payload.due, now)) if not b.hold else b.until
    log.info("delivery %s deferred to the end of %s", c.delivery_id, name, extra=log_fields(c, payload))
    return Deferred(
        c,
        payload,
        reason=f"{name} until {datetime.fromtimestamp(until, UTC):%Y-%m-%d %H:%M}Z",
        due=datetime.fromtimestamp(until, UTC).replace(tzinfo=None),
        needs_reconcile=c.takeover,
    )


def deferral(job: Job, until: float) -> Deferred:
    """Not now: the channel is over its posting rate until ``until`` (epoch seconds, as the
    rate gate gave it: deliveries deferred together come back at the same instant)."""
    c, channel = job.claim, job.channel
    wait = until - max(time.time(), c.due)
    log.info(
        "delivery %s deferred %.1f s: channel %s rate-limited",
        c.delivery_id,
        wait,
        channel.name,
        extra=log_fields(c, job.payload),
    )
    return Deferred(
        c,
        job.payload,
        reason=f"channel {channel.name} rate-limited for {wait:.1f} s",
        due=from_epoch(until),
        needs_reconcile=c.takeover,
    )


def decide(job: Job, result: CallResult, policy: RetryPolicy) -> Outcome:
    """The outcome of a platform call."""
    match result:
        case Sent(post=post, reconciled=reconciled, latency_ms=ms):
            return Published(job.claim, job.payload, post.remote_id, post.url, reconciled, ms)
        case Unconfirmed():
            return _unconfirmed(job, result, policy)
        case Raised():
            return _raised(job, result, policy)
        case _:
            assert_never(result)


def _unconfirmed(job: Job, result: Unconfirmed, policy: RetryPolicy) -> Outcome:
    e, e2, ms = result.error, result.lookup_error, result.latency_ms
    if e2 is None:  # certainly not out: send again, but look first in case that changes
        return _retry_or_fail(job, e, ms, policy, retry_after=None, needs_reconcile=True)
    if isinstance(e2, UncertainError):
        return Uncertain(
            job.claim,
            job.payload,
            f"{e}; could not confirm whether it was published ({e2.detail}): check the "
            f"account, then retry or confirm it",
            e.status,
            ms,
        )
    # The look-up itself failed: we still do not know. Try the look-up again later.
    retry_after = e2.retry_after if isinstance(e2, RetryableError) else None
    return _retry_or_fail(job, e2, ms, policy, retry_after=retry_after, needs_reconcile=True, first=e)


def _raised(job: Job, result: Raised, policy: RetryPolicy) -> Outcome:
    c, payload, channel = job.claim, job.payload, job.channel
    e, ms = result.error, result.latency_ms
    if isinstance(e, RetryableError):
        return _retry_or_fail(job, e, ms, policy, retry_after=e.retry_after)
    if isinstance(e, AuthError):
        log.error(
            "delivery %s failed: credentials refused; channel %s paused",
            c.delivery_id,
            channel.name,
            extra=log_fields(c, payload),
        )
        pause = ChannelPause(channel.id, f"credentials refused by {payload.platform}: {e.detail}")
        return Failed(c, payload, str(e), e.status, ms, pause)
    if isinstance(e, PermanentError):
        if c.takeover:
            # An earlier try may have gone out and the look-up did not find it: a refusal now
            # (a duplicate, typically) is no proof of failure. A person must look.
            return Uncertain(
                c,
                payload,
                f"refused after an earlier try whose outcome is unknown, so it may already be published: {e}",
                e.status,
                ms,
            )
        log.error("delivery %s failed: %s", c.delivery_id, e, extra=log_fields(c, payload))
        return Failed(c, payload, str(e), e.status, ms)
    return _retry_or_fail(job, e, ms, policy, retry_after=None)


def _retry_or_fail(
    job: Job,
    e: HeraldError,
    ms: float,
    policy: RetryPolicy,
    *,
    retry_after: float | None,
    needs_reconcile: bool = False,
    first: HeraldError | None = None,
) -> Retry | Failed | Uncertain:
    """Retry after a backoff, or give up once the attempts are used up: failed, or uncertain
    if the last try may have gone out (``needs_reconcile``)."""
    c, payload = job.claim, job.payload
    status = e.status if isinstance(e, PlatformError) else None
    msg = str(e) if first is None else f"{first}; then {e}"
    if policy.gives_up(c.attempt_no):
        error = f"gave up after {c.attempt_no} attempts: {msg}"
        if needs_reconcile:
            return Uncertain(c, payload, error, status, ms)
        return Failed(c, payload, error, status, ms)
    delay = policy.delay(c.attempt_no, retry_after)
    log.warning(
        "delivery %s: retry %d in %.1f s: %s",
        c.delivery_id,
        c.attempt_no,
        delay,
        msg,
        extra={**log_fields(c, payload), "retry_in_s": round(delay, 3)},
    )
    return Retry(c, payload, msg, status, utcnow() + timedelta(seconds=delay), needs_reconcile, ms)


def _human(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
