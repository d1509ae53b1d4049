"""Campaign settings through the CLI and the service: required alt text, face protection,
late tolerance, time zone; bad values are refused by name."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.media import detect_faces, ingest_photo
from herald.store.models import PhotoBlob, PostPhoto
from tests.media.test_faces import schematic_face

runner = CliRunner()


def run(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def _face_jpeg() -> bytes:
    buf = io.BytesIO()
    schematic_face(200).save(buf, "JPEG", quality=92)
    return buf.getvalue()


def test_campaign_settings_round_trip_and_refusals(herald: Any) -> None:
    res = run(
        "campaign",
        "set",
        "unification",
        "--late-tolerance",
        "600",
        "--require-alt-text",
        "--protect-faces",
        "pixelate",
        "--timezone",
        "Asia/Seoul",
    )
    assert res.exit_code == 0, res.output
    (c,) = json.loads(run("campaign", "list", "--format", "json").stdout)
    assert c == {
        "name": "unification",
        "timezone": "Asia/Seoul",
        "late_tolerance_seconds": 600,
        "require_alt_text": True,
        "protect_faces": "pixelate",
        "requires_approval": False,
        "paused": False,
        # Campaign controls (tests/test_campaign_controls.py): no range, tags or windows yet.
        "starts_at": None,
        "ends_at": None,
        "starts_local": None,
        "ends_local": None,
        "hashtags": None,
        "utm": False,
        "utm_campaign": None,
        "blackouts": [],
    }
    for args, word in (
        (["--timezone", "Mars/Olympus"], "time zone"),
        (["--protect-faces", "smudge"], "blur"),
        (["--late-tolerance", "-5"], "late tolerance"),
    ):
        res = run("campaign", "set", "unification", *args)
        assert res.exit_code != 0 and word in res.stderr


def test_required_alt_text_refuses_bare_photos(herald: Any, tmp_path: Path) -> None:
    run("campaign", "set", "strict", "--require-alt-text")
    run("channel", "add", "m", "--platform", "mastodon", "--credential", "access_token=abcdefgh")
    p = tmp_path / "face.jpg"
    p.write_bytes(_face_jpeg())
    res = run(
        "post", "add", "--channel", "m", "--text", "hi", "--photo", str(p), "--now", "--campaign", "strict"
    )
    assert res.exit_code != 0 and "requires alt text" in res.stderr
    assert json.loads(run("post", "list", "--format", "json").stdout) == []


def test_faces_are_pixelated_before_anything_is_stored(herald: Any, tmp_path: Path) -> None:
    run("channel", "add", "m", "--platform", "mastodon", "--credential", "access_token=abcdefgh")
    original = _face_jpeg()
    assert detect_faces(original), "the drawn face must be detectable for this test to mean anything"
    p = tmp_path / "face.jpg"
    p.write_bytes(original)
    res = run(
        "post",
        "add",
        "--channel",
        "m",
        "--text",
        "protected",
        "--photo",
        str(p),
        "--alt",
        "a person",
        "--protect-faces",
        "pixelate",
        "--now",
    )
    assert res.exit_code == 0, res.output
    with herald.db.session() as s:
        (photo,) = s.execute(select(PostPhoto)).scalars()
        blobs = {b.sha256: b.data for b in s.execute(select(PhotoBlob)).scalars()}
    assert photo.faces_protected == 1
    assert ingest_photo(original, "face.jpg").sha256 not in blobs, "the unprotected photo was stored"
    assert detect_faces(blobs[photo.sha256]) == []
