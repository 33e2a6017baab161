"""Glossary enforcement: each concept of a source segment appears in the target as the
target language's preferred term.

Concepts are found by an injected finder per language (the flow passes the spaCy
glossary matcher that tagging uses); :func:`plain_term_finder` is a plain-Python
stand-in for tests of the pure parts. A concept found in the target under another
of its terms (a listed variant) is rewritten to the preferred term; a concept not
found at all is a finding. Do-not-translate names are not enforced here: they are
protected as placeholders and come back verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from briefings.translation.protection import SpanFinder, TextSpan

if TYPE_CHECKING:
    from glossary import Glossary

#: A finder per language: ``finder_for(lang)`` returns a SpanFinder of concepts.
FinderFactory = Callable[[str], SpanFinder]


def _fold(text: str) -> str:
    from glossary import normalize_term

    return normalize_term(text)


def plain_term_finder(glossary: Glossary, lang: str) -> SpanFinder:
    """Glossary terms of ``lang`` found by regular expression, longest first,
    case-insensitively between word boundaries (kind ``concept``, value = concept id)."""
    terms: dict[str, str] = {}
    for term in glossary.entries(lang):
        terms.setdefault(term.text.casefold(), term.concept_id)
    if not terms:
        return lambda text: []
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)

    def find(text: str) -> list[TextSpan]:
        return [
            TextSpan(m.start(), m.end(), "concept", terms[m.group().casefold()])
            for m in pattern.finditer(text)
        ]

    return find


def dnt_finder(glossary: Glossary, finder: SpanFinder) -> SpanFinder:
    """Only the do-not-translate names among what ``finder`` finds."""
    dnt = {c.id for c in glossary.concepts if c.is_dnt}

    def find(text: str) -> list[TextSpan]:
        return [s for s in finder(text) if s.value in dnt]

    return find


@dataclass(frozen=True)
class TermResult:
    text: str
    missing: list[tuple[str, str]]  # (concept id, preferred term) not found in the target
    replaced: list[tuple[str, str]]  # (variant written by the model, preferred term)


def _cased_like(model: str, term: str) -> str:
    """``term`` with a capital first letter when ``model`` had one and the term has none."""
    if model[:1].isupper() and term[:1].islower():
        return term[:1].upper() + term[1:]
    return term


def enforce_terms(
    source: str,
    target: str,
    *,
    glossary: Glossary,
    target_lang: str,
    find_source: SpanFinder,
    find_target: SpanFinder,
) -> TermResult:
    """``target`` with every source concept written as its preferred target term."""
    wanted: dict[str, str] = {}
    for span in find_source(source):
        concept_id = span.value
        if concept_id in wanted or concept_id not in glossary:
            continue
        if glossary.concept(concept_id).is_dnt:
            continue
        preferred = glossary.preferred(concept_id, target_lang)
        if preferred:
            wanted[concept_id] = preferred
    if not wanted:
        return TermResult(target, [], [])
    found: dict[str, list[TextSpan]] = {}
    for span in find_target(target):
        found.setdefault(span.value, []).append(span)
    edits: list[tuple[int, int, str]] = []
    missing: list[tuple[str, str]] = []
    replaced: list[tuple[str, str]] = []
    for concept_id, preferred in wanted.items():
        spans = found.get(concept_id, [])
        if not spans:
            missing.append((concept_id, preferred))
            continue
        for span in spans:
            written = target[span.start : span.end]
            if _fold(written) != _fold(preferred):
                edits.append((span.start, span.end, _cased_like(written, preferred)))
                replaced.append((written, preferred))
    for start, end, term in sorted(edits, reverse=True):
        target = target[:start] + term + target[end:]
    return TermResult(target, missing, replaced)
