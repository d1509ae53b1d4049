"""What goes out next, as the dashboard lists it: the posts with something still to go out,
the next due first, a keyset page at a time (``store.upcoming``), and what is paused now, with
who paused it and since when, so a post that does not go out says why."""

from __future__ import annotations

from dataclasses import dataclass

from herald.accounts import SYSTEM, Actor, Capability
from herald.service.answers import Answer, PostSummary, iso
from herald.service.base import ServiceBase
from herald.service.pages import Page
from herald.service.records import post_summary
from herald.store.pauses import paused_now
from herald.store.upcoming import UpcomingKey, upcoming_posts

#: The most posts one page of upcoming posts may hold.
MAX_UPCOMING_PAGE = 200


@dataclass(frozen=True)
class UpcomingPost(Answer):
    post: PostSummary
    #: The earliest due time of its deliveries still to go out (ISO UTC): a held one's is the
    #: time it missed.
    next_due: str | None


@dataclass(frozen=True)
class PauseInfo(Answer):
    """A paused channel or campaign."""

    kind: str
    name: str
    #: When it was paused (ISO UTC).
    since: str | None
    #: The pause's reason, naming who paused it ("paused by ...", "emergency stop by ...").
    reason: str | None
    #: Deliveries held now (a channel's, or the campaign's posts'); None for a channel when the
    #: person may not see every campaign (a channel's count would include campaigns they may not).
    held: int | None


def upcoming_page(
    svc: ServiceBase,
    *,
    campaign: str | None = None,
    after: UpcomingKey | None = None,
    limit: int = 25,
    actor: Actor = SYSTEM,
) -> Page[UpcomingPost, UpcomingKey]:
    """Posts ``actor`` may see with something still to go out (of ``campaign`` if given), the
    next due first, ``limit`` (at most ``MAX_UPCOMING_PAGE``) from after ``after``."""
    limit = max(1, min(limit, MAX_UPCOMING_PAGE))
    with svc.db.read() as s:
        reach = svc._reach(s, actor, Capability.VIEW)
        rows = upcoming_posts(s, reach=reach, campaign=campaign or None, after=after, limit=limit + 1)
        items = tuple(UpcomingPost(post_summary(r.post), iso(r.next_due)) for r in rows[:limit])
    if len(rows) <= limit:
        return Page(items, None)
    last = rows[limit - 1]
    return Page(items, UpcomingKey(last.next_due, last.post.id))


def pauses_shown(svc: ServiceBase, *, actor: Actor = SYSTEM) -> list[PauseInfo]:
    """What is paused now that ``actor`` may know of: every paused channel (a channel serves
    every campaign), and the paused campaigns whose posts they may see."""
    with svc.db.read() as s:
        rows = paused_now(s)
    everything = actor.campaigns_where(Capability.VIEW, ()) is None
    return [
        PauseInfo(
            r.kind,
            r.name,
            iso(r.since),
            r.reason,
            r.held if r.campaign_id is not None or everything else None,
        )
        for r in rows
        if r.campaign_id is None or actor.can(Capability.VIEW, r.campaign_id)
    ]
