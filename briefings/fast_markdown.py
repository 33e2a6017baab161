"""Python-Markdown, with the same output, about 1.5 times as fast.

Most of Python-Markdown's time goes to its inline stage: every run of text is offered
to every inline pattern in turn (code spans, escapes, links, images, autolinks, inline
HTML, entities, emphasis...), and each offer costs a regular-expression search even
when the text cannot hold a match. Here a pattern is skipped for a text that contains
none of the strings every match of its expression must contain (``[`` for a link,
``&`` for an entity), which are worked out from the expression itself. The block
parser does the same with the block processors known to leave alone a block their
expression does not match (a heading needs a ``#``). A skipped pattern or processor is
one that would not have matched, so the output is the same: tests compare it with plain
``markdown.Markdown`` over many texts.

Anything this cannot analyse (a pattern it does not understand, a newer Python-Markdown
without the hook used or with other block processors) is simply offered every text, as
Python-Markdown does.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import markdown
from markdown import blockprocessors, util
from markdown.blockparser import BlockParser
from markdown.extensions import abbr, def_list, footnotes
from markdown.treeprocessors import InlineProcessor

try:  # the parser of the ``re`` module: private, so its absence only costs speed
    from re import _constants as sre_constants
    from re import _parser as sre_parse
except ImportError:  # pragma: no cover - Python versions without them
    sre_parse = sre_constants = None  # type: ignore[assignment]

# The name Python-Markdown's InlineProcessor calls its per-text loop by (name-mangled).
HOOK = "_InlineProcessor__handleInline"

Needs = tuple[str, ...]  # strings of which every match contains at least one


def required_strings(expression: re.Pattern[str]) -> Needs | None:
    """Strings of which any match of ``expression`` contains at least one (None when
    that cannot be told: case-insensitive expressions, or a match that may be made of
    character classes alone)."""
    return _required_strings(expression.pattern, expression.flags)


@lru_cache(maxsize=512)  # asked for each pattern and processor of every document
def _required_strings(pattern: str, flags: int) -> Needs | None:
    if sre_parse is None or flags & re.IGNORECASE:
        return None
    try:
        parsed = sre_parse.parse(pattern, flags)
    except Exception:  # an expression this parser does not take: no filter
        return None
    return _needs(list(parsed))


def _needs(items: list[tuple[Any, Any]]) -> Needs | None:
    c = sre_constants
    candidates: list[Needs] = []
    literals: list[str] = []  # a run of literal characters: one required string
    for op, av in items:
        if op is c.LITERAL:
            literals.append(chr(av))
            continue
        if literals:
            candidates.append(("".join(literals),))
            literals = []
        need: Needs | None = None
        if op is c.SUBPATTERN:
            _group, add_flags, _del_flags, sub = av
            need = None if add_flags & re.IGNORECASE else _needs(list(sub))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, getattr(c, "POSSESSIVE_REPEAT", None)):
            low, _high, sub = av
            need = _needs(list(sub)) if low >= 1 else None
        elif op is getattr(c, "ATOMIC_GROUP", None):
            need = _needs(list(av))
        elif op is c.ASSERT:  # a positive lookaround: its text is in the string too
            _direction, sub = av
            need = _needs(list(sub))
        elif op is c.IN and all(kind is c.LITERAL for kind, _ in av):
            need = tuple(sorted(chr(code) for _, code in av))  # one of these characters
        elif op is c.BRANCH:
            branches = [_needs(list(branch)) for branch in av[1]]
            if all(b is not None for b in branches):
                need = tuple(sorted({s for b in branches for s in b}))  # type: ignore[union-attr]
        # Anything else (a class, any character, a negative lookaround, an anchor, a
        # back reference) requires no particular string.
        if need:
            candidates.append(need)
    if literals:
        candidates.append(("".join(literals),))
    if not candidates:
        return None

    # Any candidate is right; the one with fewest and longest strings skips the most,
    # then one that is not only spaces, and of equals the last (the text after an opening
    # "<" or "\\" is rarer).
    def rank(indexed: tuple[int, Needs]) -> tuple[int, int, bool, int]:
        index, need = indexed
        return len(need), -min(map(len, need)), any(not s.strip() for s in need), -index

    return min(enumerate(candidates), key=rank)[1]


class FilteredInlineProcessor(InlineProcessor):
    """Python-Markdown's inline stage, skipping the patterns a text cannot match."""

    def __init__(self, md: markdown.Markdown):
        super().__init__(md)
        self._plan: list[tuple[Any, Needs | None]] = []

    def run(self, tree: Any, ancestors: list[str] | None = None) -> Any:
        # The patterns in order, each with what a text must hold for it to match:
        # worked out per conversion, as extensions may change the patterns.
        self._plan = [(p, required_strings(p.getCompiledRegExp())) for p in self.inlinePatterns]
        return super().run(tree, ancestors)

    def _InlineProcessor__handleInline(self, data: str, patternIndex: int = 0) -> str:
        """Python-Markdown's loop over the patterns (same arguments and result), with a
        pattern that cannot match skipped as a failed match: next pattern, from 0."""
        if isinstance(data, util.AtomicString):
            return data
        apply = self._InlineProcessor__applyPattern  # type: ignore[attr-defined]
        plan = self._plan
        count = len(plan)
        start = 0
        while patternIndex < count:
            pattern, needs = plan[patternIndex]
            if needs is not None:
                for needed in needs:  # (a loop, not any(): this runs a million times)
                    if needed in data:
                        break
                else:
                    patternIndex += 1
                    start = 0
                    continue
            data, matched, start = apply(pattern, data, patternIndex, start)
            if not matched:
                patternIndex += 1
        return data


# Block processors that leave a block alone when their expression finds nothing in it:
# their test is a search of the block, or (test always true) their run puts the block
# back and returns False. Checked in the code of Python-Markdown 3.11; with another
# version every block is offered to every processor, and a subclass of these (which may
# test otherwise) always is.
BLOCK_FILTER_VERSION = (3, 11)
BLOCK_FILTERS: dict[type, str] = {  # the class, and the name of its expression
    blockprocessors.HashHeaderProcessor: "RE",
    blockprocessors.HRProcessor: "SEARCH_RE",
    def_list.DefListProcessor: "RE",
    blockprocessors.BlockQuoteProcessor: "RE",
    footnotes.FootnoteBlockProcessor: "RE",
    abbr.AbbrBlockprocessor: "RE",
    blockprocessors.ReferenceProcessor: "RE",
}


class FilteredBlockParser(BlockParser):
    """Python-Markdown's block parser, skipping the processors (of :data:`BLOCK_FILTERS`)
    a block cannot concern: a block is mostly a paragraph, tried by a dozen of them."""

    _plan: list[tuple[Any, Needs | None]] | None = None

    def parseDocument(self, lines: Any) -> Any:
        # The processors in order, worked out per document (extensions may change them).
        plan = []
        for processor in self.blockprocessors:
            expression = BLOCK_FILTERS.get(type(processor))  # that class exactly
            needs = required_strings(getattr(processor, expression)) if expression else None
            plan.append((processor, needs))
        self._plan = plan
        return super().parseDocument(lines)

    def parseBlocks(self, parent: Any, blocks: list[str]) -> None:
        """Python-Markdown's loop (each block to each processor until one takes it), with
        a processor whose expression cannot match the block passed over."""
        plan = self._plan
        if plan is None:
            super().parseBlocks(parent, blocks)
            return
        while blocks:
            for processor, needs in plan:
                if needs is not None:
                    block = blocks[0]
                    for needed in needs:
                        if needed in block:
                            break
                    else:
                        continue
                # (run may leave the block as it was and return False: then the next)
                if processor.test(parent, blocks[0]) and processor.run(parent, blocks) is not False:
                    break


class FastMarkdown(markdown.Markdown):
    """``markdown.Markdown`` with :class:`FilteredInlineProcessor` as its inline stage,
    :class:`FilteredBlockParser` as its block parser, and block-level tags looked up in
    a set (the stock list is searched end to end)."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._block_level = frozenset(self.block_level_elements)
        self._levels: dict[Any, bool] = {}
        stock = self.treeprocessors["inline"]
        if type(stock) is InlineProcessor and hasattr(InlineProcessor, HOOK):
            priority = next(i.priority for i in self.treeprocessors._priority if i.name == "inline")
            self.treeprocessors.register(FilteredInlineProcessor(self), "inline", priority)
        if type(self.parser) is BlockParser and _version() == BLOCK_FILTER_VERSION:
            # The processors hold this parser (they call it for nested blocks): its class
            # changes, not the object.
            self.parser.__class__ = FilteredBlockParser

    def is_block_level(self, tag: Any) -> bool:
        try:
            found = self._levels.get(tag)  # (asked 400 times a page, of a dozen tags)
        except TypeError:  # not hashable: not a tag name
            return False
        if found is None:
            found = isinstance(tag, str) and tag.lower().rstrip("/") in self._block_level
            self._levels[tag] = found
        return found


def _version() -> tuple[int, int]:
    return tuple(markdown.__version_info__[:2])  # type: ignore[return-value]
