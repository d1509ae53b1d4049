"""Everything a claimed delivery needs before its platform call: the payload, the photo
bytes, and the draft for the channel's connector.

Payloads and photos come from Redis in one round trip each; SQL fills in any that Redis lost
or that an edit outdated (a payload staged for an older version of the post).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from content_queue import ContentQueue, Payload
from herald.delivery.staging import build_payloads, neutral_name
from herald.platforms import Connector, Draft, Photo
from herald.store.db import Database
from herald.store.deliveries import Claim
from herald.store.models import Channel
from herald.store.queueing import photo_bytes

#: How long a photo shared for a platform to fetch stays reachable if nobody revokes it.
SHARED_PHOTO_TTL_SECONDS = 3600


@dataclass(frozen=True)
class Job:
    """One claimed delivery, ready to publish: its payload, photo bytes by hash and channel."""

    claim: Claim
    payload: Payload
    photos: Mapping[str, bytes]
    channel: Channel


def jobs(
    db: Database, queue: ContentQueue, claims: Sequence[Claim], channels: Mapping[int, Channel]
) -> Iterator[Job]:
    """The claimed deliveries as jobs, in order. Lazy: nothing is read before the first."""
    staged = queue.payloads([c.delivery_id for c in claims])
    stale = [
        c.delivery_id
        for c in claims
        if c.delivery_id not in staged or staged[c.delivery_id].post_version != c.post_version
    ]
    rebuilt: dict[int, tuple[Payload, dict[str, bytes]]] = {}
    if stale:
        with db.read() as s:
            rebuilt = {p.delivery_id: (p, ph) for p, ph in build_payloads(s, stale)}
    shas = sorted({p.sha256 for i, pl in staged.items() if i not in rebuilt for p in pl.photos})
    photos = queue.photos(shas)
    missing = [sha for sha in shas if sha not in photos]
    if missing:
        with db.read() as s:
            photos.update(photo_bytes(s, missing))
    for c in claims:
        if c.delivery_id in rebuilt:
            payload, own = rebuilt[c.delivery_id]
        else:
            payload, own = staged[c.delivery_id], photos
        yield Job(c, payload, own, channels[payload.channel_id])


class Drafts:
    """Drafts for connectors. A platform that fetches photos itself gets each at a short-lived
    public URL (``{public_url}/p/{token}``, served by the web app) when Herald has one."""

    def __init__(self, queue: ContentQueue, public_url: str | None) -> None:
        self.queue = queue
        self.public_url = public_url.rstrip("/") if public_url else None

    def draft(self, job: Job, connector: Connector) -> tuple[Draft, list[str]]:
        """The draft of ``job`` for ``connector``, and the tokens of the photos shared for it:
        revoke them (``ContentQueue.unshare_photos``) once the platform call returns."""
        share = type(connector).needs_public_photo_url and self.public_url
        tokens: list[str] = []
        photos = []
        for i, p in enumerate(job.payload.photos, 1):
            data = job.photos[p.sha256]
            url = None
            if share:
                token = self.queue.share_photo(data, p.mime_type, SHARED_PHOTO_TTL_SECONDS)
                tokens.append(token)
                url = f"{self.public_url}/p/{token}"
            # Named here, whatever the payload says: a platform never sees a person's file name.
            name = neutral_name(i, p.mime_type)
            photos.append(Photo(data, p.mime_type, p.width, p.height, p.alt_text, name, public_url=url))
        draft = Draft(
            text=job.payload.text,
            idempotency_key=job.payload.idempotency_key,
            photos=tuple(photos),
            language=job.payload.language,
        )
        return draft, tokens
