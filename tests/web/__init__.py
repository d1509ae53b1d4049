"""Tests of the web app. ``settle`` moves a post's deliveries on the way a worker does (claim,
then publish or fail, through the store's own transitions), so pages can show every status
without a platform."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

#: Credentials of the fixture channels: each must never appear in a page or an API answer.
MASTODON_TOKEN = "tok-abc123456"
X_CREDENTIALS = {
    "api_key": "xkey-5551234",
    "api_secret": "xsecret-5559876",
    "access_token": "xtoken-5554321",
    "access_token_secret": "xtokensecret-5556789",
}
ALL_TOKENS = (MASTODON_TOKEN, *X_CREDENTIALS.values())


def add_channels(herald: Any) -> None:
    herald.add_channel(
        "m1", "mastodon", {"access_token": MASTODON_TOKEN}, base_url="http://127.0.0.1:9/mastodon"
    )
    herald.add_channel("x1", "x", dict(X_CREDENTIALS), base_url="http://127.0.0.1:9/x")


def jpeg_bytes(size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


def settle(herald: Any, post_id: str, state: str, *, url: str | None = None, error: str = "") -> None:
    """Claim every delivery of ``post_id`` and finish it as ``state`` (published, failed,
    uncertain or held), then forget it in Redis as a worker would."""
    from herald.store import deliveries, states

    rows = herald.delivery_log(post_id=post_id)
    with herald.db.session() as s:
        for row in rows:
            claim = deliveries.claim(s, row.delivery_id, lease_seconds=30)
            assert claim is not None, row
            if state == states.PUBLISHED:
                remote_id = f"{row.delivery_id}000"
                done = deliveries.mark_published(
                    s, row.delivery_id, claim.token, remote_id=remote_id, remote_url=url or ""
                )
            else:
                done = deliveries.mark_final(s, row.delivery_id, claim.token, state, error=error)
            assert done
    for row in rows:
        herald.queue.release(row.delivery_id)


def face_jpeg(size: int = 200) -> bytes:
    """A drawn face that OpenCV's frontal cascade finds (``tests.media.test_faces``), as JPEG."""
    from tests.media.test_faces import schematic_face

    buf = io.BytesIO()
    schematic_face(size).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def finish_takedowns(herald: Any, post_id: str) -> None:
    """Finish every ``deleting`` delivery of ``post_id`` as deleted, as a worker would after
    the platform confirmed the deletion."""
    from herald.store import takedowns

    rows = [r for r in herald.delivery_log(post_id=post_id) if r.status == "deleting"]
    with herald.db.session() as s:
        for row in rows:
            claim = takedowns.claim_takedown(s, row.delivery_id, lease_seconds=30)
            assert claim is not None, row
            assert takedowns.finish_takedown(s, claim, "deleted")
    for row in rows:
        herald.queue.release(row.delivery_id)


def stored_photos(herald: Any, post_id: str) -> list[tuple[str, int | None, bytes]]:
    """(sha256, faces_protected, stored bytes) of each photo of ``post_id``, in order."""
    from sqlalchemy import select

    from herald.store.models import PhotoBlob, PostPhoto

    with herald.db.session() as s:
        rows = s.execute(
            select(PostPhoto, PhotoBlob)
            .join(PhotoBlob, PostPhoto.sha256 == PhotoBlob.sha256)
            .where(PostPhoto.post_id == post_id)
            .order_by(PostPhoto.position)
        ).all()
        return [(p.sha256, p.faces_protected, b.data) for p, b in rows]
