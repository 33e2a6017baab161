"""The ``briefings_glossary`` component: glossary terms found as concept spans.

Every term of the language (and every language-neutral name) becomes a
PhraseMatcher pattern on the folded NORM (see :mod:`nlp.normalization`), so
"Rançongiciel", "rancongiciel" and "RANÇONGICIELS" match alike. Terms marked
case-sensitive in the glossary, and short terms written with capitals, must also
match the exact text: they share the one NORM matcher (one pass over the Doc) and
a match is kept only if its tokens are written as the term is. Overlapping matches
are resolved longest first. Results: ``doc.spans[spans_key]`` with the category as
label and the concept id as ``kb_id``.

Generated forms add to the terms where the language inflects what the glossary
lists once: Arabic proclitics on nouns without the article (ومستشفيات, ببرمجيات
الفدية) and Russian case forms (:mod:`nlp.inflection`). A generated form that is a
term of another concept, or that two concepts generate alike, is dropped.

Where the tokenizer splits Latin words into letters (spaCy's Chinese segmenter), a
Latin name matches only as a whole word: "SQLi" is not found in "该SQLite组件".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup
from spacy.util import minibatch

from glossary import Glossary, glossary_version, load_glossary
from nlp.inflection import ru_case_forms
from nlp.norm_matcher import shared_norm_matcher
from nlp.normalization import (
    ar_proclitic_forms,
    folder_for,
    install_folding,
    install_tokenizer_rules,
)

log = logging.getLogger(__name__)

# Short terms written with capitals are acronyms or names ("RAT", "BEC", "APT1"):
# folded, they would match ordinary words ("rat", French "bec"), so they match
# exactly as written. Lower-case terms and longer names are folded.
EXACT_MAX_CHARS = 5

# doc.user_data key: the rule of each concept span, in the spans' order, where rule[0] is
# the concept id hash and rule[1] the category hash.
CONCEPTS_KEY = "briefings.concepts"

GENERATED_FORMS: dict[str, Callable[[str], list[str]]] = {
    "ar": ar_proclitic_forms,
    "ru": ru_case_forms,
}


def cached_glossary(paths: tuple[str, ...] | None) -> Glossary:
    """The shipped glossary (``None``) or the given files, loaded once per content: the
    files are hashed on each call (about a millisecond), so an edit is seen at once."""
    return _load_glossary(paths, glossary_version(list(paths) if paths else None))


@lru_cache(maxsize=8)
def _load_glossary(paths: tuple[str, ...] | None, version: str) -> Glossary:
    return load_glossary(list(paths) if paths else None)


def _is_latin_alnum(char: str) -> bool:
    return char.isascii() and char.isalnum()


class GlossaryMatcher:
    """Finds glossary concepts in a Doc; see the module docstring."""

    # The lexical attributes it reads (:func:`nlp.pipeline.compute_only_what_is_read`).
    lexical_attributes = frozenset({NORM})

    def __init__(self, nlp: Language, name: str, spans_key: str, glossary: Glossary):
        self.name = name
        self.spans_key = spans_key
        self.glossary = glossary
        install_folding(nlp)
        install_tokenizer_rules(nlp)
        strings = nlp.vocab.strings
        # One NORM matcher pass per Doc, shared with the countries and priority components.
        self.matcher = shared_norm_matcher(nlp)
        prefix = self.matcher.owner(name)
        # spaCy's Chinese segmenter makes each Latin letter a token.
        letters_split = len(nlp.make_doc("SQLite")) > 1
        # match key -> rule: (concept id hash, category hash, check), where check is None
        # when every match of the key is a concept, else (token texts required or None,
        # whether the match must not sit inside a longer Latin word).
        self.rules: dict[int, tuple[int, int, tuple | None]] = {}
        self.pattern_count = 0
        for key, texts in self._patterns(nlp.lang).items():
            concept_id, _, exact = key.partition("|")
            docs = list(nlp.tokenizer.pipe(texts))
            self.matcher.add(prefix + key, docs)
            forms = frozenset(tuple(t.text for t in doc) for doc in docs) if exact else None
            latin_edges = letters_split and any(
                _is_latin_alnum(text[0]) or _is_latin_alnum(text[-1]) for text in texts
            )
            category = self.glossary.concept(concept_id).category
            self.rules[strings.add(prefix + key)] = (
                strings.add(concept_id),
                strings.add(category),
                (forms, latin_edges) if forms is not None or latin_edges else None,
            )
            self.pattern_count += len(texts)
        # Keys whose every match is a concept, and those whose matches must pass _passes:
        # most matches are kept by one membership test.
        self.unchecked_keys = frozenset(key for key, rule in self.rules.items() if rule[2] is None)
        self.checked_rules = {key: rule for key, rule in self.rules.items() if rule[2] is not None}
        log.debug("glossary matcher for %s: %d patterns", nlp.lang, self.pattern_count)

    def _patterns(self, lang: str) -> dict[str, list[str]]:
        """Pattern texts per match key: ``concept`` (folded) or ``concept|exact``."""
        fold = folder_for(lang)
        generate = GENERATED_FORMS.get(lang)
        by_key: dict[str, list[str]] = {}
        listed: dict[str, str] = {}  # folded term -> concept id, for the listed terms
        for term in self.glossary.entries(lang):
            text = term.text.strip()
            if not text:
                continue
            case_sensitive = term.case_sensitive or (
                len(text) <= EXACT_MAX_CHARS and any(ch.isupper() for ch in text)
            )
            key = f"{term.concept_id}|exact" if case_sensitive else term.concept_id
            by_key.setdefault(key, []).append(text)
            listed.setdefault(_fold_phrase(fold, text), term.concept_id)
        if generate is None:
            return by_key
        generated: dict[str, dict[str, str]] = {}  # folded form -> concept id -> text
        for key, texts in by_key.items():
            if "|" in key:
                continue  # names and acronyms do not inflect
            for text in texts:
                for form in generate(text):
                    generated.setdefault(_fold_phrase(fold, form), {}).setdefault(key, form)
        for folded, owners in generated.items():
            # Listed already (by this concept or another), or claimed by two concepts.
            if folded not in listed and len(owners) == 1:
                for concept_id, form in owners.items():
                    by_key[concept_id].append(form)
        return by_key

    def __call__(self, doc: Doc) -> Doc:
        rules = self.rules
        unchecked, checked = self.unchecked_keys, self.checked_rules
        # This component's matches as the matcher gives them, (key, start, end) by start,
        # in one pass: no new tuple (measured: about 1.5 microseconds a Doc less than
        # pairing each with its rule, then checking in a second pass).
        found = [
            m
            for m in self.matcher(doc)
            if m[0] in unchecked or (m[0] in checked and _passes(doc, m[1], m[2], checked[m[0]]))
        ]
        kept = _longest_first(found)
        spans = [
            Span(doc, start, end, (rule := rules[key])[1], None, None, rule[0])
            for key, start, end in kept
        ]
        # Straight into the SpanGroups' dict: ``doc.spans[key] = group`` goes through two
        # Python methods (SpanGroups and UserDict ``__setitem__``) that check what holds
        # here by construction, that the group belongs to this Doc.
        doc.spans.data[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        # The spans' rules, for the priority: reading a SpanGroup back makes a Span object
        # per item, about 0.7 microseconds each.
        doc.user_data[CONCEPTS_KEY] = [rules[key] for key, _, _ in kept]
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """The Docs in order, each tagged. ``docs`` is read ``batch_size`` at a time: as
        the first component of the pipeline, this makes the tokenizer turn a whole batch
        of texts into Docs before any component runs, instead of one text between the
        components' work on the previous Doc. The components' data and the tokenizer's
        then stay in the CPU caches longer (measured on fresh Arabic text, batches of 64:
        the whole pipeline 1.53 -> 1.43 microseconds per word). Running each component
        over the whole batch in turn was slower (67.6 -> 77.4 microseconds per Arabic
        Doc): a Doc is best carried through every component at once."""
        for batch in minibatch(docs, batch_size):
            for doc in batch:
                yield self(doc)


def _fold_phrase(fold: Callable[[str], str], text: str) -> str:
    return " ".join(fold(word) for word in text.split())


def _passes(doc: Doc, start: int, end: int, rule: tuple) -> bool:
    """Whether a match of a checked rule is written as its term and is a whole word."""
    forms, latin_edges = rule[2]
    if forms is not None and tuple(doc[i].text for i in range(start, end)) not in forms:
        return False
    return not (latin_edges and _inside_latin_word(doc, start, end))


def _inside_latin_word(doc: Doc, start: int, end: int) -> bool:
    """True when the match begins or ends flush against more Latin letters or digits."""
    first, last = doc[start], doc[end - 1]
    if start > 0 and _is_latin_alnum(first.text[0]):
        before = doc[start - 1]
        if not before.whitespace_ and _is_latin_alnum(before.text[-1]):
            return True
    if end < len(doc) and not last.whitespace_ and _is_latin_alnum(last.text[-1]):
        return _is_latin_alnum(doc[end].text[0])
    return False


def _longest_first(found: list[tuple]) -> list[tuple]:
    """Non-overlapping matches ``(key, start, end)``, longer first, then earlier (as
    ``spacy.util.filter_spans``), in text order. Works on tuples, so only the kept
    matches become Spans.

    ``found`` is in the PhraseMatcher's order (by start). Most matches overlap nothing and
    are kept as they are; each run of overlapping ones is resolved on its own, which
    gives what resolving the whole list at once gives (a choice in one run cannot
    touch another)."""
    if len(found) < 2:
        return found
    kept: list[tuple] = []
    cluster: list[tuple] = []
    cluster_start = cluster_end = -1
    for match in found:
        if match[1] >= cluster_end:
            if len(cluster) == 1:
                kept.append(cluster[0])
            elif cluster:
                kept.extend(_resolve_overlaps(cluster, cluster_start, cluster_end))
            cluster = [match]
            cluster_start, cluster_end = match[1], match[2]
        else:
            cluster.append(match)
            if match[2] > cluster_end:
                cluster_end = match[2]
    if len(cluster) == 1:
        kept.append(cluster[0])
    else:
        kept.extend(_resolve_overlaps(cluster, cluster_start, cluster_end))
    return kept


def _resolve_overlaps(cluster: list[tuple], start: int, end: int) -> list[tuple]:
    """A run of overlapping matches from ``start`` to ``end`` resolved longest first."""
    for match in cluster:
        # The usual run: a term inside a longer one ("phishing" in "phishing emails"). A
        # match covering the whole run is the longest and overlaps all the others; the
        # first such in the matcher's order is the earlier of equals (a stable sort).
        if match[1] == start and match[2] == end:
            return [match]
    cluster = sorted(cluster, key=lambda m: (m[1] - m[2], m[1]))
    taken: set[int] = set()
    kept = []
    for match in cluster:
        first, stop = match[1], match[2]
        if first not in taken and stop - 1 not in taken:
            kept.append(match)
            taken.update(range(first, stop))
    kept.sort(key=lambda m: m[1])
    return kept


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
