"""A faster suffix search for spaCy's rule-based tokenizers, with the same results.

spaCy splits each word it has not seen before with its ``suffix_search``: one
regular expression of 70-90 alternatives, each ending at the end of the string
(``…$``, ``\\)$``, ``(?<=[0-9])(?:km|m|…)$``). ``re`` tries every alternative at
every position of the word: on the new words of the tagging bench a call cost 3-4
microseconds, about a seventh of tokenizing a new word. :class:`FastSuffixSearch`
gives the same match at a quarter to a third of that:

- the last character: a string whose last character no alternative can end with
  has no suffix (most words: the alternatives end with punctuation, currency signs
  and units);
- the window: no alternative of bounded length is longer than ``width``
  characters, so a match starts in the last ``width`` characters, and
  ``pattern.search(string, pos)`` starts there, lookbehinds still seeing the text
  before ``pos``. Alternatives of unbounded length (spaCy's ``\\.\\.+$``) are
  searched over the whole string first; when one of them starts before the window,
  or the string ends with a newline (``$`` also matches before it), the whole string
  is searched as before.

Both rest on the pattern's shape, read once with the ``re`` module's own parser:
every top-level alternative ends with ``$`` and none matches an empty string. A
pattern of another shape (a trained pipeline's own rules), a ``re`` whose parser
changed, ``re.MULTILINE`` or ``re.VERBOSE`` keep spaCy's search
(:func:`fast_suffix_search` returns None). The characters a match can end with
are over-approximated (any character, when the parser's item is not one of the
usual ones), never under: the shortcut then runs less often, never wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

try:  # ``re``'s own parser: private, so a Python without it only loses the speed-up
    from re import _constants as sre
    from re import _parser as sre_parse

    _CATEGORIES = {
        sre.CATEGORY_DIGIT: r"\d",
        sre.CATEGORY_NOT_DIGIT: r"\D",
        sre.CATEGORY_SPACE: r"\s",
        sre.CATEGORY_NOT_SPACE: r"\S",
        sre.CATEGORY_WORD: r"\w",
        sre.CATEGORY_NOT_WORD: r"\W",
    }
    _REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
    _ZERO_WIDTH = {sre.AT, sre.ASSERT, sre.ASSERT_NOT}
except (ImportError, AttributeError):
    sre = sre_parse = None

# Any character may end a match: no test on the last character.
_ANY = None
# Distinct last characters remembered; past this the class is matched each time.
_MEMO_LIMIT = 4096
_PARSER_ERRORS = (re.error, AttributeError, TypeError, ValueError, IndexError)


class FastSuffixSearch:
    """Callable like ``regex.search`` on one string; see the module docstring.

    ``__self__`` is the original compiled pattern, as on the bound method it replaces:
    spaCy serializes a tokenizer's ``suffix_search`` as ``suffix_search.__self__.pattern``.
    """

    def __init__(
        self, regex: re.Pattern, width: int, unbounded: re.Pattern | None, last: re.Pattern | None
    ):
        self.__self__ = regex
        self.width = width
        self.unbounded = unbounded
        self.last = last
        self._last_ok: dict[str, bool] = {}

    def __call__(self, string: str) -> re.Match | None:
        search = self.__self__.search
        size = len(string)
        if not size or string[-1] == "\n":
            return search(string)
        if self.last is not None:
            char = string[-1]
            ok = self._last_ok.get(char)
            if ok is None:
                ok = self.last.fullmatch(char) is not None
                if len(self._last_ok) < _MEMO_LIMIT:
                    self._last_ok[char] = ok
            if not ok:
                return None
        window = size - self.width
        if window <= 0:
            return search(string)
        if self.unbounded is not None:
            long = self.unbounded.search(string)
            if long is not None and long.start() < window:
                return search(string)
        return search(string, window)

    def __repr__(self) -> str:
        return f"FastSuffixSearch({self.__self__.pattern[:40]!r}..., width={self.width})"


def fast_suffix_search(search: Callable | None) -> FastSuffixSearch | None:
    """A :class:`FastSuffixSearch` for a tokenizer's ``suffix_search`` (a compiled
    pattern's ``search``), or None when the pattern is not of the shape it needs."""
    if isinstance(search, FastSuffixSearch):
        return search
    regex = _pattern_of(search)
    if regex is None or sre is None:
        return None
    try:
        width = 0
        unbounded: list[str] = []
        last: list[str] | None = []
        for piece, items, (_, high) in _alternatives(regex):
            if not items or items[-1] != (sre.AT, sre.AT_END):
                return None
            if high >= sre.MAXREPEAT:
                unbounded.append(piece)
            else:
                width = max(width, high)
            ends, _ = _last_sources(items[:-1])
            last = None if last is None or ends is _ANY else last + ends
        return FastSuffixSearch(
            regex, width, _compiled(unbounded, regex.flags), _compiled(last, regex.flags)
        )
    except _PARSER_ERRORS:
        return None  # a parser whose internals changed: keep spaCy's search


def _pattern_of(search: Callable | None) -> re.Pattern | None:
    """The compiled pattern whose ``search`` method ``search`` is, if its flags allow."""
    regex = getattr(search, "__self__", None)
    if not isinstance(regex, re.Pattern) or search != regex.search:
        return None
    if not isinstance(regex.pattern, str) or regex.flags & (re.MULTILINE | re.VERBOSE):
        return None
    return regex


def _alternatives(regex: re.Pattern) -> Iterator[tuple[str, list, tuple[int, int]]]:
    """Each top-level alternative: its source, its parsed items and (min, max) width.
    Raises ValueError for an alternative that can match an empty string."""
    for piece in split_alternatives(regex.pattern):
        parsed = sre_parse.parse(piece, regex.flags)
        low, high = parsed.getwidth()
        if low == 0:
            raise ValueError(f"{piece!r} can match an empty string")
        yield piece, list(parsed), (low, high)


def _compiled(sources: list[str] | None, flags: int) -> re.Pattern | None:
    return re.compile("|".join(sources), flags) if sources else None


def split_alternatives(pattern: str) -> list[str]:
    """The pattern's top-level alternatives: ``|`` outside groups, classes and escapes.
    ``"|".join`` of the result is the pattern."""
    pieces, depth, start, i, size = [], 0, 0, 0, len(pattern)
    while i < size:
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if char == "[":
            i += 1
            if pattern.startswith("^", i):
                i += 1
            if pattern.startswith("]", i):
                i += 1  # a "]" first in a class is a literal
            while i < size and pattern[i] != "]":
                i += 2 if pattern[i] == "\\" else 1
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            pieces.append(pattern[start:i])
            start = i + 1
        i += 1
    pieces.append(pattern[start:])
    return pieces


def _last_sources(items: list) -> tuple[list[str] | None, bool]:
    """What the last character of a match of the parsed items can be, as regex sources
    of one character each (None: any), and whether the items can match an empty
    string."""
    sources: list[str] = []
    for op, av in reversed(items):
        if op in _ZERO_WIDTH:
            continue
        found, may_be_empty = _item_last(op, av)
        if found is _ANY:
            return _ANY, may_be_empty
        sources += found
        if not may_be_empty:
            return sources, False
    return sources, True


def _item_last(op, av) -> tuple[list[str] | None, bool]:
    if op is sre.LITERAL:
        return [_char(av)], False
    if op is sre.NOT_LITERAL:
        return [f"[^{_char(av)}]"], False
    if op is sre.IN:
        return _class_source(av), False
    if op in _REPEATS:
        low, _, sub = av
        found, may_be_empty = _last_sources(list(sub))
        return found, may_be_empty or low == 0
    if op is sre.SUBPATTERN:
        _, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            return _ANY, True  # "(?i:…)": the class would need the group's flags
        return _last_sources(list(sub))
    if op is getattr(sre, "ATOMIC_GROUP", None):
        return _last_sources(list(av))
    if op is sre.BRANCH:
        sources: list[str] = []
        empty = False
        for alternative in av[1]:
            found, may_be_empty = _last_sources(list(alternative))
            if found is _ANY:
                return _ANY, True
            sources += found
            empty = empty or may_be_empty
        return sources, empty
    return _ANY, True  # ".", group references and anything else


def _class_source(items: list) -> list[str] | None:
    """A parsed character class ``[…]`` written back as a regex source."""
    parts = []
    negate = ""
    for op, av in items:
        if op is sre.NEGATE:
            negate = "^"
        elif op is sre.LITERAL:
            parts.append(_char(av))
        elif op is sre.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is sre.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            return _ANY
    return [f"[{negate}{''.join(parts)}]"]


def _char(code: int) -> str:
    return f"\\U{code:08x}"
