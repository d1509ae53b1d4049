"""The scheduler's alert duty: a thread of its own that sends queued alerts every few seconds
and checks channels' tokens every hour, so that neither a slow mail server nor a slow check
ever delays dispatching."""

from __future__ import annotations

import logging
import threading
import time
from typing import Final

from herald.alerts.expiry import WARN_DAYS, check_tokens
from herald.alerts.sender import AlertSender, Limits
from herald.core.settings import Settings
from herald.store.crypto import CredentialBox
from herald.store.db import Database

log = logging.getLogger(__name__)

#: How often queued alerts are sent (seconds).
SEND_INTERVAL_SECONDS: Final = 2.0
#: How often channels' token expiry is checked (seconds); each channel alerts once a day.
TOKEN_CHECK_INTERVAL_SECONDS: Final = 3600.0
#: How often sent alerts older than ``sender.KEEP_DONE`` are forgotten (seconds).
FORGET_INTERVAL_SECONDS: Final = 86400.0


class AlertDuty:
    """Start with ``start()``, end with ``stop()`` (the dispatcher does both)."""

    def __init__(
        self,
        sender: AlertSender,
        *,
        interval: float = SEND_INTERVAL_SECONDS,
        token_interval: float = TOKEN_CHECK_INTERVAL_SECONDS,
        warn_days: float = WARN_DAYS,
    ) -> None:
        self.sender = sender
        self.interval = interval
        self.token_interval = token_interval
        self.warn_days = warn_days
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        next_tokens = 0.0
        next_forget = time.time() + 60.0
        while not self._halt.is_set():
            now = time.time()
            try:
                if now >= next_tokens:
                    next_tokens = now + self.token_interval
                    check_tokens(self.sender.db, warn_days=self.warn_days)
                if now >= next_forget:
                    next_forget = now + FORGET_INTERVAL_SECONDS
                    self.sender.forget()
                self.sender.drain()
            except Exception:  # alerts must never stop the scheduler; the log line says why
                log.exception("sending alerts failed; trying again in %.0f s", self.interval)
            self._halt.wait(self.interval)


def alert_duties(db: Database, settings: Settings) -> list[AlertDuty]:
    """The scheduler's alert duty from the settings; none in a process that cannot open target
    URLs (one holding only the web keys), where alerts stay queued for a scheduler that can."""
    box = CredentialBox(settings.keyring())
    if not box.opens:
        log.warning("alerts are queued but not sent here: this process does not hold HERALD_SECRET_KEY")
        return []
    limits = Limits(
        dedup_seconds=settings.alert_dedup_seconds, per_target_per_hour=settings.alert_rate_per_hour
    )
    return [AlertDuty(AlertSender(db, box, limits=limits), warn_days=settings.alert_token_warn_days)]
