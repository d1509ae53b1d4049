"""Campaigns: their settings (time zone, late tolerance, required alt text, face protection)."""

from __future__ import annotations

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import InputError
from herald.core.text import refuse_controls
from herald.service.answers import CampaignDefaults, CampaignInfo
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.campaigns import campaign_ids_by_name, campaigns_listed, save_campaign
from herald.store.models import Campaign
from scheduler.localtime import zone

#: What ``protect_faces`` may be set to ("review": a post whose photos show faces waits for a
#: person who may approve; "off": faces are kept).
FACE_MODES = ("blur", "pixelate", "review", "off")


#: The longest campaign name (it is shown in tables and names audit events).
MAX_CAMPAIGN_NAME_CHARS = 100


class Campaigns(ServiceBase):
    def set_campaign(
        self,
        name: str,
        *,
        late_tolerance_seconds: int | None = None,
        require_alt_text: bool | None = None,
        protect_faces: str | None = None,
        timezone: str | None = None,
        requires_approval: bool | None = None,
        actor: Actor = SYSTEM,
    ) -> CampaignInfo:
        """Create or change a campaign's settings (those given); returns them all as saved.
        ``protect_faces``: "blur", "pixelate", "review" or "off". A new campaign takes the
        installation's defaults (``campaign_defaults``) for alt text and faces when they are not
        given. Raises InputError for a bad setting, AccessDenied unless an admin of the campaign
        (a new one: an installation-wide admin)."""
        if not name.strip() or len(name) > MAX_CAMPAIGN_NAME_CHARS:
            raise InputError("name", f"a campaign name has 1 to {MAX_CAMPAIGN_NAME_CHARS} characters")
        refuse_controls("name", name, name=True)
        if protect_faces is not None and protect_faces not in FACE_MODES:
            raise InputError("protect_faces", "protect faces must be blur, pixelate, review or off")
        if late_tolerance_seconds is not None and late_tolerance_seconds < 0:
            raise InputError("late_tolerance", "late tolerance must be 0 (never hold) or more seconds")
        if timezone is not None:
            zone(timezone, "timezone")
        with self.db.session() as s:
            existing = campaign_ids_by_name(s).get(name)
            self._require(actor, Capability.ADMINISTER, existing, "changing a campaign's settings")
            if existing is None:
                defaults = self.campaign_defaults
                require_alt_text = defaults.require_alt_text if require_alt_text is None else require_alt_text
                protect_faces = protect_faces or defaults.protect_faces
            saved = save_campaign(
                s,
                name,
                late_tolerance_seconds=late_tolerance_seconds,
                require_alt_text=require_alt_text,
                protect_faces=protect_faces,
                timezone=timezone,
                requires_approval=requires_approval,
            )
            audit.record(
                s,
                actor=actor.email,
                action="campaign.add" if existing is None else "campaign.change",
                target_type="campaign",
                target_id=name,
                campaign_id=saved.id,
                detail={
                    k: v
                    for k, v in {
                        "late_tolerance_seconds": late_tolerance_seconds,
                        "require_alt_text": require_alt_text,
                        "protect_faces": protect_faces,
                        "timezone": timezone,
                        "requires_approval": requires_approval,
                    }.items()
                    if v is not None
                },
            )
            return _info(saved)

    def new_campaign_defaults(self) -> CampaignDefaults:
        """What a new campaign starts with unless its creator says otherwise."""
        return self.campaign_defaults

    def list_campaigns(self, *, actor: Actor = SYSTEM) -> list[CampaignInfo]:
        """The campaigns ``actor`` may see, by name, with their settings."""
        with self.db.read() as s:
            return [_info(c) for c in campaigns_listed(s) if actor.can(Capability.VIEW, c.id)]


def _info(c: Campaign) -> CampaignInfo:
    return CampaignInfo(
        name=c.name,
        timezone=c.timezone,
        late_tolerance_seconds=c.late_tolerance_seconds,
        require_alt_text=c.require_alt_text,
        protect_faces=c.protect_faces,
        requires_approval=c.requires_approval,
        paused=c.paused_at is not None,
    )
