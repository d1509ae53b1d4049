"""What every part of the service shares: the store, the content queue, the sealing boxes,
the renditions made in this process, and staging deliveries in Redis after SQL has them."""

from __future__ import annotations

import logging
from datetime import timedelta

import redis
from sqlalchemy.orm import Session

from content_queue import ContentQueue, Payload
from herald.accounts import CAPABILITIES, Actor, Capability
from herald.core.errors import AccessDenied, NotFound, QueueError
from herald.core.i18n import _, pgettext
from herald.core.keyring import Keyring
from herald.delivery.staging import stage_deliveries
from herald.media import RenditionCache
from herald.service.answers import CampaignDefaults
from herald.store.campaigns import campaign_names_by_id
from herald.store.crypto import CredentialBox, SecretBox
from herald.store.db import Database
from herald.store.posts import post_campaign
from herald.store.scope import EVERYTHING, Reach

log = logging.getLogger(__name__)


class ServiceBase:
    """The service's state; each part of ``Herald`` is a subclass of this."""

    def __init__(
        self,
        db: Database,
        queue: ContentQueue,
        keyring: Keyring,
        *,
        session_lifetime: timedelta = timedelta(hours=12),
        session_idle: timedelta = timedelta(hours=2),
        require_admin_second_factor: bool = False,
        campaign_defaults: CampaignDefaults,
        plain_http_base_urls: bool = True,
    ) -> None:
        self.db = db
        self.queue = queue
        #: Channel credentials: sealed here always, opened only where the keyring allows
        #: (never in the web app; ``herald.core.keyring``).
        self.box = CredentialBox(keyring)
        #: People's second-factor secrets.
        self.secrets = SecretBox(keyring)
        #: A web session lasts at most this long, and ends sooner when idle this long.
        self.session_lifetime = session_lifetime
        self.session_idle = session_idle
        self.require_admin_second_factor = require_admin_second_factor
        #: May a channel's base URL be plain http (the sandbox, development)? Not in production:
        #: credentials would cross the network in the clear.
        self.plain_http_base_urls = plain_http_base_urls
        #: What a new campaign starts with (the settings' ``campaign_*``).
        self.campaign_defaults = campaign_defaults
        #: Renditions made in this process, by (source photo, rules): a photo queued for many
        #: posts is re-encoded once.
        self._rendition_cache = RenditionCache()
        #: Sealed credentials found good for their platform in this process, by a digest of
        #: (platform, ciphertext): a verdict, never the credentials. New or re-sealed
        #: credentials are new ciphertext, checked again.
        self._credentials_good: set[bytes] = set()

    def _require(self, actor: Actor, capability: Capability, campaign_id: int | None, what: str) -> None:
        """Raise ``AccessDenied`` (naming the role needed) unless ``actor`` may do ``what``."""
        if actor.can(capability, campaign_id):
            return
        need = min((r for r, caps in CAPABILITIES.items() if capability in caps), key=lambda r: r.rank)
        # ``what`` is marked by its caller with ``N_`` and read here in the reader's language.
        if campaign_id is None:
            said = _("%(what)s needs the %(role)s role everywhere")
        else:
            said = _("%(what)s needs the %(role)s role in this campaign")
        raise AccessDenied(said % {"what": _(what), "role": pgettext("role", need.value)})

    def _reach(self, s: Session, actor: Actor, capability: Capability) -> Reach:
        """The posts ``actor`` may see for ``capability``: every campaign where their role allows
        it, and posts of no campaign if an installation-wide role does."""
        if actor.system:
            return EVERYTHING
        where = actor.campaigns_where(capability, campaign_names_by_id(s))
        return Reach(None if where is None else frozenset(where), actor.can(capability, None))

    def _campaign_of(self, s: Session, post_id: str) -> int | None:
        """The post's campaign id. Raises InputError for an unknown post."""
        exists, campaign_id = post_campaign(s, post_id)
        if not exists:
            raise NotFound("post", _("unknown post %(post)r") % {"post": post_id})
        return campaign_id

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
