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

import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from glossary import Glossary
from nlp.glossary_matcher import cached_glossary
from nlp.normalization import install_folding

SECTOR_POINTS = 8
THREAT_POINTS = 6
SIGNAL_POINTS = {"exploited": 12, "disruption": 12, "harm": 8}
SIGNAL_WHY = {
    "exploited": "exploitation is under way",
    "disruption": "a service is disrupted",
    "harm": "people are affected",
}
TACTIC_ON_ESSENTIAL_POINTS = 6
ACTIONABLE_POINTS = 4
ESSENTIAL_MIN = 4

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

    def __init__(
        self, nlp: Language, name: str, concepts_key: str, indicators_key: str, glossary: Glossary
    ):
        self.name = name
        self.concepts_key = concepts_key
        self.indicators_key = indicators_key
        self.glossary = glossary
        install_folding(nlp)
        self.signals = PhraseMatcher(nlp.vocab, attr="NORM")
        for kind, by_lang in load_signals().items():
            words = by_lang.get(nlp.lang, [])
            if words:
                self.signals.add(kind, [nlp.make_doc(word) for word in words])

    def __call__(self, doc: Doc) -> Doc:
        reasons: list[dict] = []
        concepts = list(doc.spans[self.concepts_key]) if self.concepts_key in doc.spans else []
        sector = self._most(concepts, "sector", "essentialness")
        if sector is not None:
            level = sector.essentialness or 0
            reasons.append(
                _reason(
                    "sector", sector.id, level * SECTOR_POINTS, f"sector essentialness {level}/5"
                )
            )
        threat = self._most(concepts, "threat", "severity")
        if threat is not None:
            level = threat.severity or 0
            reasons.append(
                _reason("threat", threat.id, level * THREAT_POINTS, f"threat severity {level}/5")
            )
        seen = {doc.vocab.strings[match_id] for match_id, _, _ in self.signals(doc)}
        for kind in SIGNAL_POINTS:
            if kind in seen:
                reasons.append(_reason("signal", None, SIGNAL_POINTS[kind], SIGNAL_WHY[kind]))
        tactic = next((s.kb_id_ for s in concepts if s.label_ == "tactic"), None)
        if tactic and sector is not None and (sector.essentialness or 0) >= ESSENTIAL_MIN:
            reasons.append(
                _reason(
                    "tactic",
                    tactic,
                    TACTIC_ON_ESSENTIAL_POINTS,
                    "disinformation about an essential sector",
                )
            )
        if self.indicators_key in doc.spans and len(doc.spans[self.indicators_key]):
            reasons.append(
                _reason("indicators", None, ACTIONABLE_POINTS, "CVE ids or indicators to act on")
            )
        doc._.priority = min(100, sum(r["points"] for r in reasons))
        doc._.priority_reasons = reasons
        return doc

    def _most(self, spans, category: str, scale: str):
        best = None
        for span in spans:
            if span.label_ != category:
                continue
            concept = self.glossary.concept(span.kb_id_)
            if best is None or (getattr(concept, scale) or 0) > (getattr(best, scale) or 0):
                best = concept
        return best


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
