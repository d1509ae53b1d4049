"""The numbers behind the charts: deliveries per day by status, the success rate per platform
and per campaign, and how late published posts went out, over the last days.

Only what the person may review is counted (their reach, applied in SQL), and one campaign's
numbers are refused as "unknown" to a person who may not review that campaign, as a post out of
reach is. Days are calendar days in the zone the person chose (UTC unless they chose one):
the store counts per hour (per quarter hour in a zone whose offset is not whole hours), and the
hours are added up into local days here, so a day that is 23 or 25 hours long (a change of the
clocks) is counted as the day it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError, NotFound
from herald.service.answers import Answer
from herald.service.base import ServiceBase
from herald.service.log import FINISHED_STATES
from herald.store import states
from herald.store.campaigns import campaign_names_by_id
from herald.store.charts import LATENESS_BOUNDS, Window, counts_by_bucket, lateness_counts
from herald.store.models import utcnow
from herald.store.stats import state_counts
from scheduler.localtime import zone as parse_zone

#: Days a chart covers unless asked otherwise, and the most it may cover (the window bounds
#: what the queries read).
DEFAULT_DAYS = 30
MAX_DAYS = 366
#: How a bucket of the store's counts must fit the zone's offsets from UTC: hours, else quarter
#: hours (India, Nepal, the Chathams), else minutes.
BUCKET_SECONDS = (3600, 900, 60)


@dataclass(frozen=True)
class DayCounts(Answer):
    """Deliveries of posts scheduled on ``day`` (ISO date, in the chart's zone), by status."""

    day: str
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class RateRow(Answer):
    """The success rate of one platform or one campaign (``name`` None: posts of no campaign)."""

    name: str | None
    published: int
    #: Published, failed and uncertain: the deliveries that finished one way or another.
    finished: int

    @property
    def rate(self) -> float | None:
        """published / finished; None before anything finished."""
        return self.published / self.finished if self.finished else None


@dataclass(frozen=True)
class LatenessBucket(Answer):
    """Published deliveries that went out at least ``lower`` and less than ``upper`` seconds
    after their scheduled time (``upper`` None: no bound)."""

    lower: float
    upper: float | None
    count: int


@dataclass(frozen=True)
class ChartNumbers(Answer):
    #: The zone days are counted in, and the first and last day (ISO dates in it).
    zone: str
    first_day: str
    last_day: str
    #: One entry per day, oldest first, days without deliveries included (empty counts).
    days: tuple[DayCounts, ...]
    platforms: tuple[RateRow, ...]
    #: Empty for one campaign's charts.
    campaigns: tuple[RateRow, ...]
    lateness: tuple[LatenessBucket, ...]
    #: The campaign charted (None: every campaign the person may review).
    campaign: str | None = None

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)

    @property
    def published(self) -> int:
        return sum(b.count for b in self.lateness)


def chart_numbers(
    svc: ServiceBase,
    *,
    campaign: str | None = None,
    days: int = DEFAULT_DAYS,
    zone: str = "UTC",
    now: datetime | None = None,
    actor: Actor = SYSTEM,
) -> ChartNumbers:
    """The last ``days`` calendar days (today included) in ``zone``, of the posts ``actor`` may
    review (of ``campaign`` only, if given). Raises InputError for an unknown zone or a number
    of days out of range, NotFound for a campaign unknown or out of the actor's reach."""
    if not 1 <= days <= MAX_DAYS:
        raise InputError("days", f"a chart covers 1 to {MAX_DAYS} days, not {days}")
    tz = parse_zone(zone, "zone")
    now = now or utcnow()
    today = now.replace(tzinfo=UTC).astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    midnights = [_midnight(first + timedelta(days=n), tz) for n in range(days + 1)]
    seconds = _bucket_seconds(tz, midnights)
    with svc.db.read() as s:
        reach = svc._reach(s, actor, Capability.REVIEW)
        campaign_id = None
        if campaign is not None:
            campaign_id = _campaign_id(s, campaign, actor)
        window = Window(_naive(midnights[0]), _naive(midnights[-1]), reach, campaign_id)
        buckets = counts_by_bucket(s, window, seconds)
        groups = state_counts(s, reach, window=window)
        late = lateness_counts(s, window)
    per_day: dict[date, dict[str, int]] = {first + timedelta(days=n): {} for n in range(days)}
    for b in buckets:
        day = datetime.fromtimestamp(b.start, tz).date()
        if day in per_day:  # always, unless a zone's rules changed between the two reads
            counts = per_day[day]
            counts[b.state] = counts.get(b.state, 0) + b.count
    platforms: dict[str, list[int]] = {}
    campaigns: dict[str | None, list[int]] = {}
    for row in groups:
        published = row.count if row.state == states.PUBLISHED else 0
        finished = row.count if row.state in FINISHED_STATES else 0
        for sums in (platforms.setdefault(row.platform, [0, 0]), campaigns.setdefault(row.campaign, [0, 0])):
            sums[0] += published
            sums[1] += finished
    bounds = (0.0, *LATENESS_BOUNDS)
    return ChartNumbers(
        zone=tz.key,
        first_day=first.isoformat(),
        last_day=today.isoformat(),
        days=tuple(DayCounts(day.isoformat(), counts) for day, counts in per_day.items()),
        platforms=tuple(RateRow(name, p, f) for name, (p, f) in sorted(platforms.items())),
        campaigns=()
        if campaign is not None
        else tuple(RateRow(name, p, f) for name, (p, f) in sorted(campaigns.items(), key=_no_campaign_first)),
        lateness=tuple(
            LatenessBucket(bounds[i], LATENESS_BOUNDS[i] if i < len(LATENESS_BOUNDS) else None, n)
            for i, n in enumerate(late)
        ),
        campaign=campaign,
    )


def _campaign_id(s: Session, name: str, actor: Actor) -> int:
    for cid, cname in campaign_names_by_id(s).items():
        if cname == name and actor.can(Capability.REVIEW, cid):
            return cid
    # Out of reach reads as unknown: whether a campaign exists is not shown to who may not see it.
    raise NotFound("campaign", f"unknown campaign {name!r}")


def _no_campaign_first(item: tuple[str | None, list[int]]) -> tuple[bool, str]:
    return (item[0] is not None, item[0] or "")


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``tz`` (aware, UTC). A zone whose clocks skip midnight
    (a few do, at a change) starts the day at the first wall-clock time that exists."""
    local = datetime.combine(day, time(0), tz)
    instant = local.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Midnight did not happen: the day began when the clock jumped, an hour on.
        instant = datetime.combine(day, time(1), tz).astimezone(UTC)
    return instant


def _naive(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(tzinfo=None)


def _bucket_seconds(tz: ZoneInfo, instants: list[datetime]) -> int:
    """The longest bucket that never straddles a local midnight over these instants: one
    whose length divides every UTC offset the zone has at them."""
    offsets = {int((i.astimezone(tz).utcoffset() or timedelta()).total_seconds()) for i in instants}
    for seconds in BUCKET_SECONDS:
        if all(o % seconds == 0 for o in offsets):
            return seconds
    return 1
