"""What went out: the posts with the state of each delivery, the delivery log, and the success
statistics per campaign and platform."""

from __future__ import annotations

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError
from herald.service.answers import LogEntry, PlatformStats, PostSummary, iso
from herald.service.base import ServiceBase
from herald.store import states
from herald.store.log import LogFilters, LogRow, deliveries_for_log
from herald.store.posts import posts_listed
from herald.store.stats import state_counts

#: The states a delivery has finished in, one way or another: the success rate's denominator.
FINISHED_STATES = (states.PUBLISHED, states.FAILED, states.UNCERTAIN)


class Log(ServiceBase):
    def list_posts(
        self,
        *,
        campaign: str | None = None,
        limit: int = 200,
        approval: str | None = None,
        actor: Actor = SYSTEM,
    ) -> list[PostSummary]:
        """The ``limit`` latest-scheduled posts ``actor`` may see (of ``campaign``, in
        ``approval`` state, if given), newest first."""
        with self.db.read() as s:
            reach = self._reach(s, actor, Capability.VIEW)
            return [
                PostSummary(
                    id=p.id,
                    text=p.text,
                    campaign=p.campaign.name if p.campaign else None,
                    scheduled_at=iso(p.scheduled_at),
                    photos=len(p.photos),
                    deliveries={d.channel.name: d.state for d in p.deliveries},
                    approval=p.approval,
                    approved_by=p.approved_by,
                    approved_at=iso(p.approved_at),
                    approval_note=p.approval_note,
                    created_by=p.created_by,
                )
                for p in posts_listed(s, campaign=campaign, limit=limit, reach=reach, approval=approval)
            ]

    def delivery_log(
        self,
        *,
        campaign: str | None = None,
        channel: str | None = None,
        status: str | None = None,
        post_id: str | None = None,
        limit: int = 1000,
        actor: Actor = SYSTEM,
    ) -> list[LogEntry]:
        """One record per (post, channel) ``actor`` may review: what went out where and when, or
        why not. Newest scheduled first. Raises InputError for an unknown status."""
        if status is not None and status not in states.ALL:
            raise InputError("status", f"unknown status {status!r}; one of {', '.join(states.ALL)}")
        with self.db.read() as s:
            reach = self._reach(s, actor, Capability.REVIEW)
            filters = LogFilters(
                campaign=campaign, channel=channel, status=status, post_id=post_id, reach=reach
            )
            return [_entry(row) for row in deliveries_for_log(s, filters, limit)]

    def stats(self, *, actor: Actor = SYSTEM) -> list[PlatformStats]:
        """Success rates per campaign and platform (those ``actor`` may review), by campaign name
        (no campaign first), then platform."""
        with self.db.read() as s:
            rows = state_counts(s, self._reach(s, actor, Capability.REVIEW))
        table: dict[tuple[str | None, str], dict[str, int]] = {}
        for row in rows:
            table.setdefault((row.campaign, row.platform), {})[row.state] = row.count
        out = []
        for (campaign, platform), counts in sorted(table.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])):
            done = sum(counts.get(k, 0) for k in FINISHED_STATES)
            rate = round(counts.get(states.PUBLISHED, 0) / done, 4) if done else None
            out.append(PlatformStats(campaign=campaign, platform=platform, counts=counts, success_rate=rate))
        return out


def _entry(row: LogRow) -> LogEntry:
    d, p = row.delivery, row.post
    return LogEntry(
        post_id=p.id,
        delivery_id=d.id,
        campaign=row.campaign,
        channel=row.channel.name,
        platform=row.channel.platform,
        status=d.state,
        text=row.text,
        scheduled_at=iso(p.scheduled_at),
        due_at=iso(d.due_at),
        published_at=iso(d.published_at),
        lateness_seconds=(d.published_at - p.scheduled_at).total_seconds() if d.published_at else None,
        remote_id=d.remote_id,
        remote_url=d.remote_url,
        attempts=d.attempts,
        error=d.last_error,
        approval=p.approval,
        approved_by=p.approved_by,
        approved_at=iso(p.approved_at),
    )
