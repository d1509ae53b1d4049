"""Splitting a long text into a thread (``platforms.text.split``) and what one post becomes on
each platform (``platforms.follow_ups``): every part fits by the platform's own counter, nothing
is lost or reordered, the writer's own breaks are kept."""

from __future__ import annotations

import pytest

from herald.platforms import connector_class
from herald.platforms.follow_ups import plan_parts
from herald.platforms.text.split import MAX_PARTS, explicit_parts, split_to_fit


def _words(parts: list[str]) -> list[str]:
    """The words of numbered parts, numbering removed."""
    return " ".join(p.rsplit(" ", 1)[0] for p in parts).split()


def test_a_text_that_fits_stays_one_part() -> None:
    assert split_to_fit("  short and sweet  ", lambda t: len(t) <= 50) == ["short and sweet"]


@pytest.mark.parametrize("platform", ["x", "bluesky", "mastodon", "threads"])
def test_each_part_fits_the_platforms_counter_and_no_word_is_lost(platform: str) -> None:
    cls = connector_class(platform)
    text = " ".join(
        f"평화 통일 캠페인 {i}번째 문장입니다. Sentence {i} of the campaign 🕊️." for i in range(40)
    )
    parts = split_to_fit(text, lambda t: cls.count_text(t).fits)
    assert len(parts) > 1
    assert all(cls.count_text(p).fits for p in parts), [cls.count_text(p) for p in parts]
    assert _words(parts) == text.split()
    assert [p.rsplit(" ", 1)[1] for p in parts] == [f"{i}/{len(parts)}" for i in range(1, len(parts) + 1)]


def test_a_part_ends_at_a_sentence_when_one_is_near() -> None:
    text = "One two three four. Five six seven eight nine ten eleven twelve"
    parts = split_to_fit(text, lambda t: len(t) <= 40)
    n = len(parts)
    assert parts[0] == f"One two three four. 1/{n}"  # not "... four. Five six" with room left
    assert parts[1].startswith("Five six")


def test_a_word_longer_than_a_part_is_cut_between_characters() -> None:
    url = "https://example.org/" + "a" * 90
    parts = split_to_fit(f"see {url} now", lambda t: len(t) <= 50)
    assert all(len(p) <= 50 for p in parts)
    assert "".join(p.rsplit(" ", 1)[0] for p in parts).replace(" ", "") == f"see{url}now"


def test_more_than_the_most_parts_is_reported_not_cut() -> None:
    parts = split_to_fit("word " * 400, lambda t: len(t) <= 20)
    assert len(parts) > MAX_PARTS
    planned = plan_parts(connector_class("x"), "word " * 2000, thread=True)
    assert planned.texts == planned.texts[:1]
    assert [p.field for p in planned.problems] == ["thread"]
    assert f"at most {MAX_PARTS} parts" in planned.problems[0].message


def test_the_writers_own_breaks_are_kept_as_written() -> None:
    text = "First part.\n---\nSecond part,\nwith two lines.\n  ---  \nThird."
    assert explicit_parts(text) == ["First part.", "Second part,\nwith two lines.", "Third."]
    assert explicit_parts("no breaks here -- or here ---x") is None
    planned = plan_parts(connector_class("mastodon"), text, thread=True)
    assert planned.texts == ["First part.", "Second part,\nwith two lines.", "Third."]
    assert planned.problems == []


def test_an_empty_part_is_named() -> None:
    planned = plan_parts(connector_class("x"), "one\n---\n\n---\nthree", thread=True)
    assert [p.message for p in planned.problems] == ["part(s) 2 of the thread are empty"]


def test_a_commenting_platform_gets_the_post_and_one_comment() -> None:
    planned = plan_parts(
        connector_class("facebook"), "Post.\n---\nMore.\n---\nEven more.", thread=True, first_comment="Link"
    )
    assert planned.texts == ["Post.", "More.\n\nEven more.\n\nLink"]
    assert planned.problems == []


def test_a_platform_that_cannot_continue_refuses_more_than_one_part() -> None:
    planned = plan_parts(connector_class("telegram"), "a post", first_comment="a comment")
    assert planned.texts == ["a post"]
    assert "Telegram cannot continue a post" in planned.problems[0].message


def test_a_first_comment_too_long_for_its_platform_is_refused_by_its_own_counter() -> None:
    cls = connector_class("x")
    planned = plan_parts(cls, "Short post.", first_comment="가" * 141)  # 282 weighted
    assert planned.texts == ["Short post.", "가" * 141]
    assert planned.problems[0].message == "X allows 280 weighted characters in part 2; it has 282"


def test_an_empty_first_comment_is_refused() -> None:
    planned = plan_parts(connector_class("mastodon"), "Post.", first_comment="   ")
    assert [p.message for p in planned.problems] == ["the first comment is empty"]
