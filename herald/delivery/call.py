"""The platform call for one delivery, with the reconciliation around it.

A taken-over claim (an earlier try may have gone out) asks the platform first and publishes
only if the post is not there; idempotent platforms simply resend with the same key. When a
call's answer is lost (``UncertainError``), the platform is asked again at once. The answer is
one of three results; ``decide`` turns it into an outcome.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

from herald.core.errors import HeraldError, PlatformError, UncertainError
from herald.platforms import Connector, Draft, Published

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sent:
    """The platform has the post: published now, or found by a look-up (``reconciled``)."""

    post: Published
    reconciled: bool
    latency_ms: float


@dataclass(frozen=True)
class Raised:
    """The call failed with a typed error, and nothing suggests the post went out (a refusal,
    a retryable failure; on a taken-over claim, also a failed look-up)."""

    error: HeraldError
    latency_ms: float


@dataclass(frozen=True)
class Unconfirmed:
    """The call's answer was lost and the look-up did not find the post: the platform said it
    is not there (``lookup_error`` None) or the look-up failed too."""

    error: UncertainError
    lookup_error: PlatformError | None
    latency_ms: float


CallResult = Sent | Raised | Unconfirmed


def call(connector: Connector, draft: Draft, *, takeover: bool, fields: Mapping[str, object]) -> CallResult:
    """Publish ``draft`` (after a look-up if ``takeover``). Exceptions other than Herald's
    typed errors (a bug) propagate."""
    t0 = time.monotonic()
    try:
        if takeover:
            found = connector.reconcile(draft)
            if found is not None:
                return Sent(found, True, _ms(t0))
            log.info(
                "delivery %s: reconcile found nothing on %s; publishing",
                fields["delivery_id"],
                fields["platform"],
                extra=fields,
            )
        return Sent(connector.publish(draft), False, _ms(t0))
    except UncertainError as e:
        log.warning(
            "delivery %s: uncertain outcome (%s); reconciling", fields["delivery_id"], e.detail, extra=fields
        )
        first = e
    except HeraldError as e:
        return Raised(e, _ms(t0))
    try:
        found = connector.reconcile(draft)
    except PlatformError as e2:
        return Unconfirmed(first, e2, _ms(t0))
    if found is not None:
        return Sent(found, True, _ms(t0))
    return Unconfirmed(first, None, _ms(t0))


def _ms(t0: float) -> float:
    return (time.monotonic() - t0) * 1000
