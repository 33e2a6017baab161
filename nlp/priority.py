"""The ``briefings_priority`` component: an explainable civilian-impact priority.

The score (0-100) adds up reasons a reader can check, each kept in
``doc._.priority_reasons`` as ``{"factor", "concept", "points", "why"}``:

- the most essential civilian sector named (glossary ``essentialness`` 1-5): 8 points each;
- the most severe threat named (glossary ``severity`` 1-5): 6 points each;
- signs that it is happening now: exploitation (+12), disruption of a service (+12),
  people affected (+8), each counted once (words in ``nlp/data/signals.yaml``);
- a disinformation tactic riding on an essential sector (+6);
- a CVE id or indicators to act on (+4).

It runs after the glossary and indicators components and reads their spans.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from operator import itemgetter

import yaml
from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc

from briefings.wording import INDICATORS_WHY, SIGNAL_WHY, TACTIC_WHY, sector_why, threat_why
from glossary import Glossary
from nlp.glossary_matcher import CONCEPTS_KEY, cached_glossary
from nlp.norm_matcher import shared_norm_matcher
from nlp.normalization import install_folding

SECTOR_POINTS = 8
THREAT_POINTS = 6
SIGNAL_POINTS = {"exploited": 12, "disruption": 12, "harm": 8}
TACTIC_ON_ESSENTIAL_POINTS = 6
ACTIONABLE_POINTS = 4
ESSENTIAL_MIN = 4
# The reasons' "why" texts live in briefings.wording: drafts carry them, and the publish
# leak scan must know them as boilerplate.

# Where spaCy keeps a Doc extension's value (``Underscore._get_key``).
PRIORITY_KEY = ("._.", "priority", None, None)
REASONS_KEY = ("._.", "priority_reasons", None, None)

_POINTS = itemgetter("points")

if not Doc.has_extension("priority"):
    Doc.set_extension("priority", default=0)
if not Doc.has_extension("priority_reasons"):
    Doc.set_extension("priority_reasons", default=None)


@lru_cache(maxsize=1)
def load_signals() -> dict[str, dict[str, list[str]]]:
    text = (resources.files("nlp") / "data" / "signals.yaml").read_text("utf-8")
    return yaml.safe_load(text)


class PriorityScorer:
    """Scores a Doc from its concept and indicator spans and signal words."""

    # Signal words are matched on NORM (:func:`nlp.pipeline.compute_only_what_is_read`).
    lexical_attributes = frozenset({NORM})

    def __init__(
        self, nlp: Language, name: str, concepts_key: str, indicators_key: str, glossary: Glossary
    ):
        self.name = name
        self.concepts_key = concepts_key
        self.indicators_key = indicators_key
        self.glossary = glossary
        install_folding(nlp)
        strings = nlp.vocab.strings
        self.labels = (strings.add("sector"), strings.add("threat"), strings.add("tactic"))
        # kb_id hash -> essentialness of a sector, severity of a threat (0 when unset), and
        # the reason it gives (copied into each Doc's reasons, which are the Doc's own).
        self.levels: dict[int, int] = {}
        self.reasons: dict[int, dict] = {}
        for concept in glossary.concepts:
            if concept.category == "sector":
                level = concept.essentialness or 0
                reason = _reason("sector", concept.id, level * SECTOR_POINTS, sector_why(level))
            elif concept.category == "threat":
                level = concept.severity or 0
                reason = _reason("threat", concept.id, level * THREAT_POINTS, threat_why(level))
            else:
                continue
            key = strings.add(concept.id)
            self.levels[key] = level
            self.reasons[key] = reason
        self.indicators_reason = _reason("indicators", None, ACTIONABLE_POINTS, INDICATORS_WHY)
        # Signal words share the pipeline's NORM matcher pass (:mod:`nlp.norm_matcher`).
        self.signals = shared_norm_matcher(nlp)
        prefix = self.signals.owner(name)
        self.signal_reasons = [
            (strings.add(prefix + kind), _reason("signal", None, points, SIGNAL_WHY[kind]))
            for kind, points in SIGNAL_POINTS.items()
        ]
        for kind, by_lang in load_signals().items():
            words = by_lang.get(nlp.lang, [])
            if words:
                self.signals.add(prefix + kind, nlp.tokenizer.pipe(words))

    def __call__(self, doc: Doc) -> Doc:
        sector, threat, tactic = self._best_concepts(doc)
        reasons: list[dict] = []
        if sector is not None:
            reasons.append(self.reasons[sector].copy())
        if threat is not None:
            reasons.append(self.reasons[threat].copy())
        seen = self.signals.match_ids(doc)
        for key, reason in self.signal_reasons:
            if key in seen:
                reasons.append(reason.copy())
        if tactic and sector is not None and self.levels[sector] >= ESSENTIAL_MIN:
            reasons.append(
                _reason(
                    "tactic",
                    doc.vocab.strings[tactic],
                    TACTIC_ON_ESSENTIAL_POINTS,
                    TACTIC_WHY,
                )
            )
        indicators = doc.spans.data.get(self.indicators_key)
        if indicators is not None and len(indicators):
            reasons.append(self.indicators_reason.copy())
        # What ``doc._.priority = ...`` stores, written directly: the Underscore object
        # and its checks cost more than the rest of this method (doc extensions live in
        # user_data under ("._.", name, None, None); the tests read them back through doc._).
        user_data = doc.user_data
        user_data[PRIORITY_KEY] = min(100, sum(map(_POINTS, reasons)))
        user_data[REASONS_KEY] = reasons
        return doc

    def _best_concepts(self, doc: Doc) -> tuple[int | None, int | None, int]:
        """The kb_id hashes of the most essential sector and the most severe threat (the
        first of equals; None when there is none) and of the first tactic (0 when none)."""
        group = doc.spans.data.get(self.concepts_key)  # no UserDict method per lookup
        found = doc.user_data.get(CONCEPTS_KEY)
        if found is not None and group is not None and len(found) == len(group):
            # The glossary component's rules of its spans (rule[0] kb_id, rule[1] label):
            # reading the SpanGroup back would make a Span object per item.
            pairs = found
        else:
            pairs = [(span.kb_id, span.label) for span in group or ()]
        levels = self.levels
        sector_label, threat_label, tactic_label = self.labels
        sector = threat = None
        sector_level = threat_level = -1
        tactic = 0
        for pair in pairs:
            kb_id, label = pair[0], pair[1]
            level = levels.get(kb_id)
            if level is None:
                if label == tactic_label and not tactic:
                    tactic = kb_id
            elif label == sector_label:
                if level > sector_level:
                    sector, sector_level = kb_id, level
            elif label == threat_label and level > threat_level:
                threat, threat_level = kb_id, level
        return sector, threat, tactic


def _reason(factor: str, concept: str | None, points: int, why: str) -> dict:
    return {"factor": factor, "concept": concept, "points": points, "why": why}


@Language.factory(
    "briefings_priority",
    default_config={
        "concepts_key": "concepts",
        "indicators_key": "indicators",
        "glossary_paths": None,
    },
)
def make_priority_scorer(
    nlp: Language,
    name: str,
    concepts_key: str,
    indicators_key: str,
    glossary_paths: list[str] | None,
) -> PriorityScorer:
    glossary = cached_glossary(tuple(glossary_paths) if glossary_paths else None)
    return PriorityScorer(nlp, name, concepts_key, indicators_key, glossary)
