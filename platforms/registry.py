"""The platform registry: key -> connector class."""

from __future__ import annotations

from herald.errors import InputError
from platforms.base import Connector
from platforms.bluesky import BlueskyConnector
from platforms.facebook import FacebookConnector
from platforms.instagram import InstagramConnector
from platforms.linkedin import LinkedInConnector
from platforms.mastodon import MastodonConnector
from platforms.telegram import TelegramConnector
from platforms.threads import ThreadsConnector
from platforms.x import XConnector

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
