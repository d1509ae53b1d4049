"""TelegramConnector against the Telegram simulator: a table of faults first, then the flows
(text, one photo, an album, private channels, deletes), the rules ``validate`` adds and the
secrecy check (the bot token is part of every URL)."""

from __future__ import annotations

import hashlib
import io
import logging
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from PIL import Image

from herald.core.errors import (
    AuthError,
    HeraldError,
    InputError,
    PermanentError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import Secret
from herald.platforms.base import ConnectorConfig, Draft, Photo, PhotoInfo
from herald.platforms.telegram import TelegramConnector
from herald.simulator import Fault, Simulator

BOT = "123456:ABC-herald-bot-token_0123"
OTHER_BOT = "654321:XYZ-other-bot-token_9876"
UNKNOWN_BOT = "999999:NOT-registered-token_5555"
MALFORMED_BOT = "malformed-bot-token-0000"
CHANNEL = "@herald_channel"
PRIVATE_CHANNEL = "-1001234567890"
TEXT = "안녕하세요, Herald! 봄 캠페인이 시작됩니다. Spring campaign starts today (#herald)."

#: Read timeout for the tests, seconds: short so that a "slow" fault times out quickly.
READ_TIMEOUT = 0.5


def jpeg(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


PHOTOS = (
    Photo(jpeg(64, 48, (200, 30, 30)), "image/jpeg", 64, 48, "빨간 사각형 (a red square)", "red.jpg"),
    Photo(jpeg(48, 64, (30, 30, 200)), "image/jpeg", 48, 64, "A blue square, 파란 사각형", "blue.jpg"),
)


def draft(text: str = TEXT, photos: tuple[Photo, ...] = ()) -> Draft:
    return Draft(text=text, idempotency_key="post-1:telegram", photos=photos, language="ko")


def closed_port_url() -> str:
    """A loopback URL where nothing listens: connecting is refused, nothing is sent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def settle(sim: Simulator) -> None:
    """Wait until a "slow" request the client gave up on has been handled."""
    deadline = time.monotonic() + 5.0
    while not any(seen.fault == "slow" for seen in sim.requests_seen()):
        assert time.monotonic() < deadline, "the slow request never finished"
        time.sleep(0.02)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    simulator = Simulator(platforms=("telegram",)).start()
    simulator.add_account("telegram", username="herald_channel", bot_token=BOT, chat_id=CHANNEL)
    simulator.add_account("telegram", username="private_channel", bot_token=BOT, chat_id=PRIVATE_CHANNEL)
    simulator.add_account("telegram", username="other_channel", bot_token=OTHER_BOT, chat_id="@other_channel")
    yield simulator
    simulator.stop()


@pytest.fixture(autouse=True)
def fresh(sim: Simulator) -> None:
    sim.reset()  # keeps accounts (and message ids counting)


def make(
    base_url: str, *, token: str = BOT, chat_id: str = CHANNEL, parse_mode: str | None = None
) -> TelegramConnector:
    return TelegramConnector(
        ConnectorConfig(
            credentials={"bot_token": Secret(token), "chat_id": Secret(chat_id)},
            base_url=base_url,
            connect_timeout=1.0,
            read_timeout=READ_TIMEOUT,
            options={} if parse_mode is None else {"parse_mode": parse_mode},
        )
    )


@pytest.fixture
def telegram(sim: Simulator) -> Iterator[TelegramConnector]:
    connector = make(sim.url_for("telegram"))
    yield connector
    connector.close()


# -- the table -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    faults: tuple[Fault, ...]
    expected: type[HeraldError]
    fragment: str
    photos: int = 0
    token: str = BOT
    chat_id: str = CHANNEL
    retry_after: float | None = None  # expected seconds, exactly (Telegram sends integers)
    posted: int | None = 0  # ledger entries afterwards; None when the outcome is unknown


CASES = [
    Case("revoked token", (), AuthError, "HTTP 401", token=UNKNOWN_BOT),
    Case("malformed token", (), AuthError, "HTTP 404", token=MALFORMED_BOT),
    Case("bot not in the channel", (), AuthError, "bot is not a member", chat_id="@other_channel"),
    Case("chat not found", (), AuthError, "chat not found", chat_id="@nowhere"),
    Case(
        "401 on send",
        (Fault(kind="error", platform="telegram", path="/sendMessage", status=401),),
        AuthError,
        "HTTP 401",
    ),
    Case(
        "400 on send",
        (Fault(kind="error", platform="telegram", path="/sendMessage", status=400),),
        PermanentError,
        "HTTP 400",
    ),
    Case(
        "429 on send",
        (Fault(kind="rate_limit", platform="telegram", path="/sendMessage", reset_in=2.0),),
        RetryableError,
        "retry after 2",
        retry_after=2.0,
    ),
    Case(
        "429 on album",
        (Fault(kind="rate_limit", platform="telegram", path="/sendMediaGroup", reset_in=35.0),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=35.0,
    ),
    Case(
        "503 on send",
        (Fault(kind="error", platform="telegram", path="/sendMessage", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    Case(
        "502 on photo",
        (Fault(kind="error", platform="telegram", path="/sendPhoto", status=502),),
        UncertainError,
        "may exist",
        photos=1,
        posted=None,
    ),
    Case(
        "drop on album",
        (Fault(kind="drop", platform="telegram", path="/sendMediaGroup"),),
        UncertainError,
        "reconcile",
        photos=2,
        posted=None,
    ),
    Case(
        "timeout on send",
        (Fault(kind="slow", platform="telegram", path="/sendMessage", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_publish_fault(case: Case, sim: Simulator) -> None:
    for fault in case.faults:
        sim.inject(fault)
    connector = make(sim.url_for("telegram"), token=case.token, chat_id=case.chat_id)
    try:
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS[: case.photos]))
    finally:
        connector.close()
    error = caught.value
    assert case.fragment in str(error)
    assert isinstance(error, case.expected)
    if case.expected is PermanentError:
        assert not isinstance(error, AuthError)
    if case.retry_after is not None:
        assert isinstance(error, RetryableError)
        assert error.retry_after == case.retry_after
    if any(fault.kind == "slow" for fault in case.faults):
        settle(sim)
    if case.posted is not None:
        assert len(sim.ledger("telegram")) == case.posted


def test_connection_refused_is_retryable() -> None:
    connector = make(closed_port_url())
    with pytest.raises(RetryableError, match="could not connect") as caught:
        connector.publish(draft())
    connector.close()
    assert BOT not in str(caught.value)
    assert caught.value.__cause__ is None  # the requests error names the URL, token and all


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(telegram: TelegramConnector, sim: Simulator) -> None:
    published = telegram.publish(draft(photos=PHOTOS))

    [entry] = sim.ledger("telegram")
    first, second = published.remote_id.split(",")
    assert entry.remote_id == first
    assert entry.extra["message_ids"] == [int(first), int(second)]
    assert published.url == f"{sim.url_for('telegram')}/t.me/herald_channel/{first}"
    assert published.url == entry.url
    assert entry.text == TEXT  # the album's caption
    assert len(entry.media) == 2
    assert [m.sha256 for m in entry.media] == [hashlib.sha256(p.data).hexdigest() for p in PHOTOS]
    # Telegram has no alt text: it went nowhere, and nothing refused it.
    assert [m.alt_text for m in entry.media] == ["", ""]
    assert [seen.path for seen in sim.requests_seen("telegram")] == [f"/bot{BOT}/sendMediaGroup"]


def test_one_photo_is_send_photo(telegram: TelegramConnector, sim: Simulator) -> None:
    published = telegram.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("telegram")
    assert entry.remote_id == published.remote_id
    assert entry.text == TEXT
    [media] = entry.media
    assert media.sha256 == hashlib.sha256(PHOTOS[0].data).hexdigest()
    assert [seen.path for seen in sim.requests_seen("telegram")] == [f"/bot{BOT}/sendPhoto"]


def test_text_only_is_send_message(telegram: TelegramConnector, sim: Simulator) -> None:
    published = telegram.publish(draft())
    [entry] = sim.ledger("telegram")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, TEXT, ())
    assert published.url == f"{sim.url_for('telegram')}/t.me/herald_channel/{published.remote_id}"


def test_private_channel_links_through_c(sim: Simulator) -> None:
    connector = make(sim.url_for("telegram"), chat_id=PRIVATE_CHANNEL)
    published = connector.publish(draft())
    connector.close()
    [entry] = sim.ledger("telegram")
    assert published.url == f"{sim.url_for('telegram')}/t.me/c/1234567890/{published.remote_id}"
    assert published.url == entry.url


def test_parse_mode_option(sim: Simulator) -> None:
    connector = make(sim.url_for("telegram"), parse_mode="HTML")
    connector.publish(draft(text="<b>봄</b> 캠페인", photos=PHOTOS))
    connector.close()
    [entry] = sim.ledger("telegram")
    assert entry.text == "봄 캠페인"
    assert entry.extra["parse_mode"] == "HTML"
    with pytest.raises(InputError, match="parse modes"):
        make(sim.url_for("telegram"), parse_mode="markdown-ish")


def test_commit_then_drop_cannot_be_reconciled(telegram: TelegramConnector, sim: Simulator) -> None:
    sim.inject(Fault(kind="commit_then_drop", platform="telegram", path="/sendMediaGroup"))
    with pytest.raises(UncertainError):
        telegram.publish(draft(photos=PHOTOS))
    assert len(sim.ledger("telegram")) == 1  # it went out...

    with pytest.raises(UncertainError, match="cannot confirm"):
        telegram.reconcile(draft(photos=PHOTOS))  # ...and the Bot API cannot say so
    assert TelegramConnector.idempotent is False


def test_delete_removes_every_message_of_an_album(telegram: TelegramConnector, sim: Simulator) -> None:
    published = telegram.publish(draft(photos=PHOTOS))
    telegram.delete(published.remote_id)
    assert sim.deleted("telegram") == {published.remote_id.split(",")[0]}
    telegram.delete(published.remote_id)  # already gone: nothing to do


# -- rules ---------------------------------------------------------------------------------


def test_caption_limit_with_photos() -> None:
    photo = PhotoInfo("image/jpeg", 1000, 64, 48)
    text = "👍" * 512 + "a"  # 513 characters, 1,025 UTF-16 code units
    [problem] = TelegramConnector.validate(text, [photo])
    assert (problem.field, problem.count, problem.limit) == ("text", 1025, 1024)
    assert "captions allow 1024" in problem.message
    assert TelegramConnector.validate(text, []) == []  # a message may hold 4,096
    assert TelegramConnector.validate(text[:-1], [photo]) == []


def test_message_limit_is_utf16() -> None:
    [problem] = TelegramConnector.validate("👍" * 2049, [])
    assert (problem.count, problem.limit) == (4098, 4096)


def test_alt_text_is_never_refused() -> None:
    assert TelegramConnector.validate("hi", [PhotoInfo("image/jpeg", 1000, 64, 48, "설명 " * 5000)]) == []


@pytest.mark.parametrize(
    ("width", "height", "fragment"),
    [(9000, 1500, "width + height"), (2100, 100, "20 times"), (100, 2100, "20 times")],
    ids=["too-big", "too-wide", "too-tall"],
)
def test_photo_shape_rules(width: int, height: int, fragment: str) -> None:
    [problem] = TelegramConnector.validate("hi", [PhotoInfo("image/jpeg", 1000, width, height)])
    assert fragment in problem.message


def test_over_long_caption_is_refused_before_any_call(telegram: TelegramConnector, sim: Simulator) -> None:
    with pytest.raises(PermanentError, match="captions allow 1024"):
        telegram.publish(draft(text="가" * 1025, photos=PHOTOS))
    assert sim.requests_seen("telegram") == []


def test_public_url_rule() -> None:
    real = make("https://api.telegram.org")
    private = make("https://api.telegram.org", chat_id=PRIVATE_CHANNEL)
    assert real.message_url("42") == "https://t.me/herald_channel/42"
    assert private.message_url("42") == "https://t.me/c/1234567890/42"
    assert private.message_url("42", {"username": "public_name"}) == "https://t.me/public_name/42"
    real.close()
    private.close()


# -- secrets -------------------------------------------------------------------------------


@pytest.fixture
def unredacted_logs() -> Iterator[None]:
    """Switch off the process-wide redaction (``herald.logs``, installed by conftest) so that
    the test checks the connector itself, not the safety net behind it."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    try:
        yield
    finally:
        logging.setLogRecordFactory(previous)


@pytest.mark.usefixtures("unredacted_logs")
def test_no_credential_in_logs_or_errors(sim: Simulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # Herald's logging set-up (run by earlier CLI tests) quiets urllib3; this test wants its
    # request lines, which carry the bot token in the URL path.
    caplog.set_level(logging.DEBUG, logger="urllib3")
    errors: list[HeraldError] = []
    for case in [c for c in CASES if c.expected is AuthError or c.id == "drop on album"]:
        sim.clear_faults()
        for fault in case.faults:
            sim.inject(fault)
        connector = make(sim.url_for("telegram"), token=case.token, chat_id=case.chat_id)
        with pytest.raises(case.expected) as caught:
            connector.publish(draft(photos=PHOTOS[: case.photos]))
        connector.close()
        errors.append(caught.value)
    connector = make(sim.url_for("telegram"))
    connector.publish(draft())  # a success logs its request line too
    connector.close()
    assert len(errors) == 6
    # Herald's side only: the simulator's own access log stands for Telegram's servers.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("herald.simulator"))
    assert "/bot**********/sendMessage" in logged  # urllib3's request line, masked
    for secret in (BOT, UNKNOWN_BOT, MALFORMED_BOT):
        assert secret not in logged
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
            assert error.__cause__ is None
