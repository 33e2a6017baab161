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

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ISO 8601 UTC times, TLP as its label."""
        data = asdict(self)
        data["tlp"] = self.tlp.value
        for name in ("published", "updated"):
            value = data[name]
            data[name] = value.isoformat().replace("+00:00", "Z") if value else None
        data["source"] = data.pop("source_id")
        return data


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
