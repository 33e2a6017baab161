"""Which of many briefing ids occur in a text: the leak scan's search for the ids of
excluded briefings, in every file of a site (tens of thousands of texts of 10-300 KB).

Ids share long prefixes ("alert-2026-03-"). A text is searched for the few prefixes the
ids start with (C-speed substring search), and only where one occurs is the tree of the
ids behind it tried. A regular expression of all the ids would be tried at every place
that starts like one, which took a fifth of a full build's scan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_PREFIX = 16  # characters of the shared prefixes searched for
MAX_GROUPS = 8  # distinct prefixes: each is one search through the text


def prefix_tree_pattern(words: Iterable[str]) -> str:
    """A regular expression matching any of ``words`` (non-empty), its alternatives
    merged into a tree of shared prefixes; the longest word along a branch is tried
    first."""
    tree: dict = {}
    for word in words:
        node = tree
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def pattern(node: dict) -> str:
        branches = [re.escape(char) + pattern(node[char]) for char in sorted(node) if char]
        if not branches:
            return ""
        ends = "" in node
        if len(branches) == 1 and not ends:
            return branches[0]
        group = "(?:" + "|".join(branches) + ")"
        return group + "?" if ends else group

    return pattern(tree)


class IdFinder:
    """Finds which of ``ids`` (non-empty strings) occur in a text."""

    def __init__(self, ids: Iterable[str]):
        ids = sorted(set(ids))
        self._groups: list[tuple[str, re.Pattern[str]]] = []
        if not ids:
            return
        # The longest prefix length that splits the ids into few groups: the longer the
        # prefix, the fewer places where one occurs but no id does.
        size = min(MAX_PREFIX, *map(len, ids))
        while size > 1 and len({i[:size] for i in ids}) > MAX_GROUPS:
            size -= 1
        groups: dict[str, list[str]] = {}
        for briefing_id in ids:
            groups.setdefault(briefing_id[:size], []).append(briefing_id)
        self._groups = [
            (prefix, re.compile(prefix_tree_pattern(members)))
            for prefix, members in sorted(groups.items())
        ]

    def find(self, text: str) -> set[str]:
        """The ids found in ``text``: every id that occurs is found, or a longer one found
        at the same place starts with it (the longest one there is tried first)."""
        found: set[str] = set()
        for prefix, pattern in self._groups:
            at = text.find(prefix)
            while at >= 0:
                match = pattern.match(text, at)
                if match:
                    found.add(match.group())
                at = text.find(prefix, at + 1)
        return found
