"""What every part of the service shares: the store, the content queue, the credential box,
the renditions made in this process, and staging deliveries in Redis after SQL has them."""

from __future__ import annotations

import logging

import redis

from content_queue import ContentQueue, Payload
from herald.core.errors import QueueError
from herald.delivery.staging import stage_deliveries
from herald.media import RenditionCache
from herald.store.crypto import CredentialBox
from herald.store.db import Database

log = logging.getLogger(__name__)


class ServiceBase:
    """The service's state; each part of ``Herald`` is a subclass of this."""

    def __init__(self, db: Database, queue: ContentQueue, box: CredentialBox) -> None:
        self.db = db
        self.queue = queue
        self.box = box
        #: Renditions made in this process, by (source photo, rules): a photo queued for many
        #: posts is re-encoded once.
        self._rendition_cache = RenditionCache()

    def _stage(self, ids: list[int]) -> None:
        """Stage deliveries SQL already has (by id) in Redis."""
        if not ids:
            return
        try:
            stage_deliveries(self.db, self.queue, ids)
        except (QueueError, redis.RedisError) as e:  # Redis down: SQL has it; the scheduler will stage it
            log.warning(
                "could not stage deliveries %s in Redis (%s); the scheduler will restore them", ids, e
            )

    def _stage_payloads(self, staged: list[tuple[Payload, dict[str, bytes]]]) -> None:
        """Stage payloads built from rows just written (no second read of SQL)."""
        try:
            self.queue.stage_many(staged)
        except (QueueError, redis.RedisError) as e:  # Redis down: SQL has it; the scheduler will stage it
            log.warning(
                "could not stage %d deliveries in Redis (%s); the scheduler will restore them", len(staged), e
            )
