"""Sending queued alerts: deduplicated, rate-limited per target, through apprise, audited.

One pass (``AlertSender.drain``) claims what is queued, oldest first, and for each alert:

1. **dedup**: an alert whose key went out within ``Limits.dedup_seconds`` is dropped
   ("duplicate"): a condition that goes on is one message an hour, not one per tick;
2. **routes** it to its campaign's targets and the installation's (none: "unrouted", still in
   the audit log and the log);
3. **rate limit**: a target gets at most ``Limits.per_target_per_hour`` messages in any hour.
   The last of them is kept for a summary: alerts past the limit are held back ("limited") and
   one message names them ("… and 37 more") as soon as the target has room again;
4. sends, outside any transaction (a slow server holds no lock), and records what each target
   got (``alert_sends``) and one audit event: ``alert.sent``, ``alert.failed`` or
   ``alert.suppressed`` (with the reason). The detail names targets by id and scheme/host,
   never their URL.

Two senders (two schedulers) never send the same alert (claims are compare-and-set), but they
may each send to one target in the same moment, so a target can get a message or two past its
limit. At least once: a sender that dies mid-send leaves its claim, and the alert is sent again
when the claim ends (``CLAIM_SECONDS``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

import apprise
from sqlalchemy.orm import Session

from herald.alerts.alert import summary_alert
from herald.alerts.targets import secret_parts
from herald.core.errors import ConfigError
from herald.core.logs import redact
from herald.core.secret import Secret
from herald.store import audit
from herald.store.alerts import (
    add_sends,
    claim_pending,
    finish,
    forget_done,
    held_back,
    mark_summarized,
    sends_since,
    sent_within,
    targets_for,
    targets_holding_back,
)
from herald.store.crypto import CredentialBox
from herald.store.db import Database
from herald.store.models import AlertMessage, AlertTarget, utcnow

log = logging.getLogger(__name__)

#: A claimed alert not finished within this is taken again by any sender (seconds): longer
#: than the slowest send (apprise's connect and read timeouts) times a few targets.
CLAIM_SECONDS: Final = 300.0
#: Most alerts one pass claims.
DRAIN_BATCH: Final = 100
#: The rate limit's window.
RATE_WINDOW: Final = timedelta(hours=1)
#: Done alerts are forgotten after this (the audit log keeps each).
KEEP_DONE: Final = timedelta(days=30)
#: The actor of alert events in the audit log.
ACTOR: Final = "system"


@dataclass(frozen=True)
class Limits:
    #: The same dedup key goes out at most once per this many seconds.
    dedup_seconds: float = 3600.0
    #: A target gets at most this many messages an hour (the last one a summary).
    per_target_per_hour: int = 20


class Transport(Protocol):
    """Sends one message to one target URL; returns None when the service took it, else why
    not (never the URL)."""

    def send(self, url: Secret, subject: str, body: str) -> str | None: ...


class AppriseTransport:
    """Apprise, one target at a time (so each target's result is known)."""

    def send(self, url: Secret, subject: str, body: str) -> str | None:
        secret_parts(url)  # apprise logs hosts, paths and payloads: teach the redaction its pieces
        a = apprise.Apprise()
        if not a.add(url.reveal()):
            return "apprise does not accept this target's URL"
        try:
            ok = a.notify(title=subject, body=body, body_format=apprise.NotifyFormat.TEXT)
        except Exception as e:  # a plugin's bug must not stop the other targets
            return f"the service raised {type(e).__name__}"
        return None if ok else "the service did not take the message (see the log)"


@dataclass(frozen=True)
class TargetResult:
    target_id: int
    shown: str
    #: sent | failed | limited
    outcome: str
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"id": self.target_id, "shown": self.shown, "outcome": self.outcome}
        if self.error:
            d["error"] = self.error
        return d


@dataclass(frozen=True)
class Sent:
    """What became of one alert."""

    alert_id: int
    kind: str
    #: sent | failed | duplicate | limited | unrouted
    outcome: str
    targets: tuple[TargetResult, ...] = ()


@dataclass
class Drained:
    alerts: list[Sent] = field(default_factory=list)
    #: Summaries sent (target ids).
    summaries: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Claimed:
    id: int
    kind: str
    campaign_id: int | None
    subject: str
    body: str
    dedup_key: str

    @classmethod
    def of(cls, m: AlertMessage) -> _Claimed:
        return cls(m.id, m.kind, m.campaign_id, m.subject, m.body, m.dedup_key)


@dataclass(frozen=True)
class _Target:
    id: int
    shown: str
    sealed: bytes

    @classmethod
    def of(cls, t: AlertTarget) -> _Target:
        return cls(t.id, t.shown, bytes(t.url_encrypted))


class AlertSender:
    """Delivers queued alerts (see the module). Needs a credential box that opens (a process
    holding ``HERALD_SECRET_KEY``: the scheduler, the command line)."""

    def __init__(
        self,
        db: Database,
        box: CredentialBox,
        *,
        limits: Limits | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.db = db
        self.box = box
        self.limits = limits or Limits()
        self.transport: Transport = transport or AppriseTransport()

    def drain(self, *, now: datetime | None = None, batch: int = DRAIN_BATCH) -> Drained:
        """Send what is queued, then the summaries targets have room for."""
        now = now or utcnow()
        out = Drained()
        with self.db.session() as s:
            claimed = [
                _Claimed.of(m)
                for m in claim_pending(s, now=now, until=now + timedelta(seconds=CLAIM_SECONDS), limit=batch)
            ]
        for c in claimed:
            out.alerts.append(self._one(c, now, forced=False))
        out.summaries = self._summaries(now)
        return out

    def send_claimed(self, alert_id: int, *, now: datetime | None = None) -> Sent | None:
        """Send one alert now, past dedup and the rate limit (``herald alert test``: a person
        asked). None if another sender took it first."""
        now = now or utcnow()
        with self.db.session() as s:
            mine = [
                _Claimed.of(m)
                for m in claim_pending(
                    s, now=now, until=now + timedelta(seconds=CLAIM_SECONDS), limit=1, only=alert_id
                )
            ]
        return self._one(mine[0], now, forced=True) if mine else None

    def forget(self, *, now: datetime | None = None) -> int:
        """Drop alerts done longer ago than ``KEEP_DONE``."""
        with self.db.session() as s:
            return forget_done(s, (now or utcnow()) - KEEP_DONE)

    # -- one alert -------------------------------------------------------------------------

    def _one(self, c: _Claimed, now: datetime, *, forced: bool) -> Sent:
        with self.db.session() as s:
            if not forced and sent_within(
                s, c.dedup_key, now - timedelta(seconds=self.limits.dedup_seconds), c.id
            ):
                return self._finish(
                    s, c, "duplicate", (), now, reason="the same alert went out within the dedup window"
                )
            targets = [_Target.of(t) for t in targets_for(s, c.campaign_id)]
            if not targets:
                return self._finish(
                    s, c, "unrouted", (), now, reason="no alert target for this campaign or installation"
                )
            plan = {t.id: forced or self._room(s, t.id, now, summary=False) for t in targets}
        results = []
        for t in targets:
            if not plan[t.id]:
                results.append(TargetResult(t.id, t.shown, "limited"))
                continue
            error = self._send(t, c.subject, c.body)
            results.append(TargetResult(t.id, t.shown, "failed" if error else "sent", error))
        outcomes = {r.outcome for r in results}
        outcome = "sent" if "sent" in outcomes else "failed" if "failed" in outcomes else "limited"
        with self.db.session() as s:
            add_sends(s, [(r.target_id, c.id, r.outcome) for r in results], now)
            reason = "every target is over its rate limit" if outcome == "limited" else None
            return self._finish(s, c, outcome, tuple(results), now, reason=reason)

    def _finish(
        self,
        s: Session,
        c: _Claimed,
        outcome: str,
        results: tuple[TargetResult, ...],
        now: datetime,
        *,
        reason: str | None = None,
    ) -> Sent:
        finish(s, c.id, outcome, now)
        action = {"sent": "alert.sent", "failed": "alert.failed"}.get(outcome, "alert.suppressed")
        detail: dict[str, object] = {
            "kind": c.kind,
            "subject": c.subject,
            "outcome": outcome,
            "targets": [r.to_dict() for r in results],
        }
        if reason:
            detail["reason"] = reason
        audit.record(
            s,
            actor=ACTOR,
            action=action,
            target_type="alert",
            target_id=c.id,
            campaign_id=c.campaign_id,
            detail=detail,
            at=now,
        )
        if outcome == "failed":
            log.warning("alert %s (%s) reached no target: %s", c.id, c.kind, results)
        return Sent(c.id, c.kind, outcome, results)

    def _room(self, s: Session, target_id: int, now: datetime, *, summary: bool) -> bool:
        """May ``target_id`` get one more message now? The last slot of the hour is kept for a
        summary when the limit allows two or more."""
        n = self.limits.per_target_per_hour
        used = sends_since(s, target_id, now - RATE_WINDOW)
        limit = n if summary or n < 2 else n - 1
        return used < limit

    def _send(self, t: _Target, subject: str, body: str) -> str | None:
        try:
            url = self.box.open(t.sealed)["url"]
        except (ConfigError, KeyError):
            return "its URL cannot be opened here (HERALD_SECRET_KEY differs from the one it was sealed with)"
        error = self.transport.send(url, subject, body)
        return None if error is None else redact(error)

    # -- summaries -------------------------------------------------------------------------

    def _summaries(self, now: datetime) -> list[int]:
        sent = []
        with self.db.session() as s:
            waiting = targets_holding_back(s)
            due: list[tuple[_Target, list[int], str, str]] = []
            for tid in waiting:
                row = s.get(AlertTarget, tid)
                if row is None or not self._room(s, tid, now, summary=True):
                    continue
                held = held_back(s, tid)
                if not held:
                    continue
                subject, body = summary_alert([h.subject for h in held], held[0].at)
                due.append((_Target.of(row), [h.send_id for h in held], subject, body))
        for t, send_ids, subject, body in due:
            error = self._send(t, subject, body)
            with self.db.session() as s:
                add_sends(s, [(t.id, None, "failed" if error else "sent")], now)
                if error is None:
                    mark_summarized(s, send_ids)
                    sent.append(t.id)
                audit.record(
                    s,
                    actor=ACTOR,
                    action="alert.failed" if error else "alert.sent",
                    target_type="alert-target",
                    target_id=t.id,
                    detail={
                        "kind": "summary",
                        "subject": subject,
                        "summary_of": len(send_ids),
                        "targets": [
                            TargetResult(t.id, t.shown, "failed" if error else "sent", error).to_dict()
                        ],
                    },
                    at=now,
                )
        return sent
