"""Segmentation that follows Markdown: which spans of a briefing are prose to translate.

The document is never re-rendered. Each body line is classified (fenced or indented
code, heading, list item, table row, blockquote, HTML block, definitions ...) and
only the prose inside it is marked as a :class:`Part` (a character range of one
line). Translation then replaces those ranges and nothing else, so the translated
body has the same lines, the same markers, the same quote prefixes, the same table
pipes and untouched code. A paragraph wrapped over several lines is one
:class:`Unit` whose text is its lines joined; its translation is spread back over
the same number of lines (see :mod:`briefings.translation.segments`).

Front matter prose fields (:data:`PROSE_FIELDS`) are units too; other keys are kept.

The scanner follows the Markdown that publishing renders (Python-Markdown with
tables, footnotes, attribute lists, fenced code, definition lists, abbreviations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Front matter keys whose (string) values are prose and are translated.
PROSE_FIELDS = ("title", "summary", "claim")

_QUOTE = re.compile(r" {0,3}>[ \t]?")
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}|~{3,})(.*)$")
_ATX = re.compile(r"^ {0,3}#{1,6}(?=[ \t]|$)[ \t]*")
_ATX_CLOSE = re.compile(r"(?:[ \t]+#+)?[ \t]*$")
_HEADING_ATTRS = re.compile(r"[ \t]*\{:?[ \t]*[#.][^}]*\}[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_RULE = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_ITEM = re.compile(r"^[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]+(?:\[[ xX]\][ \t]+)?|$)")
_DEFINITION = re.compile(r"^ {0,3}:[ \t]+")
_FOOTNOTE = re.compile(r"^ {0,3}\[\^[^\]]+\]:[ \t]*")
_LINK_DEF = re.compile(r"^ {0,3}\[[^\]^][^\]]*\]:[ \t]*\S")
_ABBR_DEF = re.compile(r"^ {0,3}\*\[[^\]]+\]:")
_ATTR_LINE = re.compile(r"^[ \t]*\{:?[^}]*\}[ \t]*$")
_HTML_BLOCK = re.compile(
    r"^ {0,3}<(?:[A-Za-z][A-Za-z0-9-]*(?:[\s/>]|$)|/[A-Za-z]|!--|\?|![A-Z]|!\[CDATA\[)"
)
_AUTOLINK_START = re.compile(r"^ {0,3}<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:|[^\s<>@]+@)")
_TABLE_DELIMITER = re.compile(
    r"^[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+(?:[ \t]*:?-+:?[ \t]*)?$|"
    r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$"
)
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")


@dataclass(frozen=True)
class Part:
    """The prose of one body line: ``line`` (0-based) and a character range of it."""

    line: int
    start: int
    end: int


@dataclass
class Unit:
    """One run of prose: a heading, a paragraph, a list item, a table cell or a
    front matter field. ``text`` is its lines joined by single spaces."""

    kind: str
    text: str
    parts: list[Part] = field(default_factory=list)
    field: str | None = None

    @property
    def where(self) -> str:
        if self.field is not None:
            return f"front matter {self.field}"
        return f"body line {self.parts[0].line + 1}"

    @property
    def widths(self) -> list[int]:
        return [part.end - part.start for part in self.parts]


@dataclass
class Segmentation:
    """A document split into units, able to put translations back in place."""

    meta: dict[str, Any]
    lines: list[str]
    units: list[Unit]

    def render(self, pieces: list[list[str]]) -> tuple[dict[str, Any], str]:
        """The front matter and body with each unit's text replaced by its pieces
        (one piece per part; a field unit has one piece). An empty piece for a
        continuation line removes that line (a paragraph re-flowed onto fewer lines)."""
        meta = dict(self.meta)
        lines = list(self.lines)
        edits: dict[int, list[tuple[int, int, str]]] = {}
        for unit, unit_pieces in zip(self.units, pieces, strict=True):
            if unit.field is not None:
                meta[unit.field] = unit_pieces[0] if unit_pieces else ""
                continue
            for part, piece in zip(unit.parts, unit_pieces, strict=True):
                edits.setdefault(part.line, []).append((part.start, part.end, piece))
        dropped = set()
        for number, line_edits in edits.items():
            line = lines[number]
            for start, end, piece in sorted(line_edits, reverse=True):
                line = line[:start] + piece + line[end:]
            if not line.strip() and lines[number].strip():
                dropped.add(number)
            lines[number] = line
        body = "\n".join(line for n, line in enumerate(lines) if n not in dropped)
        return meta, body


def segment_document(meta: dict[str, Any], body: str) -> Segmentation:
    """The units of a briefing: prose front matter fields, then the body's prose."""
    units = [
        Unit("field", value.strip(), field=key)
        for key in PROSE_FIELDS
        if isinstance(value := meta.get(key), str) and value.strip()
    ]
    lines = body.split("\n")
    units += _Scanner(lines).scan()
    return Segmentation(dict(meta), lines, units)


def _indent(text: str) -> int:
    """Leading whitespace in columns (a tab counts to the next multiple of four)."""
    width = 0
    for char in text:
        if char == " ":
            width += 1
        elif char == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _quote_prefix(line: str) -> int:
    """Length of the blockquote markers (``> > ``) at the start of ``line``."""
    pos = 0
    while m := _QUOTE.match(line, pos):
        pos = m.end()
    return pos


def _prose_range(line: str, start: int, end: int | None = None) -> tuple[int, int]:
    """``line[start:end]`` narrowed to its text: no surrounding spaces, no hard break."""
    end = len(line) if end is None else end
    segment = line[start:end]
    m = _HARD_BREAK.search(segment)
    if m and segment.strip() != "\\":
        end = start + m.start()
    while start < end and line[start] in " \t":
        start += 1
    while end > start and line[end - 1] in " \t":
        end -= 1
    return start, end


def _cell_ranges(line: str, start: int) -> list[tuple[int, int]]:
    """Character ranges of a table row's cells: split on pipes outside code and escapes."""
    bounds = []
    pos = start
    ticks = 0
    i = start
    while i < len(line):
        char = line[i]
        if char == "\\":
            i += 2
            continue
        if char == "`":
            run = len(line[i:]) - len(line[i:].lstrip("`"))
            ticks = 0 if ticks == run else (run if ticks == 0 else ticks)
            i += run
            continue
        if char == "|" and not ticks:
            bounds.append((pos, i))
            pos = i + 1
        i += 1
    bounds.append((pos, len(line)))
    # A leading or trailing pipe leaves an empty edge cell that is not a cell.
    if (
        bounds
        and not line[bounds[0][0] : bounds[0][1]].strip()
        and "|" in line[start:].lstrip()[:1]
    ):
        bounds = bounds[1:]
    if bounds and not line[bounds[-1][0] : bounds[-1][1]].strip() and line.rstrip().endswith("|"):
        bounds = bounds[:-1]
    return bounds


class _Scanner:
    """One pass over the body lines; see the module docstring."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.units: list[Unit] = []
        self.fence: tuple[str, int] | None = None
        self.open: Unit | None = None  # a unit the next line may continue
        self.blank_before = True
        self.list_indent: int | None = None
        self.table = False
        self.html = False
        self.skip: set[int] = set()

    def scan(self) -> list[Unit]:
        for number, line in enumerate(self.lines):
            if number in self.skip:
                continue
            self._line(number, line)
        return self.units

    def _add(self, kind: str, number: int, start: int, end: int | None = None) -> Unit | None:
        start, end = _prose_range(self.lines[number], start, end)
        if end <= start:
            return None
        unit = Unit(kind, self.lines[number][start:end], [Part(number, start, end)])
        self.units.append(unit)
        return unit

    def _continue(self, number: int, start: int) -> None:
        assert self.open is not None
        start, end = _prose_range(self.lines[number], start)
        if end > start:
            self.open.parts.append(Part(number, start, end))
            self.open.text += " " + self.lines[number][start:end]

    def _line(self, number: int, line: str) -> None:
        if self.fence is not None:
            char, size = self.fence
            inner = line[_quote_prefix(line) :].strip()
            if inner and set(inner) == {char} and len(inner) >= size:
                self.fence = None
            return
        q = _quote_prefix(line)
        inner = line[q:]
        if not inner.strip():
            self.open, self.table, self.html, self.blank_before = None, False, False, True
            return
        blank_before, self.blank_before = self.blank_before, False
        if self.html:
            return
        if self.table:
            if "|" in inner:
                for start, end in _cell_ranges(line, q):
                    self._add("cell", number, start, end)
                return
            self.table = False
        m = _FENCE_OPEN.match(inner)
        if m and (m.group(1)[0] != "`" or "`" not in m.group(2)):
            self.fence = (m.group(1)[0], len(m.group(1)))
            self.open = None
            return
        width = _indent(inner)
        leaves_list = not _ITEM.match(inner) and not _DEFINITION.match(inner)
        if self.list_indent is not None and blank_before and width < self.list_indent:
            self.list_indent = None if leaves_list else self.list_indent
        code_at = 4 if self.list_indent is None else self.list_indent + 4
        if width >= code_at and (self.open is None or blank_before):
            self.open = None  # indented code
            return
        if self.open is not None and self.open.kind == "paragraph" and _SETEXT.match(inner):
            self.open = None  # the underline of a setext heading
            return
        if _RULE.match(inner):
            self.open = None
            return
        if m := _ATX.match(inner):
            content = inner[m.end() :]
            content = _HEADING_ATTRS.sub("", content)
            content = _ATX_CLOSE.sub("", content)
            self._add("heading", number, q + m.end(), q + m.end() + len(content))
            self.open = None
            return
        if self.open is None and _HTML_BLOCK.match(inner) and not _AUTOLINK_START.match(inner):
            self.html = True
            return
        if _LINK_DEF.match(inner) or _ABBR_DEF.match(inner) or _ATTR_LINE.match(inner):
            self.open = None
            return
        if self._table_starts(number, q, inner):
            for start, end in _cell_ranges(line, q):
                self._add("cell", number, start, end)
            self.skip.add(number + 1)  # the delimiter row
            self.table, self.open = True, None
            return
        for pattern, kind in ((_FOOTNOTE, "footnote"), (_ITEM, "item"), (_DEFINITION, "item")):
            if m := pattern.match(inner):
                self.list_indent = _indent(inner[: m.end()]) if kind != "footnote" else 4
                if m.end() == len(inner) and kind == "item":
                    self.open = None
                    return
                self.open = self._add(kind, number, q + m.end())
                return
        if self.open is not None and not blank_before:
            self._continue(number, q)
            return
        self.open = self._add("paragraph", number, q)

    def _table_starts(self, number: int, q: int, inner: str) -> bool:
        if "|" not in inner or number + 1 >= len(self.lines):
            return False
        following = self.lines[number + 1]
        if _quote_prefix(following) != q:
            return False
        delimiter = following[q:]
        return "|" in delimiter and bool(_TABLE_DELIMITER.match(delimiter))
