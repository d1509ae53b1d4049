"""A channel's posting rate: its own window, and holds a platform imposes with a 429.

A window ("N posts per S seconds") is enforced across workers by the content queue's rate gate
script. A 429 with a reset time holds the whole channel (the account is limited, not just one
post), for every worker, and for the later deliveries of the batch that met it.
"""

from __future__ import annotations

import time
from collections.abc import Collection

from content_queue import ContentQueue
from herald.core.errors import HeraldError, RetryableError
from herald.platforms import Connector
from herald.store.deliveries import Claim
from herald.store.models import Channel

#: A window is kept a little longer than the platform's: a slot is taken when the gate is asked,
#: a few ms (a draft, a photo upload) before the platform counts the post, so a window kept
#: exactly would let the next post in just before the platform's own window lets it go.
WINDOW_MARGIN_SECONDS = 0.1
WINDOW_MARGIN_SHARE = 0.01
#: A deferred delivery's reserved slot is rounded up to a multiple of this (seconds), so that a
#: channel's deferred posts come back together in one hand-over, in order (see the script).
SLOT_GRID_SECONDS = 0.1


def _kept(window: tuple[int, float]) -> tuple[int, float]:
    """``window`` as the gate keeps it: with its margin (``WINDOW_MARGIN_SECONDS``, or a share
    of a long window)."""
    posts, seconds = window
    return posts, seconds + max(WINDOW_MARGIN_SECONDS, seconds * WINDOW_MARGIN_SHARE)


def _limits_off(channel: Channel) -> bool:
    opt = (channel.options or {}).get("rate_limit")
    return opt is not None and opt.strip().lower() in ("off", "none", "0")


def posting_window(channel: Channel, cls: type[Connector]) -> tuple[int, float] | None:
    """The channel's posting-rate window: its ``rate_limit`` option ("N/SECONDS" or "off",
    for instances with other limits, or a simulator) or the platform's default."""
    opt = (channel.options or {}).get("rate_limit")
    if opt is None:
        return cls.posts_per_window
    if _limits_off(channel):
        return None
    n, _, secs = opt.partition("/")
    return int(n), float(secs)


def shared_window(channel: Channel, connector: Connector) -> tuple[str, tuple[int, float]] | None:
    """The limit this channel shares with the others of its credential (a Telegram bot's
    messages over all its chats, an X app's posts over all its users): its scope and window,
    or None (no such limit, or ``rate_limit: off``: the person takes every limit off)."""
    window = connector.shared_posts_per_window
    if window is None or _limits_off(channel):
        return None
    scope = connector.shared_scope()
    return (scope, window) if scope else None


def sending_at(claim: Claim) -> float:
    """When the platform call for ``claim`` will be made (epoch seconds): its due time, for a
    delivery handed over before it (``herald.delivery.instant``), else now."""
    return max(time.time(), claim.due)


class RateGate:
    """The rate gate as one batch sees it: the channels' 429 holds are read once, in one round
    trip; a channel with a window asks the gate script for each delivery."""

    def __init__(self, queue: ContentQueue, channel_ids: Collection[int]) -> None:
        self.queue = queue
        self._holds = queue.channel_holds(sorted(channel_ids))

    def until(self, channel: Channel, connector: Connector, claim: Claim, *, part: int = 1) -> float | None:
        """None if this delivery (or part ``part`` of its thread: each part is a post) may be
        published on ``channel`` at its due time or now, whichever is later (taking a slot of its
        window, and of the window its credential shares with other channels, at that instant: a
        delivery handed over early is counted when the platform will see it), else the instant
        (epoch seconds) to defer it to: the first one it fits in, reserved for it, so that the
        deliveries told to wait come back in the order they asked, each to its own slot, and
        nothing asking later goes ahead of them (``content_queue.scripts.RATE_GATE``). The
        reservation is the attempt's: a deferral uses no attempt, a retry takes a new slot."""
        at = sending_at(claim)
        window = posting_window(channel, type(connector))
        shared = shared_window(channel, connector)
        if window is None and shared is None:
            hold = self._holds.get(channel.id, 0.0)
            return hold if hold > at else None
        member = f"{claim.delivery_id}:{claim.attempt_no}" + (f":{part}" if part > 1 else "")
        until = self.queue.rate_gate(
            channel.id,
            _kept(window) if window else None,
            member,
            at=at,
            shared=(shared[0], _kept(shared[1])) if shared else None,
            grid=SLOT_GRID_SECONDS,
        )
        return until if until > 0 else None

    def note(self, channel_id: int, error: HeraldError) -> None:
        """Hold the channel if ``error`` is a 429 with a reset time."""
        if isinstance(error, RetryableError) and error.status == 429 and error.retry_after:
            until = time.time() + error.retry_after
            self.queue.hold_channel(channel_id, until)
            self._holds[channel_id] = max(self._holds.get(channel_id, 0.0), until)
