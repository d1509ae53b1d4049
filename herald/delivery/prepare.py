"""Everything a claimed delivery needs before its platform call: the payload, the photo
bytes, and the draft for the channel's connector.

Payloads and photos come from Redis in one round trip each; SQL fills in any that Redis lost
or that an edit outdated (a payload staged for an older version of the post).

Nothing read from Redis is believed before any platform call: a payload whose MAC does not
hold, or photo bytes that do not hash to the sha256 the (authenticated) payload names, are
refused (``content_queue.integrity``). A refusal is logged as an error naming the delivery or
photo (never its text) and raised as a ``queue-tampered`` alert; the delivery is built again
from SQL, the source of truth, and goes out as approved; Redis gets the rebuilt payload and
the right bytes back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from content_queue import ContentQueue, Payload
from content_queue.integrity import Tampered
from herald.delivery.staging import build_payloads, neutral_name
from herald.platforms import Connector, Draft, Photo
from herald.store.db import Database
from herald.store.deliveries import Claim
from herald.store.models import Channel
from herald.store.queueing import photo_bytes

log = logging.getLogger(__name__)
#: The alert channel (``scheduler.dispatcher.log_alert`` writes to the same logger).
alerts = logging.getLogger("herald.alerts")
#: The alert raised when Redis held something Herald did not stage.
TAMPERED_ALERT = "queue-tampered"

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
    read = queue.checked_payloads([c.delivery_id for c in claims])
    staged = read.found
    for delivery_id, refused in read.refused.items():
        _flag(refused, [delivery_id])
    # A refused payload is absent from ``staged``, so it is rebuilt from SQL with the stale ones.
    stale = [
        c.delivery_id
        for c in claims
        if c.delivery_id not in staged or staged[c.delivery_id].post_version != c.post_version
    ]
    rebuilt: dict[int, tuple[Payload, dict[str, bytes]]] = {}
    if stale:
        with db.read() as s:
            rebuilt = {p.delivery_id: (p, ph) for p, ph in build_payloads(s, stale)}
    restage = [rebuilt[i] for i in read.refused if i in rebuilt]
    if restage:
        # Overwrite what was rewritten with what SQL says; the delivery stays in flight (ours).
        queue.stage_many(restage, wake=False)
    shas = sorted({p.sha256 for i, pl in staged.items() if i not in rebuilt for p in pl.photos})
    got = queue.checked_photos(shas)
    photos = dict(got.found)
    for sha, refused in got.refused.items():
        users = [
            i for i, pl in staged.items() if i not in rebuilt and any(p.sha256 == sha for p in pl.photos)
        ]
        _flag(refused, users, photo=sha)
    missing = [sha for sha in shas if sha not in photos]
    if missing:
        with db.read() as s:
            photos.update(photo_bytes(s, missing))
        queue.restore_photos({sha: photos[sha] for sha in got.refused if sha in photos})
    for c in claims:
        if c.delivery_id in rebuilt:
            payload, own = rebuilt[c.delivery_id]
        else:
            payload, own = staged[c.delivery_id], photos
        yield Job(c, payload, own, channels[payload.channel_id])


def _flag(refused: Tampered, delivery_ids: Sequence[int], *, photo: str | None = None) -> None:
    """Say that Redis held something Herald did not stage: an error and an alert, naming the
    deliveries (and photo) and never the content."""
    fields: dict[str, object] = {"delivery_ids": list(delivery_ids)}
    if len(delivery_ids) == 1:
        fields["delivery_id"] = delivery_ids[0]
    if photo is not None:
        fields["photo_sha256"] = photo
    log.error(
        "deliveries %s: refused from the content queue (%s); built again from SQL",
        list(delivery_ids),
        refused,
        extra=fields,
    )
    alerts.error(
        "ALERT %s: deliveries %s: %s",
        TAMPERED_ALERT,
        list(delivery_ids),
        refused,
        extra={"alert": TAMPERED_ALERT, **fields},
    )


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
