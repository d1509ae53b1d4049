"""What every connector does the same way, on each of the eight platforms in turn (the
``platform`` fixture): a photo rendered to its ``photo_rules`` passes its ``validate``, a refused
connection is retryable and names no credential, and a post whose create call was applied but
never answered is found again by ``reconcile``."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from herald.core.errors import RetryableError, UncertainError
from herald.media import render_for
from herald.platforms.base import Connector, PhotoInfo
from tests.platforms.harness import Harness, PlatformSpec, closed_port_url
from tests.platforms.specs import SPECS


def _encoded(size: tuple[int, int], mode: str, kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (30, 140, 200, 128)[: len(mode)]).save(buffer, format=kind)
    return buffer.getvalue()


#: Photos that break some platform's rules: a 9:16 phone photo (Instagram's 4:5), a 30:1
#: panorama (Telegram's 20:1, Instagram's width), a half-transparent PNG (JPEG-only platforms).
SHAPES = {
    "phone": (_encoded((540, 960), "RGB", "JPEG"), "image/jpeg"),
    "panorama": (_encoded((3000, 100), "RGB", "JPEG"), "image/jpeg"),
    "transparent": (_encoded((400, 300), "RGBA", "PNG"), "image/png"),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_a_rendition_passes_validation(spec: PlatformSpec[Connector], shape: str) -> None:
    # Renditions and validation read the same rules: what one makes, the other takes.
    data, mime_type = SHAPES[shape]
    rendition = render_for(data, mime_type, spec.connector.photo_rules)
    info = PhotoInfo(rendition.mime_type, len(rendition.data), rendition.width, rendition.height)
    assert spec.connector.validate("hi", [info]) == []


def test_photo_bytes_are_checked_at_the_rules_limit(spec: PlatformSpec[Connector]) -> None:
    rules = spec.connector.photo_rules
    at_limit = PhotoInfo("image/jpeg", rules.max_bytes, 1000, 1000)
    assert spec.connector.validate("hi", [at_limit]) == []
    [problem] = spec.connector.validate("hi", [PhotoInfo("image/jpeg", rules.max_bytes + 1, 1000, 1000)])
    assert (problem.field, problem.count, problem.limit) == ("photos", rules.max_bytes + 1, rules.max_bytes)


def test_connection_refused_is_retryable(harness: Harness[Connector], spec: PlatformSpec[Connector]) -> None:
    connector = spec.build(closed_port_url())
    photos = harness.photos(1) if spec.photo_required else ()
    with pytest.raises(RetryableError, match="could not connect") as caught:
        connector.publish(spec.draft(photos=photos))
    connector.close()
    for secret in spec.secrets():
        assert secret not in str(caught.value)
    if spec.token_in_url:
        assert caught.value.__cause__ is None  # the requests error names the URL, token and all


#: Platforms whose create call ``reconcile`` can look for afterwards (not Telegram: the Bot API
#: cannot list what a bot sent; ``test_telegram.py`` checks that it says so).
RECONCILABLE = sorted(name for name, spec in SPECS.items() if spec.create is not None)


@pytest.mark.parametrize("platform", RECONCILABLE, scope="module")
def test_commit_then_drop_then_reconcile_finds_the_post(harness: Harness[Connector]) -> None:
    spec = harness.spec
    assert spec.create is not None
    path, method = spec.create
    harness.sim.inject(spec.fault("commit_then_drop", path, method))
    photos = harness.photos()
    connector = harness.make()
    try:
        with pytest.raises(UncertainError):
            connector.publish(spec.draft(photos=photos))
        [first] = harness.ledger()

        found = connector.reconcile(spec.draft(photos=photos))
    finally:
        connector.close()

    assert found is not None
    assert (found.remote_id, found.url) == (first.remote_id, first.url)
    assert len(harness.ledger()) == 1
