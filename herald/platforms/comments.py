"""First comments: what Facebook, Instagram and LinkedIn share when a draft is published as a
comment under its post (``Connector.follow_up == "comment"``; see ``base``).

- **Where it goes.** Under ``draft.reply_to.root``, the post the thread began with; ``parent`` is
  the same post for a first comment.
- **What it may hold.** Text only. Facebook and LinkedIn take an image on a comment and
  Instagram does not; Herald's splitter only ever moves text into a comment, so a comment draft
  with photos is a bug upstream and is refused before any call.
- **How long.** Counted with the connector's ``count_follow_up``: a comment's limit is lower
  than a post's on every one of the three.
- **Finding it again.** A platform lists a post's comments in full (paged), so a look-up that
  read every page and did not find the text proves the comment was not made; one that stopped
  at ``COMMENT_PAGES`` proves nothing.
"""

from __future__ import annotations

from herald.core.errors import PermanentError
from herald.platforms.base import Connector, Draft, Problem, Published

#: Comments asked for per page, and pages read at most, when looking for a comment after an
#: uncertain outcome: a first comment is among the first few, and a post with more than
#: 1,000 comments is not worth walking to the end.
COMMENT_PAGE_SIZE = 100
COMMENT_PAGES = 10


def comment_problems(connector: type[Connector], text: str, photo_count: int) -> list[Problem]:
    """Every reason a first comment of ``text`` (with ``photo_count`` photos) would not fit
    ``connector``'s platform; empty if it fits."""
    problems: list[Problem] = []
    counted = connector.count_follow_up(text)
    if not counted.fits:
        problems.append(
            Problem(
                connector.name,
                "text",
                f"{connector.title} allows {counted.limit} {counted.unit} in a comment; "
                f"this comment has {counted.count}",
                counted.count,
                counted.limit,
            )
        )
    if not text.strip():
        problems.append(Problem(connector.name, "text", f"a {connector.title} comment needs a text"))
    if photo_count:
        problems.append(
            Problem(
                connector.name,
                "photos",
                f"Herald's {connector.title} first comments carry text only; this one has "
                f"{photo_count} photo(s)",
                photo_count,
                0,
            )
        )
    return problems


def commented_post(connector: Connector, draft: Draft) -> Published:
    """The post ``draft`` comments on, once it is known to fit: raises ``PermanentError`` before
    any call for a comment the platform would refuse (queue-time validation should have caught
    it). ``draft.reply_to`` must be set."""
    assert draft.reply_to is not None  # callers branch on it
    problems = comment_problems(type(connector), draft.text, len(draft.photos))
    if problems:
        raise PermanentError(connector.name, "; ".join(problem.message for problem in problems))
    return draft.reply_to.root
