"""Posting limits: how many posts a platform accepts from one account (or one bot, one app) in a
sliding window, counted by the simulator on every post it is about to accept.

The platforms publish these limits and answer 429 past them (shared/platforms.md); a scheduler
that sends a burst must stay under them. The simulator counts every post against the limits of
its platform and keeps a record of each one that went over (``RateViolation``), so that a test
or a benchmark can say "nothing over a platform's rate limit" from what the platform saw, not
from what the scheduler believes it sent.

By default an over-limit post is refused with the platform's own 429 answer, as the real
service does (``Simulator.enforce_post_limits`` = 1); with 0 it is accepted and only recorded,
for a measurement that must not change the behaviour it measures. An account registered with
the credential ``post_limits="off"`` is never counted: it stands for an instance or a plan with
other limits (the benchmarks' burst accounts, which Herald also runs with ``rate_limit: off``).

A limit's ``scope`` says what shares it: ``"account"`` (the posting account) or the name of a
credential several accounts may share (Telegram's ``bot_token``: a bot's messages over all its
chats; X's ``api_key``: the developer app's posts over all its users). ``cost`` lets a platform
count writes in points (Bluesky: a created record costs 3, a deleted one 1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The credential that exempts an account from counting, and the value that does it.
EXEMPT_CREDENTIAL = "post_limits"
EXEMPT_VALUE = "off"


@dataclass(frozen=True)
class PostLimit:
    """At most ``posts`` units (posts, messages or points) per ``window_seconds``, per
    ``scope`` (see the module docstring)."""

    name: str
    posts: int
    window_seconds: float
    scope: str = "account"

    def __post_init__(self) -> None:
        if self.posts < 1 or self.window_seconds <= 0:
            raise ValueError("a posting limit needs posts >= 1 and a positive window")


@dataclass(frozen=True)
class RateViolation:
    """A post that went over a limit: ``used`` units were already in the window when it came,
    and it cost ``cost`` more. ``refused``: answered 429 (enforcement on), else accepted."""

    platform: str
    account: str
    limit: str
    posts: int
    window_seconds: float
    used: int
    cost: int
    at: float
    refused: bool


@dataclass(frozen=True)
class Over:
    """The limit a post would go over, the units already used, and when it has room again."""

    limit: PostLimit
    used: int
    reset_at: float


class PostCounter:
    """Sliding-window logs, one per (platform, limit, scope key), and the violations seen.
    Not locked: the simulator calls it under its own lock, in the same critical section as the
    commit of the post, so two concurrent posts cannot both take the last unit."""

    def __init__(self) -> None:
        self._logs: dict[tuple[str, str, str], deque[tuple[float, int]]] = {}
        self._violations: list[RateViolation] = []

    def _log(self, platform: str, limit: PostLimit, key: str, now: float) -> deque[tuple[float, int]]:
        log = self._logs.setdefault((platform, limit.name, key), deque())
        while log and log[0][0] <= now - limit.window_seconds:
            log.popleft()
        return log

    def over(
        self,
        platform: str,
        limits: Sequence[PostLimit],
        keys: Mapping[str, str],
        cost: int,
        now: float,
    ) -> Over | None:
        """The first limit a post of ``cost`` units would go over (``keys``: scope → key),
        or None. Counts nothing."""
        for limit in limits:
            log = self._log(platform, limit, keys[limit.scope], now)
            used = sum(units for _, units in log)
            if used + cost > limit.posts:
                # Room again once enough of the oldest entries have left the window.
                freed, reset_at = 0, now
                for at, units in log:
                    freed += units
                    reset_at = at + limit.window_seconds
                    if used - freed + cost <= limit.posts:
                        break
                return Over(limit, used, reset_at)
        return None

    def take(
        self, platform: str, limits: Sequence[PostLimit], keys: Mapping[str, str], cost: int, now: float
    ) -> None:
        """Count a post of ``cost`` units against every limit."""
        for limit in limits:
            self._log(platform, limit, keys[limit.scope], now).append((now, cost))

    def note(self, violation: RateViolation) -> None:
        self._violations.append(violation)

    def violations(self, platform: str | None = None) -> list[RateViolation]:
        return [v for v in self._violations if platform is None or v.platform == platform]

    def clear(self) -> None:
        self._logs.clear()
        self._violations.clear()


def exempt(credentials: Mapping[str, str]) -> bool:
    """Whether an account's credentials exempt it from counting (``post_limits="off"``)."""
    return credentials.get(EXEMPT_CREDENTIAL, "").strip().lower() == EXEMPT_VALUE


def scope_keys(
    account_id: str, credentials: Mapping[str, str], limits: Sequence[PostLimit]
) -> dict[str, str]:
    """The key each limit's scope counts under for this account. A shared credential the
    account does not have counts under the account (it then shares with nobody)."""
    keys = {"account": account_id}
    for limit in limits:
        if limit.scope != "account":
            keys[limit.scope] = credentials.get(limit.scope) or f"account:{account_id}"
    return keys
