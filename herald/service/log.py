"""What went out: the posts with the state of each delivery, the delivery log, and the success
statistics per campaign and platform.

The delivery log is read one way only, ``Log.log_page`` (``herald.store.log``: a keyset page
of one index): the web page, its CSV export, the JSON API and ``herald log`` all page through
it, and ``delivery_log`` (the list scripts and tests read) is its pages up to a limit. What a
person typed for it (dates, words) is checked here, once, into a ``LogQuery``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError
from herald.core.i18n import _
from herald.platforms.graph_errors import TOKEN_SUBCODES
from herald.platforms.registry import REGISTRY
from herald.service.answers import LogEntry, PlatformStats, PostSummary
from herald.service.base import ServiceBase
from herald.service.records import log_entry, post_summary
from herald.store import states
from herald.store.log import MAX_PAGE_ROWS, DeliveryKey, LogFilters, log_page, matching_count
from herald.store.posts import posts_listed
from herald.store.stats import state_counts

#: The states a delivery has finished in, one way or another: the success rate's denominator.
FINISHED_STATES = (states.PUBLISHED, states.FAILED, states.UNCERTAIN)
#: Longest text search accepted (characters).
MAX_SEARCH_CHARS = 200
#: What ``log_time`` takes: a date, or a date and time (seconds and a zone optional).
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?")
#: Rows read per page while every row of a filter is walked (an export, ``--all``).
WALK_PAGE_ROWS = MAX_PAGE_ROWS


@dataclass(frozen=True)
class LogQuery:
    """The delivery log's filters, checked (``log_query``); None leaves one open."""

    campaign: str | None = None
    channel: str | None = None
    platform: str | None = None
    status: str | None = None
    post_id: str | None = None
    #: The post's scheduled time, naive UTC: from ``since`` (inclusive) until ``until``
    #: (exclusive).
    since: datetime | None = None
    until: datetime | None = None
    #: Words the row's text contains (case aside, for Latin letters).
    text: str | None = None


@dataclass(frozen=True)
class LogPage:
    """A page of the delivery log."""

    items: tuple[LogEntry, ...]
    #: The older page starts after this key (None: the last page).
    next: DeliveryKey | None
    #: The newer page ends before this key (None: the first page).
    newer: DeliveryKey | None = None
    #: The page stopped after reading as many rows as one page may (a rare combination of
    #: filters): it may hold fewer rows than asked, even none; the log was looked through as
    #: far as the key of the page on that side, and more may follow beyond it.
    partial: bool = False
    #: How many deliveries match, where the counts tell (not with dates, words or a post).
    total: int | None = None


def log_time(name: str, value: str | None, *, end: bool = False) -> datetime | None:
    """A date (``2026-05-01``: the whole day, UTC) or an ISO 8601 time (with a zone, or UTC)
    typed for the log's ``from`` or ``to`` (``end``: a date means up to the end of that day),
    as naive UTC. Blank is None. Raises InputError naming ``name`` for anything else."""
    if value is None or not value.strip():
        return None
    raw = value.strip()
    try:
        if _DAY.fullmatch(raw):
            day = date.fromisoformat(raw)
            at = datetime(day.year, day.month, day.day)
            return at + timedelta(days=1) if end else at
        if not _TIME.fullmatch(raw):
            raise ValueError(raw)
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except (ValueError, OverflowError):
        raise InputError(
            name, _("not a date or time: write it as 2026-05-01 or 2026-05-01T09:30 (UTC)")
        ) from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def _naive(at: datetime | None) -> datetime | None:
    """A time as the store keeps it: naive UTC (an aware one converted)."""
    return at.astimezone(UTC).replace(tzinfo=None) if at is not None and at.tzinfo else at


def log_query(
    *,
    campaign: str | None = None,
    channel: str | None = None,
    platform: str | None = None,
    status: str | None = None,
    post_id: str | None = None,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    text: str | None = None,
) -> LogQuery:
    """The log's filters as typed (blank: open), checked. Raises InputError for an unknown
    status or platform, a time that is not one, a range that ends before it starts, or words
    longer than ``MAX_SEARCH_CHARS``."""

    def given(value: str | None, field: str) -> str | None:
        if value is None or not value.strip():
            return None
        if "\x00" in value:  # no database stores it (PostgreSQL refuses it in a query)
            raise InputError(field, _("a NUL character is not something a log can hold"))
        return value.strip()

    status, platform, words = given(status, "status"), given(platform, "platform"), given(text, "q")
    if status is not None and status not in states.ALL:
        raise InputError(
            "status",
            _("unknown status %(given)r; one of %(choices)s")
            % {"given": status, "choices": ", ".join(states.ALL)},
        )
    if platform is not None and platform not in REGISTRY:
        raise InputError(
            "platform",
            _("unknown platform %(given)r; one of %(choices)s")
            % {"given": platform, "choices": ", ".join(sorted(REGISTRY))},
        )
    start = _naive(since) if isinstance(since, datetime) or since is None else log_time("from", since)
    end = _naive(until) if isinstance(until, datetime) or until is None else log_time("to", until, end=True)
    if start is not None and end is not None and end <= start:
        raise InputError("to", _("the end of the range comes before its start"))
    if words is not None and len(words) > MAX_SEARCH_CHARS:
        raise InputError("q", _("search for at most %(n)d characters") % {"n": MAX_SEARCH_CHARS})
    return LogQuery(
        campaign=given(campaign, "campaign"),
        channel=given(channel, "channel"),
        platform=platform,
        status=status,
        post_id=given(post_id, "post_id"),
        since=start,
        until=end,
        text=words,
    )


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

    def log_page(
        self,
        query: LogQuery = LogQuery(),
        *,
        after: DeliveryKey | None = None,
        before: DeliveryKey | None = None,
        limit: int = 100,
        count: bool = False,
        actor: Actor = SYSTEM,
    ) -> LogPage:
        """``limit`` deliveries (at most ``MAX_PAGE_ROWS``) ``actor`` may review that match
        ``query``, newest scheduled first (then by delivery id): the first ones after ``after``,
        or the last ones before ``before`` (a page back), or the newest; with ``count``, how
        many match in all, where the counts tell."""
        with self.db.read() as s:
            filters = LogFilters(
                campaign=query.campaign,
                channel=query.channel,
                platform=query.platform,
                status=query.status,
                post_id=query.post_id,
                since=query.since,
                until=query.until,
                text=query.text,
                reach=self._reach(s, actor, Capability.REVIEW),
            )
            page = log_page(s, filters, after=after, before=before, limit=limit)
            total = matching_count(s, filters) if count else None
            items = tuple(log_entry(row) for row in page.rows)
            return LogPage(items, page.next, page.newer, page.partial, total)

    def walk_log(
        self,
        query: LogQuery = LogQuery(),
        *,
        after: DeliveryKey | None = None,
        page_rows: int = WALK_PAGE_ROWS,
        actor: Actor = SYSTEM,
    ) -> Iterator[LogEntry]:
        """Every delivery of ``log_page`` from after ``after`` on, a page at a time (each read
        on its own, so a walk of a million holds one page in memory, never a transaction)."""
        while True:
            page = self.log_page(query, after=after, limit=page_rows, actor=actor)
            yield from page.items
            if page.next is None:
                return
            after = page.next

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
        """The first ``limit`` records of the log ``actor`` may review (one per post and channel:
        what went out where and when, or why not), newest scheduled first. Raises InputError
        for an unknown status."""
        query = log_query(campaign=campaign, channel=channel, status=status, post_id=post_id)
        out: list[LogEntry] = []
        if limit <= 0:
            return out
        for entry in self.walk_log(query, page_rows=min(limit, WALK_PAGE_ROWS), actor=actor):
            out.append(entry)
            if len(out) >= limit:
                break
        return out

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


# -- a platform's error in plain words -------------------------------------------------------

#: "<platform>: HTTP <status>: <detail>" or "<platform>: <detail>" (``PlatformError``), maybe
#: after "gave up after <n> attempts: " (``delivery.decide``).
_GAVE_UP = re.compile(r"gave up after (\d+) attempts?: (.*)", re.S)
_PLATFORM_ERROR = re.compile(r"([A-Za-z]+): (?:HTTP (\d{3}): )?(.*)", re.S)
#: Meta's Graph codes, as ``GraphFault.describe`` writes them.
_GRAPH_CODE = re.compile(r"\(code (\d+)(?:, subcode (\d+))?")


def plain_error(error: str | None) -> str | None:
    """What a platform's error means, in a sentence a person can act on, in the reader's
    language; None when there is no error, or no sentence says more than the error itself (it
    is then shown as the platform wrote it). Reads the messages ``PlatformError`` and Meta's
    Graph envelope (``platforms.graph_errors``) write."""
    if not error:
        return None
    tries = ""
    gave_up = _GAVE_UP.fullmatch(error)
    if gave_up:
        tries, error = gave_up.group(1), gave_up.group(2)
    sentence = _meaning(error)
    if tries:
        gave = _("Gave up after %(n)s tries.") % {"n": tries}
        return f"{gave} {sentence}" if sentence else gave
    return sentence


def _meaning(error: str) -> str | None:
    m = _PLATFORM_ERROR.fullmatch(error.strip())
    if m is None or m.group(1).lower() not in REGISTRY:
        return None
    name = REGISTRY[m.group(1).lower()].title
    status = int(m.group(2)) if m.group(2) else None
    detail = m.group(3)
    lowered = detail.lower()
    code = _GRAPH_CODE.search(detail)
    graph, subcode = (int(code.group(1)), int(code.group(2) or 0)) if code else (None, 0)
    say = {"platform": name}
    if "duplicate" in lowered or graph == 506:
        return _("%(platform)s refused it as a duplicate of a post already there.") % say
    if graph in (102, 190) or status == 401:
        why = TOKEN_SUBCODES.get(subcode)
        if why:
            return _(
                "%(platform)s no longer accepts this channel's sign-in (%(why)s): reconnect the channel."
            ) % {**say, "why": why}
        return _("%(platform)s no longer accepts this channel's sign-in: reconnect the channel.") % say
    if "permission is missing" in lowered or "scope" in lowered:
        return _("%(platform)s says the channel may not post this: a permission is missing.") % say
    if "publishing quota" in lowered:
        return _("%(platform)s's limit of posts per day was reached; Herald tries again later.") % say
    if "rate limit" in lowered or status == 429:
        return _("%(platform)s asked Herald to slow down (a rate limit); Herald tries again later.") % say
    if "policy" in lowered:
        return _("%(platform)s blocked it for breaking its rules.") % say
    if "restricted" in lowered:
        return _("%(platform)s has restricted this account.") % say
    if status is not None and status >= 500:
        if "may exist" in lowered:
            return (
                _(
                    "%(platform)s had a server error while posting: it may be published anyway; look before "
                    "sending it again."
                )
                % say
            )
        return _("%(platform)s had a server error.") % say
    if "timed out" in lowered or "timeout" in lowered:
        return _("%(platform)s did not answer in time.") % say
    if status == 403:
        return _("%(platform)s refused the post.") % say
    if status in (400, 422):
        return _("%(platform)s refused the post as invalid.") % say
    if status == 404:
        return _("%(platform)s does not know the account or the post.") % say
    return None


__all__ = [
    "FINISHED_STATES",
    "MAX_SEARCH_CHARS",
    "Log",
    "LogPage",
    "LogQuery",
    "log_query",
    "log_time",
    "plain_error",
]
