"""X's counter (twitter-text 3.1.0, config v3): weighted length, validity and URLs.

Every expected value below is what the published twitter-text 3.1.0 (``parseTweet``,
``extractUrls``) answers for the same text; several come from its conformance suite
(``conformance/validate.yml``, ``extract.yml``). Known vectors first, then properties.
"""

from __future__ import annotations

import unicodedata

import emoji
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from herald.platforms.text import (
    X_INVALID_CHARACTERS,
    X_MAX_WEIGHTED_LENGTH,
    find_urls,
    x_parse,
    x_weighted_length,
)
from herald.platforms.text.tlds import COUNTRY_TLDS, GENERIC_TLDS
from herald.platforms.text.twemoji import X_EMOJI_VERSION
from herald.platforms.text.x import X_LIGHT_RANGES

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man ZWJ woman ZWJ girl ZWJ boy
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone 4
FLAG_KR = "\U0001f1f0\U0001f1f7"
FLAG_ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"
KEYCAP_ONE = "1\ufe0f\u20e3"
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"  # Emoji 13.1
LONG_URL = "https://example.com/" + "a" * 180  # 200 characters
HANGUL_140 = "가나다라마바사아자차" * 14
CJK_160 = (
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。"
    "旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。"
    "遥知兄弟登高处，遍插茱萸少一人。"
)

# (id, text, weighted length)
LENGTH_VECTORS = [
    ("empty", "", 0),
    ("ascii 280", "a" * 280, 280),
    ("ascii 281", "a" * 281, 281),
    ("combining acute, NFC", "e\u0301", 1),
    ("normalised A acute", "A\u0301B", 2),
    ("U+FB2C becomes 3 code points", "A\ufb2c", 4),
    ("general punctuation is light", "\u2010\u2014\u201c\u201d\u2032", 5),
    # CJK and Hangul weigh 2 a character
    ("hangul 140", HANGUL_140, 280),
    ("hangul 141", HANGUL_140 + "가", 282),
    ("cjk", "故人西辞黄鹤楼", 14),
    ("cjk 160", CJK_160, 320),
    ("korean and english", "Herald 출시! 안녕하세요", 23),
    ("conjoining jamo compose under NFC", "\u1100\u1161\u11a8", 2),
    # emoji weigh 2 a sequence, as twemoji 11 knows them
    ("skin tone", THUMBS_UP_MEDIUM, 2),
    ("family zwj", FAMILY, 2),
    ("140 families", FAMILY * 140, 280),
    ("flag", FLAG_KR, 2),
    ("subdivision flag", FLAG_ENGLAND, 2),
    ("rainbow flag", RAINBOW_FLAG, 2),
    ("keycap", KEYCAP_ONE, 2),
    ("keycap without vs16", "1\u20e3", 2),
    ("digit alone", "1", 1),
    ("copyright alone is text", "\u00a9", 1),
    ("copyright with vs16 is emoji", "\u00a9\ufe0f", 2),
    ("text presentation", "\u263a\ufe0e", 4),
    ("vs16 after an emoji-presentation face weighs 2", "\U0001f600\ufe0f", 4),
    ("vs16 after no entry (Unicode 11 variation sequence)", "\u26d4\ufe0f", 2),
    ("vs16 after check mark (newer variation sequence)", "\u2705\ufe0f", 4),
    ("emoji 11: red-haired man, medium skin", "\U0001f468\U0001f3fd\u200d\U0001f9b0", 2),
    ("emoji 12.1: red-haired person is its parts", "\U0001f9d1\u200d\U0001f9b0", 5),
    ("emoji 13.1: heart on fire is its parts", HEART_ON_FIRE, 5),
    ("emoji 14: melting face", "\U0001fae0", 2),
    ("emoji 16: flag of Sark is two letters", "\U0001f1e8\U0001f1f6", 4),
    ("twemoji 11 knows the man in tuxedo", "\U0001f935\u200d\u2642\ufe0f", 2),
    ("twemoji 11 knows infinity without vs16 only", "\u267e\ufe0f", 4),
    ("cat, smiley, family", "H\U0001f431\u263a" + FAMILY, 7),
    ("bmp emoji", "\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
    ("skin tone and zwj", "\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),
    (
        "unicode 10 emoji",
        "Unicode 10.0 emoji: \U0001f92a; \U0001f9d5; \U0001f9d5\U0001f3fe; " + FLAG_ENGLAND,
        34,
    ),
    # URLs weigh 23, bare domains too
    ("200-char url", LONG_URL, 23),
    ("url with text", "Hi http://test.co", 26),
    ("bare domain", "example.com", 23),
    ("bare domain with path", "see example.com/path now", 31),
    ("www", "see www.example.com/page", 27),
    ("bare country tld", "example.jp", 23),
    ("t.co", "t.co", 23),
    ("bare domain, sentence end", "Go to example.com.", 30),
    ("bare domain in parentheses", "(example.com)", 25),
    ("a port without a path is text", "example.com:8080", 28),
    ("a port with a path is the url", "example.com:8080/a", 23),
    ("a query without a path is text", "example.com?q=1", 27),
    ("a file name with a tld is a url", "readme.md", 23),
    ("a file name without one is text", "index.html", 10),
    ("unknown tld", "example.notatld", 15),
    ("unknown tld with a scheme", "https://example.notatld/x", 25),
    ("tld followed by a hyphen", "domain.com-foo", 14),
    ("no tld", "http://localhost:8000/", 22),
    ("an ip address is text", "http://192.168.0.1/", 19),
    ("e-mail address", "email bob@example.com", 21),
    ("after an underscore", "_example.com", 12),
    ("url in korean", "봄 캠페인 example.com/spring 확인", 38),
    ("bare domain glued to hangul", "링크example.com", 27),
    ("hangul after a bare domain", "example.com한국", 27),
    ("hangul ends the path", "주소는example.kr/이벤트입니다", 41),
    ("idn host", "http://한국.com", 23),
    ("idn tld", "http://example.한국", 23),
    ("url in the middle", "285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
    ("ten urls", "https://www.twitter.com/aloha " * 10, 240),
    ("64-char label is no domain", "randomurl" * 7 + "s.com", 68),
    (
        "cjk host too long in punycode",
        "あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あいう.com",
        358,
    ),
    (
        "cjk host fits in punycode",
        "あいうえおかきくけこ" * 12 + " http://" + "あいうえおかきくけこ" * 5 + "あい.com",
        264,
    ),
    ("host after an emoji's surrogate", "\U0001fae0.bit.ly/a", 26),
    # invalid and directional characters
    ("invalid characters", "ABC\u202a\uffffABC\ufffe", 12),
    ("directional marks around url", "\u2066\u202ahttp://foobar.پاکستان/\u202c\u2069", 31),
]


@pytest.mark.parametrize(
    ("text", "expected"), [v[1:] for v in LENGTH_VECTORS], ids=[v[0] for v in LENGTH_VECTORS]
)
def test_x_weighted_length(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected
    assert x_parse(text).weighted_length == expected


# (id, text, valid, invalid characters found)
VALIDITY_VECTORS = [
    ("empty is invalid", "", False, ()),
    ("one character", "a", True, ()),
    ("white space is valid", "   ", True, ()),
    ("280 hangul weights", HANGUL_140, True, ()),
    ("281", "a" * 281, False, ()),
    ("byte order mark", "a\ufeffb", False, ("\ufeff",)),
    ("U+FFFE", "\ufffe", False, ("\ufffe",)),
    ("U+FFFF", "text \uffff", False, ("\uffff",)),
    ("each found once, in order", "\uffffa\ufffeb\uffff", False, ("\uffff", "\ufffe")),
    ("directional marks are valid", "\u202aabc\u202c \u2066x\u2069 \u200f", True, ()),
    ("U+FFFD is valid", "\ufffd", True, ()),
    ("an invalid character and too long", "\ufeff" + "a" * 300, False, ("\ufeff",)),
]


@pytest.mark.parametrize(
    ("text", "valid", "invalid"), [v[1:] for v in VALIDITY_VECTORS], ids=[v[0] for v in VALIDITY_VECTORS]
)
def test_x_validity(text: str, valid: bool, invalid: tuple[str, ...]) -> None:
    parsed = x_parse(text)
    assert (parsed.valid, parsed.invalid_characters) == (valid, invalid)


def test_x_parse_reports_permillage() -> None:
    assert x_parse("a" * 140).permillage == 500
    assert x_parse(CJK_160).permillage == 1142  # 320 / 280, rounded down


def test_the_invalid_characters_are_twitter_texts() -> None:
    assert frozenset("\ufffe\ufeff\uffff") == X_INVALID_CHARACTERS
    assert X_MAX_WEIGHTED_LENGTH == 280


URL_VECTORS = [
    ("plain", "see https://example.com now", ["https://example.com"]),
    (
        "trailing punctuation",
        "https://example.com/a, and http://b.example.org.",
        ["https://example.com/a", "http://b.example.org"],
    ),
    (
        "balanced parens",
        "(https://en.wikipedia.org/wiki/Foo_(bar))",
        ["https://en.wikipedia.org/wiki/Foo_(bar)"],
    ),
    ("www", "at www.example.org/x?y=1.", ["www.example.org/x?y=1"]),
    # twitter-text takes no user info, and a host right after "@" or "/" is no bare domain.
    ("user info is no url", "http://user:pw@example.com:8080/login.php", []),
    ("port", "http://example.com:8080/login.php", ["http://example.com:8080/login.php"]),
    ("upper case scheme", "HTTPS://www.ExaMPLE.COM/index.html", ["HTTPS://www.ExaMPLE.COM/index.html"]),
    ("hangul ends the path", "https://example.com/사진", ["https://example.com/"]),
    ("cyrillic path", "http://twitter.com/Русские_слова", ["http://twitter.com/Русские_слова"]),
    ("after hangul", "링크https://example.com", ["https://example.com"]),
    ("glued to a word", "xhttp://example.com", []),
    ("ftp is not counted", "ftp://example.com/", []),
    ("no tld", "http://localhost:8000/", []),
    ("bare domain", "example.com/path", ["example.com/path"]),
    ("bare domains in cjk", "これは日本語です。example.com中国語t.co/abcde", ["example.com", "t.co/abcde"]),
    ("not after a dot", "a.www.example.com", ["a.www.example.com"]),
    ("not after a slash", "/example.com", []),
    ("not in a hashtag or mention", "#test.com @test.com $test.com", []),
    ("t.co ends after its slug", "http://t.co/pbY2NfTZ's", ["http://t.co/pbY2NfTZ"]),
    ("t.co slug over 40 is no url", "http://t.co/" + "a" * 41, []),
    ("tld before @ is no url", "john.doe.gov@mail.com", []),
    ("tld before a hyphen is no url", "http://domain.com-that-you-should-have-put-a-space-after", []),
    ("host inside an emoji's surrogate pair", "\U0001fae0.bit.ly/a", ["bit.ly/a"]),
]


@pytest.mark.parametrize(("text", "expected"), [v[1:] for v in URL_VECTORS], ids=[v[0] for v in URL_VECTORS])
def test_find_urls(text: str, expected: list[str]) -> None:
    found = find_urls(text)
    assert [url for _, _, url in found] == expected
    for start, end, url in found:
        assert text[start:end] == url


def test_find_urls_without_scheme() -> None:
    text = "www.example.com and https://a.example.org"
    assert find_urls(text, without_scheme=False) == [(20, 41, "https://a.example.org")]


def test_every_tld_starts_with_a_letter() -> None:
    # url_spans only searches stretches holding a "." followed by a letter.
    assert all(tld[0].isalpha() for tld in GENERIC_TLDS + COUNTRY_TLDS)
    assert len(set(GENERIC_TLDS + COUNTRY_TLDS)) == len(GENERIC_TLDS) + len(COUNTRY_TLDS) == 1574


# -- properties ---------------------------------------------------------------------------------


def _weight(ch: str) -> int:
    return 1 if any(lo <= ord(ch) <= hi for lo, hi in X_LIGHT_RANGES) else 2


# ASCII without "." (no host without one), so no URL can form.
ascii_no_url = st.text(
    alphabet=st.characters(min_codepoint=0, max_codepoint=127, exclude_characters="."), max_size=300
)
hangul = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=200)
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
url_path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/", max_size=200)
label = st.from_regex(r"\A[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?\Z")
ascii_tld = st.sampled_from([tld for tld in GENERIC_TLDS + COUNTRY_TLDS if tld.isascii()])
# Words around a URL: Hangul, CJK and ASCII letters, no "." and no emoji.
word = st.text(
    alphabet=st.sampled_from(list("abcXYZ 가나다봄캠페인 故人西辞 ,!?")), min_size=0, max_size=30
).map(str.strip)
# Fully-qualified emoji up to twemoji 11's version, less the two it knows only without U+FE0F.
TWEMOJI_11_WITHOUT_VS16 = ("\U0001f441\ufe0f\u200d\U0001f5e8\ufe0f", "\u267e\ufe0f")
known_emoji = st.sampled_from(
    sorted(
        sequence
        for sequence, data in emoji.EMOJI_DATA.items()
        if data["E"] <= X_EMOJI_VERSION
        and data["status"] == emoji.STATUS["fully_qualified"]
        and sequence not in TWEMOJI_11_WITHOUT_VS16
    )
)


@settings(max_examples=200)
@given(ascii_no_url)
def test_ascii_without_urls_counts_its_length(text: str) -> None:
    assert x_weighted_length(text) == len(text)


@settings(max_examples=200)
@given(hangul)
def test_hangul_syllables_count_two(text: str) -> None:
    assert x_weighted_length(text) == 2 * len(text)


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=100))
def test_text_without_dots_or_emoji_weighs_by_code_point(text: str) -> None:
    normalized = unicodedata.normalize("NFC", text)
    assume("." not in normalized and not emoji.emoji_count(normalized))
    assume(
        not any(ch in normalized for ch in "\u20e3\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff")
    )
    assert x_weighted_length(text) == sum(_weight(ch) for ch in normalized)


@settings(max_examples=200)
@given(word, label, ascii_tld, word)
def test_a_bare_domain_weighs_23(before: str, name: str, tld: str, after: str) -> None:
    host = f"{name}.{tld}"
    text = f"{before} {host} {after}"
    assert [url for _, _, url in find_urls(text)] == [host]
    assert x_weighted_length(text) == x_weighted_length(before) + x_weighted_length(after) + 2 + 23


@settings(max_examples=200)
@given(word, label, st.from_regex(r"\A[a-z]{2,12}\Z"), word)
def test_an_unknown_tld_is_text(before: str, name: str, tld: str, after: str) -> None:
    assume(tld not in GENERIC_TLDS and tld not in COUNTRY_TLDS)
    text = f"{before} {name}.{tld} {after}"
    assert find_urls(text) == []
    assert x_weighted_length(text) == x_weighted_length(before) + x_weighted_length(after) + 2 + len(
        name
    ) + 1 + len(tld)


@settings(max_examples=200)
@given(word, url_path, word)
def test_a_url_in_korean_text_adds_exactly_23(before: str, path: str, after: str) -> None:
    url = "https://example.com/" + path + "x"
    text = before + " " + url + " " + after
    assert [u for _, _, u in find_urls(text)] == [url]
    assert x_weighted_length(text) == x_weighted_length(before) + x_weighted_length(after) + 2 + 23


@settings(max_examples=200)
@given(st.lists(st.one_of(known_emoji, st.sampled_from([FAMILY, THUMBS_UP_MEDIUM, FLAG_KR, KEYCAP_ONE]))))
def test_known_emoji_weigh_two_each(parts: list[str]) -> None:
    assert x_weighted_length(" ".join(parts)) == 3 * len(parts) - (1 if parts else 0)


@settings(max_examples=200)
@given(any_text, st.sampled_from(sorted(X_INVALID_CHARACTERS)), st.integers(min_value=0))
def test_an_invalid_character_anywhere_makes_the_post_invalid(text: str, bad: str, at: int) -> None:
    assume(not X_INVALID_CHARACTERS & set(text))
    at %= len(text) + 1
    parsed = x_parse(text[:at] + bad + text[at:])
    assert not parsed.valid
    assert parsed.invalid_characters == (bad,)


@settings(max_examples=300)
@given(any_text)
def test_never_crashes_and_stays_in_bounds(text: str) -> None:
    parsed = x_parse(text)
    normalized = unicodedata.normalize("NFC", text)  # may be longer: U+FB2C becomes 3
    urls = find_urls(normalized)
    assert 0 <= parsed.weighted_length <= 2 * len(normalized) + 23 * len(urls)
    assert parsed.valid == (
        0 < parsed.weighted_length <= X_MAX_WEIGHTED_LENGTH and not parsed.invalid_characters
    )
    previous_end = 0
    for start, end, url in find_urls(text):
        assert previous_end <= start < end <= len(text) and text[start:end] == url
        previous_end = end
