"""Local times, read as people mean them: a wall-clock time in an IANA zone, made one instant.

Twice a year a zone with daylight saving time has local times that do not exist (the clock
springs forward over them) and local times that happen twice (the clock falls back over them).
Neither is ever guessed:

- a time in the gap is refused, naming the gap, unless the person asked for it to be moved
  forward by the gap's length (``gap="forward"``: 02:30 becomes 03:30 in New York);
- a time in the overlap is refused, naming both instants, unless the person picked one
  (``fold=0`` the first, ``fold=1`` the second; Python's own meaning of ``fold``).

Every instant returned is naive UTC, as the store keeps them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from herald.core.errors import InputError
from herald.core.i18n import _

#: What to do with a local time that does not exist: refuse it, or move it forward by the gap.
Gap = Literal["refuse", "forward"]


def zone(name: str, field: str = "tz") -> ZoneInfo:
    """The IANA zone ``name``. Raises InputError (``field``) for an unknown one."""
    try:
        if not name or name != name.strip() or name.startswith(("/", ".")):
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            field, _("unknown time zone %(name)r (an IANA name, e.g. Asia/Seoul)") % {"name": name}
        ) from None


def _utc(local: datetime, tz: ZoneInfo, fold: int) -> datetime:
    return local.replace(tzinfo=tz, fold=fold).astimezone(UTC).replace(tzinfo=None)


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    return instant.replace(tzinfo=UTC).astimezone(tz).replace(tzinfo=None)


def exists(local: datetime, tz: ZoneInfo) -> bool:
    """Does the wall-clock time ``local`` (naive) happen in ``tz``?"""
    return _wall(_utc(local, tz, 0), tz) == local or _wall(_utc(local, tz, 1), tz) == local


def is_ambiguous(local: datetime, tz: ZoneInfo) -> bool:
    """Does ``local`` happen twice in ``tz`` (the hour the clock falls back over)?"""
    first, second = _utc(local, tz, 0), _utc(local, tz, 1)
    return first != second and _wall(first, tz) == local and _wall(second, tz) == local


def to_utc(
    local: datetime,
    tz: ZoneInfo,
    *,
    fold: int | None = None,
    gap: Gap = "refuse",
    field: str = "at",
) -> datetime:
    """The instant (naive UTC) of the wall-clock time ``local`` (naive) in ``tz``.

    Raises InputError (``field``) for a time in a spring-forward gap unless ``gap="forward"``,
    and for a time that happens twice unless ``fold`` picks one (0: the first, 1: the second)."""
    if local.tzinfo is not None:
        raise ValueError("to_utc takes a wall-clock (naive) time")
    shown = _("%(time)s in %(zone)s") % {"time": f"{local:%Y-%m-%d %H:%M}", "zone": tz.key}
    if not exists(local, tz):
        if gap == "forward":
            # Read with the offset from before the change, the time lands the gap's length later
            # on the wall clock (02:30 becomes 03:30 in New York): the later of the two readings.
            return max(_utc(local, tz, 0), _utc(local, tz, 1))
        start, end = _gap_edges(local, tz)
        raise InputError(
            field,
            _(
                "%(time)s does not exist: the clocks go from %(start)s to %(end)s that night; choose"
                " another time, or ask for it to be moved forward"
            )
            % {"time": shown, "start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
        )
    if is_ambiguous(local, tz):
        if fold not in (0, 1):
            first, second = _utc(local, tz, 0), _utc(local, tz, 1)
            raise InputError(
                field,
                _("%(time)s happens twice (at %(first)sZ and at %(second)sZ): choose the first or the second")
                % {"time": shown, "first": f"{first:%H:%M}", "second": f"{second:%H:%M}"},
            )
        return _utc(local, tz, fold)
    return _utc(local, tz, 0)


def _gap_edges(local: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The wall-clock times on either side of the gap ``local`` falls in."""
    before = _utc(local, tz, 0)
    after = _utc(local, tz, 1)
    lo, hi = min(before, after), max(before, after)
    # The change happens at one instant between lo and hi; the wall clock jumps there.
    while hi - lo > timedelta(minutes=1):
        mid = lo + (hi - lo) / 2
        if _wall(mid, tz) < local:
            lo = mid
        else:
            hi = mid
    change = hi.replace(second=0, microsecond=0)
    return _wall(change - timedelta(seconds=1), tz) + timedelta(seconds=1), _wall(change, tz)


def local_of(instant: datetime, tz: ZoneInfo) -> datetime:
    """The wall-clock time (aware, in ``tz``) of the naive-UTC ``instant``."""
    return instant.replace(tzinfo=UTC).astimezone(tz)
