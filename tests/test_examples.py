"""The sample files the README's quick start names (issue 18: a newcomer could not run it as
written): the photo and the CSV import as they are, onto the sandbox channels ``make run`` makes,
and every post goes out once, the photo stripped of its GPS and camera data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from herald.importing import import_posts, read_csv
from herald.platforms import connector_class
from herald.simulator import SANDBOX_ACCOUNTS
from tests.e2e.conftest import wait_for

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _sandbox_channels(herald: Any, sim: Any) -> None:
    """As ``herald up`` makes them (``herald.up._sandbox``)."""
    for account in SANDBOX_ACCOUNTS:
        acc = {k: str(v) for k, v in dict(account).items()}
        platform, username = acc.pop("platform"), acc.pop("username")
        sim.add_account(platform, username=username, **acc)
        creds = {k: acc[k] for k in connector_class(platform).credential_keys}
        herald.add_channel(f"sandbox-{platform}", platform, creds, base_url=sim.url_for(platform))


def test_the_sample_csv_and_photo_go_out_as_the_readme_says(running: Any, herald: Any, sim: Any) -> None:
    _sandbox_channels(herald, sim)
    outcome = import_posts(herald, read_csv(EXAMPLES / "plan.csv"))
    assert outcome.problems == [] and len(outcome.post_ids) == 3
    assert wait_for(lambda: len(sim.ledger()) == 5, timeout=30), sim.ledger()
    texts = {(e.platform, e.text) for e in sim.ledger()}
    assert ("x", "70년 동안 헤어진 가족들은 다시 만나야 합니다.") in texts
    photos = [m for e in sim.ledger() for m in e.media]
    assert len(photos) == 2  # rally.jpg on Mastodon and on X
    for m in photos:
        assert not m.has_gps and not m.has_exif, m
