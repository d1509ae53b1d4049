"""Channels: add one (its credentials checked against the platform's and sealed), list them,
point one at another API root, and resume a paused one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import Conflict, InputError, NotFound
from herald.core.i18n import N_, _
from herald.core.secret import Secret
from herald.core.text import CONTROL_IN_NAME, refuse_controls
from herald.platforms import connector_class
from herald.service.answers import ChannelInfo
from herald.service.base import ServiceBase
from herald.service.stops import to_next_slots
from herald.store import audit, channels
from herald.store.decisions import release_held_on_channel
from herald.store.models import utcnow
from herald.store.pauses import pause_one_channel
from scheduler.localtime import zone

MAX_NAME_CHARS = 100


class Channels(ServiceBase):
    def add_channel(
        self,
        name: str,
        platform: str,
        credentials: dict[str, str],
        *,
        base_url: str | None = None,
        options: dict[str, str] | None = None,
        timezone: str | None = None,
        actor: Actor = SYSTEM,
    ) -> int:
        """Add a channel; returns its id. Raises AccessDenied unless an installation-wide
        admin, InputError (a bad name or one taken, an unknown platform, credentials the
        platform does not use or lacks, a bad rate limit or URL)."""
        self._require(actor, Capability.ADMINISTER, None, N_("adding a channel"))
        name = name.strip()
        if (
            not name
            or len(name) > MAX_NAME_CHARS
            or any(ch.isspace() or ch == '"' for ch in name)
            or CONTROL_IN_NAME.search(name)
        ):
            raise InputError(
                "name",
                _(
                    "channel name must be 1–%(max)d characters without spaces, double quotes or"
                    " control characters"
                )
                % {"max": MAX_NAME_CHARS},
            )
        cls = connector_class(platform)
        unknown = sorted(set(credentials) - set(cls.credential_keys))
        if unknown:
            raise InputError(
                "credential",
                _("%(platform)s does not use credential(s) %(unknown)s; it needs %(needed)s")
                % {
                    "platform": platform,
                    "unknown": ", ".join(unknown),
                    "needed": ", ".join(cls.credential_keys),
                },
            )
        missing = [k for k in cls.credential_keys if not credentials.get(k, "").strip()]
        if missing:
            raise InputError(
                "credential",
                _("%(platform)s needs credential(s): %(keys)s")
                % {"platform": platform, "keys": ", ".join(missing)},
            )
        rate = (options or {}).get("rate_limit")
        if rate is not None and rate.strip().lower() not in ("off", "none", "0"):
            n, sep, secs = rate.partition("/")
            if not (
                sep and n.strip().isdigit() and secs.strip().replace(".", "", 1).isdigit() and float(secs) > 0
            ):
                raise InputError(
                    "option",
                    _("rate_limit must be N/SECONDS (e.g. 300/10800) or off, got %(rate)r") % {"rate": rate},
                )
        self._check_base_url(base_url)
        if timezone is not None:
            zone(timezone, "tz")
        sealed = self.box.seal({k: Secret(v.strip()) for k, v in credentials.items()})
        try:
            with self.db.session() as s:
                cid = channels.add_channel(
                    s,
                    name=name,
                    platform=platform,
                    base_url=base_url,
                    credentials_encrypted=sealed,
                    credential_names=sorted(credentials),
                    options=options or {},
                    timezone=timezone or "UTC",
                )
                audit.record(
                    s,
                    actor=actor.email,
                    action="channel.add",
                    target_type="channel",
                    target_id=name,
                    detail={"platform": platform, "credentials": sorted(credentials), "base_url": base_url},
                )
                return cid
        except IntegrityError:
            raise Conflict("name", _("a channel named %(name)r already exists") % {"name": name}) from None

    def list_channels(self) -> list[ChannelInfo]:
        """Every channel, by name, with the names of its credentials (never their values)."""
        with self.db.read() as s:
            return [
                ChannelInfo(
                    id=c.id,
                    name=c.name,
                    platform=c.platform,
                    base_url=c.base_url,
                    paused=c.paused_at is not None,
                    pause_reason=c.pause_reason,
                    credentials=tuple(sorted(c.credential_names or [])),
                )
                for c in channels.channels_listed(s)
            ]

    def set_channel_base_url(self, name: str, base_url: str | None, *, actor: Actor = SYSTEM) -> None:
        """Point a channel at another API root. Raises InputError for an unknown channel."""
        self._require(actor, Capability.ADMINISTER, None, N_("changing a channel"))
        self._check_base_url(base_url)
        with self.db.session() as s:
            if not channels.set_base_url(s, name, base_url):
                raise NotFound("channel", _("unknown channel %(name)r") % {"name": name})
            audit.record(
                s,
                actor=actor.email,
                action="channel.change",
                target_type="channel",
                target_id=name,
                detail={"base_url": base_url},
            )

    def pause_channel(self, name: str, *, reason: str | None = None, actor: Actor = SYSTEM) -> int:
        """A person pauses a channel: its queued posts are held at once and nothing of it is
        published until it is resumed (a try under way finishes). Returns how many were held.
        Raises NotFound for an unknown channel, AccessDenied unless an admin."""
        self._require(actor, Capability.ADMINISTER, None, N_("pausing a channel"))
        refuse_controls("reason", reason)
        why = f"paused by {actor.email}" + (f": {reason.strip()}" if reason and reason.strip() else "")
        with self.db.session() as s:
            ch = channels.channel_by_name(s, name)
            if ch is None:
                raise NotFound("channel", _("unknown channel %(name)r") % {"name": name})
            paused = pause_one_channel(s, ch.id, reason=why)
            audit.record(
                s,
                actor=actor.email,
                action="channel.pause",
                target_type="channel",
                target_id=name,
                detail={"held": len(paused.held), "in_flight": len(paused.in_flight)},
            )
        for i in paused.held:
            self.queue.release(i)
        return len(paused.held)

    def resume_channel(
        self, name: str, *, reschedule: str = "keep", now: datetime | None = None, actor: Actor = SYSTEM
    ) -> int:
        """Unpause a channel and put its held deliveries back on the queue; returns how many.
        ``reschedule`` "keep": due no earlier than now (they go out late); "next-slot": each to
        the channel's next free slot, in the order of their original times. Raises NotFound for
        an unknown channel, InputError for another choice."""
        self._require(actor, Capability.ADMINISTER, None, N_("resuming a channel"))
        if reschedule not in ("keep", "next-slot"):
            raise InputError(
                "reschedule",
                _("a resume keeps the posts' times or moves them: keep or next-slot, not %(given)r")
                % {"given": reschedule},
            )
        now = now or utcnow()
        with self.db.session() as s:
            channel_id = channels.unpause(s, name)
            if channel_id is None:
                raise NotFound("channel", _("unknown channel %(name)r") % {"name": name})
            ids = release_held_on_channel(s, channel_id, now=now)
            moved = to_next_slots(s, ids, now) if reschedule == "next-slot" else 0
            audit.record(
                s,
                actor=actor.email,
                action="channel.resume",
                target_type="channel",
                target_id=name,
                detail={"released": len(ids), "reschedule": reschedule, "moved": moved},
            )
        self._stage(ids)
        return len(ids)

    def _check_base_url(self, base_url: str | None) -> None:
        """A channel's API root: https, or plain http where the settings allow it (not in
        production). Raises InputError naming ``base_url``."""
        if base_url is None:
            return
        schemes = ("http://", "https://") if self.plain_http_base_urls else ("https://",)
        if not base_url.startswith(schemes) or CONTROL_IN_NAME.search(base_url):
            raise InputError(
                "base_url",
                _("base URL must start with %(schemes)s, got %(url)r")
                % {"schemes": " or ".join(schemes), "url": base_url},
            )
