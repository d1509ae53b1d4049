"""Telegram's Bot API as a simulator platform, mounted at ``/telegram``.

Follows shared/platforms.md §4: methods at ``/telegram/bot{token}/{method}`` (method names are
case-insensitive; GET or POST; parameters in the query, urlencoded, JSON or multipart), the
``{"ok": true, "result": ...}`` / ``{"ok": false, "error_code", "description", "parameters"?}``
envelope, and no rate-limit headers.

- ``getMe``, ``getChat``, ``sendMessage`` (``text`` 1-4096 UTF-16 code units after entity
  parsing and trimming), ``sendPhoto`` (``photo`` as a multipart upload, an ``attach://`` part,
  a ``file_id`` this bot received, or a loopback HTTP URL; ``caption`` ≤ 1024), ``sendMediaGroup``
  (``media`` a JSON array of up to 10 ``InputMediaPhoto`` with ``attach://`` parts; the caption
  of each item is kept, clients show the first as the album's) and ``deleteMessage``.
- ``parse_mode`` ``HTML``, ``MarkdownV2`` and legacy ``Markdown`` are parsed into entities
  (offsets in UTF-16 code units); malformed markup answers ``Bad Request: can't parse
  entities: ...`` with the byte offset of the fault.
- Photos: ≤ 10 MiB uploaded (5 MiB by URL), decodable (``IMAGE_PROCESS_FAILED``), width +
  height ≤ 10,000 and aspect ratio ≤ 20 (``PHOTO_INVALID_DIMENSIONS``).
- The bot must be registered (malformed token → 404, unknown token → 401 ``Unauthorized``) and
  ``chat_id`` must be a chat registered for it: an unknown chat answers 400 ``chat not found``, a
  chat registered only for another bot 403 ``bot is not a member of the channel chat``.
- A ``rate_limit`` fault answers 429 ``Too Many Requests: retry after N`` with
  ``parameters.retry_after`` (seconds, rounded up), as Telegram does; so does a message over
  the flood limits: 20 a minute in one chat, 30 a second from one bot over all its chats (an
  album counts a message per photo; ``herald.simulator.limits``).

Accounts: ``bot_token`` and ``chat_id``, one account per (bot, channel). ``chat_id`` is
``@channelname`` (a public channel: its numeric id, derived from the name, is accepted too) or a
numeric ``-100...`` id (a private channel, ``t.me/c/...`` links). Ledger entries: one per
sendMessage, sendPhoto or album; ``remote_id`` is the (first) ``message_id``; the URL is
``{base}/telegram/t.me/{channel}/{message_id}``; no alt text (Telegram has none); ``extra``
holds ``chat_id``, ``message_ids``, ``parse_mode``, ``entities`` and ``media_group_id``.
Bot tokens do not expire; re-register the account with another ``bot_token`` to revoke one.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from herald.simulator.graph import FetchFailed, fetch_url
from herald.simulator.limits import PostLimit
from herald.simulator.server import (
    Account,
    BadBody,
    FormPart,
    HttpError,
    InvalidImage,
    LedgerEntry,
    Platform,
    Request,
    Response,
    Simulator,
    StoredMedia,
    html_response,
    inspect_image,
    json_response,
    phrase,
    register_platform,
)

logger = logging.getLogger(__name__)

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
#: TDLib's photo limit: 10 × 2^20 bytes for uploads.
MAX_PHOTO_UPLOAD_BYTES = 10 * 1024 * 1024
#: Photos given by URL are fetched by Telegram, up to 5 MB.
MAX_PHOTO_URL_BYTES = 5 * 1024 * 1024
MAX_PHOTO_DIMENSIONS_SUM = 10_000
MAX_PHOTO_RATIO = 20
MAX_MEDIA_GROUP_ITEMS = 10
#: Sides of the sizes Telegram generates for a photo (the original is capped at 2560).
PHOTO_SIDES = (90, 320, 800, 1280, 2560)
_TOKEN_RE = re.compile(r"\A\d+:[A-Za-z0-9_-]+\Z")


class ParseError(ValueError):
    """Markup that Telegram cannot turn into entities."""


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


# --------------------------------------------------------------------------------------------
# Entity parsing
# --------------------------------------------------------------------------------------------


@dataclass
class _Builder:
    """Plain text being built, with its length in UTF-16 units and the entities found."""

    pieces: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)  # Any: JSON values

    def add(self, text: str) -> None:
        self.pieces.append(text)
        self.length += utf16_length(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:  # Any: JSON values
        if self.length > start:
            self.entities.append({"type": kind, "offset": start, "length": self.length - start, **extra})

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.pieces), ordered


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ENTITY_RE = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z]+));")
_ATTRIBUTE_RE = re.compile(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?""")


def _html_unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(1) or match.group(2):
            number = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
            return chr(number) if 0 < number < 0x110000 else match.group(0)
        return _HTML_ENTITIES.get(match.group(3).lower(), match.group(0))

    return _HTML_ENTITY_RE.sub(replace, text)


@dataclass
class _OpenTag:
    name: str
    start: int
    attributes: dict[str, str]


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:  # Any: JSON values
    """Plain text and entities of Telegram-HTML ``source``; raises ``ParseError``."""
    out = _Builder()
    stack: list[_OpenTag] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "&":
            match = _HTML_ENTITY_RE.match(source, i)
            if match:
                out.add(_html_unescape(match.group(0)))
                i = match.end()
                continue
            out.add(ch)
            i += 1
            continue
        if ch != "<":
            end = i
            while end < len(source) and source[end] not in "<&":
                end += 1
            out.add(source[i:end])
            i = end
            continue
        offset = _byte_offset(source, i)
        if source.startswith("</", i):
            close = source.find(">", i)
            if close < 0:
                raise ParseError(f"Unclosed end tag at byte offset {offset}")
            name = source[i + 2 : close].strip().lower()
            if not stack:
                raise ParseError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name != top.name:
                raise ParseError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", found "</{name}>"'
                )
            _close_html(out, top)
            i = close + 1
            continue
        j = i + 1
        while j < len(source) and (source[j].isascii() and (source[j].isalnum() or source[j] == "-")):
            j += 1
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise ParseError(f'Unsupported start tag "{name}" at byte offset {offset}')
        close = source.find(">", j)
        if close < 0:
            raise ParseError(f"Unclosed start tag at byte offset {offset}")
        attributes: dict[str, str] = {}
        for match in _ATTRIBUTE_RE.finditer(source[j:close]):
            value = next((g for g in match.groups()[1:] if g is not None), "")
            attributes[match.group(1).lower()] = _html_unescape(value)
        if name == "span" and attributes.get("class") != "tg-spoiler":
            raise ParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and not attributes.get("emoji-id", "").isdigit():
            raise ParseError('Tag "tg-emoji" must have attribute "emoji-id"')
        stack.append(_OpenTag(name, out.length, attributes))
        i = close + 1
    if stack:
        raise ParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    return out.result()


def _close_html(out: _Builder, tag: _OpenTag) -> None:
    kind = _HTML_TAGS[tag.name]
    if kind == "text_link":
        href = tag.attributes.get("href", "")
        if href:
            out.entity("text_link", tag.start, url=href)
    elif kind == "custom_emoji":
        out.entity(kind, tag.start, custom_emoji_id=tag.attributes["emoji-id"])
    elif kind == "code" and tag.attributes.get("class", "").startswith("language-"):
        language = tag.attributes["class"][len("language-") :]
        enclosing = next((e for e in reversed(out.entities) if e["type"] == "pre"), None)
        if enclosing is None:
            out.entity("pre", tag.start, language=language)
        else:
            enclosing["language"] = language
    elif kind == "blockquote" and "expandable" in tag.attributes:
        out.entity("expandable_blockquote", tag.start)
    else:
        out.entity(kind, tag.start)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
}


def _reserved(ch: str) -> ParseError:
    return ParseError(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")


def parse_markdown_v2(source: str) -> tuple[str, list[dict[str, Any]]]:  # Any: JSON values
    """Plain text and entities of MarkdownV2 ``source``; raises ``ParseError``."""
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (entity type, start in UTF-16, byte offset)
    quote_start: int | None = None
    i = 0
    while i < len(source):
        ch = source[i]
        at_line_start = i == 0 or source[i - 1] == "\n"
        if quote_start is not None and at_line_start and ch != ">":
            out.entity("blockquote", quote_start)
            quote_start = None
        if ch == "\\" and i + 1 < len(source) and 1 <= ord(source[i + 1]) <= 126:
            out.add(source[i + 1])
            i += 2
            continue
        if ch not in _MDV2_RESERVED:
            out.add(ch)
            i += 1
            continue
        offset = _byte_offset(source, i)
        if ch == ">" and at_line_start:
            if quote_start is None:
                quote_start = out.length
            i += 1
            continue
        if ch == "`":
            i = _markdown_v2_code(source, i, out)
            continue
        if ch == "[":
            stack.append(("text_link", out.length, offset))
            i += 1
            continue
        if ch == "]":
            if not stack or stack[-1][0] != "text_link":
                raise _reserved(ch)
            if not source.startswith("(", i + 1):
                raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(source, i + 1)}")
            url, i = _read_url(source, i + 2)
            _, start, _ = stack.pop()
            out.entity("text_link", start, url=url)
            continue
        if ch == "_" and source.startswith("__", i):
            kind, width = "underline", 2
        elif ch == "_":
            kind, width = "italic", 1
        elif ch == "*":
            kind, width = "bold", 1
        elif ch == "~":
            kind, width = "strikethrough", 1
        elif ch == "|" and source.startswith("||", i):
            kind, width = "spoiler", 2
        else:
            raise _reserved(ch)
        if stack and stack[-1][0] == kind:
            _, start, _ = stack.pop()
            out.entity(kind, start)
        elif any(open_kind == kind for open_kind, _, _ in stack):
            kind, _, start_offset = stack[-1]
            raise ParseError(f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {start_offset}")
        else:
            stack.append((kind, out.length, offset))
        i += width
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    if stack:
        kind, _, start_offset = stack[-1]
        raise ParseError(f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {start_offset}")
    return out.result()


def _markdown_v2_code(source: str, i: int, out: _Builder) -> int:
    """Read `code` or ```pre``` starting at ``i``; only ` and \\ are escaped inside."""
    offset = _byte_offset(source, i)
    fence = "```" if source.startswith("```", i) else "`"
    j = i + len(fence)
    language = None
    if fence == "```":
        newline = source.find("\n", j)
        first = source[j:newline] if newline >= 0 else ""
        if newline >= 0 and first and not any(c.isspace() for c in first) and "`" not in first:
            language, j = first, newline + 1
    start = out.length
    while j < len(source):
        if source[j] == "\\" and j + 1 < len(source) and source[j + 1] in "`\\":
            out.add(source[j + 1])
            j += 2
            continue
        if source.startswith(fence, j):
            if fence == "```":
                out.entity("pre", start, **({"language": language} if language else {}))
            else:
                out.entity("code", start)
            return j + len(fence)
        out.add(source[j])
        j += 1
    raise ParseError(
        f"Can't find end of {'Pre' if fence == '```' else 'Code'} entity at byte offset {offset}"
    )


def _read_url(source: str, j: int) -> tuple[str, int]:
    url: list[str] = []
    begin = j
    while j < len(source):
        if source[j] == "\\" and j + 1 < len(source) and source[j + 1] in ")\\":
            url.append(source[j + 1])
            j += 2
            continue
        if source[j] == ")":
            return "".join(url), j + 1
        url.append(source[j])
        j += 1
    raise ParseError(f"Can't find end of a URL at byte offset {_byte_offset(source, begin)}")


_LEGACY_MARKERS = {"*": "bold", "_": "italic", "`": "code"}


def parse_markdown(source: str) -> tuple[str, list[dict[str, Any]]]:  # Any: JSON values
    """Legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out = _Builder()
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "\\" and i + 1 < len(source) and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if ch not in "_*`[":
            out.add(ch)
            i += 1
            continue
        offset = _byte_offset(source, i)
        unclosed = ParseError(f"Can't find end of the entity starting at byte offset {offset}")
        if source.startswith("```", i):
            end = source.find("```", i + 3)
            if end < 0:
                raise unclosed
            body = source[i + 3 : end]
            language = None
            newline = body.find("\n")
            if newline > 0 and " " not in body[:newline]:
                language, body = body[:newline], body[newline + 1 :]
            start = out.length
            out.add(body)
            out.entity("pre", start, **({"language": language} if language else {}))
            i = end + 3
            continue
        if ch == "[":
            close = source.find("]", i + 1)
            if close < 0 or not source.startswith("(", close + 1):
                raise unclosed
            end = source.find(")", close + 2)
            if end < 0:
                raise unclosed
            start = out.length
            out.add(source[i + 1 : close])
            out.entity("text_link", start, url=source[close + 2 : end])
            i = end + 1
            continue
        end = source.find(ch, i + 1)
        if end < 0:
            raise unclosed
        start = out.length
        out.add(source[i + 1 : end])
        out.entity(_LEGACY_MARKERS[ch], start)
        i = end + 1
    return out.result()


_PARSERS = {"html": parse_html, "markdownv2": parse_markdown_v2, "markdown": parse_markdown}


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:  # Any: JSON
    """Drop leading and trailing whitespace, as Telegram does, keeping entities aligned."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_length(text[: len(text) - len(text.lstrip())])
    size = utf16_length(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# The platform
# --------------------------------------------------------------------------------------------


def _bad_request(description: str) -> HttpError:
    return _fail(400, f"Bad Request: {description}")


def _fail(status: int, description: str, **parameters: int) -> HttpError:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return HttpError(json_response(status, body))


def _ok(result: Any) -> Response:  # Any: JSON values
    return json_response(200, {"ok": True, "result": result})


@dataclass
class _Chat:
    id: int
    username: str | None
    title: str
    bots: set[str] = field(default_factory=set)
    next_message_id: int = 1

    def json(self) -> dict[str, Any]:  # Any: JSON values
        chat: dict[str, Any] = {"id": self.id, "title": self.title, "type": "channel"}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class _Photo:
    media: StoredMedia
    bot_token: str
    sizes: list[dict[str, Any]]  # Any: JSON PhotoSize objects


@dataclass
class _Sent:
    entry: LedgerEntry
    message_ids: list[int]
    deleted: set[int] = field(default_factory=set)


def _channel_id(name: str) -> int:
    """A stable ``-100...`` id for a public channel known by its name."""
    digest = int(hashlib.sha256(name.lower().encode()).hexdigest(), 16)
    return -(1_000_000_000_000 + digest % 1_000_000_000)


@register_platform
class Telegram(Platform):
    name = "telegram"
    required_credentials = ("bot_token", "chat_id")
    rate_limit = 30
    rate_window_seconds = 1.0
    #: The Bot API's flood limits (core.telegram.org/bots/faq; python-telegram-bot's
    #: ``FloodLimit``): 20 messages per minute in one group or channel, about 30 per second
    #: over all of a bot's chats. (Its "about one per second in one chat" is advice with bursts
    #: allowed, not a limit: not counted.) An album counts as one message per photo.
    post_limits = (
        PostLimit("messages per chat", 20, 60.0),
        PostLimit("messages per bot", 30, 1.0, scope="bot_token"),
    )

    def __init__(self, sim: Simulator) -> None:
        self._bots: dict[str, list[Account]] = {}
        self._chats: dict[int, _Chat] = {}
        self._names: dict[str, int] = {}
        self._files: dict[str, _Photo] = {}
        self._sent: dict[tuple[int, int], _Sent] = {}
        super().__init__(sim)

    def setup_routes(self) -> None:
        for method in ("GET", "POST"):
            self.route(method, "/bot{token}/{method}", self.call)
        self.route("GET", "/t.me/{username}/{message_id}", self.public_page, public=True)
        self.route("GET", "/t.me/c/{internal}/{message_id}", self.private_page, public=True)

    # -- platform hooks --------------------------------------------------------------------

    def validate_credentials(self, credentials: Mapping[str, str]) -> None:
        super().validate_credentials(credentials)
        token = credentials["bot_token"]
        if not _TOKEN_RE.match(token):
            raise ValueError(f"telegram bot_token must look like 123456:ABC-DEF..., got {token!r}")
        chat_id = credentials["chat_id"].strip()
        if not (re.fullmatch(r"@\w{1,64}", chat_id) or re.fullmatch(r"-?\d+", chat_id)):
            raise ValueError(f"telegram chat_id must be @channel or a numeric id, got {chat_id!r}")

    def index_accounts(self, accounts: list[Account]) -> None:
        bots: dict[str, list[Account]] = {}
        for chat in self._chats.values():
            chat.bots.clear()
        for account in accounts:
            token = account.credentials["bot_token"]
            bots.setdefault(token, []).append(account)
            chat = self._chat_for(account)
            chat.bots.add(token)
        self._bots = bots

    def _chat_for(self, account: Account) -> _Chat:
        raw = account.credentials["chat_id"].strip()
        if raw.startswith("@"):
            name = raw[1:]
            chat_id = _channel_id(name)
            username: str | None = name
        else:
            chat_id = int(raw)  # validate_credentials checked the form
            username = None
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(chat_id, username, account.username)
            self._chats[chat_id] = chat
        if username:
            self._names[username.lower()] = chat_id
        return chat

    def reset(self) -> None:
        # Message ids keep counting: a connector may still hold ids from before the reset.
        super().reset()
        self._files.clear()
        self._sent.clear()

    def authenticate(self, request: Request) -> Account:
        token = request.params["token"]
        if not _TOKEN_RE.match(token):
            raise _fail(404, "Not Found")
        accounts = self._bots.get(token)
        if not accounts:
            raise _fail(401, "Unauthorized")
        return accounts[0]

    def not_found(self, request: Request) -> Response:
        return json_response(404, {"ok": False, "error_code": 404, "description": "Not Found"})

    def error_response(self, status: int) -> Response:
        return json_response(status, {"ok": False, "error_code": status, "description": phrase(status)})

    def rate_limited_body(self) -> Response:
        return self.rate_limited_response(1.0)

    def rate_limited_response(self, reset_in: float) -> Response:
        seconds = max(1, math.ceil(reset_in))
        return json_response(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            },
        )

    def rate_limit_headers(self, limit: int, remaining: int, reset_at: float) -> dict[str, str]:
        return {}  # Telegram sends no rate-limit headers

    # -- dispatch --------------------------------------------------------------------------

    def call(self, request: Request) -> Response:
        method = request.params["method"].lower()
        handler = {
            "getme": self.get_me,
            "getchat": self.get_chat,
            "sendmessage": self.send_message,
            "sendphoto": self.send_photo,
            "sendmediagroup": self.send_media_group,
            "deletemessage": self.delete_message,
        }.get(method)
        if handler is None:
            raise _fail(404, "Not Found")
        params, files = _params(request)
        return handler(request.params["token"], params, files)

    def get_me(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        account = self._bots[token][0]
        return _ok(
            {
                "id": int(token.split(":", 1)[0]),
                "is_bot": True,
                "first_name": account.username,
                "username": f"{account.username}_bot",
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    def get_chat(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        chat = self._resolve_chat(token, params.get("chat_id"))
        return _ok({**chat.json(), "accent_color_id": 0, "max_reaction_count": 11})

    def _resolve_chat(self, token: str, raw: Any) -> _Chat:  # Any: a string or a JSON number
        text = _text(raw)
        if not text:
            raise _bad_request("chat_id is empty")
        if text.startswith("@"):
            chat_id = self._names.get(text[1:].lower())
        else:
            try:
                chat_id = int(text)
            except ValueError:
                chat_id = None
        chat = self._chats.get(chat_id) if chat_id is not None else None
        if chat is None or not chat.bots:
            raise _bad_request("chat not found")
        if token not in chat.bots:
            raise _fail(403, "Forbidden: bot is not a member of the channel chat")
        return chat

    # -- sending ---------------------------------------------------------------------------

    def send_message(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        chat = self._resolve_chat(token, params.get("chat_id"))
        text, entities, mode = _formatted(params, "text", "entities")
        if not text:
            raise _bad_request("message text is empty")
        if utf16_length(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        with self.sim.lock:
            now = time.time()
            self.count_post(self._member(token, chat), now=now)
            message_id = self._next_id(chat)
            message = self._message(chat, message_id, now)
            message["text"] = text
            if entities:
                message["entities"] = entities
            self._commit(token, chat, [message_id], text, entities, mode, [], now, None)
        return _ok(message)

    def send_photo(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        chat = self._resolve_chat(token, params.get("chat_id"))
        caption, entities, mode = _formatted(params, "caption", "caption_entities")
        if utf16_length(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        photo = self._photo(token, files.get("photo") or params.get("photo"), files, position=None)
        with self.sim.lock:
            now = time.time()
            self.count_post(self._member(token, chat), now=now)
            self._files.update({size["file_id"]: photo for size in photo.sizes})
            message_id = self._next_id(chat)
            message = self._message(chat, message_id, now)
            message["photo"] = photo.sizes
            if caption:
                message["caption"] = caption
            if entities:
                message["caption_entities"] = entities
            self._commit(token, chat, [message_id], caption, entities, mode, [photo], now, None)
        return _ok(message)

    def send_media_group(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        chat = self._resolve_chat(token, params.get("chat_id"))
        raw = params.get("media")
        if raw is None or raw == "":
            raise _bad_request('parameter "media" is required')
        if isinstance(raw, str):
            try:
                items = json.loads(raw)
            except json.JSONDecodeError:
                raise _bad_request("can't parse media JSON object") from None
        else:
            items = raw
        if not isinstance(items, list):
            raise _bad_request("can't parse media JSON object")
        if not items:
            raise _bad_request("there are no messages to send")
        if len(items) > MAX_MEDIA_GROUP_ITEMS:
            raise _bad_request("too many messages to send as an album")
        captions = []
        for item in items:
            if not isinstance(item, dict):
                raise _bad_request("can't parse InputMedia: Object expected as InputMedia")
            kind = item.get("type")
            if kind != "photo":
                raise _bad_request(
                    f'can\'t parse InputMedia: type "{kind}" is not supported by this simulator'
                )
            captions.append(_formatted(item, "caption", "caption_entities"))
        for caption, _, _ in captions:
            if utf16_length(caption) > MAX_CAPTION_LENGTH:
                raise _bad_request("message caption is too long")
        photos = [
            self._photo(token, item.get("media"), files, position=number)
            for number, item in enumerate(items, start=1)
        ]
        with self.sim.lock:
            now = time.time()
            self.count_post(self._member(token, chat), cost=len(items), now=now)
            # A lone item is sent as an ordinary message, outside any album.
            group_id = str(self.sim.new_id(self.name)) if len(items) > 1 else None
            messages = []
            for photo, (caption, entities, _) in zip(photos, captions, strict=True):
                self._files.update({size["file_id"]: photo for size in photo.sizes})
                message = self._message(chat, self._next_id(chat), now)
                if group_id is not None:
                    message["media_group_id"] = group_id
                message["photo"] = photo.sizes
                if caption:
                    message["caption"] = caption
                if entities:
                    message["caption_entities"] = entities
                messages.append(message)
            first_caption, first_entities, mode = captions[0]
            ids = [m["message_id"] for m in messages]
            self._commit(token, chat, ids, first_caption, first_entities, mode, photos, now, group_id)
        return _ok(messages)

    def _member(self, token: str, chat: _Chat) -> Account:
        """The account (bot, chat) a send from ``token`` to ``chat`` counts against."""
        return next((a for a in self._bots[token] if self._chat_for(a) is chat), self._bots[token][0])

    def _next_id(self, chat: _Chat) -> int:
        message_id = chat.next_message_id
        chat.next_message_id += 1
        return message_id

    def _message(self, chat: _Chat, message_id: int, now: float) -> dict[str, Any]:
        return {"message_id": message_id, "sender_chat": chat.json(), "chat": chat.json(), "date": int(now)}

    def _url(self, chat: _Chat, message_id: int) -> str:
        if chat.username:
            return f"{self.sim.base_url}/telegram/t.me/{chat.username}/{message_id}"
        return f"{self.sim.base_url}/telegram/t.me/c/{_internal_id(chat.id)}/{message_id}"

    def _commit(
        self,
        token: str,
        chat: _Chat,
        message_ids: list[int],
        text: str,
        entities: list[dict[str, Any]],
        mode: str | None,
        photos: list[_Photo],
        now: float,
        group_id: str | None,
    ) -> None:
        account = self._member(token, chat)
        entry = LedgerEntry(
            platform=self.name,
            account=account.username,
            remote_id=str(message_ids[0]),
            url=self._url(chat, message_ids[0]),
            text=text,
            media=tuple(p.media.ledger_media() for p in photos),
            idempotency_key=None,
            received_at=now,
            extra={
                "chat_id": chat.id,
                "message_ids": list(message_ids),
                "parse_mode": mode,
                "entities": entities,
                "media_group_id": group_id,
            },
        )
        sent = _Sent(entry, list(message_ids))
        for message_id in message_ids:
            self._sent[(chat.id, message_id)] = sent
        for photo in photos:
            self.sim.store_media(photo.media)
        self.sim.commit(entry)

    # -- photos ----------------------------------------------------------------------------

    def _photo(self, token: str, source: Any, files: dict[str, FormPart], *, position: int | None) -> _Photo:
        """Resolve ``source`` (an upload, ``attach://name``, a file_id or a URL) into a photo.
        ``position`` is the 1-based album position, for the album's error wording."""
        if isinstance(source, FormPart):
            return self._new_photo(token, source.data, MAX_PHOTO_UPLOAD_BYTES, position)
        text = _text(source)
        if not text:
            raise _bad_request("there is no photo in the request")
        if text.startswith("attach://"):
            part = files.get(text[len("attach://") :])
            if part is None:
                raise _bad_request("can't parse InputMedia: media not found")
            return self._new_photo(token, part.data, MAX_PHOTO_UPLOAD_BYTES, position)
        if "://" in text or text.startswith("www."):
            url = text if "://" in text else "http://" + text
            try:
                fetched = fetch_url(url, cap=MAX_PHOTO_URL_BYTES)
            except FetchFailed as exc:
                logger.info("telegram photo url failed", extra={"platform": self.name, "reason": str(exc)})
                raise _bad_request("failed to get HTTP URL content") from None
            if fetched.truncated:
                raise _bad_request("failed to get HTTP URL content")
            if fetched.content_type and not fetched.content_type.startswith("image/"):
                raise _bad_request("wrong type of the web page content")
            return self._new_photo(token, fetched.data, MAX_PHOTO_URL_BYTES, position)
        with self.sim.lock:
            known = self._files.get(text)
        if known is None or known.bot_token != token:
            raise _bad_request("wrong file identifier/HTTP URL specified")
        return known

    def _new_photo(self, token: str, data: bytes, limit: int, position: int | None) -> _Photo:
        if not data:
            raise _bad_request("file must be non-empty")
        if len(data) > limit:
            raise _bad_request(
                f"file of size {len(data)} bytes is too big for a photo; the maximum size is {limit} bytes"
            )

        def server_error(code: str) -> HttpError:
            if position is None:
                return _bad_request(code)
            return _bad_request(f'failed to send message #{position} with the error message "{code}"')

        try:
            info = inspect_image(data)
        except InvalidImage:
            raise server_error("IMAGE_PROCESS_FAILED") from None
        width, height = info.width, info.height
        if width + height > MAX_PHOTO_DIMENSIONS_SUM or max(width, height) > MAX_PHOTO_RATIO * min(
            width, height
        ):
            raise server_error("PHOTO_INVALID_DIMENSIONS")
        unique = base64.urlsafe_b64encode(hashlib.sha256(data + token.encode()).digest()[:12]).decode()
        media = StoredMedia(
            platform=self.name,
            media_id=unique,
            owner_id=token.split(":", 1)[0],
            data=data,
            info=info,
            created_at=time.time(),
        )
        sizes = []
        longest = max(width, height)
        for number, side in enumerate(PHOTO_SIDES):
            scale = min(1.0, side / longest)
            size_w, size_h = max(1, round(width * scale)), max(1, round(height * scale))
            file_id = "AgACAgQAAxkDAAI" + base64.urlsafe_b64encode(
                f"{unique}:{number}".encode()
            ).decode().rstrip("=")
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"AQAD{unique[:8]}{number}",
                    "file_size": max(1, round(len(data) * scale * scale)),
                    "width": size_w,
                    "height": size_h,
                }
            )
            if scale == 1.0:
                break
        return _Photo(media=media, bot_token=token, sizes=sizes)

    # -- deletion and public pages ---------------------------------------------------------

    def delete_message(self, token: str, params: dict[str, Any], files: dict[str, FormPart]) -> Response:
        chat = self._resolve_chat(token, params.get("chat_id"))
        raw = _text(params.get("message_id"))
        if not raw:
            raise _bad_request("message identifier is not specified")
        try:
            message_id = int(raw)
        except ValueError:
            raise _bad_request("message identifier is not specified") from None
        with self.sim.lock:
            sent = self._sent.get((chat.id, message_id))
            if sent is None or message_id in sent.deleted:
                raise _bad_request("message to delete not found")
            sent.deleted.add(message_id)
            if sent.deleted >= set(sent.message_ids):
                self.sim.mark_deleted(self.name, sent.entry.remote_id)
        return _ok(True)

    def public_page(self, request: Request) -> Response:
        chat_id = self._names.get(request.params["username"].lower())
        return self._page(chat_id, request.params["message_id"])

    def private_page(self, request: Request) -> Response:
        internal = request.params["internal"]
        chat_id = -int("100" + internal) if internal.isdigit() else None
        return self._page(chat_id, request.params["message_id"])

    def _page(self, chat_id: int | None, raw_message_id: str) -> Response:
        message_id = int(raw_message_id) if raw_message_id.isdigit() else -1
        with self.sim.lock:
            sent = self._sent.get((chat_id, message_id)) if chat_id is not None else None
            if sent is None or message_id in sent.deleted:
                return html_response(404, "<!doctype html><title>Not found</title><p>Post not found</p>")
            chat = self._chats[chat_id] if chat_id is not None else None
            title = html.escape(chat.title if chat else "")
            images = "".join(
                f'<img src="/_sim/media/telegram/{m.media_id}" alt="" width="240">' for m in sent.entry.media
            )
            return html_response(
                200,
                "<!doctype html><meta charset='utf-8'>"
                f"<title>{title}</title><p><b>{title}</b></p>{images}"
                f"<p style='white-space:pre-wrap'>{html.escape(sent.entry.text)}</p>",
            )


def _internal_id(chat_id: int) -> str:
    text = str(-chat_id)
    return text[3:] if text.startswith("100") else text


def _text(value: Any) -> str:  # Any: a string or a JSON scalar
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _params(request: Request) -> tuple[dict[str, Any], dict[str, FormPart]]:  # Any: JSON values
    """Parameters from the query, then the body (JSON, urlencoded or multipart), and the
    multipart file parts by name."""
    params: dict[str, Any] = dict(request.query_pairs)
    files: dict[str, FormPart] = {}
    if request.content_type == "application/json":
        try:
            data = request.json() if request.body else {}
        except BadBody:
            raise _bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise _bad_request("can't parse JSON object")
        params.update(data)
        return params, files
    try:
        parts = request.form.parts
    except BadBody:
        raise _bad_request("can't parse request body") from None
    for part in parts:
        if part.filename is not None:
            files[part.name] = part
        else:
            params[part.name] = part.text
    return params, files


def _formatted(
    params: dict[str, Any], name: str, entities_name: str
) -> tuple[str, list[dict[str, Any]], str | None]:  # Any: JSON values
    """``params[name]`` parsed per its ``parse_mode`` (or with explicit entities) and trimmed."""
    source = _text(params.get(name))
    mode_raw = _text(params.get("parse_mode")).strip()
    explicit = params.get(entities_name)
    if explicit not in (None, ""):
        try:
            entities = json.loads(explicit) if isinstance(explicit, str) else explicit
        except json.JSONDecodeError:
            entities = None
        if not isinstance(entities, list):
            raise _bad_request(f"can't parse {entities_name} JSON object")
        return (*_trim(source, entities), None)
    if not mode_raw:
        return (*_trim(source, []), None)
    parser = _PARSERS.get(mode_raw.lower())
    if parser is None:
        raise _bad_request(f"unsupported parse_mode {mode_raw!r}")
    try:
        text, entities = parser(source)
    except ParseError as exc:
        raise _bad_request(f"can't parse entities: {exc}") from None
    return (*_trim(text, entities), mode_raw)
