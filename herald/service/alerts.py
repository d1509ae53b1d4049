"""Alerts: where they go (targets, per campaign or installation-wide), a test alert, and the
one channel fact they watch that a person must give (when its token expires).

Targets are apprise URLs: checked against the allow-list (``herald.alerts.targets``), sealed to
the credentials' public key like channel credentials (the web app can add one, never read
one), and shown as their scheme and host only. An installation-wide target (all campaigns'
alerts and the installation's own) is an admin's; a campaign's, its managers' too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy.orm import Session

from herald.accounts import SYSTEM, Actor, Capability
from herald.alerts import AlertSender, check_target_url, raise_alert, trial_alert
from herald.core.errors import InputError, NotFound
from herald.core.i18n import N_, _
from herald.core.times import parse_time
from herald.service.answers import Answer, iso
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.alerts import add_target, remove_target, set_token_expiry, target_by_id, targets_listed
from herald.store.campaigns import campaign_ids_by_name, campaign_names_by_id
from herald.store.models import utcnow


@dataclass(frozen=True)
class AlertTargetInfo(Answer):
    id: int
    #: None: installation-wide (every campaign's alerts and the installation's own).
    campaign: str | None
    #: The scheme and host, never the rest of the URL.
    shown: str
    created_by: str | None
    created_at: str | None


@dataclass(frozen=True)
class AlertTestResult(Answer):
    alert_id: int
    #: sent | failed | unrouted | queued (this process cannot open target URLs: the scheduler
    #: sends it).
    outcome: str
    targets: tuple[dict[str, object], ...]


def parse_expiry(value: str) -> datetime | None:
    """A token's expiry as people type it: a date (its start, UTC), an ISO 8601 time with a
    zone, or "none" (unknown). Naive UTC. Raises InputError (field "token-expires")."""
    v = value.strip()
    if v.lower() in ("none", "never", "unknown", "-"):
        return None
    if len(v) == 10:
        try:
            day = datetime.strptime(v, "%Y-%m-%d").date()
        except ValueError:
            raise InputError(
                "token-expires", _("%(value)r is not a date (YYYY-MM-DD)") % {"value": v}
            ) from None
        return datetime.combine(day, time(0, 0))
    return parse_time(v, field="token-expires").astimezone(UTC).replace(tzinfo=None)


class Alerts(ServiceBase):
    def add_alert_target(self, url: str, *, campaign: str | None = None, actor: Actor = SYSTEM) -> int:
        """Add where alerts go (``campaign`` None: installation-wide); returns its id. Raises
        NotFound (an unknown campaign), AccessDenied, InputError (a URL refused: the message
        says why, never the URL)."""
        with self.db.read() as s:
            campaign_id = self._alert_campaign(s, campaign)
        self._require_alerts(actor, campaign_id, N_("adding an alert target"))
        target = check_target_url(url, production=not self.plain_http_base_urls)
        sealed = self.box.seal({"url": target.url})
        with self.db.session() as s:
            tid = add_target(
                s, campaign_id=campaign_id, url_encrypted=sealed, shown=target.shown, created_by=actor.email
            )
            audit.record(
                s,
                actor=actor.email,
                action="alert-target.add",
                target_type="alert-target",
                target_id=tid,
                campaign_id=campaign_id,
                detail={"shown": target.shown, "campaign": campaign},
            )
        return tid

    def list_alert_targets(self, *, actor: Actor = SYSTEM) -> list[AlertTargetInfo]:
        """The targets ``actor`` may manage: installation-wide ones for an admin, and those of
        each campaign where they may act. Never a URL."""
        with self.db.read() as s:
            names = campaign_names_by_id(s)
            where = actor.campaigns_where(Capability.ACT, names)
            rows = targets_listed(s, where, actor.can(Capability.ADMINISTER, None))
            return [
                AlertTargetInfo(
                    t.id,
                    names.get(t.campaign_id) if t.campaign_id is not None else None,
                    t.shown,
                    t.created_by,
                    iso(t.created_at),
                )
                for t in rows
            ]

    def remove_alert_target(self, target_id: int, *, actor: Actor = SYSTEM) -> None:
        """Remove a target. Raises NotFound (unknown, or one the actor may not see), AccessDenied."""
        with self.db.session() as s:
            t = target_by_id(s, target_id)
            if t is None or not (actor.can(Capability.VIEW, t.campaign_id) or actor.is_admin):
                raise NotFound("id", _("no alert target %(id)s") % {"id": target_id})
            self._require_alerts(actor, t.campaign_id, N_("removing an alert target"))
            shown, campaign_id = t.shown, t.campaign_id
            remove_target(s, target_id)
            audit.record(
                s,
                actor=actor.email,
                action="alert-target.remove",
                target_type="alert-target",
                target_id=target_id,
                campaign_id=campaign_id,
                detail={"shown": shown},
            )

    def test_alert(self, *, campaign: str | None = None, actor: Actor = SYSTEM) -> AlertTestResult:
        """Send a test alert now to where ``campaign``'s alerts go (its targets and the
        installation's), past dedup and the rate limit. Where this process cannot open target
        URLs (the web app) it is queued for the scheduler instead. In the audit log."""
        with self.db.read() as s:
            campaign_id = self._alert_campaign(s, campaign)
        self._require_alerts(actor, campaign_id, N_("sending a test alert"))
        with self.db.session() as s:
            alert_id = raise_alert(s, trial_alert(campaign, campaign_id, actor.email))
        if not self.box.opens:
            return AlertTestResult(alert_id, "queued", ())
        sent = AlertSender(self.db, self.box).send_claimed(alert_id)
        if sent is None:  # a scheduler took it first: it sends it
            return AlertTestResult(alert_id, "queued", ())
        return AlertTestResult(alert_id, sent.outcome, tuple(r.to_dict() for r in sent.targets))

    def set_token_expiry(self, channel: str, expires_at: datetime | None, *, actor: Actor = SYSTEM) -> None:
        """Say when a channel's access token expires (naive UTC; None: unknown): alerts go out
        from ``WARN_DAYS`` before. Raises NotFound (an unknown channel), AccessDenied."""
        self._require(actor, Capability.ADMINISTER, None, N_("changing a channel"))
        with self.db.session() as s:
            if set_token_expiry(s, channel, expires_at) is None:
                raise NotFound("channel", _("unknown channel %(name)r") % {"name": channel})
            audit.record(
                s,
                actor=actor.email,
                action="channel.change",
                target_type="channel",
                target_id=channel,
                detail={"token_expires_at": iso(expires_at)},
                at=utcnow(),
            )

    def _alert_campaign(self, s: Session, campaign: str | None) -> int | None:
        if campaign is None:
            return None
        found = campaign_ids_by_name(s).get(campaign)
        if found is None:
            raise NotFound("campaign", _("unknown campaign %(name)r") % {"name": campaign})
        return found

    def _require_alerts(self, actor: Actor, campaign_id: int | None, what: str) -> None:
        """Installation-wide targets are an admin's; a campaign's, those who may act in it."""
        if campaign_id is None:
            self._require(actor, Capability.ADMINISTER, None, what)
        else:
            self._require(actor, Capability.ACT, campaign_id, what)
