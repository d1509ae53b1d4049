"""The worker's connectors, one per channel, kept so their HTTP connections are reused."""

from __future__ import annotations

import threading
from collections.abc import Callable

from herald.platforms import Connector, ConnectorConfig, connector_class
from herald.store.crypto import CredentialBox
from herald.store.models import Channel

ConnectorFactory = Callable[[str, ConnectorConfig], Connector]


def default_connector_factory(platform: str, config: ConnectorConfig) -> Connector:
    return connector_class(platform)(config)


class Connectors:
    """A cache of connectors by channel id. A channel whose credentials or base URL changed
    gets a new connector (the old one is closed); credentials are decrypted only then."""

    def __init__(self, box: CredentialBox, factory: ConnectorFactory = default_connector_factory) -> None:
        self.box = box
        self.factory = factory
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[bytes, str | None, Connector]] = {}

    def for_channel(self, channel: Channel) -> Connector:
        with self._lock:
            cached = self._cache.get(channel.id)
            if cached and cached[0] == channel.credentials_encrypted and cached[1] == channel.base_url:
                return cached[2]
            config = ConnectorConfig(
                credentials=self.box.open(channel.credentials_encrypted),
                base_url=channel.base_url,
                options=dict(channel.options or {}),
            )
            conn = self.factory(channel.platform, config)
            if cached:
                cached[2].close()
            self._cache[channel.id] = (channel.credentials_encrypted, channel.base_url, conn)
            return conn

    def close(self) -> None:
        with self._lock:
            for _, _, conn in self._cache.values():
                conn.close()
            self._cache.clear()
