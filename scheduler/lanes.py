"""Lanes: what the scheduler hands over in one go, cut into worker messages so that the posts of
one channel go out in the order they were queued.

A lane is one channel's share of a hand-over, in its queue's order (due time, then the order
the deliveries were made). The posts of a lane must not race each other: two worker threads
holding two posts of one channel could each be first on the platform. So a lane is never
spread over messages that could run at once: it rides in one message, or, when it is longer
than a message, in a chain of messages that the workers take one after the other (the next is
sent when the one before has finished). Lanes of different channels run side by side, up to
``CHAINS`` chains; lanes that share a chain take turns post by post, so that each channel's
first post goes out early, and a hand-over of one post on each of many channels still makes
few broker round trips.

``pack`` is pure: the dispatcher looks the lanes up (``herald.store.queue_order.lanes``) and
the hand-over (``tasks.publish.dispatch``) sends what it returns.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

#: One worker message: delivery ids, published one after the other in this order.
Message = tuple[int, ...]
#: Messages a worker takes one after the other (a Celery chain): one lane's, or short lanes'.
Chain = tuple[Message, ...]

#: The longest message (deliveries): long enough that broker round trips do not dominate a
#: burst, short enough that a lane's chain interleaves with the others'.
MAX_MESSAGE = 25
#: A hand-over is cut into about this many messages at least, so that every worker thread of a
#: few processes has one (the size of a message is the hand-over over this, up to the maximum).
SPREAD = 16
#: Most chains one hand-over makes: the lanes that run side by side. More than the worker
#: threads of a few machines (a plain ``herald worker`` runs four per core), so none is idle.
CHAINS = 32


def message_size(deliveries: int) -> int:
    """How many deliveries one message carries in a hand-over of ``deliveries``: one each
    when few are due (each goes out as soon as a thread is free), up to ``MAX_MESSAGE`` in a
    burst."""
    return max(1, min(MAX_MESSAGE, deliveries // SPREAD))


def pack(lanes: Sequence[Sequence[int]], size: int | None = None, *, chains: int = CHAINS) -> list[Chain]:
    """The chains that carry ``lanes`` (each a channel's delivery ids in queue order; the lanes
    in the order they should start), messages of ``size`` (``message_size`` by default).

    The lanes are dealt round-robin into at most ``chains`` bundles; a bundle's posts are taken
    a round at a time (the first post of each of its lanes, then the second of each...): the
    first round is the chain's first message (when the chain has several lanes), the rest is
    cut into messages of ``size``. So
    every channel's first post goes in the first wave of short messages (a channel does not
    wait for another's twenty posts), the bundles run side by side, and a lane's ids are in
    one chain, in order: every id is in exactly one message."""
    kept = [tuple(lane) for lane in lanes if lane]
    if size is None:
        size = message_size(sum(len(lane) for lane in kept))
    if size < 1 or chains < 1:
        raise ValueError(
            f"a message carries at least one delivery and a hand-over takes a chain, not {size}, {chains}"
        )
    bundles: list[list[tuple[int, ...]]] = [[] for _ in range(min(len(kept), chains))]
    for k, lane in enumerate(kept):
        bundles[k % len(bundles)].append(lane)
    packed: list[Chain] = []
    for bundle in bundles:
        rounds = max(len(lane) for lane in bundle)
        order = [lane[r] for r in range(rounds) for lane in bundle if r < len(lane)]
        # The first round alone first, when lanes share the chain: every channel's first post
        # before anyone's second. A lane alone in its chain runs on from its first post.
        first = min(len(bundle), size) if len(bundle) > 1 else size
        cuts = [0, *range(first, len(order), size), len(order)]
        packed.append(tuple(tuple(order[a:b]) for a, b in itertools.pairwise(cuts)))
    return packed
