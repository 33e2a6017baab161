"""The ``briefings_glossary`` component: glossary terms found as concept spans.

Every term of the language (and every language-neutral name) becomes a
PhraseMatcher pattern on the folded NORM (see :mod:`nlp.normalization`), so
"Rançongiciel", "rancongiciel" and "RANÇONGICIELS" match alike; terms marked
case-sensitive in the glossary match on the exact text instead. Overlapping
matches are resolved longest first. Results: ``doc.spans[spans_key]`` with the
category as label and the concept id as ``kb_id``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from glossary import Glossary, load_glossary
from nlp.normalization import install_folding

log = logging.getLogger(__name__)

# Short terms written with capitals are acronyms or names ("RAT", "BEC", "APT1"):
# folded, they would match ordinary words ("rat", French "bec"), so they match
# exactly as written. Lower-case terms and longer names are folded.
EXACT_MAX_CHARS = 5


@lru_cache(maxsize=8)
def cached_glossary(paths: tuple[str, ...] | None) -> Glossary:
    """Load the shipped glossary (``None``) or the given files, once per process."""
    return load_glossary(list(paths) if paths else None)


class GlossaryMatcher:
    """Finds glossary concepts in a Doc; see the module docstring."""

    def __init__(self, nlp: Language, name: str, spans_key: str, glossary: Glossary):
        self.name = name
        self.spans_key = spans_key
        self.glossary = glossary
        self.categories = {c.id: c.category for c in glossary.concepts}
        install_folding(nlp)
        self.folded = PhraseMatcher(nlp.vocab, attr="NORM")
        self.exact = PhraseMatcher(nlp.vocab, attr="ORTH")
        folded: dict[str, list[Doc]] = {}
        exact: dict[str, list[Doc]] = {}
        for term in glossary.entries(nlp.lang):
            text = term.text.strip()
            if not text:
                continue
            case_sensitive = term.case_sensitive or (
                len(text) <= EXACT_MAX_CHARS and any(ch.isupper() for ch in text)
            )
            target = exact if case_sensitive else folded
            target.setdefault(term.concept_id, []).append(nlp.make_doc(text))
        for concept_id, docs in folded.items():
            self.folded.add(concept_id, docs)
        for concept_id, docs in exact.items():
            self.exact.add(concept_id, docs)
        self.pattern_count = sum(map(len, folded.values())) + sum(map(len, exact.values()))
        log.debug("glossary matcher for %s: %d patterns", nlp.lang, self.pattern_count)

    def __call__(self, doc: Doc) -> Doc:
        spans = [
            Span(
                doc, start, end, label=self.categories[doc.vocab.strings[match_id]], kb_id=match_id
            )
            for matcher in (self.folded, self.exact)
            for match_id, start, end in matcher(doc)
        ]
        doc.spans[self.spans_key] = filter_spans(spans)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterable[Doc]:
        for doc in docs:
            yield self(doc)


@Language.factory(
    "briefings_glossary",
    default_config={"spans_key": "concepts", "glossary_paths": None},
)
def make_glossary_matcher(
    nlp: Language, name: str, spans_key: str, glossary_paths: list[str] | None
) -> GlossaryMatcher:
    """Factory: ``glossary_paths`` None means the glossary shipped with the project."""
    glossary = cached_glossary(tuple(glossary_paths) if glossary_paths else None)
    return GlossaryMatcher(nlp, name, spans_key, glossary)
