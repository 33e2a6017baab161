"""Data that flows through ingestion: parsed entries, stored items, reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from briefings.tlp import TLP


@dataclass
class Entry:
    """One entry as a parser read it from a source, before normalizing.

    ``key`` identifies the entry within its source (guid, id or link);
    ``global_key`` identifies it across sources when that is knowable (the
    canonical link, or a CSAF publisher namespace and tracking id).
    HTML fields are raw and untrusted.
    """

    key: str
    title: str
    url: str | None = None
    global_key: str | None = None
    summary_html: str = ""
    content_html: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    lang: str | None = None
    tlp: TLP | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Item:
    """A normalized, sanitized item revision as stored."""

    id: str
    source_id: str
    url: str | None
    title: str
    summary: str
    html: str
    text: str
    published: datetime | None
    updated: datetime | None
    lang: str | None
    lang_declared: str | None
    lang_confidence: float | None
    tlp: TLP
    content_hash: str
    revision: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)
    analysis: Analysis | None = None

    @property
    def tagging_text(self) -> str:
        """The text tags point into: title, blank line, body (offsets are in this)."""
        return f"{self.title}\n\n{self.text}"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ISO 8601 UTC times, TLP as its label, tags when tagged."""
        analysis = self.analysis
        data = asdict(self)
        data.pop("analysis")
        data.update(analysis.to_json() if analysis else Analysis.untagged_json())
        data["tlp"] = self.tlp.value
        for name in ("published", "updated"):
            value = data[name]
            data[name] = value.isoformat().replace("+00:00", "Z") if value else None
        data["source"] = data.pop("source_id")
        return data


@dataclass
class Tag:
    """A glossary concept found in an item; offsets index :attr:`Item.tagging_text`."""

    concept: str
    category: str
    text: str
    start: int
    end: int


@dataclass
class Indicator:
    """An indicator of compromise or CVE id: ``value`` refanged, ``text`` as written."""

    type: str
    value: str
    text: str
    start: int
    end: int


@dataclass
class Entity:
    """A named entity from a trained spaCy pipeline (``[tagging] trained_models``), with
    the pipeline's label (PERSON, ORG, GPE...); offsets as :class:`Tag`'s."""

    label: str
    text: str
    start: int
    end: int


@dataclass
class Analysis:
    """What tagging found in one item revision."""

    item_id: str
    revision: int
    tagger: str
    tags: list[Tag] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    priority: int = 0
    reasons: list[dict[str, Any]] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "tags": [asdict(t) for t in self.tags],
            "indicators": [asdict(i) for i in self.indicators],
            "countries": list(self.countries),
            "entities": [asdict(e) for e in self.entities],
            "priority": {"score": self.priority, "reasons": list(self.reasons)},
            "tagger": self.tagger,
        }

    @staticmethod
    def untagged_json() -> dict[str, Any]:
        return {
            "tags": [],
            "indicators": [],
            "countries": [],
            "entities": [],
            "priority": None,
            "tagger": None,
        }


SourceStatus = Literal["ok", "not-modified", "error", "skipped"]


@dataclass
class SourceReport:
    """What ingesting one source did; problems in content are data, not exceptions."""

    source: str
    status: SourceStatus = "ok"
    new: int = 0
    updated: int = 0
    duplicates: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    transient: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


BRIEFING_KINDS = ("digest", "alert", "debunk")
BRIEFING_STATES = (
    "draft",
    "in-review",
    "approved",
    "published",
    "rejected",
    "withdrawn",
    "corrected",
)


@dataclass
class BriefingRecord:
    """What the store knows of one briefing; the Markdown file holds its content.

    ``state`` is authoritative here, not in the file: approving must not change
    the approved bytes. ``drafted_hash`` is the hash of the file as the drafting
    flow last wrote it, so a human edit is recognised and never overwritten.
    """

    id: str
    kind: str
    lang: str
    path: str
    state: str
    title: str
    tlp: TLP
    priority: int
    content_hash: str
    version: int = 1
    period: str | None = None
    drafted_hash: str | None = None
    last_editor: str | None = None
    corrects: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    state_reason: str | None = None


@dataclass
class ApprovalRecord:
    """One officer's approval of the exact bytes whose SHA-256 is ``sha256``."""

    id: int
    briefing_id: str
    lang: str
    officer: str
    approved_at: datetime
    note: str | None
    sha256: str
    voided_at: datetime | None = None
    void_reason: str | None = None

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None


@dataclass
class AuditEntry:
    """One line of the hash-chained audit log."""

    seq: int
    at: str
    actor: str
    action: str
    briefing_id: str | None
    lang: str | None
    content_hash: str | None
    details: dict[str, Any]
    prev_hash: str
    entry_hash: str
