"""What the pages show, made from the store's data: pure functions, no requests.

Item text arrives here as plain text from feeds and leaves as :class:`Part` runs that
the templates escape; nothing in this module produces HTML.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from briefings.documents import parse_document
from briefings.errors import WorkflowError
from briefings.i18n import text_direction
from briefings.models import Item
from briefings.tlp import TLP

MAX_ITEM_CHARS = 3000  # item text shown per item (the rest is in the store and the source)


@dataclass
class Part:
    """A run of an item's text, highlighted when it is a tag or an indicator."""

    text: str
    kind: str | None = None  # "threat", "sector", "tactic", ... or "indicator"
    label: str | None = None


@dataclass
class ItemView:
    id: str
    title: list[Part]
    text: list[Part]
    truncated: bool
    url: str | None
    url_text: str | None
    sources: list[str]
    published: datetime | None
    lang: str | None
    dir: str
    tlp: TLP
    priority: int | None
    concepts: list[tuple[str, str, str]] = field(default_factory=list)  # category, id, label
    indicators: list[tuple[str, str]] = field(default_factory=list)  # type, value


def duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return ""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def translation_info(path: Path) -> dict:
    try:
        meta = parse_document(path.read_bytes(), path).meta
    except (OSError, WorkflowError):
        return {}
    info = meta.get("translation")
    return info if isinstance(info, dict) else {}


def findings(info: Mapping) -> list[dict[str, str]]:
    found = info.get("findings") if info else None
    if not isinstance(found, list):
        return []
    return [
        {k: str(f.get(k, "")) for k in ("check", "where", "message")}
        for f in found
        if isinstance(f, dict)
    ]


def diff_lines(text: str) -> list[tuple[str, str]]:
    """Lines of a unified diff with a class each: add, del, hunk, file or context."""
    lines = []
    for line in text.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = "context"
        lines.append((kind, line))
    return lines


def highlight(text: str, spans: list[tuple[int, int, str, str, str]]) -> list[Part]:
    """``text`` cut into parts, each span (start, end, kind, label, expected text) marked
    when it still points at its text; overlapping or misplaced spans are left out."""
    parts: list[Part] = []
    pos = 0
    for start, end, kind, label, expected in sorted(spans):
        if start < pos or end <= start or end > len(text):
            continue
        if text[start:end].casefold() != expected.casefold():
            continue
        if start > pos:
            parts.append(Part(text[pos:start]))
        parts.append(Part(text[start:end], kind, label))
        pos = end
    if pos < len(text):
        parts.append(Part(text[pos:]))
    return parts


def item_view(item: Item, labels: Callable[[str, str], str], lang: str) -> ItemView:
    analysis = item.analysis
    spans: list[tuple[int, int, str, str, str]] = []
    concepts: list[tuple[str, str, str]] = []
    indicators: list[tuple[str, str]] = []
    if analysis is not None:
        for tag in analysis.tags:
            label = labels(tag.concept, lang)
            spans.append((tag.start, tag.end, tag.category, f"{label} ({tag.concept})", tag.text))
            if (tag.category, tag.concept, label) not in concepts:
                concepts.append((tag.category, tag.concept, label))
        for ind in analysis.indicators:
            spans.append((ind.start, ind.end, "indicator", f"{ind.type}: {ind.value}", ind.text))
            if (ind.type, ind.value) not in indicators:
                indicators.append((ind.type, ind.value))
    title_end = len(item.title)
    offset = title_end + 2  # tagging_text is title, blank line, text
    body = item.text[:MAX_ITEM_CHARS]
    title_spans = [s for s in spans if s[1] <= title_end]
    body_spans = [(s - offset, e - offset, *rest) for s, e, *rest in spans if s >= offset]
    url = item.url if item.url and urlsplit(item.url).scheme in ("http", "https") else None
    return ItemView(
        id=item.id,
        title=highlight(item.title, title_spans),
        text=highlight(body, body_spans),  # type: ignore[arg-type]
        truncated=len(item.text) > MAX_ITEM_CHARS,
        url=url,
        url_text=item.url if item.url and url is None else None,
        sources=item.sources or [item.source_id],
        published=item.published,
        lang=item.lang,
        dir=text_direction(item.lang) if item.lang else "auto",
        tlp=item.tlp,
        priority=analysis.priority if analysis else None,
        concepts=concepts,
        indicators=indicators,
    )
