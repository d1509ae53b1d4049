"""How a hand-over is cut into worker messages (``scheduler.lanes``): every delivery in exactly
one message, a channel's deliveries in one chain in queue order, every channel's first post in
its chain's first message, and never more chains than asked for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.lanes import MAX_MESSAGE, message_size, pack


def _lanes(shape: list[int]) -> list[tuple[int, ...]]:
    """Lanes of the given lengths with distinct ids, made as a bulk queueing makes them: post 1
    on every channel, then post 2..., so each lane's ids climb."""
    out: list[list[int]] = [[] for _ in shape]
    next_id = 1
    for r in range(max(shape, default=0)):
        for k, n in enumerate(shape):
            if r < n:
                out[k].append(next_id)
                next_id += 1
    return [tuple(lane) for lane in out]


@given(
    shape=st.lists(st.integers(min_value=0, max_value=60), max_size=120),
    size=st.integers(min_value=1, max_value=40),
    chains=st.integers(min_value=1, max_value=40),
)
def test_every_delivery_once_and_each_channel_in_order_in_one_chain(
    shape: list[int], size: int, chains: int
) -> None:
    lanes = _lanes(shape)
    packed = pack(lanes, size, chains=chains)
    ids = [i for chain in packed for message in chain for i in message]
    assert sorted(ids) == sorted(i for lane in lanes for i in lane)
    assert len(ids) == len(set(ids))
    assert len(packed) <= chains
    chain_of = {i: c for c, chain in enumerate(packed) for message in chain for i in message}
    for lane in lanes:
        if not lane:
            continue
        assert len({chain_of[i] for i in lane}) == 1, f"lane {lane} spread over chains"
        chain = packed[chain_of[lane[0]]]
        walked = [i for message in chain for i in message if i in set(lane)]
        assert walked == list(lane), "a channel's posts out of their queued order"
    # Every channel's first post comes before any channel's second in its chain: no channel
    # waits for another's tail.
    firsts = {lane[0] for lane in lanes if lane}
    for chain in packed:
        assert chain and all(0 < len(m) <= size for m in chain)
        walked = [i for message in chain for i in message]
        opening = {i for i in walked if i in firsts}
        assert set(walked[: len(opening)]) == opening


def test_the_top_of_the_hour_shape() -> None:
    """100 channels × 20 posts: 32 chains, each opening with one post per channel."""
    lanes = _lanes([20] * 100)
    packed = pack(lanes)
    assert message_size(2000) == MAX_MESSAGE
    assert len(packed) == 32
    assert sum(len(chain[0]) for chain in packed) == 100
    assert max(len(m) for chain in packed for m in chain) == MAX_MESSAGE


def test_few_due_go_one_per_message() -> None:
    """A post or a handful due at once: a message each, so each goes as soon as a thread is free."""
    assert pack([(7,)]) == [((7,),)]
    assert pack([(1,), (2,), (3,)]) == [((1,),), ((2,),), ((3,),)]
    # Two posts of one channel at once: one chain, the second after the first.
    assert pack([(4, 9)]) == [((4,), (9,))]


def test_a_burst_on_few_channels_keeps_each_channel_in_one_chain() -> None:
    lanes = _lanes([200] * 10)
    packed = pack(lanes)
    assert len(packed) == 10
    for chain, lane in zip(packed, lanes, strict=True):
        assert [i for m in chain for i in m] == list(lane)
        assert [len(m) for m in chain] == [MAX_MESSAGE] * 8


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one delivery"):
        pack([(1,)], 0)
    with pytest.raises(ValueError, match="at least one delivery"):
        pack([(1,)], 5, chains=0)
