"""Protection: what must never be translated becomes a numbered placeholder ``⟦n⟧``.

Protected, in this order of precedence when spans overlap: inline code, autolinks
and inline HTML; link and image syntax (``[text](url)`` keeps ``text`` translatable,
``[`` and ``](url)`` are protected); footnote references and attribute lists; URLs,
indicators of compromise (as written, refanged or defanged), CVE ids and TLP labels;
do-not-translate glossary names; backslash escapes, bidirectional controls and
literal ``⟦``/``⟧``; words with underscores; emphasis delimiters (``**``, ``*``,
``_``). Placeholders hold no underscore: Argos' SentencePiece decoder turns ``_``
into a space.

The model was trained on placeholders standing as words of their own, so where a
protected span touches a letter, digit or another span (``**bold**``,
``[text](url)``), a space is put between them and remembered as glue: after
translation that space is taken out again, so ``⟦0⟧ gras ⟦1⟧`` becomes ``**gras**``.

Pure functions on strings; the finders of indicators and glossary names come in as
callables (see :mod:`briefings.translation.segments`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

OPEN, CLOSE = "\u27e6", "\u27e7"  # ⟦ ⟧
PLACEHOLDER_RE = re.compile(rf"{OPEN}\s*(\d{{1,4}})\s*{CLOSE}")

#: Kinds of protected token that carry a link (counted by the link check).
LINK_KINDS = frozenset({"link-target", "autolink", "url"})
#: Kinds that are Markdown markup rather than content.
MARKUP_KINDS = frozenset({"emphasis", "link-open", "link-target", "html", "escape", "attr"})


def placeholder(index: int) -> str:
    return f"{OPEN}{index}{CLOSE}"


@dataclass(frozen=True)
class TextSpan:
    """A span of a text found by a finder: ``kind`` says what, ``value`` which one
    (a concept id for glossary terms, the refanged value for indicators)."""

    start: int
    end: int
    kind: str
    value: str = ""


SpanFinder = Callable[[str], list[TextSpan]]


@dataclass
class Protected:
    """A text with placeholders, and what each placeholder stands for."""

    text: str
    tokens: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    # (space inserted before, space inserted after) for each placeholder
    glue: list[tuple[bool, bool]] = field(default_factory=list)


# -- the rules, by precedence ---------------------------------------------------------

_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_AUTOLINK = re.compile(r"<(?:[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>]+)>")
_HTML = re.compile(
    r"</?[A-Za-z][A-Za-z0-9-]*(?:\s+[A-Za-z_:][\w:.-]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*\s*/?>"
    r"|<!--.*?-->",
    re.DOTALL,
)
_LINK_TEXT = r"(?:\\.|`[^`]*`|[^\\\[\]])*"
_DESTINATION = (
    r"(?:<[^<>\n]*>|(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))*)"
    r"(?:\s+(?:\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|\((?:\\.|[^()\\])*\)))?\s*"
)
_INLINE_LINK = re.compile(rf"(!?\[)({_LINK_TEXT})(\]\({_DESTINATION}\))")
_REF_LINK = re.compile(rf"(!?\[)({_LINK_TEXT})(\]\[[^\]\n]*\])")
_FOOTNOTE_REF = re.compile(r"\[\^[^\]\s]+\]")
_ATTR_LIST = re.compile(r"\{:?\s*[#.][^}\n]*\}")
_URL = re.compile(
    r"(?<![A-Za-z0-9])(?:(?:https?|hxxps?|s?ftp)(?::|\[:\])//|(?:https?|hxxps?)\[://\]|mailto:)"
    r"[^\s<>\"'`]+|(?<![A-Za-z0-9@/.])www\.[^\s<>\"'`]+",
    re.IGNORECASE,
)
_CVE = re.compile(
    r"(?<![A-Za-z0-9_])CVE[-\u2010-\u2014]\d{4}[-\u2010-\u2014]\d{4,7}(?![0-9])", re.I
)
_TLP = re.compile(r"\bTLP:(?:CLEAR|WHITE|GREEN|AMBER\+STRICT|AMBER|RED)\b")
_ESCAPE = re.compile(r"\\[\\`*_{}\[\]()#+\-.!|<>~\"'$&%:;=?@^]")
# Character references: drafts write a feed's "<" before a letter as "&lt;" (see
# briefings.drafting.markdown_escape); a model would spell them out or drop them.
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_SPECIAL = re.compile(rf"[{OPEN}{CLOSE}\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
_UNDERSCORE_WORD = re.compile(r"(?<![\w])\w*[^\W_]_+[^\W_]\w*|(?<![\w])_\w*_\w+")
_EMPHASIS = re.compile(r"\*{1,3}|_{1,3}")
_LOOSE_UNDERSCORE = re.compile(r"_+")
_URL_TRAILING = ".,;:!?'\"*"


def _trim_url(text: str) -> str:
    """Drop sentence punctuation after a URL; keep a closing bracket the URL opened."""
    while text:
        last = text[-1]
        if last in _URL_TRAILING or (
            last in ")]}" and text.count({")": "(", "]": "[", "}": "{"}[last]) < text.count(last)
        ):
            text = text[:-1]
        else:
            break
    return text


def _code_spans(text: str) -> Iterable[TextSpan]:
    for m in _CODE.finditer(text):
        yield TextSpan(m.start(), m.end(), "code")


def _links(text: str) -> Iterable[TextSpan]:
    for pattern in (_INLINE_LINK, _REF_LINK):
        for m in pattern.finditer(text):
            yield TextSpan(m.start(1), m.end(1), "link-open")
            yield TextSpan(m.start(3), m.end(3), "link-target")


def _urls(text: str) -> Iterable[TextSpan]:
    for m in _URL.finditer(text):
        raw = _trim_url(m.group())
        if len(raw) > 4:
            yield TextSpan(m.start(), m.start() + len(raw), "url")


def _emphasis(text: str) -> Iterable[TextSpan]:
    for m in _EMPHASIS.finditer(text):
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end()] if m.end() < len(text) else " "
        left_flanking = not after.isspace()
        right_flanking = not before.isspace()
        if m.group()[0] == "_" and before.isalnum() and after.isalnum():
            continue  # intraword underscores are handled as words
        if left_flanking or right_flanking:
            yield TextSpan(m.start(), m.end(), "emphasis")


def _regex(pattern: re.Pattern, kind: str) -> Callable[[str], Iterable[TextSpan]]:
    def find(text: str) -> Iterable[TextSpan]:
        for m in pattern.finditer(text):
            yield TextSpan(m.start(), m.end(), kind)

    return find


_RULES: list[Callable[[str], Iterable[TextSpan]]] = [
    _code_spans,
    _regex(_AUTOLINK, "autolink"),
    _regex(_HTML, "html"),
    _links,
    _regex(_FOOTNOTE_REF, "footnote"),
    _regex(_ATTR_LIST, "attr"),
    _urls,
    _regex(_CVE, "cve"),
    _regex(_TLP, "tlp"),
]
_LATE_RULES: list[Callable[[str], Iterable[TextSpan]]] = [
    _regex(_ESCAPE, "escape"),
    _regex(_ENTITY, "escape"),
    _regex(_SPECIAL, "special"),
    _regex(_UNDERSCORE_WORD, "word"),
    _emphasis,
    _regex(_LOOSE_UNDERSCORE, "underscore"),
]


def find_protected(
    text: str,
    *,
    indicators: SpanFinder | None = None,
    names: SpanFinder | None = None,
) -> list[TextSpan]:
    """Every span of ``text`` to protect, without overlaps, in text order.

    ``indicators`` finds indicators of compromise; ``names`` finds do-not-translate
    glossary names. Earlier rules win over later ones; within a rule, longer spans win.
    """
    chosen: list[TextSpan] = []
    taken = bytearray(len(text))

    def take(spans: Iterable[TextSpan]) -> None:
        for span in sorted(spans, key=lambda s: (s.start - s.end, s.start)):
            if span.end <= span.start or any(taken[span.start : span.end]):
                continue
            taken[span.start : span.end] = b"\x01" * (span.end - span.start)
            chosen.append(span)

    for rule in _RULES:
        take(rule(text))
    if indicators is not None:
        take(TextSpan(s.start, s.end, "indicator", s.value) for s in indicators(text))
    if names is not None:
        take(TextSpan(s.start, s.end, "name", s.value) for s in names(text))
    for rule in _LATE_RULES:
        take(rule(text))
    return sorted(chosen, key=lambda s: s.start)


def _joins(char: str) -> bool:
    """A neighbour a placeholder must be kept apart from: a letter, digit or placeholder."""
    return char.isalnum() or char in (OPEN, CLOSE)


def protect(text: str, spans: list[TextSpan]) -> Protected:
    """Replace ``spans`` (sorted, not overlapping) with ``⟦0⟧``, ``⟦1⟧``, ... in order."""
    out: list[str] = []
    result = Protected("")
    pos = 0
    for index, span in enumerate(spans):
        between = text[pos : span.start]
        out.append(between)
        # Right after another placeholder, that one already put the space in.
        space_before = bool(between) and _joins(between[-1])
        after = text[span.end : span.end + 1]
        next_is_span = index + 1 < len(spans) and spans[index + 1].start == span.end
        space_after = bool(after) and (next_is_span or _joins(after))
        out.append(
            (" " if space_before else "") + placeholder(index) + (" " if space_after else "")
        )
        result.tokens.append(text[span.start : span.end])
        result.kinds.append(span.kind)
        result.glue.append((space_before, space_after))
        pos = span.end
    out.append(text[pos:])
    result.text = "".join(out)
    return result


def protect_text(
    text: str, *, indicators: SpanFinder | None = None, names: SpanFinder | None = None
) -> Protected:
    """:func:`find_protected` then :func:`protect`."""
    return protect(text, find_protected(text, indicators=indicators, names=names))


def normalize_placeholders(text: str) -> str:
    """``⟦ 3 ⟧`` (as a decoder may space it) becomes ``⟦3⟧``."""
    return PLACEHOLDER_RE.sub(lambda m: placeholder(int(m.group(1))), text)


def placeholder_numbers(text: str) -> list[int]:
    """The placeholder numbers in ``text``, in order, repeats included."""
    return [int(n) for n in PLACEHOLDER_RE.findall(text)]


def unglue(text: str, glue: list[tuple[bool, bool]]) -> str:
    """Take out the spaces :func:`protect` put around placeholders (whatever spacing
    the translation has there now)."""
    for index, (before, after) in enumerate(glue):
        mark = re.escape(placeholder(index))
        if before:
            text = re.sub(rf"[ \t]+(?={mark})", "", text)
        if after:
            text = re.sub(rf"(?<={mark})[ \t]+", "", text)
    return text


def restore(text: str, tokens: list[str]) -> str:
    """Put the protected text back in place of each placeholder (unknown numbers vanish)."""
    return PLACEHOLDER_RE.sub(
        lambda m: tokens[int(m.group(1))] if int(m.group(1)) < len(tokens) else "", text
    )


def strip_placeholders(text: str) -> str:
    """The text without its placeholders, for checks on the words alone."""
    return " ".join(PLACEHOLDER_RE.sub(" ", text).split())
