"""The top-of-the-hour scenario's judging: which posts count as out of their channel's order,
duplicates, each channel's first post, per-platform figures, and when Herald's posting windows
have room again after the warm-up. (The scenario itself runs in the ``--quick`` smoke test.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bench.rig import PlatformAccount
from bench.tophour import (
    WARMUP_POSTS,
    Arrival,
    arrivals,
    duplicates,
    first_lateness,
    judge,
    out_of_order,
    windows_clear_at,
)


def a(channel: str, index: int, at: float, position: int) -> Arrival:
    return Arrival(channel, index, at, position)


def test_posts_in_queued_order_are_in_order() -> None:
    posts = [a("m", 0, 1.0, 0), a("t", 0, 1.1, 1), a("m", 1, 1.2, 2), a("t", 1, 1.3, 3)]
    assert out_of_order(posts) == 0


def test_a_post_ahead_of_an_earlier_one_is_out_of_order() -> None:
    # Channel m: post 1 reached the platform before post 0; post 2 after both.
    posts = [a("m", 1, 1.0, 0), a("m", 0, 1.1, 1), a("m", 2, 1.2, 2)]
    assert out_of_order(posts) == 1
    # Every later post overtaken by nothing counts once: 2 and 1 ahead of 0.
    assert out_of_order([a("m", 2, 1.0, 0), a("m", 1, 1.1, 1), a("m", 0, 1.2, 2)]) == 2


def test_order_is_per_channel() -> None:
    """Another channel's posts interleaving is no violation."""
    posts = [a("x", 1, 1.0, 0), a("m", 0, 1.1, 1), a("x", 2, 1.2, 2), a("m", 1, 1.3, 3), a("x", 0, 0.9, -1)]
    assert out_of_order(posts) == 0


def test_a_copy_counts_at_its_first_arrival() -> None:
    posts = [a("m", 0, 1.0, 0), a("m", 1, 1.1, 1), a("m", 0, 1.2, 2)]
    assert out_of_order(posts) == 0
    assert duplicates(posts) == 1


def test_first_post_per_channel_is_the_first_to_arrive() -> None:
    posts = [a("m", 1, 10.4, 0), a("m", 0, 10.6, 1), a("t", 0, 10.2, 2)]
    assert first_lateness(posts, due=10.0) == pytest.approx({"m": 0.4, "t": 0.2})


def test_judge_sums_up_a_run_by_platform() -> None:
    channels = {"m0": "mastodon", "m1": "mastodon", "t0": "telegram"}
    posts = [
        a("m0", 0, 100.1, 0),
        a("t0", 0, 100.2, 1),
        a("m1", 1, 100.25, 2),
        a("m1", 0, 100.3, 3),
        a("t0", 1, 100.9, 4),
    ]
    run = judge(posts, 100.0, channels, over=2)
    assert run.drain == pytest.approx(0.9)
    assert run.first_p99 == pytest.approx(0.25)
    assert (run.order, run.over, run.dupes) == (1, 2, 0)
    assert run.by_platform["mastodon"] == pytest.approx((0.3, 0.25))
    assert run.by_platform["telegram"] == pytest.approx((0.9, 0.2))


def test_arrivals_read_the_ledger_of_one_run_on_the_scenarios_channels() -> None:
    def entry(account: str, text: str, at: float) -> SimpleNamespace:
        return SimpleNamespace(account=account, text=text, received_at=at)

    ledger = [
        entry("top-x-00", "herald top #3", 5.0),
        entry("b0", "herald top #1", 5.1),  # not one of the scenario's channels
        entry("top-x-00", "eta top #0", 5.2),  # another system's run
        entry("top-x-00", "herald top #12", 5.3),
    ]
    got = arrivals(ledger, "herald top", {"top-x-00": "x"})
    assert got == [Arrival("top-x-00", 3, 5.0, 0), Arrival("top-x-00", 12, 5.3, 3)]


def test_herald_waits_for_telegrams_minute_only_when_the_warm_up_crowds_it() -> None:
    accounts = [
        PlatformAccount("top-mastodon-00", "mastodon", {}),
        PlatformAccount("top-telegram-00", "telegram", {}),
        PlatformAccount("top-x-00", "x", {}),
    ]
    # 20 posts + the warm-up's are over Telegram's 20 a minute: wait out the minute.
    assert windows_clear_at(accounts, 1000.0, 20) == pytest.approx(1061.0)
    # A few posts fit beside the warm-up's (the --quick form): no wait.
    assert windows_clear_at(accounts, 1000.0, 20 - WARMUP_POSTS) == 1000.0
