"""Which outcomes a person must hear about: a delivery failed or uncertain, and a channel whose
credentials the platform refused. Queued as alerts in the transaction that records them
(``record``), so an alert exists exactly when its outcome was written, and is sent later by the
scheduler's alert duty, never from the worker (a slow mail server never slows publishing)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import assert_never

from sqlalchemy.orm import Session

from herald.alerts import ChannelRevoked, DeliveryProblem, raise_delivery_alerts
from herald.delivery.outcomes import (
    Deferred,
    Failed,
    Held,
    Kept,
    Outcome,
    Published,
    Retry,
    Uncertain,
)

log = logging.getLogger(__name__)


def alert_outcomes(s: Session, outcomes: Sequence[Outcome]) -> None:
    """Queue the alerts ``outcomes`` call for (those written as ours), in ``s``'s transaction.
    A failure to queue them (a schema not yet migrated) is logged and rolled back alone: it
    never undoes the outcomes themselves."""
    problems: list[DeliveryProblem] = []
    revoked: list[ChannelRevoked] = []
    for o in outcomes:
        match o:
            case Failed() | Uncertain():
                problems.append(
                    DeliveryProblem(
                        delivery_id=o.claim.delivery_id,
                        post_id=o.payload.post_id,
                        channel_id=o.payload.channel_id,
                        platform=o.payload.platform,
                        state=o.answer,
                        error=o.error,
                        http_status=o.status,
                        attempt=o.claim.attempt_no,
                    )
                )
                if isinstance(o, Failed) and o.pause is not None:
                    revoked.append(ChannelRevoked(o.pause.channel_id, o.payload.platform, o.error))
            case Published() | Retry() | Deferred() | Held() | Kept():
                pass
            case _:
                assert_never(o)
    if not problems and not revoked:
        return
    try:
        with s.begin_nested():
            raise_delivery_alerts(s, problems, revoked)
    except Exception:  # an alert is never worth losing an outcome for
        log.exception("could not queue alerts for deliveries %s", [p.delivery_id for p in problems])
