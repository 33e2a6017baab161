"""Traffic Light Protocol 2.0 labels, their order, and parsing of older labels."""

from __future__ import annotations

from enum import StrEnum


class TLP(StrEnum):
    """TLP 2.0 labels, ordered from least to most restricted."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def allows(self, other: TLP) -> bool:
        """True when content marked ``other`` may reach an audience capped at ``self``."""
        return other.rank <= self.rank

    @classmethod
    def parse(cls, value: str | TLP) -> TLP:
        """Parse a label as written in configs, CSAF or feeds.

        Accepts ``TLP:`` prefixes, any case, and TLP 1.0's WHITE (= CLEAR).
        Raises ValueError naming the accepted labels.
        """
        if isinstance(value, TLP):
            return value
        text = str(value).strip().upper().removeprefix("TLP:").replace(" ", "")
        text = _ALIASES.get(text, text)
        try:
            return cls(text)
        except ValueError:
            accepted = ", ".join(label.value for label in cls)
            raise ValueError(f"unknown TLP label {value!r}; use one of {accepted}") from None


_ORDER = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]
_ALIASES = {"WHITE": "CLEAR", "AMBER_STRICT": "AMBER+STRICT", "AMBERSTRICT": "AMBER+STRICT"}


def strictest(*labels: TLP) -> TLP:
    """The most restricted of ``labels`` (CLEAR when none)."""
    return max(labels, key=lambda label: label.rank, default=TLP.CLEAR)
