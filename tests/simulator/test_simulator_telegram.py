"""The Telegram Bot API simulator against platforms.md §4, driven with plain ``requests``."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from PIL import Image

from herald.simulator import Fault, Simulator

TOKEN = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
OTHER_TOKEN = "654321:XYZ-other-bot-token-000000000000"
CHANNEL = "@herald_channel"
PRIVATE = "-1001234567890"


def jpeg(size: tuple[int, int] = (64, 48), color: str = "navy") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


class _Files(BaseHTTPRequestHandler):
    files: dict[str, tuple[bytes, str]] = {}

    def do_GET(self) -> None:
        body, content_type = self.files.get(self.path, (b"missing", "text/plain"))
        self.send_response(200 if self.path in self.files else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib signature)
        pass


@pytest.fixture(scope="module")
def files() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    _Files.files = {"/photo.jpg": (jpeg(), "image/jpeg"), "/page.html": (b"<html></html>", "text/html")}
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        simulator.add_account("telegram", username="herald_channel", bot_token=TOKEN, chat_id=CHANNEL)
        simulator.add_account("telegram", username="herald_private", bot_token=TOKEN, chat_id=PRIVATE)
        simulator.add_account(
            "telegram", username="other_channel", bot_token=OTHER_TOKEN, chat_id="@other_channel"
        )
        yield simulator


@pytest.fixture(autouse=True)
def clean(sim: Simulator) -> None:
    sim.reset()


@pytest.fixture
def bot(sim: Simulator) -> str:
    return f"{sim.url_for('telegram')}/bot{TOKEN}/"


def call(bot: str, method: str, **kwargs: Any) -> requests.Response:
    return requests.post(bot + method, timeout=5, **kwargs)


def ok(response: requests.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True, body
    return body["result"]


def failure(response: requests.Response) -> tuple[int, str]:
    body = response.json()
    assert body["ok"] is False and body["error_code"] == response.status_code
    return response.status_code, body["description"]


def send(bot: str, text: str, **fields: Any) -> requests.Response:
    return call(bot, "sendMessage", json={"chat_id": CHANNEL, "text": text, **fields})


# -- bot and chat ------------------------------------------------------------------------------


def test_get_me_and_method_names_are_case_insensitive(sim: Simulator, bot: str) -> None:
    me = ok(requests.get(bot + "getMe", timeout=5))
    assert me["id"] == 123456 and me["is_bot"] is True and me["username"].endswith("_bot")
    assert ok(call(bot, "GETME"))["id"] == 123456
    assert failure(call(bot, "sendTelepathy")) == (404, "Not Found")


def test_bad_tokens(sim: Simulator) -> None:
    base = sim.url_for("telegram")
    assert failure(requests.get(f"{base}/botnot-a-token/getMe", timeout=5)) == (404, "Not Found")
    assert failure(requests.get(f"{base}/bot999:unknown-token/getMe", timeout=5)) == (401, "Unauthorized")


@pytest.mark.parametrize(
    ("chat_id", "expected"),
    [
        ("@nowhere", (400, "Bad Request: chat not found")),
        ("-100999", (400, "Bad Request: chat not found")),
        ("@other_channel", (403, "Forbidden: bot is not a member of the channel chat")),
        ("", (400, "Bad Request: chat_id is empty")),
    ],
)
def test_chat_must_be_one_the_bot_may_post_to(
    sim: Simulator, bot: str, chat_id: str, expected: tuple[int, str]
) -> None:
    assert failure(call(bot, "sendMessage", json={"chat_id": chat_id, "text": "x"})) == expected
    assert sim.ledger() == []


# -- text --------------------------------------------------------------------------------------


def test_send_message_and_its_public_url(sim: Simulator, bot: str) -> None:
    message = ok(send(bot, "Hello, channel"))
    assert isinstance(message["message_id"], int) and isinstance(message["date"], int)
    chat = message["chat"]
    assert (
        chat["type"] == "channel" and chat["username"] == "herald_channel" and chat["id"] < -1_000_000_000_000
    )
    assert message["text"] == "Hello, channel" and "entities" not in message
    (entry,) = sim.ledger("telegram")
    assert entry.remote_id == str(message["message_id"]) and entry.account == "herald_channel"
    assert entry.url == f"{sim.base_url}/telegram/t.me/herald_channel/{message['message_id']}"
    assert entry.media == () and entry.extra["chat_id"] == chat["id"]
    assert requests.get(entry.url, timeout=5).status_code == 200
    # The numeric id of a public channel works too, as a form post.
    by_id = ok(call(bot, "sendMessage", data={"chat_id": str(chat["id"]), "text": "by id"}))
    assert by_id["message_id"] == message["message_id"] + 1


def test_private_channel_links(sim: Simulator, bot: str) -> None:
    message = ok(call(bot, "sendMessage", data={"chat_id": PRIVATE, "text": "private"}))
    assert message["chat"]["id"] == int(PRIVATE) and "username" not in message["chat"]
    entry = sim.ledger("telegram")[0]
    assert entry.url == f"{sim.base_url}/telegram/t.me/c/1234567890/{message['message_id']}"
    assert requests.get(entry.url, timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("", {}, "Bad Request: message text is empty"),
        ("  \n ", {}, "Bad Request: message text is empty"),
        ("a" * 4097, {}, "Bad Request: message is too long"),
        ("😀" * 2049, {}, "Bad Request: message is too long"),  # 4098 UTF-16 code units
        ("<b></b>", {"parse_mode": "HTML"}, "Bad Request: message text is empty"),
        ("x", {"parse_mode": "BBCode"}, "Bad Request: unsupported parse_mode 'BBCode'"),
    ],
)
def test_text_rejections(sim: Simulator, bot: str, text: str, fields: dict[str, str], expected: str) -> None:
    assert failure(send(bot, text, **fields)) == (400, expected)
    assert sim.ledger() == []


def test_text_limit_counts_after_parsing_in_utf16(bot: str) -> None:
    assert ok(send(bot, "a" * 4096))["text"] == "a" * 4096
    assert len(ok(send(bot, "😀" * 2048))["text"]) == 2048
    assert ok(send(bot, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML"))["entities"] == [
        {"type": "bold", "offset": 0, "length": 4096}
    ]
    assert ok(send(bot, "  padded  "))["text"] == "padded"


def test_html_entities(sim: Simulator, bot: str) -> None:
    message = ok(
        send(
            bot,
            '👍 <b>Bold</b> &amp; <a href="https://example.com/?a=1&amp;b=2">link</a> '
            "<tg-spoiler>s</tg-spoiler>",
            parse_mode="HTML",
        )
    )
    assert message["text"] == "👍 Bold & link s"
    assert message["entities"] == [
        {"type": "bold", "offset": 3, "length": 4},  # the emoji is 2 UTF-16 units
        {"type": "text_link", "offset": 10, "length": 4, "url": "https://example.com/?a=1&b=2"},
        {"type": "spoiler", "offset": 15, "length": 1},
    ]
    entry = sim.ledger("telegram")[0]
    assert entry.text == message["text"] and entry.extra["parse_mode"] == "HTML"
    assert entry.extra["entities"] == message["entities"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("<foo>x</foo>", 'Unsupported start tag "foo" at byte offset 0'),
        ("é <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
    ],
)
def test_html_parse_errors(bot: str, text: str, error: str) -> None:
    assert failure(send(bot, text, parse_mode="HTML")) == (400, f"Bad Request: can't parse entities: {error}")


def test_markdown_v2_entities(bot: str) -> None:
    message = ok(
        send(bot, "*b* _i_ __u__ ~s~ ||p|| `c` [l](https://e.example/\\)) 1\\.5", parse_mode="MarkdownV2")
    )
    assert message["text"] == "b i u s p c l 1.5"
    assert [(e["type"], e["offset"], e["length"]) for e in message["entities"]] == [
        ("bold", 0, 1),
        ("italic", 2, 1),
        ("underline", 4, 1),
        ("strikethrough", 6, 1),
        ("spoiler", 8, 1),
        ("code", 10, 1),
        ("text_link", 12, 1),
    ]
    assert message["entities"][-1]["url"] == "https://e.example/)"
    pre = ok(send(bot, "```python\nprint(1)\n```", parse_mode="MarkdownV2"))
    assert pre["text"] == "print(1)"  # the trailing newline is trimmed with the text
    assert pre["entities"] == [{"type": "pre", "offset": 0, "length": 8, "language": "python"}]


@pytest.mark.parametrize(
    ("mode", "text", "error"),
    [
        ("MarkdownV2", "Hello.", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("MarkdownV2", "a-b", "Character '-' is reserved and must be escaped with the preceding '\\'"),
        ("MarkdownV2", "*open", "Can't find end of Bold entity at byte offset 0"),
        ("MarkdownV2", "é _x", "Can't find end of Italic entity at byte offset 3"),
        ("Markdown", "*open", "Can't find end of the entity starting at byte offset 0"),
    ],
)
def test_markdown_parse_errors(bot: str, mode: str, text: str, error: str) -> None:
    assert failure(send(bot, text, parse_mode=mode)) == (400, f"Bad Request: can't parse entities: {error}")


def test_legacy_markdown(bot: str) -> None:
    message = ok(send(bot, "*b* _i_ [l](https://e.example) 1.5-2", parse_mode="Markdown"))
    assert message["text"] == "b i l 1.5-2"
    assert [e["type"] for e in message["entities"]] == ["bold", "italic", "text_link"]


# -- photos ------------------------------------------------------------------------------------


def test_send_photo_upload_then_by_file_id(sim: Simulator, bot: str) -> None:
    photo = jpeg((1600, 900))
    message = ok(
        call(
            bot,
            "sendPhoto",
            data={"chat_id": CHANNEL, "caption": "<i>Sunset</i>", "parse_mode": "HTML"},
            files={"photo": ("p.jpg", photo, "image/jpeg")},
        )
    )
    sizes = message["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [
        (90, 51),
        (320, 180),
        (800, 450),
        (1280, 720),
        (1600, 900),
    ]
    assert all(s["file_id"] and s["file_unique_id"] for s in sizes)
    assert message["caption"] == "Sunset" and message["caption_entities"] == [
        {"type": "italic", "offset": 0, "length": 6}
    ]
    again = ok(call(bot, "sendPhoto", json={"chat_id": CHANNEL, "photo": sizes[-1]["file_id"]}))
    assert again["photo"][-1]["width"] == 1600 and "caption" not in again
    first, second = sim.ledger("telegram")
    assert first.text == "Sunset" and [(m.alt_text, m.width) for m in first.media] == [("", 1600)]
    assert sim.media_bytes("telegram", first.media[0].media_id) == photo
    assert second.text == "" and second.media[0].sha256 == first.media[0].sha256
    other_bot = f"{sim.url_for('telegram')}/bot{OTHER_TOKEN}/"
    foreign = call(other_bot, "sendPhoto", json={"chat_id": "@other_channel", "photo": sizes[-1]["file_id"]})
    assert failure(foreign) == (400, "Bad Request: wrong file identifier/HTTP URL specified")


def _photo(bot: str, data: bytes, **fields: str) -> requests.Response:
    return call(
        bot, "sendPhoto", data={"chat_id": CHANNEL, **fields}, files={"photo": ("p.jpg", data, "image/jpeg")}
    )


@pytest.mark.parametrize(
    ("data", "fields", "expected"),
    [
        (jpeg(), {"caption": "c" * 1025}, "Bad Request: message caption is too long"),
        (b"not an image at all", {}, "Bad Request: IMAGE_PROCESS_FAILED"),
        (b"", {}, "Bad Request: file must be non-empty"),
        (jpeg((21, 1)), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
        (jpeg((9000, 1001)), {}, "Bad Request: PHOTO_INVALID_DIMENSIONS"),
    ],
)
def test_send_photo_rejections(
    sim: Simulator, bot: str, data: bytes, fields: dict[str, str], expected: str
) -> None:
    assert failure(_photo(bot, data, **fields)) == (400, expected)
    assert sim.ledger() == []


def test_photo_size_limit_is_10_mib(sim: Simulator, bot: str) -> None:
    photo = jpeg()
    padded = photo + b"\0" * (10 * 1024 * 1024 - len(photo))
    assert ok(_photo(bot, padded))["photo"]
    status, description = failure(_photo(bot, padded + b"\0"))
    assert status == 400 and "is too big for a photo" in description
    assert failure(call(bot, "sendPhoto", json={"chat_id": CHANNEL, "photo": "nope"})) == (
        400,
        "Bad Request: wrong file identifier/HTTP URL specified",
    )


def test_photo_by_url_is_fetched_from_loopback_only(sim: Simulator, bot: str, files: str) -> None:
    message = ok(call(bot, "sendPhoto", json={"chat_id": CHANNEL, "photo": f"{files}/photo.jpg"}))
    assert message["photo"][-1]["width"] == 64
    for url, expected in [
        ("http://example.com/photo.jpg", "Bad Request: failed to get HTTP URL content"),
        (f"{files}/missing.jpg", "Bad Request: failed to get HTTP URL content"),
        (f"{files}/page.html", "Bad Request: wrong type of the web page content"),
    ]:
        assert failure(call(bot, "sendPhoto", json={"chat_id": CHANNEL, "photo": url})) == (400, expected)
    assert len(sim.ledger("telegram")) == 1


# -- albums ------------------------------------------------------------------------------------


def _album(bot: str, items: Any, parts: dict[str, bytes]) -> requests.Response:
    media = items if isinstance(items, str) else json.dumps(items)
    return call(
        bot,
        "sendMediaGroup",
        data={"chat_id": CHANNEL, "media": media},
        files={name: (f"{name}.jpg", data, "image/jpeg") for name, data in parts.items()},
    )


def test_media_group_with_two_photos(sim: Simulator, bot: str) -> None:
    photos = {"p0": jpeg(color="red"), "p1": jpeg((50, 50), "green")}
    items = [
        {"type": "photo", "media": "attach://p0", "caption": "<b>Two</b> photos", "parse_mode": "HTML"},
        {"type": "photo", "media": "attach://p1"},
    ]
    messages = ok(_album(bot, items, photos))
    assert len(messages) == 2
    assert messages[0]["media_group_id"] == messages[1]["media_group_id"]
    assert messages[1]["message_id"] == messages[0]["message_id"] + 1
    assert messages[0]["caption"] == "Two photos" and "caption" not in messages[1]
    (entry,) = sim.ledger("telegram")
    assert entry.remote_id == str(messages[0]["message_id"]) and entry.text == "Two photos"
    assert [(m.alt_text, m.width) for m in entry.media] == [("", 64), ("", 50)]
    assert entry.extra["message_ids"] == [m["message_id"] for m in messages]
    assert entry.extra["media_group_id"] == messages[0]["media_group_id"]
    assert sim.media_bytes("telegram", entry.media[1].media_id) == photos["p1"]


def test_a_single_item_group_is_one_plain_message(bot: str) -> None:
    (message,) = ok(_album(bot, [{"type": "photo", "media": "attach://p0"}], {"p0": jpeg()}))
    assert "media_group_id" not in message


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], "Bad Request: there are no messages to send"),
        (
            [{"type": "photo", "media": "attach://p0"}] * 11,
            "Bad Request: too many messages to send as an album",
        ),
        (
            [{"type": "photo", "media": "attach://missing"}] * 2,
            "Bad Request: can't parse InputMedia: media not found",
        ),
        ("[not json", "Bad Request: can't parse media JSON object"),
        (
            [{"type": "photo", "media": "attach://p0"}, {"type": "photo", "media": "attach://bad"}],
            'Bad Request: failed to send message #2 with the error message "IMAGE_PROCESS_FAILED"',
        ),
        (
            [
                {"type": "photo", "media": "attach://p0", "caption": "c" * 1025},
                {"type": "photo", "media": "attach://p0"},
            ],
            "Bad Request: message caption is too long",
        ),
    ],
)
def test_media_group_rejections(sim: Simulator, bot: str, items: Any, expected: str) -> None:
    assert failure(_album(bot, items, {"p0": jpeg(), "bad": b"garbage"})) == (400, expected)
    assert sim.ledger() == []


def test_delete_message_and_albums(sim: Simulator, bot: str) -> None:
    text = ok(send(bot, "to delete"))
    delete = {"chat_id": CHANNEL, "message_id": text["message_id"]}
    assert ok(call(bot, "deleteMessage", json=delete)) is True
    assert failure(call(bot, "deleteMessage", json=delete)) == (
        400,
        "Bad Request: message to delete not found",
    )
    assert sim.deleted("telegram") == {str(text["message_id"])}
    assert requests.get(sim.ledger()[0].url, timeout=5).status_code == 404
    items = [{"type": "photo", "media": "attach://p0"}, {"type": "photo", "media": "attach://p0"}]
    first, second = ok(_album(bot, items, {"p0": jpeg()}))
    ok(call(bot, "deleteMessage", json={"chat_id": CHANNEL, "message_id": first["message_id"]}))
    assert str(first["message_id"]) not in sim.deleted("telegram")  # one photo of the album is left
    ok(call(bot, "deleteMessage", json={"chat_id": CHANNEL, "message_id": second["message_id"]}))
    assert str(first["message_id"]) in sim.deleted("telegram")


# -- faults ------------------------------------------------------------------------------------


def test_rate_limit_fault_has_retry_after_and_no_headers(sim: Simulator, bot: str) -> None:
    sim.inject(Fault("rate_limit", platform="telegram", path="sendMessage", reset_in=2.2))
    limited = send(bot, "flood")
    assert limited.status_code == 429
    assert limited.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert not any(
        name.lower().startswith(("x-rate", "ratelimit", "retry-after")) for name in limited.headers
    )
    assert sim.ledger() == []


def test_error_and_commit_then_drop_faults(sim: Simulator, bot: str) -> None:
    sim.inject(Fault("error", platform="telegram", path="sendMessage", status=502))
    assert failure(send(bot, "x")) == (502, "Bad Gateway")
    sim.inject(Fault("commit_then_drop", platform="telegram", path="sendMessage"))
    with pytest.raises(requests.ConnectionError):
        send(bot, "sent, no answer")
    assert [e.text for e in sim.ledger("telegram")] == ["sent, no answer"]
