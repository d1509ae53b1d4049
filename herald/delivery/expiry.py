"""Reading when channels' tokens expire from the platforms that say (Meta's ``debug_token``).

Meta's long-lived tokens die after 60 days, and a page token made from one dies with it; nobody
should have to remember the date. Once a day (and once at start) the scheduler asks each channel
whose platform reads expiry (``Connector.reads_token_expiry``) with the platform's dry call and
stores the answer as the channel's ``token_expires_at``, which the hourly token check
(``herald.alerts.expiry``) alerts on from seven days before. A channel whose platform does not
answer keeps what it had (a date a person set with ``herald channel set --token-expires``, say).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from herald.core.errors import HeraldError
from herald.delivery.connectors import Connectors
from herald.platforms import connector_class
from herald.store.alerts import set_token_expiry
from herald.store.channels import channels_listed
from herald.store.db import Database

log = logging.getLogger(__name__)

#: How often tokens' expiry is read again (seconds).
READ_INTERVAL_SECONDS: Final = 86400.0


@dataclass(frozen=True)
class ExpiryRead:
    channel: str
    #: What the platform said (None: never expires); absent from the answer when it did not say.
    expires_at: datetime | None


def read_token_expiry(db: Database, connectors: Connectors) -> list[ExpiryRead]:
    """Ask every channel whose platform reads token expiry, store what each said, and return it.
    A channel whose platform refused, did not answer or would not say is left as it was."""
    with db.read() as s:
        channels = [c for c in channels_listed(s) if connector_class(c.platform).reads_token_expiry]
    read: list[ExpiryRead] = []
    for channel in channels:
        try:
            verified = connectors.for_channel(channel).verify()
        except HeraldError as e:
            log.warning("channel %s: could not read its token's expiry: %s", channel.name, e)
            continue
        if verified.expiry_read:
            read.append(ExpiryRead(channel.name, verified.expires_at))
    if read:
        with db.session() as s:
            for r in read:
                set_token_expiry(s, r.channel, r.expires_at)
    return read


class TokenExpiryReader:
    """The scheduler's companion that runs ``read_token_expiry`` at start and then daily, on a
    thread of its own (a slow platform never delays dispatching)."""

    def __init__(
        self, db: Database, connectors: Connectors, *, interval: float = READ_INTERVAL_SECONDS
    ) -> None:
        self.db = db
        self.connectors = connectors
        self.interval = interval
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._halt.clear()
        self._thread = threading.Thread(target=self._run, name="token-expiry", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            self._thread.join(10)
        self.connectors.close()

    def _run(self) -> None:
        while not self._halt.is_set():
            try:
                read_token_expiry(self.db, self.connectors)
            except Exception:  # a failed read must never stop the scheduler; the log says why
                log.exception("reading tokens' expiry failed; trying again in %.0f s", self.interval)
            self._halt.wait(self.interval)
