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


#: The campaign the web tests post in (posts name only campaigns that exist).
CAMPAIGN = "spring"


def add_channels(herald: Any) -> None:
    """The fixture channels ``m1`` (Mastodon) and ``x1`` (X), and the campaign ``spring``."""
    herald.set_campaign(CAMPAIGN)
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


# -- people and signing in ---------------------------------------------------------------------

#: One person per role, everywhere (installation-wide), with these passwords.
PASSWORD = "correct horse battery staple"
ADMIN = "admin@herald.test"
MANAGER = "manager@herald.test"
STAFF = "staff@herald.test"
PEOPLE = {ADMIN: "admin", MANAGER: "manager", STAFF: "staff"}
#: Host the test clients use (one of the default ``HERALD_ALLOWED_HOSTS``).
BASE_URL = "http://localhost"


def add_people(herald: Any, campaigns: tuple[str, ...] = ()) -> None:
    """The three fixture people (in ``campaigns`` only, if given)."""
    for email, role in PEOPLE.items():
        herald.add_user(email, PASSWORD, role, list(campaigns))


def actor_of(herald: Any, email: str, password: str = PASSWORD) -> Any:
    """The actor of a real session of ``email``, signed in through the service."""
    signed = herald.sign_in(email, password, address="10.0.0.1")
    return herald.session(herald.start_session(signed.user_id)[0]).actor


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    import re

    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF field on the page"
    return m.group(1)


def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    """Sign ``client`` (a TestClient) in through the real form; the answer to the post."""
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    return r


def web_client(herald: Any, email: str | None = ADMIN) -> Any:
    """A TestClient over the app, signed in as ``email`` (None: anonymous). Use as a context
    manager."""
    from fastapi.testclient import TestClient

    from herald.web import create_app

    client = TestClient(create_app(herald), base_url=BASE_URL)
    if email is not None:
        sign_in(client, email)
    return client
