"""The service layer built from the settings, with its schema brought up to date."""

from __future__ import annotations

from datetime import timedelta

from content_queue import ContentQueue
from herald.accounts.passwords import use_test_hashing
from herald.core.settings import Settings, get_settings, redis_url
from herald.service import Herald
from herald.service.answers import CampaignDefaults
from herald.store.db import Database

_migrated: set[str] = set()


def service(settings: Settings | None = None) -> Herald:
    """The service layer, with the schema brought up to date outside production (in
    production, ``herald migrate`` is an explicit deployment step)."""
    settings = settings or get_settings()
    use_test_hashing(settings.env == "test")
    db = Database(settings.sqlalchemy_url)
    if settings.env != "production" and db.url not in _migrated:
        db.migrate()
        _migrated.add(db.url)
    keyring = settings.keyring()
    return Herald(
        db,
        ContentQueue.from_url(redis_url(settings), keyring=keyring),
        keyring,
        session_lifetime=timedelta(hours=settings.session_hours),
        session_idle=timedelta(minutes=settings.session_idle_minutes),
        require_admin_second_factor=settings.require_admin_second_factor,
        plain_http_base_urls=settings.env != "production",
        campaign_defaults=CampaignDefaults(
            settings.campaign_require_alt_text, settings.campaign_protect_faces
        ),
    )
