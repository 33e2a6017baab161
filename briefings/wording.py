"""Fixed wording that drafts carry although the drafting templates do not hold it.

The alert template writes each priority reason as ``- {{ reason.why }} ({{ reason.label
}}): +{{ reason.points }}``; the ``why`` comes from the tagger (:mod:`nlp.priority`),
which takes it from here. A debunk's verdict is a placeholder the drafter passes in until
an officer rates the claim. Every unedited draft shares these texts whatever its TLP
label, so the leak scan must know them as boilerplate (:mod:`briefings.boilerplate`
expands the template lines that write them); keeping them in one place, free of spaCy,
lets both sides read the same words.
"""

from __future__ import annotations

LEVELS = range(6)  # the glossary's scales run from 1 to 5; 0 when a concept has none

SIGNAL_WHY = {
    "exploited": "exploitation is under way",
    "disruption": "a service is disrupted",
    "harm": "people are affected",
}
TACTIC_WHY = "disinformation about an essential sector"
INDICATORS_WHY = "CVE ids or indicators to act on"

PENDING_VERDICT = (
    "An officer rates this claim (false, misleading, unproven or true) "
    "in the front matter and explains the verdict here."
)


def sector_why(level: int) -> str:
    """Why a sector of essentialness ``level`` raises the priority."""
    return f"sector essentialness {level}/5"


def threat_why(level: int) -> str:
    """Why a threat of severity ``level`` raises the priority."""
    return f"threat severity {level}/5"


def reason_whys() -> list[str]:
    """Every ``why`` the tagger writes (for the glossary's levels), in a fixed order."""
    return [
        *map(sector_why, LEVELS),
        *map(threat_why, LEVELS),
        *SIGNAL_WHY.values(),
        TACTIC_WHY,
        INDICATORS_WHY,
    ]
