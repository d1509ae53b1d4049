"""Comments under posts, as the Facebook, Instagram and LinkedIn simulators keep them.

A comment is accepted content like a post: it lands in the ledger (so tests and the sandbox
feed see it), with ``extra["comment_on"]`` naming the post it is under, and it can be deleted
(``Simulator.mark_deleted``). What differs between the platforms (ids, JSON, errors, limits)
stays in each platform's module; this store only keeps the comments in order per post.
"""

from __future__ import annotations

from dataclasses import dataclass

from herald.simulator.server import Account, LedgerEntry


@dataclass
class Comment:
    #: The platform's id for the comment (a Graph id, a LinkedIn comment URN).
    id: str
    #: The post (or media) it is under.
    post_id: str
    account: Account
    message: str
    created_at: float
    entry: LedgerEntry


def comment_entry(
    platform: str, account: Account, comment_id: str, post_id: str, url: str, message: str, now: float
) -> LedgerEntry:
    """The ledger entry of a comment: its text, no media, ``extra["comment_on"]`` the post."""
    return LedgerEntry(
        platform=platform,
        account=account.username,
        remote_id=comment_id,
        url=url,
        text=message,
        media=(),
        idempotency_key=None,
        received_at=now,
        extra={"comment_on": post_id},
    )


class CommentStore:
    """Comments by id and, in the order they were made, by post. Not locked itself: callers
    hold ``Simulator.lock``, like the rest of a platform's state."""

    def __init__(self) -> None:
        self._comments: dict[str, Comment] = {}
        self._by_post: dict[str, list[str]] = {}

    def clear(self) -> None:
        self._comments.clear()
        self._by_post.clear()

    def add(self, comment: Comment) -> None:
        self._comments[comment.id] = comment
        self._by_post.setdefault(comment.post_id, []).append(comment.id)

    def get(self, comment_id: str) -> Comment | None:
        return self._comments.get(comment_id)

    def under(self, post_id: str) -> list[Comment]:
        """The post's comments, oldest first (deleted ones included: filter with the ledger)."""
        return [self._comments[i] for i in self._by_post.get(post_id, [])]
