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


def posting_window(channel: Channel, cls: type[Connector]) -> tuple[int, float] | None:
    """The channel's posting-rate window: its ``rate_limit`` option ("N/SECONDS" or "off",
    for instances with other limits, or a simulator) or the platform's default."""
    opt = (channel.options or {}).get("rate_limit")
    if opt is None:
        return cls.posts_per_window
    if opt.strip().lower() in ("off", "none", "0"):
        return None
    n, _, secs = opt.partition("/")
    return int(n), float(secs)


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

    def wait(self, channel: Channel, cls: type[Connector], claim: Claim, *, part: int = 1) -> float:
        """0.0 if this delivery (or part ``part`` of its thread: each part is a post) may be
        published on ``channel`` at its due time or now, whichever is later (taking a slot of its
        window at that instant: a delivery handed over early is counted when the platform will
        see it), else the seconds to wait after that."""
        at = sending_at(claim)
        window = posting_window(channel, cls)
        if window is None:
            return max(0.0, self._holds.get(channel.id, 0.0) - at)
        member = f"{claim.token}:{claim.delivery_id}" + (f":{part}" if part > 1 else "")
        return self.queue.rate_gate(channel.id, window, member, at=at)

    def note(self, channel_id: int, error: HeraldError) -> None:
        """Hold the channel if ``error`` is a 429 with a reset time."""
        if isinstance(error, RetryableError) and error.status == 429 and error.retry_after:
            until = time.time() + error.retry_after
            self.queue.hold_channel(channel_id, until)
            self._holds[channel_id] = max(self._holds.get(channel_id, 0.0), until)
