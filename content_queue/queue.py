"""The Redis content queue: due set, payloads, staged photos, in-flight leases.

Atomic steps are Lua scripts (``content_queue.scripts``), registered once per client.
Everything here can be lost with Redis and rebuilt from SQL (``scheduler.rebuild``).
Payloads are staged sealed and opened only if their MAC holds; photo bytes are read only if
they hash to their name (``content_queue.integrity``): what Redis holds is never just believed.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import redis

from content_queue import scripts
from content_queue.integrity import Checked, Seal, Tampered, photo_matches
from content_queue.keys import Keys
from content_queue.payload import Payload
from herald.core.errors import QueueError
from herald.core.keyring import Keyring
from herald.core.settings import get_settings

log = logging.getLogger(__name__)

#: Seconds a claimed delivery stays in flight before the reaper hands it out again.
DEFAULT_LEASE_SECONDS = 30.0


class ContentQueue:
    """``keyring`` holds the payload MAC keys (``integrity``); without one, the settings'
    (``get_settings().keyring()``) is read when a payload is first sealed or opened. Every
    process sharing a queue must agree on them."""

    def __init__(
        self, client: redis.Redis, keys: Keys | None = None, *, keyring: Keyring | None = None
    ) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self._seal = Seal.from_keyring(keyring) if keyring is not None else None
        self._claim = client.register_script(scripts.CLAIM_DUE)
        self._reap = client.register_script(scripts.REAP_EXPIRED)
        self._release = client.register_script(scripts.RELEASE)
        self._stage = client.register_script(scripts.STAGE)
        self._requeue = client.register_script(scripts.REQUEUE)
        self._extend = client.register_script(scripts.EXTEND)
        self._rate_gate = client.register_script(scripts.RATE_GATE)
        self._hold_channel = client.register_script(scripts.HOLD_CHANNEL)

    @classmethod
    def from_url(cls, url: str, keys: Keys | None = None, *, keyring: Keyring | None = None) -> ContentQueue:
        """A queue on ``url`` (``redis://``, ``rediss://`` for TLS, ``unix://``)."""
        return cls(redis.Redis.from_url(url), keys, keyring=keyring)

    @property
    def seal(self) -> Seal:
        if self._seal is None:
            self._seal = Seal.from_keyring(get_settings().keyring())
        return self._seal

    # -- staging ---------------------------------------------------------------------------

    def stage(
        self,
        payload: Payload,
        photos: dict[str, bytes] | None = None,
        *,
        respect_inflight: bool = True,
        wake: bool = True,
    ) -> bool:
        """Store ``payload`` and put its delivery on the due set at ``payload.due``.

        ``photos`` maps sha256 → bytes for the payload's photos; only those Redis lacks are
        sent. Returns False if the delivery was left alone because it is in flight (unless
        ``respect_inflight`` is off: a takeover puts it back on the due set regardless).
        """
        return bool(self.stage_many([(payload, photos or {})], wake=wake, respect_inflight=respect_inflight))

    def stage_many(
        self,
        items: Sequence[tuple[Payload, dict[str, bytes]]],
        *,
        wake: bool = True,
        respect_inflight: bool = True,
    ) -> int:
        """``stage`` for many payloads in two round trips whatever their number: every STAGE
        script in one pipeline, then the photos Redis lacks in a second. Returns how many were
        put on the due set (the others are in flight and were left alone)."""
        if not items:
            return 0

        # One payload: the script wakes the schedulers itself (one round trip in all).
        wake_in_script = self.keys.wake if wake and len(items) == 1 else ""

        def stage(payload: Payload, client: Any) -> Any:
            return self._stage(
                keys=[
                    self.keys.due,
                    self.keys.payload(payload.delivery_id),
                    self.keys.photo_refs,
                    self.keys.inflight,
                ],
                args=[
                    self.seal.seal(payload),
                    repr(payload.due),
                    payload.delivery_id,
                    "1" if respect_inflight else "0",
                    self.keys.photo(""),
                    wake_in_script,
                    *[p.sha256 for p in payload.photos],
                ],
                client=client,
            )

        try:
            if len(items) == 1:  # one EVALSHA; a pipeline would first ask whether the script exists
                results = [cast(list[Any], stage(items[0][0], self.redis))]
            else:
                pipe = self.redis.pipeline(transaction=False)
                for payload, _ in items:
                    stage(payload, pipe)
                results = cast(list[list[Any]], pipe.execute())
            staged = woken = 0
            sent: set[str] = set()
            pipe = self.redis.pipeline(transaction=False)
            for (payload, photos), result in zip(items, results, strict=True):
                staged += bool(result[0])
                woken += result[0] == 2
                for m in result[1:]:
                    sha = m.decode() if isinstance(m, bytes) else str(m)
                    if sha in sent:
                        continue
                    if sha not in photos:
                        raise QueueError(
                            f"photo {sha} of delivery {payload.delivery_id} is not staged "
                            "and was not supplied"
                        )
                    pipe.set(self.keys.photo(sha), photos[sha], nx=True)
                    sent.add(sha)
            if sent:
                pipe.execute()
            if wake and staged > woken:
                self.wake()
            return staged
        except redis.RedisError as e:
            raise QueueError(f"staging {len(items)} deliveries failed: {e}") from e

    def wake(self) -> None:
        """Tell schedulers something earlier may be due."""
        self.redis.publish(self.keys.wake, b"1")

    # -- scheduler side --------------------------------------------------------------------

    def claim_due(
        self, *, now: float | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS, limit: int = 500
    ) -> list[int]:
        now = time.time() if now is None else now
        ids = cast(
            list[bytes],
            self._claim(
                keys=[self.keys.due, self.keys.inflight], args=[repr(now), repr(now + lease_seconds), limit]
            ),
        )
        return [int(i) for i in ids]

    def reap_expired(self, *, now: float | None = None, limit: int = 1000) -> list[int]:
        now = time.time() if now is None else now
        ids = cast(list[bytes], self._reap(keys=[self.keys.inflight, self.keys.due], args=[repr(now), limit]))
        if ids:
            log.debug("reaped %d expired leases", len(ids), extra={"delivery_ids": [int(i) for i in ids]})
        return [int(i) for i in ids]

    def next_due(self) -> float | None:
        """Epoch seconds of the earliest due delivery, or None when nothing is queued."""
        first = self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    def next_lease_expiry(self) -> float | None:
        first = self.redis.zrange(self.keys.inflight, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    # -- worker side -----------------------------------------------------------------------

    def payload(self, delivery_id: int) -> Payload | None:
        """The staged payload, if there is one and its MAC holds (a refused one is logged)."""
        read = self.checked_payloads([delivery_id])
        for refused in read.refused.values():
            log.error("%s", refused, extra={"delivery_id": delivery_id})
        return read.found.get(delivery_id)

    def payloads(self, delivery_ids: Sequence[int]) -> dict[int, Payload]:
        """The staged payloads of ``delivery_ids`` whose MAC holds (one round trip); missing and
        refused ones are absent (``checked_payloads`` tells them apart)."""
        return self.checked_payloads(delivery_ids).found

    def checked_payloads(self, delivery_ids: Sequence[int]) -> Checked[int, Payload]:
        """The staged payloads of ``delivery_ids`` (one round trip): those whose MAC holds, and
        those refused (no MAC, a wrong one, another delivery's); missing ones are in neither."""
        if not delivery_ids:
            return Checked({}, {})
        raw = self.redis.mget([self.keys.payload(i) for i in delivery_ids])
        found: dict[int, Payload] = {}
        refused: dict[int, Tampered] = {}
        for i, r in zip(delivery_ids, raw, strict=True):
            if r is None:
                continue
            try:
                found[i] = self.seal.open(cast(bytes, r), i)
            except Tampered as e:
                refused[i] = e
        return Checked(found, refused)

    def photos(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Staged photo bytes as Redis holds them, unchecked (inspection and tests); a worker
        reads them with ``checked_photos``."""
        if not shas:
            return {}
        values = self.redis.mget([self.keys.photo(s) for s in shas])
        return {s: cast(bytes, v) for s, v in zip(shas, values, strict=True) if v is not None}

    def checked_photos(self, shas: Sequence[str]) -> Checked[str, bytes]:
        """Staged photo bytes by sha256 (one round trip): those that hash to it, and those
        refused (they do not); missing ones are in neither."""
        if not shas:
            return Checked({}, {})
        values = self.redis.mget([self.keys.photo(s) for s in shas])
        found: dict[str, bytes] = {}
        refused: dict[str, Tampered] = {}
        for s, v in zip(shas, values, strict=True):
            if v is None:
                continue
            if photo_matches(s, cast(bytes, v)):
                found[s] = cast(bytes, v)
            else:
                refused[s] = Tampered(f"staged photo {s} does not hash to its name")
        return Checked(found, refused)

    def restore_photos(self, photos: Mapping[str, bytes]) -> None:
        """Write the right bytes (from SQL) over refused ones. Only bytes that hash to their
        sha256, and only over a key still there (``xx``): a photo released meanwhile stays gone."""
        good = {s: b for s, b in photos.items() if photo_matches(s, b)}
        if not good:
            return
        pipe = self.redis.pipeline(transaction=False)
        for s, b in good.items():
            pipe.set(self.keys.photo(s), b, xx=True)
        pipe.execute()

    def extend_lease(self, delivery_id: int, seconds: float) -> bool:
        return bool(self._extend(keys=[self.keys.inflight], args=[delivery_id, repr(time.time() + seconds)]))

    def extend_leases(self, delivery_ids: Sequence[int], seconds: float) -> None:
        until = repr(time.time() + seconds)
        pipe = self.redis.pipeline(transaction=False)
        for i in delivery_ids:
            self._extend(keys=[self.keys.inflight], args=[i, until], client=pipe)
        pipe.execute()

    def settle(self, actions: Sequence[tuple[str, int, object]]) -> None:
        """Apply a batch's acknowledgements in one round trip. Each action is
        ``("release", id, photo_shas)``, ``("requeue", id, due_epoch)`` or
        ``("hold", id, until_epoch)`` (keep in flight until then)."""
        if not actions:
            return
        pipe = self.redis.pipeline(transaction=False)
        wake = False
        for kind, i, arg in actions:
            if kind == "release":
                shas = list(cast(Sequence[str], arg))
                self._release(
                    keys=[self.keys.due, self.keys.inflight, self.keys.payload(i), self.keys.photo_refs],
                    args=[self.keys.photo(""), i, *shas],
                    client=pipe,
                )
            elif kind == "requeue":
                self._requeue(keys=[self.keys.inflight, self.keys.due], args=[i, repr(arg)], client=pipe)
                wake = True
            elif kind == "hold":
                pipe.zadd(self.keys.inflight, {str(i): cast(float, arg)})
            else:  # pragma: no cover - programming error
                raise ValueError(f"unknown settle action {kind!r}")
        if wake:
            pipe.publish(self.keys.wake, b"1")
        pipe.execute()

    def hold_inflight(self, delivery_id: int, until: float) -> None:
        """Keep a delivery in flight until ``until`` (another worker holds it under a live lease)."""
        self.redis.zadd(self.keys.inflight, {str(delivery_id): until})

    def requeue(self, delivery_id: int, due: float) -> None:
        self._requeue(keys=[self.keys.inflight, self.keys.due], args=[delivery_id, repr(due)])
        self.wake()

    def release(self, delivery_id: int, photo_shas: Iterable[str] | None = None) -> None:
        """Forget a finished delivery and release its photos."""
        shas = list(photo_shas) if photo_shas is not None else None
        if shas is None:
            p = self.payload(delivery_id)
            shas = [ph.sha256 for ph in p.photos] if p else []
        self._release(
            keys=[self.keys.due, self.keys.inflight, self.keys.payload(delivery_id), self.keys.photo_refs],
            args=[self.keys.photo(""), delivery_id, *shas],
        )

    # -- photos served to platforms that fetch them -----------------------------------------

    def share_photo(self, data: bytes, mime_type: str, ttl_seconds: int) -> str:
        """Make ``data`` fetchable under a new unguessable token for ``ttl_seconds``."""
        token = secrets.token_urlsafe(32)
        key = self.keys.public_photo(token)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, mapping={"data": data, "mime": mime_type})
        pipe.expire(key, ttl_seconds)
        pipe.execute()
        return token

    def shared_photo(self, token: str) -> tuple[bytes, str] | None:
        if not token or len(token) > 64:
            return None
        got = cast(list[bytes | None], self.redis.hmget(self.keys.public_photo(token), ["data", "mime"]))
        if got[0] is None or got[1] is None:
            return None
        return got[0], got[1].decode()

    def unshare_photos(self, tokens: Sequence[str]) -> None:
        if tokens:
            self.redis.delete(*[self.keys.public_photo(t) for t in tokens])

    # -- per-channel rate --------------------------------------------------------------------

    def rate_gate(
        self,
        channel_id: int,
        window: tuple[int, float] | None,
        token: str,
        *,
        at: float | None = None,
        shared: tuple[str, tuple[int, float]] | None = None,
        grid: float = 0.0,
    ) -> float:
        """0.0 if the channel may publish at ``at`` (epoch seconds, not before now; a slot is
        taken at that instant, in its window and in ``shared``'s: a scope and the window the
        channels of that scope share), else the instant (epoch seconds, to the microsecond) to
        come back at: a 429's hold, or a slot reserved for ``token`` (rounded up to a multiple
        of ``grid`` seconds; see ``scripts.RATE_GATE``)."""
        posts, seconds = window if window else (0, 0.0)
        scope, (shared_posts, shared_seconds) = shared if shared else ("", (0, 0.0))
        now = time.time()
        sent = self.keys.channel_sent(channel_id)
        wait = self._rate_gate(
            keys=[
                self.keys.channel_not_before(channel_id),
                sent,
                self.keys.shared_sent(scope) if scope else sent,
            ],
            args=[
                repr(max(now, at) if at is not None else now),
                repr(seconds),
                posts,
                token,
                repr(shared_seconds),
                shared_posts,
                repr(grid),
            ],
        )
        return float(cast(bytes, wait))

    def channel_holds(self, channel_ids: Sequence[int]) -> dict[int, float]:
        """Each channel's "not before" time (epoch seconds; 0 when none), one round trip."""
        if not channel_ids:
            return {}
        raw = self.redis.mget([self.keys.channel_not_before(i) for i in channel_ids])
        return {
            i: float(cast(bytes, r)) if r is not None else 0.0 for i, r in zip(channel_ids, raw, strict=True)
        }

    def hold_channel(self, channel_id: int, until: float) -> None:
        """No publishing on this channel before ``until`` (epoch seconds), by any worker."""
        self._hold_channel(keys=[self.keys.channel_not_before(channel_id)], args=[repr(until)])

    # -- inspection and recovery -----------------------------------------------------------

    def is_known(self, delivery_ids: Sequence[int]) -> list[bool]:
        """For each id: is it on the due set or in flight?"""
        pipe = self.redis.pipeline(transaction=False)
        for i in delivery_ids:
            pipe.zscore(self.keys.due, i)
            pipe.zscore(self.keys.inflight, i)
        res = pipe.execute()
        return [res[2 * k] is not None or res[2 * k + 1] is not None for k in range(len(delivery_ids))]

    def counts(self) -> dict[str, int]:
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(self.keys.due)
        pipe.zcard(self.keys.inflight)
        due, inflight = pipe.execute()
        return {"due": int(due), "inflight": int(inflight)}

    def epoch(self) -> str | None:
        v = self.redis.get(self.keys.epoch)
        return cast(bytes, v).decode() if v is not None else None

    def set_epoch(self, value: str) -> None:
        self.redis.set(self.keys.epoch, value)

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except redis.RedisError:
            return False
