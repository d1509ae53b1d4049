"""Pattern helpers shared by the counters."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["longest_first"]

_Trie = dict[str, "_Trie"]


def longest_first(words: Iterable[str]) -> str:
    """A regular expression (for ``re``) matching any of ``words``, the longest one first.

    The words are laid out as a trie (``ab|ac|a`` becomes ``a(?:b|c)?``): ``re`` then checks one
    character per step instead of trying thousands of alternatives at every position, which
    makes the emoji and TLD lists (a few thousand words) many times faster to search.
    """
    trie: _Trie = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # a word ends here
    return _pattern(trie)


def _pattern(node: _Trie) -> str:
    branches = [re.escape(ch) + _pattern(child) for ch, child in sorted(node.items()) if ch]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    # A greedy "?": the longer words through this node are tried before the one ending here.
    return f"(?:{body})?" if "" in node else body
