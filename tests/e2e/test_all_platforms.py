"""One post with two photos to all eight platforms at once, through the whole system: each
platform receives it once, in its own shape, with alt text where it has alt text and no
metadata in any photo; Instagram and Threads fetch their photos from Herald's public URL."""

from __future__ import annotations

from typing import Any

from herald.service import PhotoInput, PostRequest
from tests.e2e.conftest import wait_for
from tests.photos import jpeg

ALTS = ["Volunteers holding a banner in Seoul", "지지자들이 손을 흔드는 모습"]


def test_one_post_to_every_platform(
    public_web: str, every_platform: dict[str, str], running: Any, sim: Any, herald: Any
) -> None:
    # 4:5 and 1.91:1 are Instagram's bounds; these are inside them.
    photos = [
        PhotoInput(jpeg(800, 600, color=(20, 120, 200)), "a.jpg", ALTS[0]),
        PhotoInput(jpeg(600, 700, color=(220, 180, 20)), "b.jpg", ALTS[1]),
    ]
    text = "평화 통일은 경청에서 시작됩니다. Peace starts with listening. https://example.org #OneKorea"
    pid = herald.add_post(PostRequest(channels=list(every_platform), text=text, photos=photos))
    assert wait_for(lambda: len(sim.ledger()) >= 8, timeout=60), herald.delivery_log(post_id=pid)
    assert wait_for(
        lambda: {r.status for r in herald.delivery_log(post_id=pid)} == {"published"}, timeout=20
    ), [(r.channel, r.status, r.error) for r in herald.delivery_log(post_id=pid)]
    ledger = sim.ledger()
    assert sorted(e.platform for e in ledger) == sorted(every_platform.values())
    for e in ledger:
        assert "평화 통일은" in e.text, (e.platform, e.text)
        assert len(e.media) == 2, e.platform
        for m in e.media:
            assert not (m.has_exif or m.has_gps or m.has_xmp), f"metadata reached {e.platform}"
        if e.platform != "telegram":  # the Bot API has no alt text
            assert [m.alt_text for m in e.media] == ALTS, e.platform
    rows = {r.platform: r for r in herald.delivery_log(post_id=pid)}
    for e in ledger:
        assert rows[e.platform].remote_id and rows[e.platform].remote_url
    # The shared photo URLs were revoked once the platforms had fetched them.
    assert not list(herald.queue.redis.scan_iter(herald.queue.keys.public_photo("*")))
