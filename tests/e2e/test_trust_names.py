"""Threat: a photo's file name says who and where (``kim-jiyeon_escapee_Yanji_safehouse.jpg``)
as surely as its GPS. Whatever the file was called, every platform receives ``photo-<n>.<ext>``;
the name is kept only in the database for the staff's own view, and no log line at INFO or
above carries it."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from herald.service import PhotoInput, PostRequest
from tests.e2e.conftest import wait_for
from tests.photos import jpeg

TELLING = "kim-jiyeon_escapee_Yanji_safehouse_2024-06-12.jpg"
OTHER = "박서준-연길-은신처.jpeg"


def test_a_telling_file_name_never_reaches_a_platform(
    public_web: str,
    every_platform: dict[str, str],
    running: Any,
    sim: Any,
    herald: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    photos = [
        PhotoInput(jpeg(800, 600, color=(20, 120, 200)), TELLING, "A banner"),
        PhotoInput(jpeg(600, 700, color=(220, 180, 20)), OTHER, "Hands waving"),
    ]
    pid = herald.add_post(PostRequest(channels=list(every_platform), text="평화 / peace", photos=photos))
    assert wait_for(
        lambda: {r.status for r in herald.delivery_log(post_id=pid)} == {"published"}, timeout=60
    ), [(r.channel, r.status, r.error) for r in herald.delivery_log(post_id=pid)]
    uploads = [(r.platform, n) for r in sim.requests_seen() for n in r.file_names]
    # Mastodon, X, Telegram and Facebook take uploads (the others fetch or reference the bytes).
    assert {p for p, _ in uploads} >= {"mastodon", "x", "telegram", "facebook"}
    for platform, name in uploads:
        assert re.fullmatch(r"photo-[1-4]\.jpg", name), (platform, name)
    for needle in ("kim-jiyeon", "Yanji", "safehouse", "연길", "은신처"):
        assert needle not in caplog.text
        assert not any(needle in n for _, n in uploads)
    # The staff's own view still knows what the files were called.
    from sqlalchemy import select

    from herald.store.models import PostPhoto

    with herald.db.read() as s:
        names = list(s.execute(select(PostPhoto.original_name).where(PostPhoto.post_id == pid)).scalars())
    assert sorted(names) == sorted([TELLING, OTHER])
