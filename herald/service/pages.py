"""Every list the JSON API shows, a keyset page at a time, and one post by id; always within
what the actor's roles let them see.

Posts and the delivery log are paged in SQL (``herald.store.pages``): a page continues after
the last row of the one before, so rows queued meanwhile never shift a page. The short lists
(channels, campaigns, people, statistics) are read whole and cut after the key of the last row
shown, in the same order every time. The audit log pages by event id.

Functions over the service's parts (any ``Herald``), answering with the frozen dataclasses of
``herald.service.answers`` and the methods the CLI uses, so an answer reads the same in both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.core.i18n import _
from herald.service.accounts import Accounts
from herald.service.answers import (
    AuditEntry,
    CampaignInfo,
    ChannelInfo,
    LogEntry,
    PlatformStats,
    PostSummary,
    UserInfo,
)
from herald.service.base import ServiceBase
from herald.service.campaigns import Campaigns
from herald.service.channels import Channels
from herald.service.log import Log, log_query
from herald.service.records import post_summary as summary
from herald.store.pages import DeliveryKey, PostFilters, PostKey, post_shown
from herald.store.pages import posts_page as _posts_page

#: The approval states a post can be in (``Post.approval``).
APPROVALS = ("approved", "pending", "returned")

#: The most events an audit page holds: ``Accounts.audit_log`` reads at most 1,000 at a time,
#: and a page reads one more than it shows to know whether another follows.
MAX_AUDIT_PAGE = 999

#: Where a page of statistics ended: (has a campaign, the campaign's name or "", platform), the
#: order ``Log.stats`` answers in (posts of no campaign first).
StatsKey = tuple[bool, str, str]

T = TypeVar("T")
K = TypeVar("K")


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...  # Any: compared only with keys of its own list


KeyT = TypeVar("KeyT", bound=_Ordered)


@dataclass(frozen=True)
class Page(Generic[T, K]):
    """Some rows of a list, and the key of the last one when more follow (None: the last page)."""

    items: tuple[T, ...]
    next: K | None


def _cut(rows: Sequence[T], key: Callable[[T], KeyT], after: KeyT | None, limit: int) -> Page[T, KeyT]:
    """``limit`` rows of a whole list from after the row keyed ``after``, in key order."""
    ordered = sorted(rows, key=key)
    if after is not None:
        ordered = [r for r in ordered if after < key(r)]
    items = tuple(ordered[:limit])
    return Page(items, key(items[-1]) if len(ordered) > limit else None)


def posts_page(
    svc: ServiceBase,
    *,
    campaign: str | None = None,
    approval: str | None = None,
    after: PostKey | None = None,
    limit: int = 100,
    actor: Actor = SYSTEM,
) -> Page[PostSummary, PostKey]:
    """The posts ``actor`` may see (of ``campaign``, in ``approval`` state, if given), newest
    scheduled first, ``limit`` from after ``after``. Raises InputError for an unknown approval
    state."""
    if approval is not None and approval not in APPROVALS:
        raise InputError(
            "approval",
            _("unknown approval %(given)r; one of %(choices)s")
            % {"given": approval, "choices": ", ".join(APPROVALS)},
        )
    with svc.db.read() as s:
        filters = PostFilters(
            campaign=campaign, approval=approval, reach=svc._reach(s, actor, Capability.VIEW)
        )
        rows = _posts_page(s, filters, after=after, limit=limit + 1)
        items = tuple(summary(p) for p in rows[:limit])
    if len(rows) <= limit:
        return Page(items, None)
    last = rows[limit - 1]
    return Page(items, PostKey(last.scheduled_at, last.id))


def log_page(
    svc: Log,
    *,
    campaign: str | None = None,
    channel: str | None = None,
    platform: str | None = None,
    status: str | None = None,
    post_id: str | None = None,
    since: str | None = None,
    until: str | None = None,
    text: str | None = None,
    after: DeliveryKey | None = None,
    limit: int = 100,
    actor: Actor = SYSTEM,
) -> Page[LogEntry, DeliveryKey]:
    """The delivery log ``actor`` may review, one record per (post, channel), newest scheduled
    first, ``limit`` from after ``after`` (``Log.log_page``: a page may end short of ``limit``
    with a next key, when the filters are rare). Raises InputError for an unknown status or
    platform, or a bad time or search."""
    query = log_query(
        campaign=campaign,
        channel=channel,
        platform=platform,
        status=status,
        post_id=post_id,
        since=since,
        until=until,
        text=text,
    )
    page = svc.log_page(query, after=after, limit=limit, actor=actor)
    return Page(page.items, page.next)


def post_summary(svc: ServiceBase, post_id: str, *, actor: Actor = SYSTEM) -> PostSummary:
    """One post. Raises NotFound if there is no such post, or ``actor`` may not see its
    campaign's posts (the same answer: a post out of reach is not shown to exist)."""
    with svc.db.read() as s:
        post = post_shown(s, post_id)
        if post is None or not actor.can(Capability.VIEW, post.campaign_id):
            raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
        return summary(post)


def channels_page(svc: Channels, *, after: str | None = None, limit: int = 100) -> Page[ChannelInfo, str]:
    """Channels by name, with the names of their credentials (never their values)."""
    return _cut(svc.list_channels(), lambda c: c.name, after, limit)


def campaigns_page(
    svc: Campaigns, *, after: str | None = None, limit: int = 100, actor: Actor = SYSTEM
) -> Page[CampaignInfo, str]:
    """The campaigns ``actor`` may see, by name, with their settings."""
    return _cut(svc.list_campaigns(actor=actor), lambda c: c.name, after, limit)


def users_page(
    svc: Accounts, *, after: str | None = None, limit: int = 100, actor: Actor = SYSTEM
) -> Page[UserInfo, str]:
    """People by email. Raises AccessDenied unless an installation-wide admin."""
    return _cut(svc.list_users(actor=actor), lambda u: u.email, after, limit)


def stats_page(
    svc: Log, *, after: StatsKey | None = None, limit: int = 100, actor: Actor = SYSTEM
) -> Page[PlatformStats, StatsKey]:
    """Success rates per campaign and platform ``actor`` may review (no campaign first)."""
    return _cut(
        svc.stats(actor=actor), lambda r: (r.campaign is not None, r.campaign or "", r.platform), after, limit
    )


def audit_page(
    svc: Accounts, *, after: int | None = None, limit: int = 100, actor: Actor = SYSTEM
) -> Page[AuditEntry, int]:
    """Audit events ``actor`` may review, newest first, from before the event ``after``; at
    most ``MAX_AUDIT_PAGE`` a page. Raises AccessDenied for someone who may review no campaign."""
    limit = min(limit, MAX_AUDIT_PAGE)
    rows = svc.audit_log(actor=actor, before_id=after, limit=limit + 1)
    items = tuple(rows[:limit])
    return Page(items, items[-1].id if len(rows) > limit else None)


__all__ = [
    "APPROVALS",
    "MAX_AUDIT_PAGE",
    "DeliveryKey",
    "Page",
    "PostKey",
    "StatsKey",
    "audit_page",
    "campaigns_page",
    "channels_page",
    "log_page",
    "post_summary",
    "posts_page",
    "stats_page",
    "users_page",
]
