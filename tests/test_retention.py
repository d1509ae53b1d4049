"""Photo retention: bytes are dropped only when every post using a photo is done and old;
nothing pending, uncertain or recent is touched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from herald.service import PhotoInput, PostRequest
from herald.store import states
from herald.store.models import Delivery, PhotoBlob, PostPhoto, utcnow
from tests.photos import jpeg


def _post(herald: Any, color: tuple[int, int, int]) -> str:
    return herald.add_post(
        PostRequest(
            channels=["m"], text=f"photo {color}", photos=[PhotoInput(jpeg(color=color), "a.jpg", "alt")]
        )
    )


def test_purge_only_done_and_old(herald: Any) -> None:
    herald.add_channel("m", "mastodon", {"access_token": "abcdefgh"}, base_url="http://127.0.0.1:9/m")
    done_old, pending_old, done_recent = (_post(herald, c) for c in ((1, 2, 3), (4, 5, 6), (7, 8, 9)))
    old = utcnow() - timedelta(days=40)
    with herald.db.session() as s:
        s.execute(update(PhotoBlob).values(created_at=old))
        s.execute(
            update(Delivery)
            .where(Delivery.post_id == done_old)
            .values(state=states.PUBLISHED, updated_at=old)
        )
        s.execute(update(Delivery).where(Delivery.post_id == pending_old).values(updated_at=old))
        s.execute(update(Delivery).where(Delivery.post_id == done_recent).values(state=states.PUBLISHED))
    assert herald.purge_photos(older_than_days=0) == 0
    purged = herald.purge_photos(older_than_days=30)
    with herald.db.session() as s:
        sha = {
            pid: s.execute(select(PostPhoto.sha256).where(PostPhoto.post_id == pid)).scalar_one()
            for pid in (done_old, pending_old, done_recent)
        }
        blobs = {b.sha256: b for b in s.execute(select(PhotoBlob)).scalars()}
        assert blobs[sha[done_old]].data == b"" and blobs[sha[done_old]].purged_at is not None
        assert blobs[sha[pending_old]].data and blobs[sha[pending_old]].purged_at is None
        assert blobs[sha[done_recent]].data
    assert purged >= 1
    assert herald.purge_photos(older_than_days=30) == 0  # idempotent
