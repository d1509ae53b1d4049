"""Splitting a text that is too long for one post into parts that each fit, counted by the
platform's own counter (a ``fits`` function), for a thread.

- A writer who wants the breaks somewhere chooses them: a line holding only ``---`` ends a part
  (``explicit_parts``). Those parts are kept as written.
- Otherwise ``split_to_fit`` breaks between words, preferring the end of a sentence when one is
  near, and numbers the parts ("1/3") so that readers see a thread. A word longer than a whole
  part (a long URL, a text without spaces) is cut between characters as a last resort.

Pure functions: no I/O, nothing of any platform but the ``fits`` it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable

#: A line holding only this (spaces around it allowed) separates the parts a writer chose.
SEPARATOR = "---"
#: The most parts one post may become (X's composer stops at 25 as well).
MAX_PARTS = 25

_SEPARATOR_LINE = re.compile(r"^[ \t]*-{3}[ \t]*$", re.MULTILINE)
_WORDS = re.compile(r"\S+\s*")
#: Ends a sentence: Latin and CJK full stops, question and exclamation marks, then quotes.
_SENTENCE_END = re.compile(r"[.!?。！？…][\"'”’)\]]*\s*$")
#: Reserved for the " 12/25" a numbered part ends with, while the count is not known yet.
_NUMBER_ROOM = f" {MAX_PARTS}/{MAX_PARTS}"


def explicit_parts(text: str) -> list[str] | None:
    """The parts a writer marked with ``---`` lines, each stripped; None if there is no such
    line. Empty parts are kept (as "") so that the caller can name them."""
    if not _SEPARATOR_LINE.search(text):
        return None
    return [part.strip() for part in _SEPARATOR_LINE.split(text)]


def split_to_fit(text: str, fits: Callable[[str], bool]) -> list[str]:
    """``text`` as it is if it fits, else numbered parts that each fit (``fits`` is the
    platform's counter). Returns at most ``MAX_PARTS + 1`` parts: more than ``MAX_PARTS`` means
    the text is too long for a thread, and the caller says so."""
    text = text.strip()
    if fits(text):
        return [text]

    def room(candidate: str) -> bool:
        return fits(candidate.rstrip() + _NUMBER_ROOM)

    parts: list[str] = []
    current = ""
    for word in _WORDS.findall(text):
        if room(current + word):
            current += word
            continue
        if current:
            head, current = _break_at_sentence(current)
            parts.append(head)
            if len(parts) > MAX_PARTS:
                return parts
            if room(current + word):
                current += word
                continue
            if current:
                parts.append(current.rstrip())
                current = ""
        # A word longer than a whole part: cut it between characters.
        for ch in word:
            if not room(current + ch):
                parts.append(current.rstrip())
                current = ""
                if len(parts) > MAX_PARTS:
                    return parts
            current += ch
    if current.strip():
        parts.append(current.rstrip())
    n = len(parts)
    return [f"{part} {i}/{n}" for i, part in enumerate(parts, 1)]


def _break_at_sentence(current: str) -> tuple[str, str]:
    """``current`` cut after its last sentence end if that keeps at least half of it in the
    part, else whole: (the part, what carries over to the next one)."""
    words = _WORDS.findall(current)
    kept = 0
    for i in range(len(words) - 1, 0, -1):
        if _SENTENCE_END.search(words[i - 1]):
            kept = i
            break
    head = "".join(words[:kept])
    if kept and len(head) * 2 >= len(current):
        return head.rstrip(), "".join(words[kept:])
    return current.rstrip(), ""
