"""What went out: the posts with the state of each delivery, the delivery log, and the success
statistics per campaign and platform."""

from __future__ import annotations

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError
from herald.service.answers import LogEntry, PlatformStats, PostSummary
from herald.service.base import ServiceBase
from herald.service.records import log_entry, post_summary
from herald.store import states
from herald.store.log import LogFilters, deliveries_for_log
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
        post_id: str | None = None,
        actor: Actor = SYSTEM,
    ) -> list[PostSummary]:
        """The ``limit`` latest-scheduled posts ``actor`` may see (of ``campaign``, in
        ``approval`` state, the one ``post_id``, if given), newest first."""
        with self.db.read() as s:
            reach = self._reach(s, actor, Capability.VIEW)
            return [
                post_summary(p)
                for p in posts_listed(
                    s, campaign=campaign, limit=limit, reach=reach, approval=approval, post_id=post_id
                )
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
            return [log_entry(row) for row in deliveries_for_log(s, filters, limit)]

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
