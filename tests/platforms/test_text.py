"""Text counting for Mastodon, Bluesky, Telegram and LinkedIn, and grapheme clusters: known
vectors first, then properties. X's counter has its own file, ``test_text_x.py``."""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from herald.platforms.text import (
    LINKEDIN_RESERVED,
    FacetSpan,
    bluesky_facets,
    bluesky_length,
    find_urls,
    grapheme_length,
    graphemes,
    linkedin_escape,
    linkedin_unescape,
    mastodon_length,
    telegram_length,
    utf8_length,
    utf16_length,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man ZWJ woman ZWJ girl ZWJ boy
THUMBS_UP_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up + skin tone 4
FLAG_KR = "\U0001f1f0\U0001f1f7"
FLAG_ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"
KEYCAP_ONE = "1\ufe0f\u20e3"
LONG_URL = "https://example.com/" + "a" * 180  # 200 characters
HANGUL_140 = "가나다라마바사아자차" * 14

MASTODON_VECTORS = [
    ("empty", "", 0),
    ("blank counts as nothing", "  \n\t ", 0),
    ("ascii", "a" * 500, 500),
    ("hangul counts 1 each", HANGUL_140, 140),
    ("long url is 23", LONG_URL, 23),
    ("url among text", "read " + LONG_URL + " now", 32),
    ("www is not shortened", "www.example.com/" + "a" * 40, 56),
    ("remote mention", "hi @alice@example.social", 9),
    ("local mention", "hi @alice", 9),
    ("mention inside url kept", "https://example.com/@bob@host.example", 23),
    ("e-mail is no mention", "mail bob@example.com", 20),
    ("family is one", FAMILY, 1),
    ("flag is one", FLAG_KR, 1),
    ("combining mark", "e\u0301", 1),
    ("crlf is one", "a\r\nb", 3),
    ("500 with urls", "x" * 452 + " " + LONG_URL + " " + "https://b.example.org/" + "y" * 90, 500),
    # Mastodon finds URLs with twitter-text's TLD list: ".example" (reserved) is none of them.
    ("unknown tld is text", "https://b.example/" + "y" * 10, 28),
    ("bare domain is text", "example.com/spring", 18),
]


@pytest.mark.parametrize(
    ("text", "expected"), [v[1:] for v in MASTODON_VECTORS], ids=[v[0] for v in MASTODON_VECTORS]
)
def test_mastodon_length(text: str, expected: int) -> None:
    assert mastodon_length(text) == expected


def test_mastodon_url_length_follows_the_instance() -> None:
    assert mastodon_length(LONG_URL, url_length=30) == 30


GRAPHEME_VECTORS = [
    ("ascii", "abc", ["a", "b", "c"]),
    ("combining", "e\u0301x", ["e\u0301", "x"]),
    ("crlf", "a\r\nb\n\r", ["a", "\r\n", "b", "\n", "\r"]),
    ("hangul jamo l v t", "\u1100\u1161\u11a8\u1100", ["\u1100\u1161\u11a8", "\u1100"]),
    ("hangul syllable + t", "\uac00\u11a8", ["\uac00\u11a8"]),
    ("two flags", FLAG_KR + "\U0001f1ef\U0001f1f5", [FLAG_KR, "\U0001f1ef\U0001f1f5"]),
    ("three regional indicators", "\U0001f1f0\U0001f1f7\U0001f1f0", [FLAG_KR, "\U0001f1f0"]),
    ("family", "a" + FAMILY + "b", ["a", FAMILY, "b"]),
    ("skin tone", THUMBS_UP_MEDIUM + "!", [THUMBS_UP_MEDIUM, "!"]),
    ("keycap", KEYCAP_ONE + "2", [KEYCAP_ONE, "2"]),
    ("zwj after a letter does not join", "a\u200d\U0001f466", ["a\u200d", "\U0001f466"]),
    ("control splits", "a\u0000\u0301", ["a", "\u0000", "\u0301"]),
    ("prepend", "\u0600\u0661", ["\u0600\u0661"]),
    ("spacing mark", "\u0915\u093e", ["\u0915\u093e"]),
    # Rules and data newer than the old hand-written tables: the Indic conjunct rule (GB9c,
    # Unicode 15.1) and emoji of Unicode 14 and 15.1 (handshake with two skin tones, phoenix).
    ("devanagari conjunct", "\u0915\u094d\u0937\u093e", ["\u0915\u094d\u0937\u093e"]),
    (
        "handshake, two tones",
        "\U0001faf1\U0001f3fb\u200d\U0001faf2\U0001f3ff!",
        ["\U0001faf1\U0001f3fb\u200d\U0001faf2\U0001f3ff", "!"],
    ),
    ("phoenix", "\U0001f426\u200d\U0001f525", ["\U0001f426\u200d\U0001f525"]),
]


@pytest.mark.parametrize(
    ("text", "expected"), [v[1:] for v in GRAPHEME_VECTORS], ids=[v[0] for v in GRAPHEME_VECTORS]
)
def test_graphemes(text: str, expected: list[str]) -> None:
    assert graphemes(text) == expected
    assert grapheme_length(text) == len(expected)


@pytest.mark.parametrize(
    ("text", "expected"), [("", 0), ("abc", 3), ("é", 2), ("가", 3), ("👍", 4), ("\ud800", 3)]
)
def test_utf8_length(text: str, expected: int) -> None:
    assert utf8_length(text) == expected


# -- properties ---------------------------------------------------------------------------------

hangul = st.text(alphabet=st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), max_size=200)
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=300)
url_path = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_/", max_size=200)


@settings(max_examples=200)
@given(hangul)
def test_hangul_syllables_count_one(text: str) -> None:
    assert mastodon_length(text) == len(text)
    assert grapheme_length(text) == len(text)


@settings(max_examples=300)
@given(any_text)
def test_counts_never_crash_and_stay_in_bounds(text: str) -> None:
    clusters = grapheme_length(text)
    assert 0 <= clusters <= len(text)
    assert (clusters == 0) == (text == "")
    assert "".join(graphemes(text)) == text
    assert 0 <= mastodon_length(text) <= clusters + 23 * len(find_urls(text))
    assert utf8_length(text) >= len(text)


def test_lone_surrogates_do_not_crash() -> None:
    text = "a\ud800b\udfff"
    assert grapheme_length(text) == 4
    assert mastodon_length(text) == 4
    assert utf8_length(text) == 8


# -- Bluesky --------------------------------------------------------------------------------------

BLUESKY_LENGTH_VECTORS = [
    ("empty", "", 0, 0),
    ("ascii", "a" * 300, 300, 300),
    ("hangul is three bytes", "가" * 300, 300, 900),
    ("family is one grapheme", FAMILY, 1, 25),
    ("flag", FLAG_KR, 1, 8),
    ("url at full length", LONG_URL, 200, 200),
    ("combining mark", "e\u0301", 1, 3),
]


@pytest.mark.parametrize(
    ("text", "graphemes_", "size"),
    [v[1:] for v in BLUESKY_LENGTH_VECTORS],
    ids=[v[0] for v in BLUESKY_LENGTH_VECTORS],
)
def test_bluesky_length(text: str, graphemes_: int, size: int) -> None:
    assert bluesky_length(text) == graphemes_
    assert utf8_length(text) == size


# (id, text, [(kind, the exact substring the facet covers, value)])
FACET_VECTORS: list[tuple[str, str, list[tuple[str, str, str]]]] = [
    ("plain", "봄 캠페인", []),
    (
        "korean before a link",
        "봄 캠페인 https://example.com/spring 확인",
        [("link", "https://example.com/spring", "https://example.com/spring")],
    ),
    ("sentence end", "see https://example.com.", [("link", "https://example.com", "https://example.com")]),
    (
        "in parentheses",
        "(https://en.wikipedia.org/wiki/Foo_(bar))",
        [("link", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)")],
    ),
    (
        "hangul path kept",
        "https://ko.wikipedia.org/wiki/서울 ",
        [("link", "https://ko.wikipedia.org/wiki/서울", "https://ko.wikipedia.org/wiki/서울")],
    ),
    ("glued to a word", "xhttps://example.com", []),
    ("no host", "https:// and http://", []),
    ("bare domain not linked", "example.com", []),
    ("tag", "봄 #herald!", [("tag", "#herald", "herald")]),
    ("hangul tag", "#봄캠페인", [("tag", "#봄캠페인", "봄캠페인")]),
    ("full-width sign", "＃태그", [("tag", "＃태그", "태그")]),
    ("digits only", "#2026", []),
    ("keycap", "#\ufe0f\u20e3", []),
    ("glued tag", "a#tag", []),
    (
        "url fragment is no tag",
        "https://example.com/#top",
        [("link", "https://example.com/#top", "https://example.com/#top")],
    ),
    ("tag too long", "#" + "a" * 65, []),
    ("tag of 64", "#" + "a" * 64, [("tag", "#" + "a" * 64, "a" * 64)]),
    ("mention", "hi @alice.bsky.social.", [("mention", "@alice.bsky.social", "alice.bsky.social")]),
    (
        "mention with korean particle",
        "@alice.bsky.social님 안녕",
        [("mention", "@alice.bsky.social", "alice.bsky.social")],
    ),
    ("mention needs a domain", "@alice hi", []),
    ("e-mail is no mention", "bob@example.com", []),
    ("numeric tld is no handle", "@host.123", []),
    (
        "all three",
        "안녕 https://a.example/x #봄 @bob.test",
        [
            ("link", "https://a.example/x", "https://a.example/x"),
            ("tag", "#봄", "봄"),
            ("mention", "@bob.test", "bob.test"),
        ],
    ),
]


@pytest.mark.parametrize(
    ("text", "expected"), [v[1:] for v in FACET_VECTORS], ids=[v[0] for v in FACET_VECTORS]
)
def test_bluesky_facets(text: str, expected: list[tuple[str, str, str]]) -> None:
    spans = bluesky_facets(text)
    encoded = text.encode("utf-8")
    got = [(s.kind, encoded[s.byte_start : s.byte_end].decode("utf-8"), s.value) for s in spans]
    assert got == expected


def test_facet_offsets_are_bytes_not_characters() -> None:
    text = "봄 캠페인 https://example.com"  # 6 characters before the link: 4 Hangul, 2 spaces
    [span] = bluesky_facets(text)
    assert text.index("https") == 6
    assert (span.byte_start, span.byte_end) == (14, 33)


# -- UTF-16 and Telegram --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", 0), ("abc", 3), ("가나다", 3), ("👍", 2), (THUMBS_UP_MEDIUM, 4), (FAMILY, 11), (FLAG_KR, 4)],
    ids=["empty", "ascii", "hangul", "emoji", "skin tone", "family", "flag"],
)
def test_telegram_length(text: str, expected: int) -> None:
    assert telegram_length(text) == expected
    assert utf16_length(text) == expected


# -- LinkedIn -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain 봄", "plain 봄"),
        ("Spring (2026) #herald", "Spring \\(2026\\) \\#herald"),
        ("a@b_c*d~e|f", "a\\@b\\_c\\*d\\~e\\|f"),
        ("{[<>]}", "\\{\\[\\<\\>\\]\\}"),
        ("back\\slash", "back\\\\slash"),
    ],
    ids=["plain", "parentheses and hash", "mixed", "brackets", "backslash"],
)
def test_linkedin_escape(text: str, escaped: str) -> None:
    assert linkedin_escape(text) == escaped
    assert linkedin_unescape(escaped) == text


# -- properties -----------------------------------------------------------------------------------

# Text without white space, for the words around a facet.
word = st.text(st.characters(codec="utf-8", exclude_categories=("Zs", "Zl", "Zp", "Cc")), max_size=40)
handle = st.from_regex(r"\A[a-z][a-z0-9]{0,10}(\.[a-z][a-z0-9]{0,10}){1,2}\Z")
tag_text = st.text(st.characters(categories=("Lo", "Ll", "Lu")), min_size=1, max_size=20)
#: A word that is no facet itself (no "#<" tag, "@a.b" mention or bare "a.com" link).
plain_word = st.text(
    st.characters(codec="utf-8", exclude_categories=("Zs", "Zl", "Zp", "Cc"), exclude_characters="#＃@.:/"),
    max_size=40,
)


def _unescaped_reserved(escaped: str) -> list[str]:
    """Reserved characters of ``escaped`` that no backslash protects."""
    bare: list[str] = []
    i = 0
    while i < len(escaped):
        if escaped[i] == "\\" and i + 1 < len(escaped):
            i += 2
            continue
        if escaped[i] in LINKEDIN_RESERVED:
            bare.append(escaped[i])
        i += 1
    return bare


@settings(max_examples=300)
@given(any_text)
def test_utf16_length_is_at_least_the_code_points(text: str) -> None:
    length = utf16_length(text)
    assert len(text) <= length <= 2 * len(text)
    assert (length == len(text)) == all(ord(ch) <= 0xFFFF for ch in text)
    assert telegram_length(text) == length


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_facet_ranges_slice_utf8_at_the_matched_text(text: str) -> None:
    encoded = text.encode("utf-8")
    previous_end = 0
    for span in bluesky_facets(text):
        assert previous_end <= span.byte_start < span.byte_end <= len(encoded)
        covered = encoded[span.byte_start : span.byte_end].decode("utf-8")  # never splits a character
        if span.kind == "link":
            assert covered == span.value
        elif span.kind == "tag":
            assert covered[0] in "#＃" and covered[1:] == span.value
        else:
            assert covered == "@" + span.value
        previous_end = span.byte_end


@settings(max_examples=200)
@given(plain_word, url_path, tag_text, handle, word)
def test_facets_found_at_their_byte_offsets(before: str, path: str, tag: str, name: str, after: str) -> None:
    url = "https://example.com/" + path + "x"
    text = f"{before} {url} #{tag} @{name} {after}"
    spans: dict[str, FacetSpan] = {}
    for span in bluesky_facets(text):
        spans.setdefault(span.kind, span)  # the first of each kind; ``after`` may hold more
    offset = len(before.encode("utf-8")) + 1
    assert (spans["link"].byte_start, spans["link"].value) == (offset, url)
    offset += len(url) + 1
    assert (spans["tag"].byte_start, spans["tag"].value) == (offset, tag)
    offset += len(tag.encode("utf-8")) + 2
    assert (spans["mention"].byte_start, spans["mention"].value) == (offset, name)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(sorted(LINKEDIN_RESERVED) + ["a", "가", " ", "👍"])) | any_text)
def test_linkedin_escape_leaves_nothing_reserved_and_round_trips(text: str) -> None:
    escaped = linkedin_escape(text)
    assert _unescaped_reserved(escaped) == []
    assert linkedin_unescape(escaped) == text


# Characters from the scripts campaigns write in, plus every kind that joins its neighbours:
# combining marks, ZWJ, variation selectors, skin tones, regional indicators, Hangul jamo,
# Prepend and SpacingMark characters, CR and LF.
_MIXED = st.text(
    alphabet=st.sampled_from(
        list("ab 평화통일한국\r\n\t")
        + ["\u0301", "\u200d", "\ufe0f", "\U0001f3fd", "\U0001f1f0", "\U0001f1f7", "\u1100", "\u1161"]
        + ["\u11a8", "\u0600", "\u0903", "\U0001f469", "\U0001f466", "\u00e9", "\u0e33", "\u094d"]
    ),
    max_size=40,
)


@given(st.one_of(_MIXED, st.text(max_size=40), any_text))
@settings(max_examples=400)
def test_the_fast_path_agrees_with_the_segmenter(text: str) -> None:
    # graphemes() skips the segmenter when no character can join a neighbour; \X decides.
    clusters = regex.findall(r"\X", text)
    assert graphemes(text) == clusters
    assert grapheme_length(text) == len(clusters)
