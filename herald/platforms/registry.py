"""The platform registry: key -> connector class."""

from __future__ import annotations

from herald.core.errors import InputError
from herald.platforms.base import Connector
from herald.platforms.bluesky import BlueskyConnector
from herald.platforms.facebook import FacebookConnector
from herald.platforms.instagram import InstagramConnector
from herald.platforms.linkedin import LinkedInConnector
from herald.platforms.mastodon import MastodonConnector
from herald.platforms.telegram import TelegramConnector
from herald.platforms.threads import ThreadsConnector
from herald.platforms.x import XConnector

REGISTRY: dict[str, type[Connector]] = {
    cls.name: cls
    for cls in (
        XConnector,
        MastodonConnector,
        BlueskyConnector,
        TelegramConnector,
        FacebookConnector,
        InstagramConnector,
        LinkedInConnector,
        ThreadsConnector,
    )
}


def platform_names() -> list[str]:
    return sorted(REGISTRY)


def connector_class(platform: str) -> type[Connector]:
    try:
        return REGISTRY[platform]
    except KeyError:
        raise InputError(
            "platform", f"unknown platform {platform!r}; known: {', '.join(platform_names())}"
        ) from None
