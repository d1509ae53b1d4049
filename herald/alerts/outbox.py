"""Queueing alerts: a row in the caller's transaction, and the log line alerts always were.

Whoever decides an alert queues it here and returns at once; the sender (``sender``) delivers it
later from one place, so a slow mail server never slows publishing, and an alert decided in a
transaction that rolls back is never sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from herald.alerts.alert import (
    Alert,
    ChannelRevoked,
    DeliveryProblem,
    delivery_alert,
    revoked_alert,
    system_alert,
)
from herald.store.alerts import channel_names_by_id, delivery_contexts, queue_alert
from herald.store.db import Database
from herald.store.models import utcnow

#: The alert log channel: every alert is also an ERROR line here (what operators grep).
log = logging.getLogger("herald.alerts")


def raise_alert(s: Session, alert: Alert, *, now: datetime | None = None) -> int:
    """Queue ``alert`` in ``s``'s transaction (it is sent only if that commits); returns its id."""
    log.error(
        "ALERT %s: %s",
        alert.kind.value,
        alert.subject,
        extra={"alert": alert.kind.value, "campaign_id": alert.campaign_id},
    )
    return queue_alert(
        s,
        kind=alert.kind.value,
        campaign_id=alert.campaign_id,
        subject=alert.subject,
        body=alert.body,
        dedup_key=alert.dedup_key,
        at=now or utcnow(),
    )


def raise_delivery_alerts(
    s: Session, problems: Sequence[DeliveryProblem], revoked: Sequence[ChannelRevoked]
) -> None:
    """Queue an alert per failed or uncertain delivery (to its campaign's targets and the
    installation's) and per channel whose credentials were refused."""
    contexts = delivery_contexts(s, [p.delivery_id for p in problems]) if problems else {}
    for p in problems:
        ctx = contexts.get(p.delivery_id)
        raise_alert(
            s,
            delivery_alert(
                p,
                ctx.channel if ctx else f"channel {p.channel_id}",
                ctx.campaign_id if ctx else None,
                ctx.campaign if ctx else None,
            ),
        )
    names = channel_names_by_id(s, {r.channel_id for r in revoked}) if revoked else {}
    for r in revoked:
        raise_alert(s, revoked_alert(r, names.get(r.channel_id, f"channel {r.channel_id}")))


class Outbox:
    """``outbox(kind, message)``: the scheduler's ``Alert`` callable, queueing the
    installation's own alerts (its verdicts about workers and itself)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __call__(self, kind: str, message: str) -> None:
        try:
            with self.db.session() as s:
                raise_alert(s, system_alert(kind, message))
        except Exception:  # the database is down: the log line is all we can do now
            log.exception("ALERT %s: %s (could not be queued for sending)", kind, message)
