"""Keys: re-seal every encrypted value (channel credentials, second-factor secrets) under the
current key, for ``herald keys rotate``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from herald.accounts import SYSTEM, Actor, Capability
from herald.core.errors import ConfigError
from herald.core.i18n import N_
from herald.core.keyring import Keyring
from herald.service.base import ServiceBase
from herald.store import audit
from herald.store.crypto import CredentialBox, SecretBox
from herald.store.sealed import SealedKind, SealedValue, replace_sealed, sealed_value, sealed_values

#: Either box: both re-seal under their current key.
Box = CredentialBox | SecretBox

log = logging.getLogger(__name__)

#: How often one value is re-read and re-sealed when it changed under the rotation.
RESEAL_TRIES = 3


@dataclass(frozen=True)
class Resealed:
    """What a rotation did: values re-sealed, values already under the current key, and the
    ones no key opens (``"channel NAME"`` / ``"user EMAIL"``), left as they were."""

    resealed: int
    already_current: int
    unreadable: tuple[str, ...]


class Keys(ServiceBase):
    def reseal_secrets(self, keyring: Keyring, *, actor: Actor = SYSTEM) -> Resealed:
        """Re-seal every sealed value under ``keyring``'s current keys, opening it with any key
        of ``keyring`` (which must hold the masters: the web app's share opens nothing). One
        transaction per value, each a compare-and-set, so every process keeps working
        throughout and a rotation cut short is simply run again. Raises AccessDenied unless an
        installation-wide admin."""
        self._require(actor, Capability.ADMINISTER, None, N_("rotating keys"))
        if not keyring.opens_credentials:
            raise ConfigError("rotating keys needs HERALD_SECRET_KEY (the web app's keys open nothing)")
        boxes: dict[SealedKind, Box] = {"channel": CredentialBox(keyring), "user": SecretBox(keyring)}
        with self.db.read() as s:
            values = sealed_values(s)
        resealed = current = 0
        unreadable: list[str] = []
        for value in values:
            outcome = self._reseal_one(boxes[value.kind], value)
            if outcome is None:
                unreadable.append(f"{value.kind} {value.label}")
            elif outcome:
                resealed += 1
            else:
                current += 1
        with self.db.session() as s:
            audit.record(
                s,
                actor=actor.email,
                action="keys.rotate",
                target_type="installation",
                target_id="credentials",
                detail={"resealed": resealed, "already_current": current, "unreadable": unreadable},
            )
        log.info(
            "keys rotated",
            extra={"resealed": resealed, "already_current": current, "unreadable": len(unreadable)},
        )
        return Resealed(resealed, current, tuple(unreadable))

    def _reseal_one(self, box: Box, value: SealedValue) -> bool | None:
        """True: re-sealed; False: already current (or gone); None: no key of ``box`` opens it."""
        now: SealedValue | None = value
        for _ in range(RESEAL_TRIES):
            if now is None or box.is_current(now.token):
                return False
            try:
                token = box.reseal(now.token)
            except ConfigError:
                return None
            with self.db.session() as s:
                if replace_sealed(s, now, token):
                    return True
                now = sealed_value(s, value.kind, value.id)
        raise ConfigError(f"{value.kind} {value.label} kept changing during the key rotation; run it again")
