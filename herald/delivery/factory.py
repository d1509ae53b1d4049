"""A Deliverer built from the settings: the store, the content queue and the credential box it
needs, each made from the one settings object."""

from __future__ import annotations

from content_queue import ContentQueue
from herald.core.settings import Settings, get_settings, redis_url
from herald.delivery.deliverer import Deliverer
from herald.delivery.retry import RetryPolicy
from herald.store.crypto import CredentialBox
from herald.store.db import Database, pool_size_for


def build_deliverer(settings: Settings | None = None, *, threads: int = 1) -> Deliverer:
    """``threads``: how many of this process's threads deliver at once (its SQL pool's size)."""
    settings = settings or get_settings()
    keyring = settings.keyring()
    return Deliverer(
        Database(settings.sqlalchemy_url, pool_size=settings.db_pool_size or pool_size_for(threads)),
        ContentQueue.from_url(redis_url(settings), keyring=keyring),
        CredentialBox(keyring),
        lease_seconds=settings.lease_seconds,
        retry=RetryPolicy(settings.max_attempts, settings.retry_base_seconds, settings.retry_max_seconds),
        public_url=settings.public_url,
    )
