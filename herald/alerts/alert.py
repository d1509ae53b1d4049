"""An alert: what happened, told to a person, once.

Every alert has a kind (a closed set, ``Kind``), a subject and body for people, the campaign it
belongs to (None: the installation's own, e.g. no worker alive) and a dedup key: alerts with the
same key go out at most once per dedup window (``Limits``), so a condition that goes on is one
message, not one per tick. Bodies carry names, platforms and errors, never a credential.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final

#: Longest subject kept (the column's width).
SUBJECT_CHARS: Final = 300
#: Longest dedup key kept.
DEDUP_KEY_CHARS: Final = 200


class Kind(enum.StrEnum):
    #: The platform refused a post, or its tries ran out.
    DELIVERY_FAILED = "delivery-failed"
    #: A post may be out and nobody can tell: a person must look.
    DELIVERY_UNCERTAIN = "delivery-uncertain"
    #: A channel's access token stops working within the warning period.
    TOKEN_EXPIRING = "token-expiring"
    #: The platform refused a channel's credentials: the channel is paused.
    TOKEN_REVOKED = "token-revoked"
    #: Messages wait and no worker takes them (dead or deaf workers).
    WORKERS_STALLED = "workers-stalled"
    #: No worker's heartbeat is fresh.
    NO_WORKER = "no-worker-alive"
    #: Due deliveries wait on the due set longer than the bound: the scheduler falls behind.
    SCHEDULER_LAGGING = "scheduler-lagging"
    #: Redis held a payload or photo Herald did not stage.
    QUEUE_TAMPERED = "queue-tampered"
    #: ``herald alert test``.
    TEST = "test"
    #: Any other condition a process reports (named in the subject).
    SYSTEM = "system"

    @classmethod
    def of(cls, value: str) -> Kind | None:
        try:
            return cls(value)
        except ValueError:
            return None


@dataclass(frozen=True)
class Alert:
    kind: Kind
    subject: str
    body: str
    dedup_key: str
    campaign_id: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", _cut(" ".join(self.subject.split()), SUBJECT_CHARS))
        object.__setattr__(self, "dedup_key", _cut(self.dedup_key, DEDUP_KEY_CHARS))


def system_alert(kind: str, message: str) -> Alert:
    """An alert of the installation's own (the scheduler's verdicts): deduplicated by kind."""
    known = Kind.of(kind)
    return Alert(
        kind=known or Kind.SYSTEM,
        subject=f"Herald: {kind}: {message}",
        body=message,
        dedup_key=kind,
    )


@dataclass(frozen=True)
class DeliveryProblem:
    """A delivery that ended failed or uncertain, as the worker recorded it (plain values: the
    delivery engine builds these from its outcomes)."""

    delivery_id: int
    post_id: str
    channel_id: int
    platform: str
    #: "failed" or "uncertain".
    state: str
    error: str
    http_status: int | None
    attempt: int


@dataclass(frozen=True)
class ChannelRevoked:
    """A channel the platform refused the credentials of (the worker paused it)."""

    channel_id: int
    platform: str
    reason: str


def delivery_alert(p: DeliveryProblem, channel: str, campaign_id: int | None, campaign: str | None) -> Alert:
    uncertain = p.state == "uncertain"
    what = "may have gone out (uncertain)" if uncertain else "failed"
    status = f" (HTTP {p.http_status})" if p.http_status else ""
    body = "\n".join(
        [
            f"A post {what} on {channel} ({p.platform}).",
            f"Campaign: {campaign or '(none)'}",
            f"Post: {p.post_id}",
            f"Delivery: {p.delivery_id}, attempt {p.attempt}",
            f"Error{status}: {p.error}",
            "A person must check the platform before retrying."
            if uncertain
            else "Retry it with `herald post retry` once the cause is fixed.",
        ]
    )
    return Alert(
        kind=Kind.DELIVERY_UNCERTAIN if uncertain else Kind.DELIVERY_FAILED,
        subject=f"Herald: post {what} on {channel} ({p.platform}): {p.error}",
        body=body,
        dedup_key=f"delivery:{p.delivery_id}:{p.state}",
        campaign_id=campaign_id,
    )


def revoked_alert(r: ChannelRevoked, channel: str) -> Alert:
    return Alert(
        kind=Kind.TOKEN_REVOKED,
        subject=f"Herald: {channel} ({r.platform}) credentials refused; channel paused",
        body="\n".join(
            [
                f"The platform refused the credentials of {channel} ({r.platform}): {r.reason}",
                "The channel is paused; its posts are held. Renew the token, then "
                f"`herald channel resume {channel}`.",
            ]
        ),
        dedup_key=f"token-revoked:{r.channel_id}",
    )


def expiry_alert(channel_id: int, channel: str, platform: str, expires_at: datetime, now: datetime) -> Alert:
    """A token that expires (or expired) at ``expires_at``: keyed by channel and day, so the
    check that runs every hour alerts once a day."""
    left = expires_at - now
    if left.total_seconds() <= 0:
        when = f"expired on {expires_at:%Y-%m-%d %H:%M} UTC"
    else:
        days = left.days
        when = (
            f"expires in {days} day{'s' if days != 1 else ''} ({expires_at:%Y-%m-%d %H:%M} UTC)"
            if days
            else (f"expires within a day ({expires_at:%Y-%m-%d %H:%M} UTC)")
        )
    return Alert(
        kind=Kind.TOKEN_EXPIRING,
        subject=f"Herald: the access token of {channel} ({platform}) {when}",
        body="\n".join(
            [
                f"The access token of {channel} ({platform}) {when}.",
                "Renew it on the platform, add the new credentials, and set the new expiry with "
                f"`herald channel set {channel} --token-expires YYYY-MM-DD`.",
            ]
        ),
        dedup_key=f"token-expiring:{channel_id}:{now:%Y-%m-%d}",
    )


def trial_alert(campaign: str | None, campaign_id: int | None, by: str) -> Alert:
    """``herald alert test``: goes where the campaign's alerts go."""
    where = f"campaign {campaign}" if campaign else "this installation"
    return Alert(
        kind=Kind.TEST,
        subject=f"Herald: test alert for {where}",
        body=f"A test alert for {where}, sent by {by}. If you read this, alerts reach you.",
        dedup_key=f"test:{campaign or ''}:{by}",
        campaign_id=campaign_id,
    )


def summary_alert(subjects: list[str], since: datetime) -> tuple[str, str]:
    """Subject and body of the message that names alerts held back by a target's rate limit."""
    n = len(subjects)
    shown = subjects[:MAX_SUMMARY_LINES]
    more = f"\n… and {n - len(shown)} more" if n > len(shown) else ""
    return (
        f"Herald: and {n} more alert{'s' if n != 1 else ''} (held back by the rate limit)",
        f"{n} alert{'s' if n != 1 else ''} since {since:%Y-%m-%d %H:%M} UTC were held back by this "
        "target's rate limit (each is in the audit log):\n" + "\n".join(f"- {s}" for s in shown) + more,
    )


#: Subjects a summary lists by name; the rest are counted.
MAX_SUMMARY_LINES: Final = 20


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
