"""TelegramConnector against the Telegram simulator: a table of faults first, then the flows
(text, one photo, an album, private channels, deletes), the rules ``validate`` adds and the
secrecy check (the bot token is part of every URL). The harness (``harness.py``) runs the table
and the checks every platform shares."""

from __future__ import annotations

import hashlib

import pytest

from herald.core.errors import AuthError, InputError, PermanentError, RetryableError, UncertainError
from herald.platforms.base import PhotoInfo
from herald.platforms.telegram import TelegramConnector
from herald.simulator import Simulator
from tests.platforms.harness import READ_TIMEOUT, FaultCase, Harness, case_id
from tests.platforms.specs import TELEGRAM as SPEC
from tests.platforms.specs import TELEGRAM_BOT as BOT
from tests.platforms.specs import TELEGRAM_PRIVATE_CHANNEL as PRIVATE_CHANNEL

UNKNOWN_BOT = "999999:NOT-registered-token_5555"
MALFORMED_BOT = "malformed-bot-token-0000"
TEXT = SPEC.text
PHOTOS = SPEC.photos
draft = SPEC.draft
fault = SPEC.fault


@pytest.fixture(scope="module")
def platform() -> str:
    return SPEC.name


# -- the table -----------------------------------------------------------------------------

CASES = [
    FaultCase("revoked token", (), AuthError, "HTTP 401", credentials={"bot_token": UNKNOWN_BOT}),
    FaultCase("malformed token", (), AuthError, "HTTP 404", credentials={"bot_token": MALFORMED_BOT}),
    FaultCase(
        "bot not in the channel",
        (),
        AuthError,
        "bot is not a member",
        credentials={"chat_id": "@other_channel"},
    ),
    FaultCase("chat not found", (), AuthError, "chat not found", credentials={"chat_id": "@nowhere"}),
    FaultCase("401 on send", (fault("error", "/sendMessage", status=401),), AuthError, "HTTP 401"),
    FaultCase("400 on send", (fault("error", "/sendMessage", status=400),), PermanentError, "HTTP 400"),
    FaultCase(
        "429 on send",
        (fault("rate_limit", "/sendMessage", reset_in=2.0),),
        RetryableError,
        "retry after 2",
        retry_after=2.0,
    ),
    FaultCase(
        "429 on album",
        (fault("rate_limit", "/sendMediaGroup", reset_in=35.0),),
        RetryableError,
        "HTTP 429",
        photos=2,
        retry_after=35.0,
    ),
    FaultCase(
        "503 on send",
        (fault("error", "/sendMessage", status=503),),
        UncertainError,
        "may exist",
        posted=None,
    ),
    FaultCase(
        "502 on photo",
        (fault("error", "/sendPhoto", status=502),),
        UncertainError,
        "may exist",
        photos=1,
        posted=None,
    ),
    FaultCase(
        "drop on album",
        (fault("drop", "/sendMediaGroup"),),
        UncertainError,
        "reconcile",
        photos=2,
        posted=None,
    ),
    FaultCase(
        "timeout on send",
        (fault("slow", "/sendMessage", delay=READ_TIMEOUT + 0.5),),
        UncertainError,
        "ReadTimeout",
        posted=None,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_publish_fault(case: FaultCase, harness: Harness[TelegramConnector]) -> None:
    harness.publish_fault(case)


# -- flows ---------------------------------------------------------------------------------


def test_publish_korean_english_with_two_photos(connector: TelegramConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))

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


def test_one_photo_is_send_photo(connector: TelegramConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS[:1]))
    [entry] = sim.ledger("telegram")
    assert entry.remote_id == published.remote_id
    assert entry.text == TEXT
    [media] = entry.media
    assert media.sha256 == hashlib.sha256(PHOTOS[0].data).hexdigest()
    assert [seen.path for seen in sim.requests_seen("telegram")] == [f"/bot{BOT}/sendPhoto"]


def test_text_only_is_send_message(connector: TelegramConnector, sim: Simulator) -> None:
    published = connector.publish(draft())
    [entry] = sim.ledger("telegram")
    assert (entry.remote_id, entry.text, entry.media) == (published.remote_id, TEXT, ())
    assert published.url == f"{sim.url_for('telegram')}/t.me/herald_channel/{published.remote_id}"


def test_private_channel_links_through_c(harness: Harness[TelegramConnector], sim: Simulator) -> None:
    connector = harness.make(chat_id=PRIVATE_CHANNEL)
    published = connector.publish(draft())
    connector.close()
    [entry] = sim.ledger("telegram")
    assert published.url == f"{sim.url_for('telegram')}/t.me/c/1234567890/{published.remote_id}"
    assert published.url == entry.url


def test_parse_mode_option(harness: Harness[TelegramConnector], sim: Simulator) -> None:
    connector = harness.make({"parse_mode": "HTML"})
    connector.publish(draft(text="<b>봄</b> 캠페인", photos=PHOTOS))
    connector.close()
    [entry] = sim.ledger("telegram")
    assert entry.text == "봄 캠페인"
    assert entry.extra["parse_mode"] == "HTML"
    with pytest.raises(InputError, match="parse modes"):
        harness.make({"parse_mode": "markdown-ish"})


def test_commit_then_drop_cannot_be_reconciled(connector: TelegramConnector, sim: Simulator) -> None:
    sim.inject(fault("commit_then_drop", "/sendMediaGroup"))
    with pytest.raises(UncertainError):
        connector.publish(draft(photos=PHOTOS))
    assert len(sim.ledger("telegram")) == 1  # it went out...

    with pytest.raises(UncertainError, match="cannot confirm"):
        connector.reconcile(draft(photos=PHOTOS))  # ...and the Bot API cannot say so
    assert TelegramConnector.idempotent is False


def test_delete_removes_every_message_of_an_album(connector: TelegramConnector, sim: Simulator) -> None:
    published = connector.publish(draft(photos=PHOTOS))
    connector.delete(published.remote_id)
    assert sim.deleted("telegram") == {published.remote_id.split(",")[0]}
    connector.delete(published.remote_id)  # already gone: nothing to do


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


def test_over_long_caption_is_refused_before_any_call(connector: TelegramConnector, sim: Simulator) -> None:
    with pytest.raises(PermanentError, match="captions allow 1024"):
        connector.publish(draft(text="가" * 1025, photos=PHOTOS))
    assert sim.requests_seen("telegram") == []


def test_public_url_rule() -> None:
    real = SPEC.build("https://api.telegram.org")
    private = SPEC.build("https://api.telegram.org", chat_id=PRIVATE_CHANNEL)
    assert real.message_url("42") == "https://t.me/herald_channel/42"
    assert private.message_url("42") == "https://t.me/c/1234567890/42"
    assert private.message_url("42", {"username": "public_name"}) == "https://t.me/public_name/42"
    real.close()
    private.close()


# -- secrets -------------------------------------------------------------------------------


def test_no_credential_in_logs_or_errors(
    harness: Harness[TelegramConnector], leak_log: pytest.LogCaptureFixture
) -> None:
    cases = [c for c in CASES if c.expected is AuthError or c.id == "drop on album"]
    assert len(cases) == 6
    errors = harness.refusals(cases)
    connector = harness.make()
    connector.publish(draft())  # a success logs its request line too
    connector.close()
    logged = harness.assert_secrets_kept(leak_log, errors, cases)
    assert "/bot**********/sendMessage" in logged  # urllib3's request line, masked
