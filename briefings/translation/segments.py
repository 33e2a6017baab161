"""From units to segments and back: protect, split into sentences, renumber; then
join, unglue, escape, spread over the unit's lines and restore.

A segment is one sentence of a unit with its placeholders numbered from ``⟦0⟧``
in order of appearance: the text the translation memory is keyed by and the model
sees. Two sentences that differ only in what is protected (another URL, another
CVE id) are the same segment. A segment with no letters left (only placeholders,
digits and punctuation) is not translated.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from briefings.translation.markdown import Unit
from briefings.translation.protection import (
    CLOSE,
    OPEN,
    PLACEHOLDER_RE,
    Protected,
    SpanFinder,
    normalize_placeholders,
    placeholder,
    protect_text,
    restore,
    strip_placeholders,
    unglue,
)

SentenceSplitter = Callable[[str], list[str]]

_SIMPLE_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s+(?=\S)")
_LETTER = re.compile(r"[^\W\d_]")
# A line that would start another block if it began a line of a paragraph.
_BLOCK_START = re.compile(
    r"^(?:[-+*](?:[ \t]|$)|#{1,6}(?:[ \t]|$)|>|\d{1,9}[.)](?:[ \t]|$)|=+[ \t]*$|-+[ \t]*$"
    r"|\||:[ \t]|\[\^?[^\]]*\]:|<[A-Za-z/!?]|`{3}|~{3}|\*\[)"
)


def simple_sentences(text: str) -> list[str]:
    """A plain-Python splitter (after ``.``, ``!``, ``?`` and a space), for tests of
    pure parts; the translation flow injects spaCy's rule-based sentencizer."""
    return [s for s in _SIMPLE_SENTENCE_END.split(text) if s.strip()]


@dataclass
class Segment:
    """One sentence to translate; ``numbers[i]`` is the unit placeholder of ``⟦i⟧``."""

    text: str
    numbers: list[int]
    translatable: bool

    @property
    def source_words(self) -> str:
        return strip_placeholders(self.text)


@dataclass
class PreparedUnit:
    """A unit made ready: protected once, split into segments with the gaps between."""

    unit: Unit
    protected: Protected
    segments: list[Segment] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # before each segment, then the tail

    def tokens_of(self, segment: Segment) -> list[str]:
        """The protected text behind each local placeholder of ``segment``."""
        return [self.protected.tokens[n] for n in segment.numbers]

    def kinds_of(self, segment: Segment) -> list[str]:
        return [self.protected.kinds[n] for n in segment.numbers]


def _locate(text: str, sentences: list[str]) -> list[tuple[int, int]] | None:
    """Character ranges of the splitter's sentences in ``text``, in order, or None."""
    ranges = []
    pos = 0
    for sentence in sentences:
        stripped = sentence.strip()
        if not stripped:
            continue
        start = text.find(stripped, pos)
        if start < 0:
            return None
        ranges.append((start, start + len(stripped)))
        pos = start + len(stripped)
    return ranges


def _renumber(text: str) -> tuple[str, list[int]]:
    """``text`` with its placeholders renumbered from 0 in order; the old numbers."""
    numbers: list[int] = []

    def local(match: re.Match) -> str:
        numbers.append(int(match.group(1)))
        return placeholder(len(numbers) - 1)

    return PLACEHOLDER_RE.sub(local, text), numbers


def prepare_unit(
    unit: Unit,
    split: SentenceSplitter,
    *,
    indicators: SpanFinder | None = None,
    names: SpanFinder | None = None,
) -> PreparedUnit:
    """Protect ``unit``'s text and cut it into segments."""
    protected = protect_text(unit.text, indicators=indicators, names=names)
    prepared = PreparedUnit(unit, protected)
    text = protected.text
    ranges = _locate(text, split(text)) or [(0, len(text))]
    # Never cut inside a placeholder: merge ranges whose cut falls inside one.
    merged: list[tuple[int, int]] = []
    for start, end in ranges:
        opened = text.count(OPEN, merged[-1][0], start) if merged else 0
        if merged and opened != text.count(CLOSE, merged[-1][0], start):
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    pos = 0
    for start, end in merged:
        prepared.gaps.append(text[pos:start])
        local, numbers = _renumber(text[start:end])
        words = strip_placeholders(local)
        prepared.segments.append(Segment(local, numbers, bool(_LETTER.search(words))))
        pos = end
    prepared.gaps.append(text[pos:])
    return prepared


def to_unit_numbers(segment: Segment, translated: str) -> str:
    """A translated segment with its local placeholders back to the unit's numbers
    (numbers the segment does not have are dropped)."""

    def unit_number(match: re.Match) -> str:
        index = int(match.group(1))
        return placeholder(segment.numbers[index]) if index < len(segment.numbers) else ""

    return PLACEHOLDER_RE.sub(unit_number, normalize_placeholders(translated))


def _escape_start(text: str) -> str:
    """Keep a translation from starting a block of its own (``1. ``, ``- ``, ``#``)."""
    if not _BLOCK_START.match(text):
        return text
    if m := re.match(r"^(\d{1,9})([.)])", text):
        return f"{m.group(1)}\\{m.group(2)}{text[m.end() :]}"
    return "\\" + text


def assemble_unit(prepared: PreparedUnit, translations: list[str]) -> list[str]:
    """The unit's translated text, one piece per part of the unit, placeholders restored.

    ``translations`` hold one text per segment, in local numbering. Pieces are cut
    at spaces between words (never inside a protected token) in proportion to the
    source lines, and no piece but the first may start like a block of its own.
    """
    out = [prepared.gaps[0]]
    for segment, translated, gap in zip(
        prepared.segments, translations, prepared.gaps[1:], strict=True
    ):
        out.append(to_unit_numbers(segment, translated).replace("\n", " "))
        out.append(gap)
    text = unglue("".join(out), prepared.protected.glue)
    text = " ".join(text.split())
    if prepared.unit.kind == "cell":
        text = re.sub(r"(?<!\\)\|", r"\\|", text)
    tokens = prepared.protected.tokens
    words = [restore(word, tokens) for word in text.split(" ") if word]
    widths = prepared.unit.widths or [1]
    pieces = _spread(words, widths)
    escapable = prepared.unit.kind in ("paragraph", "item", "footnote")
    if pieces and escapable and not _BLOCK_START.match(prepared.unit.text):
        pieces[0] = _escape_start(pieces[0])
    return pieces


def _spread(words: list[str], widths: list[int]) -> list[str]:
    """``words`` cut into ``len(widths)`` lines in proportion to ``widths``."""
    count = len(widths)
    if count == 1:
        return [" ".join(words)]
    if len(words) < count:
        return words + [""] * (count - len(words))
    total_width = sum(widths) or count
    lengths = [len(w) + 1 for w in words]
    total = sum(lengths)
    breaks: list[int] = []  # index of the first word of lines 2..count
    cumulative = 0.0
    for line in range(count - 1):
        cumulative += widths[line] / total_width
        target = cumulative * total
        low = (breaks[-1] if breaks else 0) + 1
        high = len(words) - (count - 1 - line)
        best, best_cost = low, None
        running = sum(lengths[:low])
        for index in range(low, high + 1):
            cost = abs(running - target)
            if _BLOCK_START.match(" ".join(words[index : index + 2])):
                cost += total  # avoid, unless there is no other place
            if best_cost is None or cost < best_cost:
                best, best_cost = index, cost
            running += lengths[index] if index < len(lengths) else 0
        breaks.append(best)
    bounds = [0, *breaks, len(words)]
    return [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds)]
