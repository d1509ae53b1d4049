"""Alerts in SQL: targets (sealed URLs), the queue of alerts to send, and what each target got.

An alert is queued in the transaction that decided it (a worker's outcomes) and sent later by
one sender (``herald.alerts.sender``): a row moves pending → sending (claimed, compare-and-set,
until ``claimed_until``) → done, with its outcome. A sender that dies mid-send leaves rows in
"sending" that any sender takes again once the claim ends (at least once). ``alert_sends``
holds one row per (alert, target), which the per-target rate limit counts.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update
from sqlalchemy.orm import Session

from herald.store.models import (
    AlertMessage,
    AlertSend,
    AlertTarget,
    Campaign,
    Channel,
    Delivery,
    Post,
)

PENDING = "pending"
SENDING = "sending"
DONE = "done"

#: A target's sends that count towards its rate limit (a held-back alert does not).
COUNTED = ("sent", "failed")


# -- targets -----------------------------------------------------------------------------------


def add_target(
    s: Session, *, campaign_id: int | None, url_encrypted: bytes, shown: str, created_by: str
) -> int:
    t = AlertTarget(campaign_id=campaign_id, url_encrypted=url_encrypted, shown=shown, created_by=created_by)
    s.add(t)
    s.flush()
    return t.id


def target_by_id(s: Session, target_id: int) -> AlertTarget | None:
    return s.get(AlertTarget, target_id)


def remove_target(s: Session, target_id: int) -> bool:
    res = s.execute(delete(AlertTarget).where(AlertTarget.id == target_id))
    return bool(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


def targets_listed(s: Session, campaigns: Collection[int] | None, include_global: bool) -> list[AlertTarget]:
    """Targets of ``campaigns`` (None: every campaign) and, if asked, the installation-wide ones."""
    q = select(AlertTarget)
    conds = []
    if campaigns is None:
        conds.append(AlertTarget.campaign_id.is_not(None))
    elif campaigns:
        conds.append(AlertTarget.campaign_id.in_(list(campaigns)))
    if include_global:
        conds.append(AlertTarget.campaign_id.is_(None))
    if not conds:
        return []
    return list(s.execute(q.where(or_(*conds)).order_by(AlertTarget.id)).scalars())


def targets_for(s: Session, campaign_id: int | None) -> list[AlertTarget]:
    """Where an alert of ``campaign_id`` goes: that campaign's targets and the installation's."""
    cond: ColumnElement[bool] = AlertTarget.campaign_id.is_(None)
    if campaign_id is not None:
        cond = or_(cond, AlertTarget.campaign_id == campaign_id)
    return list(s.execute(select(AlertTarget).where(cond).order_by(AlertTarget.id)).scalars())


# -- the queue ---------------------------------------------------------------------------------


def queue_alert(
    s: Session,
    *,
    kind: str,
    campaign_id: int | None,
    subject: str,
    body: str,
    dedup_key: str,
    at: datetime,
) -> int:
    m = AlertMessage(
        kind=kind,
        campaign_id=campaign_id,
        subject=subject,
        body=body,
        dedup_key=dedup_key,
        status=PENDING,
        created_at=at,
    )
    s.add(m)
    s.flush()
    return m.id


def alert_queued_with_key(s: Session, dedup_key: str) -> bool:
    """Was an alert with this key ever queued (and not yet forgotten)?"""
    return (
        s.execute(select(AlertMessage.id).where(AlertMessage.dedup_key == dedup_key).limit(1)).first()
        is not None
    )


@dataclass(frozen=True)
class DeliveryContext:
    channel: str
    campaign_id: int | None
    campaign: str | None


def delivery_contexts(s: Session, delivery_ids: Collection[int]) -> dict[int, DeliveryContext]:
    """Each delivery's channel name and campaign (id and name), for an alert's text."""
    rows = s.execute(
        select(Delivery.id, Channel.name, Post.campaign_id, Campaign.name)
        .join(Channel, Channel.id == Delivery.channel_id)
        .join(Post, Post.id == Delivery.post_id)
        .outerjoin(Campaign, Campaign.id == Post.campaign_id)
        .where(Delivery.id.in_(list(delivery_ids)))
    )
    return {d: DeliveryContext(ch, cid, cname) for d, ch, cid, cname in rows}


def channel_names_by_id(s: Session, ids: Collection[int]) -> dict[int, str]:
    rows = s.execute(select(Channel.id, Channel.name).where(Channel.id.in_(list(ids))))
    return {int(r[0]): str(r[1]) for r in rows}


def claim_pending(
    s: Session, *, now: datetime, until: datetime, limit: int, only: int | None = None
) -> list[AlertMessage]:
    """Claim up to ``limit`` alerts to send (or just ``only``), oldest first: pending ones and
    ones whose sender's claim ran out.

    The pick is a scan, so on PostgreSQL it is ``FOR UPDATE SKIP LOCKED``: a second sender
    (each scheduler runs one) passes over the rows the first is claiming and takes the next
    ones, instead of queueing behind its lock to find them gone. The claim itself is still a
    compare-and-set on the state, which is what makes it once-only on SQLite (whose writers
    take turns and which has no row locks) and whatever the isolation level.
    """
    waiting = or_(
        AlertMessage.status == PENDING,
        (AlertMessage.status == SENDING) & (AlertMessage.claimed_until < now),
    )
    q = select(AlertMessage.id).where(waiting)
    if only is not None:
        q = q.where(AlertMessage.id == only)
    ids = list(
        s.execute(q.order_by(AlertMessage.id).limit(limit).with_for_update(skip_locked=True)).scalars()
    )
    if not ids:
        return []
    claimed = list(
        s.execute(
            update(AlertMessage)
            .where(AlertMessage.id.in_(ids), waiting)
            .values(status=SENDING, claimed_until=until)
            .returning(AlertMessage.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if not claimed:
        return []
    return list(
        s.execute(
            select(AlertMessage).where(AlertMessage.id.in_(claimed)).order_by(AlertMessage.id)
        ).scalars()
    )


def sent_within(s: Session, dedup_key: str, since: datetime, before_id: int) -> bool:
    """Did an earlier alert with this key go out (or was tried) since ``since``?"""
    row = s.execute(
        select(AlertMessage.id)
        .where(
            AlertMessage.dedup_key == dedup_key,
            AlertMessage.id < before_id,
            AlertMessage.status == DONE,
            AlertMessage.outcome.in_(("sent", "failed", "limited")),
            AlertMessage.done_at >= since,
        )
        .limit(1)
    ).first()
    return row is not None


def finish(s: Session, message_id: int, outcome: str, at: datetime) -> None:
    s.execute(
        update(AlertMessage)
        .where(AlertMessage.id == message_id)
        .values(status=DONE, outcome=outcome, done_at=at, claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def forget_done(s: Session, before: datetime) -> int:
    """Drop alerts done before ``before`` (the audit log keeps what each was)."""
    res = s.execute(delete(AlertMessage).where(AlertMessage.status == DONE, AlertMessage.done_at < before))
    return int(res.rowcount)  # type: ignore[attr-defined]  # CursorResult has rowcount


# -- sends per target --------------------------------------------------------------------------


def sends_since(s: Session, target_id: int, since: datetime) -> int:
    """How many messages ``target_id`` was sent (or tried) since ``since``: its rate limit."""
    return int(
        s.execute(
            select(func.count(AlertSend.id)).where(
                AlertSend.target_id == target_id, AlertSend.at >= since, AlertSend.outcome.in_(COUNTED)
            )
        ).scalar_one()
    )


def add_sends(s: Session, rows: Sequence[tuple[int, int | None, str]], at: datetime) -> None:
    """Record (target id, alert id or None for a summary, outcome) rows."""
    s.add_all([AlertSend(target_id=t, message_id=m, outcome=o, at=at) for t, m, o in rows])


@dataclass(frozen=True)
class HeldBack:
    send_id: int
    subject: str
    at: datetime


def held_back(s: Session, target_id: int) -> list[HeldBack]:
    """The alerts the rate limit held back from ``target_id`` that no summary named yet."""
    rows = s.execute(
        select(AlertSend.id, AlertMessage.subject, AlertSend.at)
        .join(AlertMessage, AlertMessage.id == AlertSend.message_id)
        .where(AlertSend.target_id == target_id, AlertSend.outcome == "limited")
        .order_by(AlertSend.id)
    )
    return [HeldBack(i, subj, at) for i, subj, at in rows]


def targets_holding_back(s: Session) -> list[int]:
    return list(
        s.execute(select(AlertSend.target_id).where(AlertSend.outcome == "limited").distinct()).scalars()
    )


def mark_summarized(s: Session, send_ids: Collection[int]) -> None:
    s.execute(
        update(AlertSend)
        .where(AlertSend.id.in_(list(send_ids)), AlertSend.outcome == "limited")
        .values(outcome="summarized")
        .execution_options(synchronize_session=False)
    )


# -- channels' tokens --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiringToken:
    channel_id: int
    channel: str
    platform: str
    expires_at: datetime


def tokens_expiring(s: Session, before: datetime) -> list[ExpiringToken]:
    """Channels whose token expires before ``before`` (expired ones too), soonest first."""
    rows = s.execute(
        select(Channel.id, Channel.name, Channel.platform, Channel.token_expires_at)
        .where(Channel.token_expires_at.is_not(None), Channel.token_expires_at < before)
        .order_by(Channel.token_expires_at)
    )
    return [ExpiringToken(i, n, p, e) for i, n, p, e in rows if e is not None]


def set_token_expiry(s: Session, name: str, expires_at: datetime | None) -> int | None:
    """Set a channel's token expiry (None: unknown); returns its id, or None if unknown."""
    ch = s.execute(select(Channel).where(Channel.name == name)).scalar_one_or_none()
    if ch is None:
        return None
    ch.token_expires_at = expires_at
    return ch.id
