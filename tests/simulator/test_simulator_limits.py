"""Posting limits in the simulator: each platform's documented limit counted per account (and
per bot or app), a post over it answered with the platform's 429 and recorded, the record
readable in-process and over the control API, and the count exact under concurrent clients."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from herald.simulator import PostLimit, RateViolation, Simulator, SimulatorClient
from herald.simulator.limits import PostCounter, scope_keys

MASTODON_TOKEN = "limits-mastodon"
OTHER_MASTODON_TOKEN = "limits-mastodon-other"
FREE_MASTODON_TOKEN = "limits-mastodon-free"
BOT = "700000123:LIMITS-telegram-bot-token-00000000"
OTHER_BOT = "700000124:LIMITS-telegram-bot-token-00000001"
X_BEARER = "limits-x-user-bearer"
BLUESKY = {"handle": "limits.bsky.social", "app_password": "limi-tsbl-uesk-y000"}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("mastodon", username="limited", access_token=MASTODON_TOKEN)
        simulator.add_account("mastodon", username="neighbour", access_token=OTHER_MASTODON_TOKEN)
        simulator.add_account(
            "mastodon", username="free", access_token=FREE_MASTODON_TOKEN, post_limits="off"
        )
        simulator.add_account("telegram", username="chan_a", bot_token=BOT, chat_id="@limits_a")
        simulator.add_account("telegram", username="chan_b", bot_token=OTHER_BOT, chat_id="@limits_b")
        simulator.add_account(
            "x",
            username="xuser",
            api_key="limits-app",
            api_secret="limits-app-secret",
            access_token="limits-user-token",
            access_token_secret="limits-user-secret",
            bearer_token=X_BEARER,
        )
        simulator.add_account("bluesky", username="sky", **BLUESKY)
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()
    sim.enforce_post_limits = 1


def toot(
    sim: Simulator, text: str, token: str = MASTODON_TOKEN, session: Any = requests
) -> requests.Response:
    return session.post(
        f"{sim.url_for('mastodon')}/api/v1/statuses",
        headers={"Authorization": f"Bearer {token}"},
        json={"status": text},
        timeout=5,
    )


def telegram(sim: Simulator, text: str, *, bot: str = BOT, chat: str = "@limits_a") -> requests.Response:
    return requests.post(
        f"{sim.url_for('telegram')}/bot{bot}/sendMessage", json={"chat_id": chat, "text": text}, timeout=5
    )


# -- Mastodon: 300 statuses per 3 hours per account ------------------------------------------------


def test_mastodon_refuses_the_301st_status_in_three_hours(sim: Simulator) -> None:
    with requests.Session() as session:
        answers = [toot(sim, f"status {i}", session=session).status_code for i in range(301)]
    assert answers == [200] * 300 + [429]
    refused = toot(sim, "one more")
    assert refused.status_code == 429
    assert refused.json() == {"error": "Too many requests"}
    assert refused.headers["X-RateLimit-Limit"] == "300"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    # Mastodon's reset is an ISO 8601 time: about three hours from the first status.
    reset = datetime.strptime(refused.headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert 3 * 3600 - 60 < reset.replace(tzinfo=UTC).timestamp() - time.time() <= 3 * 3600
    assert len(sim.ledger("mastodon")) == 300
    violations = sim.rate_violations("mastodon")
    assert len(violations) == 2
    first = violations[0]
    assert (first.account, first.limit, first.posts, first.used, first.cost, first.refused) == (
        "limited",
        "statuses per account",
        300,
        300,
        1,
        True,
    )
    # Another account has a window of its own.
    assert toot(sim, "neighbour's status", OTHER_MASTODON_TOKEN).status_code == 200


def test_an_idempotent_replay_is_not_a_second_status(sim: Simulator) -> None:
    url = f"{sim.url_for('mastodon')}/api/v1/statuses"
    headers = {"Authorization": f"Bearer {MASTODON_TOKEN}", "Idempotency-Key": "same-key"}
    first = requests.post(url, headers=headers, json={"status": "once"}, timeout=5)
    for _ in range(310):
        again = requests.post(url, headers=headers, json={"status": "once"}, timeout=5)
        assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert sim.rate_violations() == []


def test_limits_are_exact_under_concurrent_clients(sim: Simulator) -> None:
    """Eight clients race for the last slots: exactly 300 statuses are accepted, never 301."""
    codes: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        with requests.Session() as session:
            for i in range(50):
                code = toot(sim, f"c{n} #{i}", session=session).status_code
                with lock:
                    codes.append(code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(codes)) == [200, 429]
    assert codes.count(200) == 300 == len(sim.ledger("mastodon"))
    assert codes.count(429) == 100 == len(sim.rate_violations())


def test_an_exempt_account_is_never_counted(sim: Simulator) -> None:
    with requests.Session() as session:
        assert all(
            toot(sim, f"free {i}", FREE_MASTODON_TOKEN, session).status_code == 200 for i in range(320)
        )
    assert sim.rate_violations() == []


def test_count_only_accepts_and_records(sim: Simulator) -> None:
    sim.enforce_post_limits = 0
    with requests.Session() as session:
        assert all(toot(sim, f"s{i}", session=session).status_code == 200 for i in range(302))
    violations = sim.rate_violations()
    assert [(v.used, v.refused) for v in violations] == [(300, False), (301, False)]
    assert len(sim.ledger()) == 302


def test_reset_forgets_windows_and_violations(sim: Simulator) -> None:
    with requests.Session() as session:
        for i in range(301):
            toot(sim, f"s{i}", session=session)
    assert sim.rate_violations()
    sim.reset()
    assert sim.rate_violations() == []
    assert toot(sim, "after reset").status_code == 200


# -- Telegram: 20 messages a minute per chat, 30 a second per bot ----------------------------------


def test_telegram_refuses_the_21st_message_in_a_minute_in_one_chat(sim: Simulator) -> None:
    for i in range(20):
        assert telegram(sim, f"m{i}").status_code == 200
    refused = telegram(sim, "m20")
    body = refused.json()
    assert refused.status_code == 429
    assert body["ok"] is False and body["error_code"] == 429
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    assert 50 <= body["parameters"]["retry_after"] <= 60
    # Another bot's chat is not held.
    assert telegram(sim, "elsewhere", bot=OTHER_BOT, chat="@limits_b").status_code == 200
    [violation] = sim.rate_violations("telegram")
    assert (violation.account, violation.limit, violation.used) == ("chan_a", "messages per chat", 20)


def test_the_bot_limit_spans_its_chats() -> None:
    """A bot's 30 messages a second count over all its chats (timed exactly, not over HTTP)."""
    limits = (PostLimit("per chat", 20, 60.0), PostLimit("per bot", 30, 1.0, scope="bot_token"))
    counter = PostCounter()
    chats = [scope_keys(f"chat{k}", {"bot_token": "bot-1"}, limits) for k in range(3)]
    for i in range(30):
        assert counter.over("telegram", limits, chats[i % 3], 1, 100.0 + i / 100) is None
        counter.take("telegram", limits, chats[i % 3], 1, 100.0 + i / 100)
    over = counter.over("telegram", limits, chats[0], 1, 100.5)
    assert over is not None and over.limit.name == "per bot" and over.used == 30
    # The oldest message leaves the one-second window at 101.0: room again then.
    assert over.reset_at == pytest.approx(101.0)
    assert counter.over("telegram", limits, chats[0], 1, 101.0) is None
    # Another bot shares nothing with this one.
    other = scope_keys("chat9", {"bot_token": "bot-2"}, limits)
    assert counter.over("telegram", limits, other, 1, 100.5) is None


def test_points_free_up_oldest_first() -> None:
    limits = (PostLimit("points", 10, 60.0),)
    counter = PostCounter()
    keys = scope_keys("did", {}, limits)
    for at in (0.0, 1.0, 2.0):
        counter.take("bluesky", limits, keys, 3, at)
    over = counter.over("bluesky", limits, keys, 3, 5.0)
    # 9 used + 3 > 10: room once the first write (3 points) leaves, at 60.
    assert over is not None and (over.used, over.reset_at) == (9, 60.0)
    assert counter.over("bluesky", limits, keys, 1, 5.0) is None


# -- X: 100 posts per 15 minutes per user --------------------------------------------------------


def test_x_refuses_the_101st_post_in_15_minutes(sim: Simulator) -> None:
    url = f"{sim.url_for('x')}/2/tweets"
    headers = {"Authorization": f"Bearer {X_BEARER}"}
    with requests.Session() as session:
        codes = [
            session.post(url, headers=headers, json={"text": f"post {i}"}, timeout=5) for i in range(101)
        ]
    assert [r.status_code for r in codes] == [201] * 100 + [429]
    refused = codes[-1]
    assert refused.json()["status"] == 429
    assert refused.headers["x-rate-limit-limit"] == "100"
    assert refused.headers["x-rate-limit-remaining"] == "0"
    assert 890 <= int(refused.headers["x-rate-limit-reset"]) - time.time() <= 901


# -- Bluesky: write points per account ---------------------------------------------------------------


def test_bluesky_counts_a_post_as_three_points(sim: Simulator) -> None:
    api = f"{sim.url_for('bluesky')}/xrpc/"
    session = requests.post(
        api + "com.atproto.server.createSession",
        json={"identifier": BLUESKY["handle"], "password": BLUESKY["app_password"]},
        timeout=5,
    ).json()
    [account] = sim.accounts("bluesky")
    platform_limits = (PostLimit("write points per hour", 5000, 3600.0),)
    # 4,998 points used already this hour (an earlier burst): one more post (3) is over.
    keys = scope_keys(account.id, account.credentials, platform_limits)
    with sim.lock:
        sim.post_counter.take("bluesky", platform_limits, keys, 4998, time.time())

    def create(text: str) -> requests.Response:
        record = {"text": text, "createdAt": "2026-11-25T09:00:00.000Z"}
        return requests.post(
            api + "com.atproto.repo.createRecord",
            headers={"Authorization": f"Bearer {session['accessJwt']}"},
            json={"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
            timeout=5,
        )

    refused = create("over the hour's points")
    assert refused.status_code == 429
    assert refused.json()["error"] == "RateLimitExceeded"
    assert refused.headers["ratelimit-limit"] == "5000"
    assert refused.headers["ratelimit-policy"] == "5000;w=3600"
    [violation] = sim.rate_violations("bluesky")
    assert (violation.limit, violation.used, violation.cost) == ("write points per hour", 4998, 3)
    assert sim.ledger("bluesky") == []


# -- the control API --------------------------------------------------------------------------------


def test_violations_and_enforcement_over_the_control_api(sim: Simulator) -> None:
    client = SimulatorClient(sim.base_url)
    client.configure(enforce_post_limits=0)
    assert sim.enforce_post_limits == 0
    for i in range(21):
        telegram(sim, f"m{i}")
    [violation] = client.rate_violations("telegram")
    assert isinstance(violation, RateViolation)
    assert (violation.account, violation.limit, violation.refused) == ("chan_a", "messages per chat", False)
    assert client.rate_violations("mastodon") == []
    # The record names the account and the limit, never a credential.
    raw = requests.get(f"{sim.base_url}/_sim/rate-violations", timeout=5).text
    assert BOT not in raw and BOT.split(":")[0] not in raw
