"""What one post becomes on one platform when it goes out in several parts: a thread (X,
Bluesky, Mastodon, Threads: each later part replies to the one before) or a post and its first
comment (Facebook, Instagram, LinkedIn). Decided at queue time, per channel, with the platform's
own counter, so that every part is known to fit before anything is queued.

- ``thread``: the text's parts are the ones its writer marked with ``---`` lines, else the text
  split to fit (``text.split``). A platform that continues with a comment gets part 1 as the
  post and the rest as one comment.
- ``first_comment``: one more part after the others (a comment, or the thread's last reply).
- A platform that cannot continue a post (Telegram) refuses more than one part.
"""

from __future__ import annotations

from dataclasses import dataclass

from herald.platforms.base import Connector, Problem
from herald.platforms.text.split import MAX_PARTS, explicit_parts, split_to_fit


@dataclass(frozen=True)
class Parts:
    """The texts in order (``texts[0]`` is the post itself) and every reason they do not fit
    (part 1's own text and photos are the caller's ``validate``)."""

    texts: list[str]
    problems: list[Problem]


def plan_parts(
    cls: type[Connector], text: str, *, thread: bool = False, first_comment: str | None = None
) -> Parts:
    """The parts ``text`` becomes on ``cls``'s platform."""
    problems: list[Problem] = []
    texts = [text]
    if thread:
        marked = explicit_parts(text)
        if marked is not None:
            texts = marked
            empty = [str(i) for i, part in enumerate(texts, 1) if not part]
            if empty:
                problems.append(
                    Problem(cls.name, "thread", f"part(s) {', '.join(empty)} of the thread are empty")
                )
        else:
            texts = split_to_fit(text, lambda t: cls.count_text(t).fits)
    if len(texts) > MAX_PARTS:
        problems.append(
            Problem(
                cls.name,
                "thread",
                f"a thread has at most {MAX_PARTS} parts; this text needs more on {cls.title}",
                len(texts),
                MAX_PARTS,
            )
        )
        return Parts(texts[:1], problems)
    comment = first_comment.strip() if first_comment else ""
    if first_comment is not None and not comment:
        problems.append(Problem(cls.name, "first-comment", "the first comment is empty"))
    if cls.follow_up == "comment" and len(texts) > 1:
        texts = [texts[0], "\n\n".join(texts[1:])]
        if comment:
            texts[1] += "\n\n" + comment
    elif comment:
        texts.append(comment)
    if len(texts) > 1 and cls.follow_up is None:
        problems.append(
            Problem(
                cls.name,
                "thread",
                f"{cls.title} cannot continue a post in a thread or a first comment; "
                "shorten the text or leave this channel out",
            )
        )
        return Parts(texts[:1], problems)
    what = "comment" if cls.follow_up == "comment" else "part"
    for i, part in enumerate(texts[1:], 2):
        tc = cls.count_follow_up(part)
        if not tc.fits:
            label = "the first comment" if what == "comment" else f"part {i}"
            problems.append(
                Problem(
                    cls.name,
                    "thread",
                    f"{cls.title} allows {tc.limit} {tc.unit} in {label}; it has {tc.count}",
                    tc.count,
                    tc.limit,
                )
            )
    return Parts(texts, problems)
