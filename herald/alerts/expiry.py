"""Access tokens about to die: a check the scheduler runs every hour.

A channel's ``token_expires_at`` is read from the platform where it says (Meta's
``debug_token``, daily: ``herald.delivery.expiry``), else set by the person who added the
token (``herald channel set NAME --token-expires``; Meta's long-lived tokens last 60 days).
From ``WARN_DAYS`` before, each channel alerts once a day (the alert's key holds the day) until
the token is renewed and the new date set, or the channel's expiry cleared.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from herald.alerts.alert import expiry_alert
from herald.alerts.outbox import raise_alert
from herald.store.alerts import alert_queued_with_key, tokens_expiring
from herald.store.db import Database
from herald.store.models import utcnow

#: Alert when a token has this many days or fewer left.
WARN_DAYS: Final = 7


def check_tokens(db: Database, *, now: datetime | None = None, warn_days: float = WARN_DAYS) -> int:
    """Queue an alert for each channel whose token expires within ``warn_days`` (or has
    expired), once per channel per day; returns how many were queued."""
    now = now or utcnow()
    queued = 0
    with db.session() as s:
        for t in tokens_expiring(s, now + timedelta(days=warn_days)):
            alert = expiry_alert(t.channel_id, t.channel, t.platform, t.expires_at, now)
            if alert_queued_with_key(s, alert.dedup_key):
                continue
            raise_alert(s, alert, now=now)
            queued += 1
    return queued
