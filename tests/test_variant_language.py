"""Issue 18: the language is per channel, not only per post. One post goes out in Korean on one
channel and in English on another: a channel's own language (beside its own text) reaches SQL
(``post_variants.language``), the payload a worker reads, and what the service answers; the
one rule for a language tag (``herald.core.languages``) refuses a bad one by the channel's name
before anything is queued. Real SQL (SQLite and PostgreSQL) and Redis."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from herald.cli import app as cli
from herald.core.errors import InputError
from herald.core.languages import MAX_LANGUAGE_CHARS, checked_language
from herald.delivery.staging import build_payloads
from herald.service import PostRequest
from herald.store.models import Delivery, Post, PostVariant

runner = CliRunner()
SOON = datetime.now(UTC) + timedelta(hours=2)


@pytest.fixture
def db_url(any_db_url: str) -> str:
    return any_db_url


@pytest.fixture
def chans(herald: Any) -> Any:
    herald.add_channel(
        "seoul", "mastodon", {"access_token": "m-lang-123456"}, base_url="http://127.0.0.1:9/m"
    )
    herald.add_channel(
        "chapter",
        "bluesky",
        {"handle": "a.bsky.social", "app_password": "lang-pass-123"},
        base_url="http://127.0.0.1:9/b",
    )
    return herald


def _payloads(herald: Any, post_id: str) -> dict[str, Any]:
    """The staged payload of each channel of ``post_id``, by channel name."""
    rows = {r.delivery_id: r.channel for r in herald.delivery_log(post_id=post_id)}
    return {rows[d]: p for d, p in herald.queue.payloads(list(rows)).items()}


def _counts(herald: Any) -> dict[str, int]:
    with herald.db.read() as s:
        return {
            m.__name__: s.execute(select(func.count()).select_from(m)).scalar_one()
            for m in (Post, PostVariant, Delivery)
        }


# -- the rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["ko", "en", "kor", "pt-BR", "zh-Hant", "sr-Latn-RS", "a" * 2 + "-x" * 7])
def test_a_language_tag_is_kept_as_given(tag: str) -> None:
    assert len(tag) <= MAX_LANGUAGE_CHARS
    assert checked_language(tag) == tag
    assert checked_language(tag, channel="seoul") == tag


@pytest.mark.parametrize("blank", [None, ""])
def test_no_language_is_none(blank: str | None) -> None:
    assert checked_language(blank) is None


@pytest.mark.parametrize(
    "bad",
    [
        "k",  # one letter
        "korean",  # not 2-3 letters
        "ko KR",  # a space
        "ko_KR",  # a POSIX locale, not a tag
        "en-",  # an empty subtag
        " ko",
        "ko\n",
        "<script>",
        "ko-" + "a" * 9,  # a subtag over 8
        "en-" + "-".join(["abcd"] * 3) + "-x",  # 18 characters: over the column
        "한국어",
        "'; DROP TABLE posts; --",
    ],
)
def test_anything_else_is_refused_naming_the_field_or_the_channel(bad: str) -> None:
    with pytest.raises(InputError) as post:
        checked_language(bad)
    assert post.value.field == "language" and "is not a language tag" in post.value.message
    with pytest.raises(InputError) as own:
        checked_language(bad, channel="seoul")
    assert own.value.field == "language-for" and own.value.message.startswith("channel seoul: ")
    assert len(own.value.message) < 200  # a long value is cut, not repeated whole


def test_language_for_is_the_channels_own_else_the_posts() -> None:
    req = PostRequest(channels=["seoul", "chapter"], text="hi", language="en", languages={"seoul": "ko"})
    assert (req.language_for("seoul"), req.language_for("chapter")) == ("ko", "en")
    bare = PostRequest(channels=["seoul"], text="hi", languages={"seoul": "ko"})
    assert (bare.language_for("seoul"), bare.language_for("chapter")) == ("ko", None)


# -- queueing ----------------------------------------------------------------------------------


def test_each_channel_goes_out_in_its_own_language(chans: Any) -> None:
    herald = chans
    pid = herald.add_post(
        PostRequest(
            channels=["seoul", "chapter"],
            text="Peace starts with listening.",
            text_for={"seoul": "평화는 경청에서 시작됩니다."},
            language="en",
            languages={"seoul": "ko"},
            at=SOON,
        )
    )
    with herald.db.read() as s:
        rows = s.execute(
            select(PostVariant.text, PostVariant.language).where(PostVariant.post_id == pid)
        ).all()
        assert [tuple(r) for r in rows] == [("평화는 경청에서 시작됩니다.", "ko")]
    staged = _payloads(herald, pid)
    assert (staged["seoul"].language, staged["chapter"].language) == ("ko", "en")
    assert staged["seoul"].text.startswith("평화")
    with herald.db.session() as s:  # a rebuild from SQL stages the same
        rebuilt = {p.delivery_id: p for p, _ in build_payloads(s, [p.delivery_id for p in staged.values()])}
    assert rebuilt == {p.delivery_id: p for p in staged.values()}
    log = {e.channel: (e.text, e.language) for e in herald.delivery_log(post_id=pid)}
    assert log == {
        "seoul": ("평화는 경청에서 시작됩니다.", "ko"),
        "chapter": ("Peace starts with listening.", "en"),
    }
    [post] = herald.list_posts(post_id=pid)
    assert post.language == "en"
    assert {n: v.to_dict() for n, v in post.variants.items()} == {
        "seoul": {"text": "평화는 경청에서 시작됩니다.", "language": "ko"}
    }


def test_a_channel_may_have_its_own_language_and_the_posts_text(chans: Any) -> None:
    herald = chans
    pid = herald.add_post(
        PostRequest(channels=["seoul", "chapter"], text="🎉 #Seoul2026", languages={"chapter": "en"}, at=SOON)
    )
    staged = _payloads(herald, pid)
    assert (staged["seoul"].language, staged["chapter"].language) == (None, "en")
    assert staged["seoul"].text == staged["chapter"].text == "🎉 #Seoul2026"
    [post] = herald.list_posts(post_id=pid)
    assert post.variants["chapter"].language == "en" and post.variants["chapter"].text == "🎉 #Seoul2026"


@pytest.mark.parametrize(
    ("given", "words"),
    [
        (
            {"languages": {"seoul": "ko KR"}},
            ["language-for", "channel seoul", "'ko KR' is not a language tag"],
        ),
        ({"languages": {"chapter": "x" * 500}}, ["channel chapter", "at most 16 characters"]),
        ({"language": "korean"}, ["language:", "'korean' is not a language tag"]),
        ({"languages": {"elsewhere": "ko"}}, ["language given for channel(s) not in this post: elsewhere"]),
    ],
)
def test_a_bad_language_is_refused_and_nothing_is_queued(
    chans: Any, given: dict[str, Any], words: list[str]
) -> None:
    herald = chans
    before, staged = _counts(herald), herald.queue.redis.zcard(herald.queue.keys.due)
    with pytest.raises(InputError) as err:
        herald.add_post(PostRequest(channels=["seoul", "chapter"], text="hi", at=SOON, **given))
    assert all(w in str(err.value) for w in words), str(err.value)
    assert _counts(herald) == before
    assert herald.queue.redis.zcard(herald.queue.keys.due) == staged


def test_a_bad_language_in_a_batch_names_its_post(chans: Any) -> None:
    herald = chans
    before = _counts(herald)
    with pytest.raises(InputError) as err:
        herald.add_posts(
            [
                PostRequest(channels=["seoul"], text="fine", languages={"seoul": "ko"}, at=SOON),
                PostRequest(channels=["seoul"], text="bad", languages={"seoul": "ko/kr"}, at=SOON),
            ],
            labels=["line 2", "line 3"],
        )
    assert "1 of 2 posts refused" in str(err.value) and "line 3: language-for: channel seoul" in str(
        err.value
    )
    assert _counts(herald) == before


# -- the command line --------------------------------------------------------------------------


def _run(*args: str) -> Any:
    return runner.invoke(cli, list(args), catch_exceptions=False)


def test_post_add_takes_a_language_per_channel(chans: Any) -> None:
    herald = chans
    res = _run(
        "post", "add", "--channel", "seoul", "--channel", "chapter",
        "--text", "Peace starts with listening.", "--language", "en",
        "--text-for", "seoul=평화는 경청에서 시작됩니다.", "--language-for", "seoul=ko",
        "--at", SOON.isoformat(),
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    pid = res.stdout.split()[-1]
    staged = _payloads(herald, pid)
    assert (staged["seoul"].language, staged["chapter"].language) == ("ko", "en")
    [listed] = [p for p in json.loads(_run("post", "list", "--format", "json").stdout) if p["id"] == pid]
    assert listed["language"] == "en"
    assert listed["variants"] == {"seoul": {"text": "평화는 경청에서 시작됩니다.", "language": "ko"}}


@pytest.mark.parametrize(
    ("option", "words"),
    [
        ("seoul", ["language-for", "expected KEY=VALUE"]),
        ("seoul=ko-", ["channel seoul", "'ko-' is not a language tag"]),
        ("nowhere=ko", ["not in this post: nowhere"]),
    ],
)
def test_post_add_refuses_a_bad_language_for(chans: Any, option: str, words: list[str]) -> None:
    before = _counts(chans)
    res = _run("post", "add", "--channel", "seoul", "--text", "hi", "--language-for", option, "--now")
    assert res.exit_code != 0
    assert all(w in res.stderr for w in words), res.stderr
    assert _counts(chans) == before
