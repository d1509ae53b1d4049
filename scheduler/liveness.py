"""Are the workers consuming? The scheduler's judgement, from what it can see in Redis.

The scheduler hands due deliveries over as messages and sees how many wait; each worker's
heartbeat says when it last took one and how many more it could hold. Messages that wait with
nobody taking them for longer than ``bound_seconds`` mean a stall:

- **gone**: no worker's heartbeat is fresh (they died, or never started);
- **deaf**: a worker beats, has free slots, and took nothing (its consumer is silent: the
  Celery-on-Redis failure of celery#8030/#9054/#4453, or a half-open broker connection).

Every worker being full is not a stall: that is a burst, and it drains on its own.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field

from content_queue.heartbeats import WorkerBeat

#: A heartbeat older than this means its worker is gone (workers beat every second).
BEAT_TIMEOUT_SECONDS = 5.0


class Health(enum.Enum):
    #: Nothing waits, or what waits is being taken.
    OK = "ok"
    #: Messages wait because every live worker is full: a burst draining.
    BUSY = "busy"
    #: Messages wait and no worker has taken one for longer than the bound.
    STALLED = "stalled"


@dataclass(frozen=True)
class Verdict:
    health: Health
    #: Messages waiting in the hand-over queue.
    waiting: int
    #: Seconds the oldest of them has waited with no worker taking any (0 when none wait).
    stuck_seconds: float
    #: Workers with a fresh heartbeat.
    alive: tuple[WorkerBeat, ...] = ()
    #: Workers whose heartbeat stopped.
    gone: tuple[str, ...] = ()
    #: Live workers with free slots that took nothing while messages waited.
    deaf: tuple[str, ...] = ()
    reason: str = ""
    #: Seconds since any worker last took a message (None if none ever did).
    since_last_take: float | None = field(default=None)

    def to_dict(self) -> dict[str, object]:
        return {
            "health": self.health.value,
            "waiting": self.waiting,
            "stuck_seconds": round(self.stuck_seconds, 1),
            "since_last_take": None if self.since_last_take is None else round(self.since_last_take, 1),
            "workers_alive": [b.name for b in self.alive],
            "workers_gone": list(self.gone),
            "workers_deaf": list(self.deaf),
            "reason": self.reason,
        }


class Liveness:
    """Judges the workers each time it is asked; remembers since when messages have waited."""

    def __init__(self, bound_seconds: float, beat_timeout: float = BEAT_TIMEOUT_SECONDS) -> None:
        self.bound_seconds = bound_seconds
        self.beat_timeout = beat_timeout
        self._waiting_since: float | None = None

    def judge(self, *, now: float, waiting: int, beats: Sequence[WorkerBeat]) -> Verdict:
        alive = tuple(b for b in beats if now - b.beat_at <= self.beat_timeout)
        gone = tuple(b.name for b in beats if now - b.beat_at > self.beat_timeout)
        takes = [b.last_taken_at for b in beats if b.last_taken_at is not None]
        last_take = max(takes) if takes else None
        since_last_take = None if last_take is None else max(0.0, now - last_take)
        if waiting <= 0:
            self._waiting_since = None
            return Verdict(Health.OK, 0, 0.0, alive, gone, since_last_take=since_last_take)
        if self._waiting_since is None:
            self._waiting_since = now
        # Stuck since the later of "messages started waiting" and "a worker last took one".
        stuck_from = max(self._waiting_since, last_take or 0.0)
        stuck = max(0.0, now - stuck_from)
        if stuck <= self.bound_seconds:
            return Verdict(Health.OK, waiting, stuck, alive, gone, since_last_take=since_last_take)
        if not alive:
            reason = f"{waiting} messages have waited {stuck:.0f} s and no worker is alive" + (
                f" (heartbeat stopped: {', '.join(gone)})" if gone else " (none ever started)"
            )
            return Verdict(Health.STALLED, waiting, stuck, alive, gone, (), reason, since_last_take)
        deaf = tuple(b.name for b in alive if b.free > 0)
        if not deaf:
            reason = f"{waiting} messages wait; every live worker is full ({_describe(alive, now)})"
            return Verdict(Health.BUSY, waiting, stuck, alive, gone, (), reason, since_last_take)
        reason = (
            f"{waiting} messages have waited {stuck:.0f} s and no worker took one; "
            f"deaf (free slots, nothing taken): {_describe([b for b in alive if b.name in deaf], now)}"
        )
        return Verdict(Health.STALLED, waiting, stuck, alive, gone, deaf, reason, since_last_take)


#: The scheduler is lagging when the earliest due delivery has waited this long (seconds).
LAG_ALERT_SECONDS = 60.0
#: No live worker for this long (from start-up, or since the last one was seen) is an alert.
NO_WORKER_GRACE_SECONDS = 60.0


class Alarms:
    """Turns verdicts into alerts when something changes, each once until it clears: no worker
    alive (even while nothing waits: the next post would not go out), and the scheduler lagging
    (due deliveries wait to be handed over while the workers are not the cause). A stall is the
    dispatcher's own alert."""

    def __init__(
        self,
        *,
        started: float,
        lag_bound: float = LAG_ALERT_SECONDS,
        grace: float = NO_WORKER_GRACE_SECONDS,
    ) -> None:
        self.lag_bound = lag_bound
        self.grace = grace
        self._none_alive_since: float | None = started
        self._no_worker_told = False
        self._lag_told = False
        self._stalled = False

    def changes(self, *, now: float, verdict: Verdict, lag: float) -> list[tuple[str, str]]:
        """The ``(kind, message)`` alerts this verdict calls for (usually none)."""
        out = []
        if verdict.alive:
            self._none_alive_since, self._no_worker_told = None, False
        else:
            if self._none_alive_since is None:
                self._none_alive_since = now
            quiet = now - self._none_alive_since
            if quiet >= self.grace and not self._no_worker_told:
                self._no_worker_told = True
                gone = f" (heartbeat stopped: {', '.join(verdict.gone)})" if verdict.gone else ""
                out.append(("no-worker-alive", f"no worker has been alive for {quiet:.0f} s{gone}"))
        # While stalled, handing over is paused on purpose (the stall is the alert), and the
        # first verdict after it still sees the due time from before it: neither is lag.
        after_stall, self._stalled = self._stalled, verdict.health is Health.STALLED
        if lag >= self.lag_bound and not self._stalled and not after_stall:
            if not self._lag_told:
                self._lag_told = True
                out.append(
                    (
                        "scheduler-lagging",
                        f"the earliest due delivery has waited {lag:.0f} s to be handed over "
                        f"({verdict.waiting} messages waiting for workers)",
                    )
                )
        elif lag < self.lag_bound / 2:
            self._lag_told = False
        return out


def _describe(beats: Sequence[WorkerBeat], now: float) -> str:
    parts = []
    for b in beats:
        took = (
            "never took a message"
            if b.last_taken_at is None
            else f"last took {now - b.last_taken_at:.0f} s ago"
        )
        link = "connected" if b.connected else "not connected to the broker"
        parts.append(f"{b.name} ({took}, {b.inflight}/{b.capacity} busy, {link})")
    return "; ".join(parts)
