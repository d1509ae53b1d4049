"""Every Redis key Herald uses, spelled once. All live under ``herald:`` (or a test prefix)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "herald"

#: The Celery queue the scheduler hands due deliveries to: with a Redis broker, a list of that
#: name in the broker's database (Herald's own database: the broker URL is the Redis URL).
HANDOVER_QUEUE = "herald"


@dataclass(frozen=True)
class Keys:
    prefix: str = DEFAULT_PREFIX

    @property
    def due(self) -> str:
        """ZSET delivery id → due time (epoch seconds). What the scheduler claims from."""
        return f"{self.prefix}:due"

    @property
    def inflight(self) -> str:
        """ZSET delivery id → lease expiry (epoch seconds). Claimed, not yet acknowledged."""
        return f"{self.prefix}:inflight"

    def payload(self, delivery_id: int) -> str:
        """STRING: the publish-ready payload (JSON) of one delivery."""
        return f"{self.prefix}:payload:{delivery_id}"

    def photo(self, sha256: str) -> str:
        """STRING: a stripped photo's bytes, content-addressed, shared by every delivery using it."""
        return f"{self.prefix}:photo:{sha256}"

    @property
    def photo_refs(self) -> str:
        """HASH sha256 → number of staged payloads referencing the photo (de-duplication)."""
        return f"{self.prefix}:photo-refs"

    @property
    def wake(self) -> str:
        """Pub/sub channel: "something earlier may be due" (new post, retry, reaped lease)."""
        return f"{self.prefix}:wake"

    @property
    def handover(self) -> str:
        """LIST (Celery's): messages handed to the workers and not yet taken by one."""
        return HANDOVER_QUEUE

    @property
    def workers(self) -> str:
        """HASH worker name → its latest heartbeat (JSON): what it took, how busy it is."""
        return f"{self.prefix}:workers"

    @property
    def liveness(self) -> str:
        """STRING: the scheduler's latest verdict on the workers (JSON), for health checks."""
        return f"{self.prefix}:liveness"

    @property
    def epoch(self) -> str:
        """STRING: set when the queue was (re)built from SQL; its absence means Redis lost data."""
        return f"{self.prefix}:epoch"

    def public_photo(self, token: str) -> str:
        """HASH {data, mime}: a photo served at an unguessable URL for platforms that fetch
        photos themselves; expires on its own and is deleted once the publish call returns."""
        return f"{self.prefix}:public-photo:{token}"

    def sign_in_failures(self, kind: str, who: str) -> str:
        """ZSET: recent failed sign-ins (epoch seconds) for an account or an address
        (``kind`` "account" or "address"; ``who`` hashed, so no email sits in Redis)."""
        return f"{self.prefix}:sign-in-failures:{kind}:{who}"

    def channel_not_before(self, channel_id: int) -> str:
        """STRING: per-channel "not before" time (epoch seconds) after a platform's 429."""
        return f"{self.prefix}:rate:{channel_id}:not-before"

    def shared_sent(self, scope: str) -> str:
        """ZSET: recent publish times of every channel sharing one credential's limit (``scope``
        is a digest of the credential, never the credential), for that limit's window."""
        return f"{self.prefix}:rate:shared:{scope}:sent"

    def channel_sent(self, channel_id: int) -> str:
        """ZSET: a channel's recent publish times (epoch seconds), for its posting-rate window."""
        return f"{self.prefix}:rate:{channel_id}:sent"
