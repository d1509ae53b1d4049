"""End to end with real parts: the CLI queues, the dispatcher claims from Redis, an in-process
Celery worker publishes through the connectors to the platform simulator, SQL records it."""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.store.models import Delivery
from tests.e2e.conftest import ALL_SECRETS, X_CREDS, wait_for
from tests.photos import jpeg

runner = CliRunner()


def herald_cli(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_korean_english_post_with_gps_photos_goes_out_once_clean(
    running: Any, channels: dict[str, str], sim: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    assert herald_cli("campaign", "set", "unification").exit_code == 0
    p1, p2 = tmp_path / "rally.jpg", tmp_path / "평화.jpg"
    p1.write_bytes(jpeg(120, 80, color=(10, 120, 200)))
    p2.write_bytes(jpeg(80, 120, color=(220, 180, 20)))
    at = datetime.now(UTC) + timedelta(seconds=2)
    res = herald_cli(
        "post",
        "add",
        "--channel",
        "kr-mastodon",
        "--channel",
        "kr-x",
        "--text",
        "Peaceful unification starts with listening. #OneKorea",
        "--text-for",
        "kr-x=평화 통일은 경청에서 시작됩니다. Peace starts with listening.",
        "--photo",
        str(p1),
        "--alt",
        "Volunteers holding a banner in Seoul",
        "--photo",
        str(p2),
        "--alt",
        "지지자들이 손을 흔드는 모습",
        "--at",
        at.isoformat(),
        "--campaign",
        "unification",
    )
    assert res.exit_code == 0, res.output
    post_id = res.stdout.strip().splitlines()[-1]

    assert wait_for(lambda: len(sim.ledger()) >= 2, timeout=20)
    ledger = sim.ledger()
    assert sorted(e.platform for e in ledger) == ["mastodon", "x"]
    by = {e.platform: e for e in ledger}
    assert by["x"].text.startswith("평화 통일은")
    assert by["mastodon"].text.startswith("Peaceful unification")
    for entry in ledger:
        assert [m.alt_text for m in entry.media] == [
            "Volunteers holding a banner in Seoul",
            "지지자들이 손을 흔드는 모습",
        ]
        for m in entry.media:
            assert not m.has_gps and not m.has_exif and not m.has_xmp, f"metadata reached {entry.platform}"
        # Not early; and on time within a loose bound (the real figure is in bench/).
        assert entry.received_at >= at.timestamp() - 0.05
        assert entry.received_at - at.timestamp() < 3.0

    assert wait_for(lambda: all(r["status"] == "published" for r in _log()), timeout=10)
    rows = _log()
    assert {r["channel"] for r in rows} == {"kr-mastodon", "kr-x"}
    for r in rows:
        assert r["post_id"] == post_id and r["status"] == "published" and r["attempts"] == 1
        assert r["remote_id"] == by[r["platform"]].remote_id
        assert r["remote_url"] and by[r["platform"]].remote_id in r["remote_url"]
        assert r["published_at"] and r["error"] is None
    # Nothing was sent twice, even after the workers stay up a little longer.
    import time

    time.sleep(1.0)
    assert len(sim.ledger()) == 2
    assert not any(s in caplog.text for s in ALL_SECRETS)


def test_one_post_goes_out_in_korean_on_one_channel_and_english_on_another(
    running: Any, three_channels: dict[str, str], sim: Any
) -> None:
    """A channel's own language (``--language-for``) reaches its platform; the other channel
    gets the post's (``--language``): Mastodon's status says ko, Bluesky's record says en."""
    import requests

    from tests.e2e.conftest import MASTODON_TOKEN

    at = datetime.now(UTC) + timedelta(seconds=2)
    res = herald_cli(
        "post", "add", "--channel", "kr-mastodon", "--channel", "kr-bluesky",
        "--text", "Peace starts with listening.", "--language", "en",
        "--text-for", "kr-mastodon=평화는 경청에서 시작됩니다.", "--language-for", "kr-mastodon=ko",
        "--at", at.isoformat(),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert wait_for(lambda: len(sim.ledger()) >= 2, timeout=20)
    by = {e.platform: e for e in sim.ledger()}
    assert sorted(by) == ["bluesky", "mastodon"]
    assert by["mastodon"].text == "평화는 경청에서 시작됩니다."
    assert by["bluesky"].text == "Peace starts with listening."
    assert by["bluesky"].extra["langs"] == ["en"]
    status = requests.get(
        f"{sim.url_for('mastodon')}/api/v1/statuses/{by['mastodon'].remote_id}",
        headers={"Authorization": f"Bearer {MASTODON_TOKEN}"},
        timeout=5,
    )
    assert status.status_code == 200, status.text
    assert status.json()["language"] == "ko"
    assert wait_for(lambda: {r["status"] for r in _log()} == {"published"}, timeout=10)
    assert len(sim.ledger()) == 2


def _log(*args: str) -> list[dict[str, Any]]:
    res = herald_cli("log", "--format", "json", *args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_200_posts_due_at_one_instant_each_arrive_once(
    running: Any, channels: dict[str, str], sim: Any, herald: Any
) -> None:
    from herald.service import PostRequest

    # 200 posts on one X user are over X's 100 per 15 minutes, which Herald keeps (half would
    # wait a quarter of an hour): an account with other limits, as the benchmarks' burst uses.
    sim.add_account("x", username="unify_kr", **X_CREDS, post_limits="off")
    herald.add_channel(
        "burst-x", "x", dict(X_CREDS), base_url=sim.url_for("x"), options={"rate_limit": "off"}
    )
    at = datetime.now(UTC) + timedelta(seconds=3)
    for i in range(200):
        herald.add_post(
            PostRequest(channels=["kr-mastodon", "burst-x"], text=f"Burst post {i}: 평화 #{i}", at=at)
        )
    assert wait_for(lambda: len(sim.ledger()) >= 400, timeout=60)
    ledger = sim.ledger()
    assert len(ledger) == 400
    assert len({(e.platform, e.text) for e in ledger}) == 400, "a post went out twice"
    late = sorted(e.received_at - at.timestamp() for e in ledger)
    assert late[0] >= -0.05, "a post went out early"
    # Loose: the measured figures come from bench/ (p50/p99 are reported in the issue note).
    assert statistics.median(late) < 10
    with herald.db.session() as s:
        states = {d.state for d in s.query(Delivery).all()}
    assert wait_for(lambda: {r.status for r in herald.delivery_log()} == {"published"}, timeout=10)
    assert states <= {"published", "publishing"}


def test_photo_too_big_for_x_is_rendered_to_fit_each_platform(
    running: Any, channels: dict[str, str], sim: Any, herald: Any
) -> None:
    """A 12 MB PNG is fine for Mastodon (16 MiB) but not for X (5 MB): X gets a JPEG rendition
    that fits, made at queue time; both arrive metadata-free."""
    import io
    import os

    from PIL import Image

    from herald.service import PhotoInput, PostRequest

    img = Image.frombytes("RGB", (2000, 2000), os.urandom(2000 * 2000 * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    big = buf.getvalue()
    assert len(big) > 5_500_000
    herald.add_post(
        PostRequest(channels=list(channels), text="big photo", photos=[PhotoInput(big, "big.png", "noise")])
    )
    assert wait_for(lambda: len(sim.ledger()) >= 2, timeout=30)
    by = {e.platform: e.media[0] for e in sim.ledger()}
    assert by["x"].size <= 5_000_000 and by["x"].mime_type == "image/jpeg"
    assert by["mastodon"].mime_type == "image/png" and by["mastodon"].size > 5_000_000
    assert not any(m.has_exif or m.has_gps for m in by.values())
