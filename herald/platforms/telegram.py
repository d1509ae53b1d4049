"""Telegram Bot API: a channel or group post made by a bot, ``sendMessage`` for text,
``sendPhoto`` for one photo and ``sendMediaGroup`` (an album) for two to four.

**Text.** Plain text by default; the channel option ``parse_mode`` (``HTML``, ``MarkdownV2`` or
``Markdown``) lets a channel write markup. The limits are 4,096 for a message and 1,024 for the
caption of a photo or album, in UTF-16 code units after entity parsing. A text longer than a
caption with photos is refused by ``validate`` (it is never split into two messages behind the
author's back).

**Alt text.** Telegram has no field for it: each photo's alt text is dropped. Validation does
not refuse alt text, since the same post carries it to the platforms that take it.

**Idempotency.** None (``idempotent = False``), and no way to look: the Bot API cannot list the
messages a bot has sent and a bot does not receive its own channel posts as updates, so after a
lost answer nobody but a person reading the channel can tell whether the post went out.
``reconcile`` therefore always raises ``UncertainError``. (Probing by editing or forwarding
guessed message ids is not sound: ids are shared with every other poster in the chat.)

**Secrecy.** The bot token is part of every URL path (``/bot<token>/<method>``). Errors are
raised without their ``requests`` cause (whose text holds the URL), and the filter
``_MaskBotToken`` on urllib3's connection-pool logger masks the token in its DEBUG lines.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Mapping, Sequence

import requests

from herald.core.errors import (
    AuthError,
    InputError,
    PermanentError,
    PlatformError,
    RetryableError,
    UncertainError,
)
from herald.core.secret import MASK
from herald.media import PhotoRules
from herald.platforms import http
from herald.platforms.base import (
    Connector,
    ConnectorConfig,
    Draft,
    PhotoInfo,
    Problem,
    Published,
    TextCount,
    Verified,
)
from herald.platforms.text import telegram_length

log = logging.getLogger(__name__)

#: Hosts of the real API: messages sent through them live at ``PUBLIC_URL_ROOT``.
REAL_API_HOSTS = frozenset({"https://api.telegram.org"})
PUBLIC_URL_ROOT = "https://t.me"
#: ``parse_mode`` values the Bot API knows.
PARSE_MODES = frozenset({"HTML", "MarkdownV2", "Markdown"})
#: Prefix of channel and supergroup ids; ``t.me/c/`` links use the id without it.
CHANNEL_ID_PREFIX = "-100"

# Words in a refusal that mean the bot cannot post in the chat: a person must fix the channel
# (add the bot back, make it an administrator, correct the chat id).
_CHAT_ACCESS_MARKERS = (
    "bot is not a member",
    "bot was kicked",
    "bot was blocked",
    "need administrator rights",
    "not enough rights",
    "have no rights",
    "chat not found",
)
_BOT_PATH_RE = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")


class _MaskBotToken(logging.Filter):
    """urllib3 logs every request line at DEBUG, path included; for the Bot API the path holds
    the bot token. Rewrites such records with the token masked: every token a connector of
    this process uses, and anything shaped like a bot token."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/bot" in message:
            for token in self.tokens:
                message = message.replace("/bot" + token, "/bot" + MASK)
            record.msg = _BOT_PATH_RE.sub("/bot" + MASK, message)
            record.args = ()
        return True


_MASK_BOT_TOKEN = _MaskBotToken()
logging.getLogger("urllib3.connectionpool").addFilter(_MASK_BOT_TOKEN)


class TelegramConnector(Connector):
    name = "telegram"
    title = "Telegram"
    default_base_url = "https://api.telegram.org"
    credential_keys = ("bot_token", "chat_id")
    identity_keys = ("chat_id",)
    #: sendMessage ``text``: 1-4,096 after entity parsing, counted in UTF-16 code units.
    max_text = 4096
    text_unit = "UTF-16 code units"
    #: sendPhoto / sendMediaGroup ``caption``: 0-1,024, same unit.
    max_caption = 1024
    #: Herald's maximum; an album takes 2-10.
    max_photos = 4
    #: Photo upload ≤ 10 MB (python-telegram-bot ``PHOTOSIZE_UPLOAD = 10e6``); width + height
    #: ≤ 10,000 and a ratio of sides ≤ 20, either way round.
    photo_rules = PhotoRules(
        max_bytes=10_000_000,
        mime_types=frozenset({"image/jpeg", "image/png"}),
        min_aspect=1 / 20,
        max_aspect=20.0,
        max_sum_wh=10_000,
        platform="Telegram",
    )
    #: No alt text on Telegram: any is accepted and dropped (see the module docstring).
    max_alt_text = sys.maxsize
    idempotent = False
    can_delete = True
    can_verify = True
    #: Flood limits: about 20 messages per minute to one group or channel (python-telegram-bot
    #: ``FloodLimit``). An album counts as one message per photo on Telegram's side, so a run of
    #: four-photo albums can still be slowed down with 429 ``retry_after``.
    posts_per_window = (20, 60.0)
    #: And about 30 messages a second from one bot over all its chats (python-telegram-bot
    #: ``FloodLimit.MESSAGES_PER_SECOND``): the channels of one bot share it.
    shared_posts_per_window = (30, 1.0)
    shared_credential = "bot_token"

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        _MASK_BOT_TOKEN.tokens.add(self.secret("bot_token"))
        self.chat_id = self.secret("chat_id").strip()
        parse_mode = (config.options.get("parse_mode") or "").strip()
        if parse_mode and parse_mode not in PARSE_MODES:
            raise InputError("parse_mode", f"Telegram parse modes are {', '.join(sorted(PARSE_MODES))}")
        self.parse_mode = parse_mode or None

    @classmethod
    def count_text(cls, text: str) -> TextCount:
        return TextCount(telegram_length(text), cls.max_text, cls.text_unit)

    @classmethod
    def validate(cls, text: str, photos: Sequence[PhotoInfo]) -> list[Problem]:
        """The shared rules (``photo_rules`` included) plus the caption limit with photos."""
        problems = super().validate(text, photos)
        length = telegram_length(text)
        if photos and length > cls.max_caption:
            problems.append(
                Problem(
                    cls.name,
                    "text",
                    f"{cls.title} captions allow {cls.max_caption} {cls.text_unit}; with photos "
                    f"this text is the caption and has {length}: shorten it or post it without photos",
                    length,
                    cls.max_caption,
                )
            )
        return problems

    # -- calls -----------------------------------------------------------------------------

    def publish(self, draft: Draft) -> Published:
        """``sendMessage``, ``sendPhoto`` or ``sendMediaGroup``, as the photo count says.

        The remote id is the message id, or the album's message ids joined by commas (all are
        needed to delete it); the URL names the first.

        Raises ``AuthError`` (401 or 404, the bot token; 403 and refusals saying the bot cannot
        post in the chat, or that the group moved to a new id); ``PermanentError`` (a draft that
        does not fit ``validate``, before any call; other 400 refusals); ``RetryableError``
        (429 with ``retry_after``; connection refused); ``UncertainError`` (5xx, timeout or
        dropped connection on the send: every call here is the create call).
        """
        problems = self.validate_draft(draft)
        if problems:
            # Queue-time validation should have caught this; the platform would refuse it too.
            raise PermanentError(self.name, "; ".join(problem.message for problem in problems))
        started = time.monotonic()
        fields = {"chat_id": self.chat_id}
        if self.parse_mode is not None:
            fields["parse_mode"] = self.parse_mode
        result: object
        if not draft.photos:
            result = self._call("sendMessage", create=True, json={**fields, "text": draft.text})
        elif len(draft.photos) == 1:
            photo = draft.photos[0]
            if draft.text:
                fields["caption"] = draft.text
            result = self._call(
                "sendPhoto",
                create=True,
                data=fields,
                files={"photo": (photo.filename, photo.data, photo.mime_type)},
            )
        else:
            media: list[dict[str, str]] = []
            for index in range(len(draft.photos)):
                item = {"type": "photo", "media": f"attach://photo{index}"}
                if index == 0 and draft.text:
                    # The first item's caption is shown as the album's caption.
                    item["caption"] = draft.text
                    if self.parse_mode is not None:
                        item["parse_mode"] = self.parse_mode
                media.append(item)
            result = self._call(
                "sendMediaGroup",
                create=True,
                data={"chat_id": self.chat_id, "media": json.dumps(media, ensure_ascii=False)},
                files={
                    f"photo{index}": (photo.filename, photo.data, photo.mime_type)
                    for index, photo in enumerate(draft.photos)
                },
            )
        messages = result if isinstance(result, list) else [result]
        ids = [http.string_at(message, "message_id") for message in messages]
        message_ids = [message_id for message_id in ids if message_id]
        if not message_ids or len(message_ids) != len(ids):
            # Telegram said ok, but not which message: it went out, and we cannot name it.
            raise UncertainError(self.name, "the send answer had no message_id", status=200)
        remote_id = ",".join(message_ids)
        chat = http.json_object(http.json_object(messages[0]).get("chat"))
        log.info(
            "published platform=%s remote_id=%s photos=%d duration_ms=%d",
            self.name,
            remote_id,
            len(draft.photos),
            (time.monotonic() - started) * 1000,
            extra={"platform": self.name, "remote_id": remote_id},
        )
        return Published(remote_id=remote_id, url=self.message_url(message_ids[0], chat))

    def reconcile(self, draft: Draft) -> Published | None:
        """Always raises ``UncertainError``: the Bot API offers no way to find a message a bot
        sent (see the module docstring). A person must look at the channel."""
        raise UncertainError(
            self.name,
            "Telegram cannot confirm whether the message went out: the Bot API cannot list the "
            "messages a bot has sent; check the channel",
        )

    def delete(self, remote_id: str) -> None:
        """Delete the message (every message of an album). One that is already gone counts as
        deleted. Telegram lets a bot delete its channel posts only for 48 hours: later,
        ``PermanentError``."""
        for message_id in remote_id.split(","):
            try:
                self._call(
                    "deleteMessage",
                    create=False,
                    json={"chat_id": self.chat_id, "message_id": int(message_id)},
                )
            except PermanentError as exc:
                if isinstance(exc, AuthError) or "message to delete not found" not in exc.detail.lower():
                    raise
                log.info(
                    "delete of a missing message platform=%s remote_id=%s",
                    self.name,
                    message_id,
                    extra={"platform": self.name, "remote_id": message_id},
                )

    def verify(self) -> Verified:
        """``getMe`` (is the bot token good?) then ``getChat`` (can the bot see the channel's
        chat?): a bot removed from the chat, or a wrong chat id, is refused here as it would be
        when posting. Whether the bot may post there (an administrator's right) only a post shows."""
        bot = http.json_object(self._call("getMe", create=False))
        chat = http.json_object(self._call("getChat", create=False, json={"chat_id": self.chat_id}))
        name = http.string_at(bot, "username") or http.string_at(bot, "first_name") or "the bot"
        where = http.string_at(chat, "title") or http.string_at(chat, "username") or self.chat_id
        return Verified(f"@{name} in {where}")

    def message_url(self, message_id: str, chat: Mapping[str, object] | None = None) -> str:
        """The message's public address: ``t.me/{username}/{id}`` for a public channel or group
        (the configured ``@username``, else the username Telegram reports for the chat),
        ``t.me/c/{id without -100}/{id}`` for a private one (only members can open it). Against
        an overridden base URL (the simulator) the same paths under ``{base_url}/t.me``, where
        the simulator serves them."""
        root = PUBLIC_URL_ROOT if self.base_url in REAL_API_HOSTS else f"{self.base_url}/t.me"
        username = self.chat_id[1:] if self.chat_id.startswith("@") else None
        if username is None and chat is not None:
            username = http.string_at(chat, "username")
        if username:
            return f"{root}/{username}/{message_id}"
        internal = self.chat_id.removeprefix(CHANNEL_ID_PREFIX).lstrip("-")
        return f"{root}/c/{internal}/{message_id}"

    # -- plumbing --------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        *,
        create: bool,
        json: object = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> object:
        """One Bot API method; its ``result``."""
        url = f"{self.base_url}/bot{self.secret('bot_token')}/{method}"
        try:
            response = http.send(
                self.session,
                "POST",
                url,
                platform=self.name,
                create=create,
                timeout=self.timeout,
                secrets=http.revealed(self.config.credentials),
                json=json,
                data=data,
                files=files,
                refine=self._refine,
            )
        except PlatformError as exc:
            # The requests exception behind it names the URL, and so the bot token.
            raise exc from None
        body = http.response_json(response)
        if body.get("ok") is not True:
            detail = http.string_at(body, "description") or "the answer was not ok"
            if create:
                raise UncertainError(
                    self.name, f"{detail} (the message may exist)", status=response.status_code
                )
            raise RetryableError(self.name, detail, status=response.status_code)
        return body.get("result")

    def _refine(self, response: requests.Response, error: PlatformError) -> PlatformError:
        """Telegram's cases on top of the shared mapping: ``retry_after`` is in the body, a
        malformed token answers 404, and the bot losing access to the chat is for a person."""
        status = response.status_code
        body = http.response_json(response)
        parameters = http.json_object(body.get("parameters"))
        detail = error.detail
        if status == 429:
            wait = parameters.get("retry_after")
            retry_after = (
                float(wait) if isinstance(wait, int | float) and not isinstance(wait, bool) else None
            )
            return RetryableError(
                self.name,
                detail,
                status=status,
                retry_after=retry_after if retry_after is not None else getattr(error, "retry_after", None),
            )
        if status in (401, 404):
            return AuthError(self.name, f"the bot token was refused: {detail}", status=status)
        new_chat = http.string_at(parameters, "migrate_to_chat_id")
        if new_chat:
            return AuthError(
                self.name,
                f"the group became a supergroup with chat id {new_chat}: update the channel's chat_id",
                status=status,
            )
        if status == 403 or any(marker in detail.lower() for marker in _CHAT_ACCESS_MARKERS):
            return AuthError(self.name, f"the bot cannot post in this chat: {detail}", status=status)
        return error
