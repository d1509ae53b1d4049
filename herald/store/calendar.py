"""The calendar's reads: the deliveries whose time falls in a range (a week or a month of the
viewer's days), and every delivery of one post, each with what a calendar entry shows and what
a reschedule needs (its campaign's zone and whether it approves its posts).

A delivery's time on the calendar is when it was published, for a published one, and when it
is due for every other: a scheduled post's time, or a failed one's last try. Cancelled and
taken-down deliveries are not on it.

The range is read through ``ix_deliveries_state_due`` (one range scan of ``due_at`` per state
shown; ``ix_deliveries_channel_due`` when one channel is asked for). A published delivery is
found by its ``due_at`` too: it went out within a lease of being due (a retry, a release or a
reorder moves ``due_at`` with it), so the scan reaches ``PUBLISHED_MARGIN`` beyond the range
on either side and the exact time is compared after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from herald.store import states
from herald.store.models import Campaign, Channel, Delivery, Post, PostVariant
from herald.store.scope import Reach

#: The states a calendar shows: still to go out, out, or failed (cancelled and taken-down ones
#: are left off: nothing of them is on the platform or coming).
SHOWN: Final = (
    states.SCHEDULED,
    states.QUEUED,
    states.HELD,
    states.PUBLISHING,
    states.PUBLISHED,
    states.FAILED,
    states.UNCERTAIN,
)
#: How far a published delivery's ``published_at`` may be from its ``due_at``: a try runs
#: within a lease of its claim (minutes), and a claim may come a moment early.
PUBLISHED_MARGIN: Final = timedelta(days=1)


@dataclass(frozen=True)
class CalendarRow:
    delivery_id: int
    post_id: str
    channel: str
    platform: str
    state: str
    #: Naive UTC: when it is due (the schedule, or its next or last try).
    due_at: datetime
    #: Naive UTC: the time the calendar places it at (published, else due).
    at: datetime
    campaign_id: int | None
    campaign: str | None
    #: The campaign's IANA zone (None: a post of no campaign).
    campaign_zone: str | None
    requires_approval: bool
    approval: str
    text: str
    remote_url: str | None


def _shown_at() -> ColumnElement[datetime]:
    # A published delivery is placed when it went out (its due time if the store lacks that).
    return case(
        (Delivery.state == states.PUBLISHED, func.coalesce(Delivery.published_at, Delivery.due_at)),
        else_=Delivery.due_at,
    )


# Any: fourteen columns, more than SQLAlchemy's typed ``select`` overloads spell out.
def _select() -> Select[*tuple[Any, ...]]:
    shown = _shown_at()
    return (
        select(
            Delivery.id,
            Delivery.post_id,
            Channel.name,
            Channel.platform,
            Delivery.state,
            Delivery.due_at,
            shown,
            Post.campaign_id,
            Campaign.name,
            Campaign.timezone,
            Campaign.requires_approval,
            Post.approval,
            Post.text,
            Delivery.remote_url,
        )
        .join(Post, Post.id == Delivery.post_id)
        .join(Channel, Channel.id == Delivery.channel_id)
        .outerjoin(Campaign, Campaign.id == Post.campaign_id)
        .where(Delivery.state.in_(SHOWN))
    )


def _rows(s: Session, q: Select[*tuple[Any, ...]]) -> list[CalendarRow]:
    return [
        CalendarRow(
            delivery_id=int(i),
            post_id=str(p),
            channel=str(ch),
            platform=str(pf),
            state=str(st),
            due_at=due,
            at=at,
            campaign_id=cid,
            campaign=None if cname is None else str(cname),
            campaign_zone=None if tz is None else str(tz),
            requires_approval=bool(appr),
            approval=str(approval),
            text=str(text),
            remote_url=None if url is None else str(url),
        )
        for i, p, ch, pf, st, due, at, cid, cname, tz, appr, approval, text, url in s.execute(q).all()
    ]


def deliveries_between(
    s: Session,
    start: datetime,
    end: datetime,
    *,
    reach: Reach,
    campaign_id: int | None = None,
    channel_id: int | None = None,
    limit: int,
) -> list[CalendarRow]:
    """At most ``limit`` deliveries ``reach`` covers whose calendar time is in [``start``,
    ``end``) (naive UTC), of one campaign or channel if given, by time then id."""
    shown = _shown_at()
    q = _select().where(
        Delivery.due_at >= start - PUBLISHED_MARGIN,
        Delivery.due_at < end + PUBLISHED_MARGIN,
        shown >= start,
        shown < end,
    )
    if campaign_id is not None:
        q = q.where(Post.campaign_id == campaign_id)
    if channel_id is not None:
        q = q.where(Delivery.channel_id == channel_id)
    if (clause := reach.where()) is not None:
        q = q.where(clause)
    return _rows(s, q.order_by(shown, Delivery.id).limit(limit))


@dataclass(frozen=True)
class VariantRow:
    """What one channel of a post gets instead of the post's own: its text and language."""

    channel: str
    text: str
    #: None: the post's.
    language: str | None


def languages_of_post(s: Session, post_id: str) -> tuple[str | None, list[VariantRow]]:
    """The post's language, and its channels' own texts and languages, by channel name."""
    language = s.execute(select(Post.language).where(Post.id == post_id)).scalar_one_or_none()
    found = s.execute(
        select(Channel.name, PostVariant.text, PostVariant.language)
        .join(Channel, Channel.id == PostVariant.channel_id)
        .where(PostVariant.post_id == post_id)
        .order_by(Channel.name)
    ).all()
    return language, [VariantRow(str(name), str(text), lang) for name, text, lang in found]


def deliveries_of_post(s: Session, post_id: str, *, reach: Reach) -> list[CalendarRow]:
    """Every shown delivery of ``post_id`` that ``reach`` covers, by channel."""
    q = _select().where(Delivery.post_id == post_id)
    if (clause := reach.where()) is not None:
        q = q.where(clause)
    return _rows(s, q.order_by(Channel.name))
