"""The scheduler's hand-over through Celery: the dispatcher built from the settings, sending
due deliveries as ``publish`` / ``publish_many`` messages."""

from __future__ import annotations

from content_queue import ContentQueue
from herald.alerts import Outbox, alert_duties
from herald.core.settings import Settings, get_settings, redis_url
from herald.delivery.connectors import Connectors
from herald.delivery.expiry import TokenExpiryReader
from herald.runtime import service
from herald.store.crypto import CredentialBox
from herald.store.db import Database, pool_size_for
from scheduler import Dispatcher
from tasks.publish import dispatch


def _token_readers(db: Database, settings: Settings) -> list[TokenExpiryReader]:
    """Reading tokens' expiry from the platforms needs the credentials open: not in a process
    holding only the web keys."""
    box = CredentialBox(settings.keyring())
    return [TokenExpiryReader(db, Connectors(box))] if box.opens else []


def build_dispatcher(settings: Settings | None = None) -> Dispatcher:
    settings = settings or get_settings()
    # The dispatcher's loop and its companions (alerts, housekeeping) share the pool.
    db = Database(settings.sqlalchemy_url, pool_size=settings.db_pool_size or pool_size_for(2))
    return Dispatcher(
        db,
        ContentQueue.from_url(redis_url(settings), keyring=settings.keyring()),
        dispatch,
        lease_seconds=settings.lease_seconds,
        claim_batch=settings.claim_batch,
        consistency_interval=settings.consistency_interval_seconds,
        liveness_bound=settings.liveness_bound_seconds,
        housekeeping=lambda: service(settings).purge_photos(older_than_days=settings.photo_retention_days),
        alert=Outbox(db),
        companions=[*alert_duties(db, settings), *_token_readers(db, settings)],
    )
