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

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import yaml
from spacy.language import Language
from spacy.tokens import Doc

from glossary import Glossary
from nlp.glossary_matcher import CONCEPTS_KEY, cached_glossary
from nlp.norm_matcher import shared_norm_matcher
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
# The "why" of each level (1-5; 0 when unset), made once.
SECTOR_WHY = {level: f"sector essentialness {level}/5" for level in range(6)}
THREAT_WHY = {level: f"threat severity {level}/5" for level in range(6)}
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
        strings = nlp.vocab.strings
        self.sector_label = strings.add("sector")
        self.threat_label = strings.add("threat")
        self.tactic_label = strings.add("tactic")
        # kb_id hash -> essentialness of a sector, severity of a threat (0 when unset)
        self.levels: dict[int, int] = {}
        self.ids: dict[int, str] = {}
        for concept in glossary.concepts:
            scale = {"sector": "essentialness", "threat": "severity"}.get(concept.category)
            if scale:
                key = strings.add(concept.id)
                self.levels[key] = getattr(concept, scale) or 0
                self.ids[key] = concept.id
        # Signal words share the pipeline's NORM matcher pass (:mod:`nlp.norm_matcher`).
        self.signals = shared_norm_matcher(nlp)
        prefix = self.signals.owner(name)
        self.signal_keys = {kind: strings.add(prefix + kind) for kind in SIGNAL_POINTS}
        for kind, by_lang in load_signals().items():
            words = by_lang.get(nlp.lang, [])
            if words:
                self.signals.add(prefix + kind, nlp.tokenizer.pipe(words))

    def __call__(self, doc: Doc) -> Doc:
        reasons: list[dict] = []
        groups = doc.spans.data  # the SpanGroups' dict: no UserDict method per lookup
        # One pass over the concept spans, on hashes: strings and Concept objects are
        # looked up only for the winners.
        best: dict[int, tuple[int, int]] = {}  # label -> (level, kb_id), the first highest
        tactic = 0
        levels = self.levels
        tactic_label = self.tactic_label
        for label, kb_id in self._concepts(doc, groups.get(self.concepts_key)):
            level = levels.get(kb_id)
            if level is None:
                if label == tactic_label and not tactic:
                    tactic = kb_id
                continue
            held = best.get(label)
            if held is None or level > held[0]:
                best[label] = (level, kb_id)
        sector = best.get(self.sector_label)
        if sector is not None:
            level, kb_id = sector
            reasons.append(
                _reason(
                    "sector",
                    self.ids[kb_id],
                    level * SECTOR_POINTS,
                    SECTOR_WHY.get(level) or f"sector essentialness {level}/5",
                )
            )
        threat = best.get(self.threat_label)
        if threat is not None:
            level, kb_id = threat
            reasons.append(
                _reason(
                    "threat",
                    self.ids[kb_id],
                    level * THREAT_POINTS,
                    THREAT_WHY.get(level) or f"threat severity {level}/5",
                )
            )
        seen = {match[0] for match in self.signals(doc)}
        for kind, key in self.signal_keys.items():
            if key in seen:
                reasons.append(_reason("signal", None, SIGNAL_POINTS[kind], SIGNAL_WHY[kind]))
        if tactic and sector is not None and sector[0] >= ESSENTIAL_MIN:
            reasons.append(
                _reason(
                    "tactic",
                    doc.vocab.strings[tactic],
                    TACTIC_ON_ESSENTIAL_POINTS,
                    "disinformation about an essential sector",
                )
            )
        indicators = groups.get(self.indicators_key)
        if indicators is not None and len(indicators):
            reasons.append(
                _reason("indicators", None, ACTIONABLE_POINTS, "CVE ids or indicators to act on")
            )
        underscore = doc._
        underscore.priority = min(100, sum(r["points"] for r in reasons))
        underscore.priority_reasons = reasons
        return doc

    def _concepts(self, doc: Doc, group) -> Iterable[tuple[int, int]]:
        """(label, kb_id) hashes of the concept spans: from the glossary component's plain
        copy when it matches the spans (cheaper than reading the SpanGroup back)."""
        found = doc.user_data.get(CONCEPTS_KEY)
        if group is None:
            group = ()
        if found is not None and len(found) == len(group):
            return [(label, kb_id) for _, _, kb_id, label in found]
        return [(span.label, span.kb_id) for span in group]


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
