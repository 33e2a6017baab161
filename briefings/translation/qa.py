"""Quality checks on each translated segment; a failure is a finding, not an exception.

Checks: every placeholder restored exactly once (missing ones are appended and
repeats dropped, so no protected text is ever lost, and the segment is flagged);
links kept; numbers kept (whatever the digit script and grouping); glossary terms
present; no unknown-word marks; a sane length ratio; the target language detected.
A translation with any finding is held for a linguist (``needs-review``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from briefings.translation.protection import (
    CLOSE,
    LINK_KINDS,
    OPEN,
    PLACEHOLDER_RE,
    normalize_placeholders,
    placeholder,
    placeholder_numbers,
    strip_placeholders,
)

#: Below this many characters (placeholders left out) the length ratio is not judged.
MIN_RATIO_CHARS = 20
RATIO_RANGE = (0.35, 3.0)
#: Below this many characters the language of a segment is not judged.
MIN_DETECT_CHARS = 40
MIN_DETECT_CONFIDENCE = 0.5

Detector = Callable[[str], tuple[str | None, float | None]]

# A word, or a run of 2+ characters, said four times or more in a row; or one
# letter written four times in a row ("Keeeeup").
_REPEATED = re.compile(r"(\b\w+\b)(?:\W+\1\b){3,}|(\w{2,}?)\2{3,}|([^\W\d_])\3{3,}")
_NUMBER = re.compile(
    r"(?<!\d)\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?![\d.,]\d)|\d+(?:[.,\u00a0\u202f']\d{3})*(?:[.,]\d+)?"
)


@dataclass(frozen=True)
class Finding:
    """One doubt about a translation, placed so a linguist finds it."""

    check: str
    where: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"check": self.check, "where": self.where, "message": self.message}


def _numbers(text: str) -> Counter:
    """Numbers as sequences of ASCII digits: '1 000', '1,000' and '١٠٠٠' compare equal."""
    digits = "".join(
        str(unicodedata.digit(ch)) if ch.isdigit() and not ch.isascii() else ch for ch in text
    )
    return Counter(re.sub(r"\D", "", m.group()) for m in _NUMBER.finditer(digits))


def _pairs(kinds: list[str], tokens: list[str]) -> dict[int, int]:
    """Opening -> closing placeholder of paired markup: emphasis runs (equal tokens,
    in order) and a link's ``[`` with its ``](target)``."""
    pairs: dict[int, int] = {}
    open_emphasis: dict[str, int] = {}
    open_link: list[int] = []
    for index, (kind, token) in enumerate(zip(kinds, tokens, strict=True)):
        if kind == "emphasis":
            if token in open_emphasis:
                pairs[open_emphasis.pop(token)] = index
            else:
                open_emphasis[token] = index
        elif kind == "link-open":
            open_link.append(index)
        elif kind == "link-target" and open_link:
            pairs[open_link.pop()] = index
    return pairs


_TAIL = re.compile(r"[\s.!?;:\u061f\u3002]*$")


def _insert_missing(target: str, missing: list[int], pairs: dict[int, int]) -> str:
    """Missing placeholders put back: an opening at the start, a closing (and any
    unpaired one) at the end, before the final punctuation."""
    closers = {close: opening for opening, close in pairs.items()}
    head = [n for n in missing if n in pairs]
    tail = [n for n in missing if n not in pairs]
    body = target.strip()
    cut = _TAIL.search(body).start()
    text, punctuation = body[:cut], "".join(body[cut:].split())
    if head:
        text = " ".join(placeholder(n) for n in head) + " " + text
    if tail:
        ordered = sorted(tail, key=lambda n: (n not in closers, n))
        text = text + " " + " ".join(placeholder(n) for n in ordered)
    return text + punctuation


def repair_placeholders(
    source: str, target: str, kinds: list[str], where: str, tokens: list[str] | None = None
) -> tuple[str, list[Finding]]:
    """Each of the source's placeholders exactly once in ``target``: repeats and
    unknown ones dropped, missing ones put back (paired markup around the text,
    the rest at the end). Findings say what was wrong."""
    target = normalize_placeholders(target)
    parts = PLACEHOLDER_RE.split(target)  # text, number, text, number, ... text
    stray = sum(parts[i].count(OPEN) + parts[i].count(CLOSE) for i in range(0, len(parts), 2))
    if stray:
        target = "".join(
            placeholder(int(part)) if i % 2 else part.replace(OPEN, "").replace(CLOSE, "")
            for i, part in enumerate(parts)
        )
    expected = set(placeholder_numbers(source))
    counts = Counter(placeholder_numbers(target))
    findings = []
    missing = sorted(expected - set(counts))
    repeated = sorted(n for n, c in counts.items() if c > 1 and n in expected)
    unknown = sorted(n for n in counts if n not in expected)
    links_expected = sum(1 for n in expected if n < len(kinds) and kinds[n] in LINK_KINDS)
    links_kept = sum(
        1 for n in counts if n in expected and n < len(kinds) and kinds[n] in LINK_KINDS
    )
    if links_kept != links_expected:
        findings.append(
            Finding("links", where, f"{links_expected} link(s) in the source, {links_kept} kept")
        )
    if missing:
        findings.append(
            Finding("placeholders", where, f"protected text lost by the model: {_listed(missing)}")
        )
    if repeated:
        findings.append(
            Finding("placeholders", where, f"protected text repeated: {_listed(repeated)}")
        )
    if unknown:
        findings.append(
            Finding("placeholders", where, f"placeholders invented: {_listed(unknown)}")
        )
    if stray:
        findings.append(Finding("placeholders", where, "broken placeholder marks removed"))
    seen: set[int] = set()

    def once(match: re.Match) -> str:
        number = int(match.group(1))
        if number not in expected or number in seen:
            return ""
        seen.add(number)
        return match.group()

    target = PLACEHOLDER_RE.sub(once, target)
    if missing:
        pairs = _pairs(kinds, tokens) if tokens is not None else {}
        target = _insert_missing(target, missing, pairs)
    return " ".join(target.split()), findings


def _listed(numbers: list[int]) -> str:
    return ", ".join(placeholder(n) for n in numbers)


def check_segment(
    source: str,
    target: str,
    *,
    where: str,
    source_lang: str,
    target_lang: str,
    detect: Detector | None = None,
) -> list[Finding]:
    """The content checks of one segment (placeholders are checked by
    :func:`repair_placeholders`, glossary terms by enforcement)."""
    findings = []
    source_words = strip_placeholders(source)
    target_words = strip_placeholders(target)
    if not target_words.strip():
        return [Finding("empty", where, "the model returned no text")]
    lost = _numbers(source_words) - _numbers(target_words)
    added = _numbers(target_words) - _numbers(source_words)
    if lost:
        findings.append(Finding("numbers", where, f"missing: {', '.join(sorted(lost))}"))
    if added:
        findings.append(Finding("numbers", where, f"not in the source: {', '.join(sorted(added))}"))
    if "\u2047" in target or "<unk>" in target:
        findings.append(Finding("unknown-words", where, "the model did not know some words"))
    if _REPEATED.search(target_words):
        findings.append(Finding("repetition", where, "the model repeats itself"))
    ratio = len(target_words) / max(len(source_words), 1)
    low, high = RATIO_RANGE
    judged = len(source_words) >= MIN_RATIO_CHARS or len(target_words) > MIN_RATIO_CHARS * high
    if judged and not low <= ratio <= high:
        findings.append(
            Finding("length", where, f"the translation is {ratio:.2f} times the source's length")
        )
    if detect is not None and len(target_words) >= MIN_DETECT_CHARS:
        detected, confidence = detect(target_words)
        if (
            detected is not None
            and detected != target_lang
            and (confidence or 0) >= MIN_DETECT_CONFIDENCE
        ):
            what = "untranslated" if detected == source_lang else f"reads as {detected!r}"
            findings.append(
                Finding("language", where, f"{what}, not {target_lang!r} ({confidence:.2f})")
            )
    return findings


def glossary_findings(missing: list[tuple[str, str]], where: str) -> list[Finding]:
    return [
        Finding("glossary", where, f"{concept_id}: expected {preferred!r}")
        for concept_id, preferred in missing
    ]
