"""Which of many briefing ids occur in a text: the leak scan's search for the ids of
excluded briefings, in every file of a site (tens of thousands of texts of 10-300 KB).

Ids share long prefixes ("alert-2026-03-"). A text is searched for the few prefixes the
ids start with (C-speed substring search), and only where one occurs are the ids that
start there looked up, by their first characters. A regular expression of all the ids
would be tried at every place that starts like one, which took a fifth of a full
build's scan.
"""

from __future__ import annotations

from collections.abc import Iterable

MAX_PREFIX = 16  # characters of the shared prefixes searched for
MAX_GROUPS = 8  # distinct prefixes: each is one search through the text


class IdFinder:
    """Finds which of ``ids`` (non-empty strings) occur in a text."""

    def __init__(self, ids: Iterable[str]):
        ids = sorted(set(ids))
        # Per shared prefix: how many first characters all its ids have, and the ids by
        # those characters, longest first.
        self._groups: list[tuple[str, int, dict[str, list[str]]]] = []
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
        for prefix, members in sorted(groups.items()):
            head = min(map(len, members))
            by_head: dict[str, list[str]] = {}
            for briefing_id in sorted(members, key=len, reverse=True):
                by_head.setdefault(briefing_id[:head], []).append(briefing_id)
            self._groups.append((prefix, head, by_head))

    def find(self, text: str) -> set[str]:
        """The ids found in ``text``: every id that occurs is found, or a longer one found
        at the same place starts with it (the longest one there is taken)."""
        found: set[str] = set()
        for prefix, head, by_head in self._groups:
            at = text.find(prefix)
            while at >= 0:
                for briefing_id in by_head.get(text[at : at + head], ()):
                    if text.startswith(briefing_id, at):
                        found.add(briefing_id)
                        break
                at = text.find(prefix, at + 1)
        return found
