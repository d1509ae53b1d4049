"""Recurring posts: a post with an RRULE queued as one post per occurrence, and "this and
following" on a series once queued.

A series is expanded when it is queued, not materialised later: every occurrence is checked
(its local time, DST edges, the past) with the rest of the batch before anything is written,
and each becomes an ordinary post with its own deliveries, one per channel, so the log, the
dispatcher, cancel and takedown need nothing new. The posts of one series share ``series_id``
and keep the rule (``recurrence``) and their place (``occurrence``, from 1).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.core.i18n import N_, _
from herald.service.answers import Answer
from herald.service.base import ServiceBase
from herald.service.drafts import Context, Draft, Series, _due, refuse_timeless_series
from herald.store import audit
from herald.store.decisions import cancel_post
from herald.store.models import new_uuid
from herald.store.series import this_and_following
from scheduler.localtime import local_of, zone
from scheduler.recurrence import occurrences, parse_rule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesCancelled(Answer):
    """What cancelling an occurrence "and following" did: the posts (occurrences) touched, in
    order, the deliveries cancelled, and those too late (publishing or published: left alone)."""

    posts: tuple[str, ...]
    cancelled: tuple[int, ...]
    too_late: tuple[int, ...]


def with_repeats(d: Draft, ctx: Context, now: datetime) -> Draft:
    """``d`` with the instant of every occurrence when its request repeats (else ``d``).

    The rule is read on the wall clock of the request's zone, else its campaign's, else UTC,
    from the post's own time (the first occurrence). Raises InputError ("repeat") for a post
    without a time of its own (now, next free slot), a rule ``scheduler.recurrence`` refuses, an
    occurrence at a DST gap or overlap the request did not settle, or a first one in the past."""
    req = d.req
    if req.repeat is None:
        return d
    refuse_timeless_series(req)  # (checked before any slot was placed, too)
    assert req.at is not None or req.local_at is not None
    campaign = ctx.campaigns.get(req.campaign) if req.campaign else None
    tz = zone(req.tz) if req.tz else zone(campaign.timezone if campaign else "UTC", "timezone")
    if req.local_at is not None:
        start = req.local_at.replace(tzinfo=None)
    else:
        assert req.at is not None
        instant = req.at.astimezone(UTC).replace(tzinfo=None) if req.at.tzinfo else req.at
        start = local_of(instant, tz).replace(tzinfo=None)
    start = start.replace(microsecond=0)  # as dateutil reads it
    rule = parse_rule(req.repeat)
    found = occurrences(rule, start, tz, fold=req.fold, gap="forward" if req.gap == "forward" else "refuse")
    bounds = ctx.bounds.get(campaign.name) if campaign else None  # (read by ``_prepare``)
    repeats: list[tuple[datetime, str | None]] = []
    for o in found:
        try:
            due = _due(o.at, now)  # the first in the past is refused as for one post
            # Each occurrence within the campaign's date range and its blackout windows.
            placed = bounds.place(due, field="repeat") if bounds else None
        except InputError as e:
            raise InputError(
                "repeat",
                _("occurrence %(n)d of %(total)d: %(why)s")
                % {"n": o.number, "total": len(found), "why": e.message},
            ) from None
        repeats.append((placed.at, placed.held) if placed else (due, None))
    first, held = repeats[0]
    return replace(d, due=first, held=held, repeats=tuple(repeats), series=Series(new_uuid(), rule.text))


def each_occurrence(drafts: Sequence[Draft], approvals: Sequence[str]) -> tuple[list[Draft], list[str]]:
    """One draft per occurrence of every recurring draft (each with its place in the series
    and the approval of the post it came from); other drafts as they are."""
    out: list[Draft] = []
    each: list[str] = []
    for d, approval in zip(drafts, approvals, strict=True):
        if not d.repeats or d.series is None:
            out.append(d)
            each.append(approval)
            continue
        for n, (due, held) in enumerate(d.repeats, 1):
            out.append(replace(d, due=due, held=held, repeats=(), series=replace(d.series, occurrence=n)))
            each.append(approval)
    return out, each


class SeriesActions(ServiceBase):
    def cancel_following(self, post_id: str, *, actor: Actor = SYSTEM) -> SeriesCancelled:
        """Cancel the occurrence ``post_id`` and every later one of its series: what has not gone
        out yet; published or publishing deliveries are left alone and reported. One audit
        event per occurrence. Raises NotFound for an unknown post, InputError for a post that is
        no occurrence of a series, AccessDenied unless a manager of its campaign."""
        with self.db.session() as s:
            posts = this_and_following(s, post_id)
            if posts == []:
                raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
            if posts is None:
                raise InputError(
                    "following",
                    _("post %(post)s is not part of a recurring series; cancel it on its own")
                    % {"post": post_id},
                )
            for campaign_id in dict.fromkeys(p.campaign_id for p in posts):
                self._require(actor, Capability.ACT, campaign_id, N_("cancelling posts of a series"))
            cancelled: list[int] = []
            late: list[int] = []
            for p in posts:
                done, too_late = cancel_post(s, p.post_id)
                cancelled += done
                late += too_late
                audit.record(
                    s,
                    actor=actor.email,
                    action="post.cancel",
                    target_type="post",
                    target_id=p.post_id,
                    campaign_id=p.campaign_id,
                    detail={
                        "cancelled": len(done),
                        "too_late": len(too_late),
                        "occurrence": p.occurrence,
                        "following": post_id,
                    },
                )
        for i in cancelled:
            self.queue.release(i)
        log.info(
            "post %s and %d following occurrence(s) cancelled",
            post_id,
            len(posts) - 1,
            extra={"post_id": post_id},
        )
        return SeriesCancelled(tuple(p.post_id for p in posts), tuple(cancelled), tuple(late))
