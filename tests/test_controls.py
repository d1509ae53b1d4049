"""Control characters are refused by name at the service, whichever door they come in by: a
NUL cannot be stored by PostgreSQL (it fails the transaction: a 500 for the person), and no
person means one. Nothing is queued when one is refused."""

from __future__ import annotations

from typing import Any

import pytest

from herald.core.errors import InputError
from herald.service import PhotoInput, PostRequest
from tests.web import add_channels, jpeg_bytes


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"text": "peace\x00"}, "text"),
        ({"text_for": {"m1": "평화\x00"}}, "text-for m1"),
        ({"photos": [PhotoInput(jpeg_bytes(), "a.jpg", alt_text="alt\x07")]}, "alt text of photo 1"),
        ({"campaign": "spring\nwinter"}, "campaign"),
    ],
)
def test_a_post_with_a_control_character_is_refused_by_field(
    herald: Any, change: dict[str, Any], field: str
) -> None:
    add_channels(herald)
    before = herald.list_posts()
    req = PostRequest(**({"channels": ["m1"], "text": "peace"} | change))
    with pytest.raises(InputError) as e:
        herald.add_post(req)
    assert e.value.field == field and "control character" in e.value.message
    assert herald.list_posts() == before
    # Lines and tabs in a post are fine.
    herald.add_post(PostRequest(channels=["m1"], text="line one\nline two\tand a tab"))


def test_names_with_control_characters_or_quotes_are_refused(herald: Any) -> None:
    with pytest.raises(InputError, match="control"):
        herald.set_campaign("spring\x00")
    with pytest.raises(InputError, match="1 to 100"):
        herald.set_campaign("x" * 101)
    for name in ('say"hi', "tab\tname", "nul\x00"):
        with pytest.raises(InputError) as e:
            herald.add_channel(name, "mastodon", {"access_token": "t"}, base_url="http://127.0.0.1:9")
        assert e.value.field == "name"
    with pytest.raises(InputError) as e:
        herald.add_user("a\x00b@example.org", "a long enough passphrase", "staff")
    assert e.value.field == "email"
    assert herald.list_campaigns() == [] and herald.list_channels() == []
