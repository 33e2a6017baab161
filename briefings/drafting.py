"""Drafting: tagged items become briefing drafts (digest, alert, debunk) in ``content/``.

Items about the same event are grouped first (:func:`group_events`). Then, per
period and TLP label, one digest; per high-priority event, one alert; per event
carrying a disinformation tactic, one debunk. Drafting is deterministic and
idempotent: re-running rewrites only drafts that a flow wrote and nobody has
edited or approved since; a briefing that is approved, published, or edited by
an officer is never changed, and new items for its period go to an addendum. An
alert's or debunk's addendum below the TLP of its lineage is named after its own items,
never after the base's (restricted) lead.
"""

from __future__ import annotations

import hashlib
import logging
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib import resources

import jinja2
import yaml

from briefings.audit import AuditLog
from briefings.documents import render_document, sha256_bytes, write_atomically
from briefings.errors import BriefingsError
from briefings.labels import glossary_labels
from briefings.models import BriefingRecord, Item
from briefings.store import Store
from briefings.tlp import TLP, strictest
from briefings.wording import PENDING_VERDICT
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
DRAFTER = "system:draft"
# Characters both Python-Markdown and CommonMark unescape after a backslash. A ``<``
# that could open a tag or autolink and an ``&`` that could start an entity become
# entities instead: Python-Markdown takes no backslash before them.
_MD_ENTITY_OR_TAG = re.compile(r"&(?=#?\w+;)|<(?=[A-Za-z/!?])")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}>#])")
_MD_LIST_START = re.compile(r"^(\d+)([.)])|^([-+])(?=\s|$)")


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- events ---------------------------------------------------------------------------


@dataclass
class Event:
    """Items from one or more sources about the same thing."""

    items: list[Item]

    @cached_property
    def lead(self) -> Item:
        """The item that speaks for the event: highest priority, then earliest."""
        return sorted(self.items, key=lambda i: (-_priority(i), _when(i), i.id))[0]

    @property
    def priority(self) -> int:
        return max(_priority(i) for i in self.items)

    @property
    def tlp(self) -> TLP:
        return strictest(*(i.tlp for i in self.items))

    @property
    def sources(self) -> list[str]:
        return sorted({s for i in self.items for s in (i.sources or [i.source_id])})

    def concepts(self, category: str) -> list[str]:
        found = {
            t.concept
            for i in self.items
            if i.analysis
            for t in i.analysis.tags
            if t.category == category
        }
        return sorted(found)

    @property
    def countries(self) -> list[str]:
        return sorted({c for i in self.items if i.analysis for c in i.analysis.countries})

    @property
    def indicators(self) -> list[dict]:
        seen: dict[str, dict] = {}
        for item in self.items:
            for ind in item.analysis.indicators if item.analysis else []:
                seen.setdefault(ind.value, {"type": ind.type, "value": ind.value})
        return sorted(seen.values(), key=lambda d: (d["type"] != "cve", d["type"], d["value"]))

    @property
    def key(self) -> str:
        """A stable identity: the smallest item id (groups only grow)."""
        return min(i.id for i in self.items)


def _priority(item: Item) -> int:
    return item.analysis.priority if item.analysis else 0


def _when(item: Item) -> datetime:
    return item.published or item.updated or datetime.min.replace(tzinfo=UTC)


def _concepts(item: Item, category: str) -> set[str]:
    return (
        {t.concept for t in item.analysis.tags if t.category == category}
        if item.analysis
        else set()
    )


def _cves(item: Item) -> set[str]:
    return (
        {i.value for i in item.analysis.indicators if i.type == "cve"} if item.analysis else set()
    )


def same_event(a: Item, b: Item, window: timedelta) -> bool:
    """Two items report one event: the same CVE, or the same threat hitting the same
    sector close in time (whatever their languages) and not in different countries."""
    if _cves(a) & _cves(b):
        return True
    if abs(_when(a) - _when(b)) > window:
        return False
    if not (
        _concepts(a, "threat") & _concepts(b, "threat")
        and _concepts(a, "sector") & _concepts(b, "sector")
    ):
        return False
    countries_a = set(a.analysis.countries) if a.analysis else set()
    countries_b = set(b.analysis.countries) if b.analysis else set()
    return not (countries_a and countries_b and not countries_a & countries_b)


def group_events(items: list[Item], window: timedelta) -> list[Event]:
    """Items grouped into events (union of every pair that :func:`same_event` links)."""
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if same_event(items[i], items[j], window):
                parent[find(i)] = find(j)
    groups: dict[int, list[Item]] = {}
    for index, item in enumerate(items):
        groups.setdefault(find(index), []).append(item)
    events = [Event(sorted(group, key=lambda i: i.id)) for group in groups.values()]
    return sorted(events, key=lambda e: (-e.priority, e.key))


# -- rendering ------------------------------------------------------------------------


class DraftingError(BriefingsError):
    """A draft template (usually a workspace override) cannot be loaded or rendered."""


def _template_error(template: str, exc: Exception) -> DraftingError | None:
    """A DraftingError naming the template file and line, or None when the error
    did not come from a template (then it is a bug of ours and propagates)."""
    where, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if not isinstance(exc, jinja2.TemplateSyntaxError):
        # Render-time errors: Jinja2 rewrites the traceback to show template lines.
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
        if frames:
            where, line = frames[-1].filename, frames[-1].lineno
        elif not isinstance(exc, jinja2.TemplateError):
            return None
    at = f"{where or template}:{line}" if line else (where or template)
    message = getattr(exc, "message", None) or str(exc)
    return DraftingError(f"draft template {at}: {type(exc).__name__}: {message}")


class Renderer:
    """Jinja2 templates (workspace ``templates/drafts/`` first, then the shipped ones)."""

    def __init__(self, workspace: Workspace, labels: Callable[[str], str]):
        loaders: list[jinja2.BaseLoader] = []
        override = workspace.root / "templates" / "drafts"
        if override.is_dir():
            loaders.append(jinja2.FileSystemLoader(str(override)))
        loaders.append(jinja2.PackageLoader("briefings", "templates/drafts"))
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            # Lines holding only a block tag vanish; a line of text that ends with a
            # block tag keeps its newline by closing it with "+%}" (see the templates).
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,  # Markdown, not HTML: text is escaped with the md filter
        )
        self.env.filters["md"] = markdown_escape
        self.env.filters["md_url"] = markdown_url
        self.labels = labels
        advice_text = (resources.files("briefings") / "templates" / "advice.yaml").read_text(
            "utf-8"
        )
        self.advice = yaml.safe_load(advice_text)

    def render(self, template: str, **context) -> str:
        """The template rendered; DraftingError naming the file and line when it is broken."""
        try:
            body = self.env.get_template(template).render(**context)
        except Exception as exc:
            error = _template_error(template, exc)
            if error is None:
                raise
            raise error from None
        return re.sub(r"\n{3,}", "\n\n", body).strip() + "\n"

    def event_context(self, event: Event, lang: str) -> dict:
        lead = event.lead
        threats = event.concepts("threat")
        reasons = []
        for reason in lead.analysis.reasons if lead.analysis else []:
            label = self.labels(reason["concept"]) if reason.get("concept") else None
            reasons.append({**reason, "label": label})
        # The most severe threat (the one the priority counted) speaks first.
        severest = [
            r["concept"] for r in reasons if r.get("factor") == "threat" and r.get("concept")
        ]
        ordered = severest + [t for t in threats if t not in severest]
        advice = next((self.advice[t] for t in ordered if t in self.advice), self.advice["default"])
        links = [
            {
                "title": i.title,
                "url": i.url,
                "source": ", ".join(i.sources or [i.source_id]),
                "lang": i.lang,
            }
            for i in sorted(event.items, key=lambda i: (_when(i), i.id))
        ]
        return {
            "title": lead.title,
            "summary": lead.summary or lead.title,
            "priority": event.priority,
            "threat_labels": [self.labels(t) for t in threats],
            "sector_labels": [self.labels(s) for s in event.concepts("sector")],
            "tactic_labels": [self.labels(t) for t in event.concepts("tactic")],
            "countries": event.countries,
            "indicators": event.indicators[:20],
            "source_count": len(event.sources),
            "links": links,
            "advice": advice,
            "reasons": reasons,
        }


def markdown_url(url: str) -> str:
    """A link target that cannot break out of ``(...)``: http(s) only, and the
    characters that end a Markdown link or start HTML percent-encoded."""
    from urllib.parse import quote, urlsplit

    if urlsplit(str(url)).scheme not in ("http", "https"):
        return ""
    return quote(str(url), safe=":/?#@!$&'*+,;=%~.-_")


def markdown_escape(text: str) -> str:
    """Text from feeds made inert in Markdown: no markup, links or HTML of its own.

    One line that any Markdown engine renders back as exactly the same text.
    """
    text = _MD_ENTITY_OR_TAG.sub(
        lambda m: "&amp;" if m[0] == "&" else "&lt;", " ".join(str(text).split())
    )
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_LIST_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


# -- the drafting stage --------------------------------------------------------------


@dataclass
class DraftReport:
    """What one drafting pass did, briefing ids per outcome."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # approved, published or edited by a person
    untagged_items: int = 0

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class _Planned:
    id: str
    kind: str
    period: str | None
    tlp: TLP
    priority: int
    title: str
    meta: dict
    body: str
    item_ids: list[str]


class Drafter:
    """Plans briefings from the store's tagged items and writes them as drafts."""

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        labels: Callable[[str], str],
        *,
        clock: Clock = utcnow,
    ):
        self.workspace = workspace
        self.store = store
        self.settings = workspace.config.drafting
        self.lang = workspace.config.workspace.source_lang
        self.renderer = Renderer(workspace, labels)
        self.audit = AuditLog(store)
        self.clock = clock

    def period_of(self, item: Item) -> str:
        when = _when(item)
        if self.settings.period == "weekly":
            year, week, _ = when.isocalendar()
            return f"{year}-W{week:02d}"
        return when.strftime("%Y-%m-%d")

    def run(self) -> DraftReport:
        report = DraftReport()
        items = self.store.list_items()
        tagged = [i for i in items if i.analysis is not None]
        report.untagged_items = len(items) - len(tagged)
        window = timedelta(hours=self.settings.group_window_hours)
        for plan in self.plan(tagged, window):
            self._write(plan, report)
        return report

    def plan(self, items: list[Item], window: timedelta) -> list[_Planned]:
        plans: list[_Planned] = []
        by_period: dict[str, list[Item]] = {}
        for item in items:
            by_period.setdefault(self.period_of(item), []).append(item)
        for period, period_items in sorted(by_period.items()):
            events = group_events(period_items, window)
            # One digest per TLP label, so a restricted item never hides a public digest.
            by_tlp: dict[TLP, list[Event]] = {}
            for event in events:
                by_tlp.setdefault(event.tlp, []).append(event)
            for tlp, tlp_events in sorted(by_tlp.items(), key=lambda kv: kv[0].rank):
                plans.append(self._digest(period, tlp, tlp_events))
            for event in events:
                if event.priority >= self.settings.alert_priority:
                    plans.append(self._alert(event))
                if event.concepts("tactic"):
                    plans.append(self._debunk(event))
        return plans

    def _digest(self, period: str, tlp: TLP, events: list[Event]) -> _Planned:
        events = events[: self.settings.max_entries]
        sections: dict[str, list[Event]] = {}
        for event in events:
            sectors = event.concepts("sector")
            sections.setdefault(sectors[0] if sectors else "", []).append(event)
        ordered = sorted(
            sections.items(), key=lambda kv: (kv[0] == "", -max(e.priority for e in kv[1]), kv[0])
        )
        label = "Daily digest" if self.settings.period == "daily" else "Weekly digest"
        title = f"{label} {period}" + ("" if tlp is TLP.CLEAR else f" (TLP:{tlp.value})")
        suffix = "" if tlp is TLP.CLEAR else f"-{tlp.value.lower().replace('+', '-')}"
        context = {
            "title": title,
            "lang": self.lang,
            "tlp": tlp.value,
            "events": events,
            "source_count": len({s for e in events for s in e.sources}),
            "sections": [
                {
                    "label": self.renderer.labels(sector) if sector else "Other",
                    "events": [self.renderer.event_context(e, self.lang) for e in group],
                }
                for sector, group in ordered
            ],
        }
        body = self.renderer.render("digest.md.j2", **context)
        summary = "; ".join(e.lead.title for e in events[:3]) + ("; …" if len(events) > 3 else "")
        return self._planned(
            f"digest-{period}{suffix}", "digest", period, tlp, events, title, body,
            {"summary": summary},
        )  # fmt: skip

    def _alert(self, event: Event, briefing_id: str | None = None) -> _Planned:
        """The alert for ``event``, under ``briefing_id`` (by default the event's own)."""
        ctx = self.renderer.event_context(event, self.lang)
        title = f"Alert: {event.lead.title}"
        body = self.renderer.render(
            "alert.md.j2", title=title, lang=self.lang, tlp=event.tlp.value, event=ctx
        )
        briefing_id = briefing_id or self._event_id("alert", event)
        return self._planned(
            briefing_id, "alert", None, event.tlp, [event], title, body, {"summary": ctx["summary"]}
        )

    def _debunk(self, event: Event, briefing_id: str | None = None) -> _Planned:
        """The debunk for ``event``, under ``briefing_id`` (by default the event's own)."""
        ctx = self.renderer.event_context(event, self.lang)
        evidence = [
            {"title": link["title"], "url": link["url"], "source": link["source"]}
            for link in ctx["links"]
        ]
        claim = event.lead.title
        title = f"Debunk: {claim}"
        extra = {
            "summary": claim,
            "claim": claim,
            "rating": "unrated",
            "evidence": [{"source": e["source"], "url": e["url"]} for e in evidence],
        }
        body = self.renderer.render(
            "debunk.md.j2", title=title, lang=self.lang, tlp=event.tlp.value, event=ctx, claim=claim,
            rating="not yet rated", evidence=evidence,
            verdict_text=PENDING_VERDICT,
        )  # fmt: skip
        briefing_id = briefing_id or self._event_id("debunk", event)
        return self._planned(briefing_id, "debunk", None, event.tlp, [event], title, body, extra)

    def _event_id(self, kind: str, event: Event) -> str:
        """The id the event's briefing of ``kind`` is planned under: the base of its
        lineage (an event keeps its briefing when items join it), else a fresh id.

        The lineage is every briefing of ``kind`` holding any of the event's items; its
        base is the first one made (a later addendum may be named after its own items,
        see :meth:`_event_target`, and must never be taken for the base)."""
        lineage = self.store.briefings_holding(kind, [i.id for i in event.items])
        if lineage:
            return _stem(lineage[0].id)
        return self._fresh_id(kind, event)

    def _fresh_id(self, kind: str, event: Event) -> str:
        """``kind-period-slug of the lead's title-6 hex of the event key``."""
        slug = _slugify(event.lead.title)[:48].strip("-")
        digest = hashlib.sha256(event.key.encode()).hexdigest()[:6]
        return f"{kind}-{self.period_of(event.lead)}-{slug}-{digest}"

    def _planned(
        self, briefing_id: str, kind: str, period: str | None, tlp: TLP, events: list[Event], title: str,
        body: str, extra: dict,
    ) -> _Planned:  # fmt: skip
        items = [i for e in events for i in e.items]
        meta = {
            "id": briefing_id,
            "kind": kind,
            "title": title,
            "lang": self.lang,
            "tlp": tlp.value,
            "priority": max((e.priority for e in events), default=0),
            "sectors": sorted({c for e in events for c in e.concepts("sector")}),
            "threats": sorted({c for e in events for c in e.concepts("threat")}),
            "tactics": sorted({c for e in events for c in e.concepts("tactic")}),
            "countries": sorted({c for e in events for c in e.countries}),
            "sources": [
                {"item": i.id, "source": (i.sources or [i.source_id])[0], "url": i.url}
                for i in sorted(items, key=lambda i: i.id)
            ],
            **extra,
        }
        if period:
            meta["period"] = period
        priority = meta["priority"]
        return _Planned(
            briefing_id, kind, period, tlp, priority, title, meta, body, [i.id for i in items]
        )

    # -- writing ----------------------------------------------------------------------

    def _target(self, plan: _Planned) -> tuple[str, BriefingRecord | None, list[str]]:
        """The id to write ``plan`` under, the record there (if any), and its items.

        When a briefing can no longer be changed by a flow, new items go to an
        addendum holding only them. Digests chain by id (``id--2``, ``id--3`` ...);
        alerts and debunks follow their event's lineage (:meth:`_event_target`).
        """
        if plan.kind == "digest":
            return self._digest_target(plan)
        return self._event_target(plan)

    def _digest_target(self, plan: _Planned) -> tuple[str, BriefingRecord | None, list[str]]:
        # A digest's id names only its period and TLP, so an addendum may share its stem.
        base = plan.id
        item_ids = plan.item_ids
        n = 1
        while True:
            candidate = base if n == 1 else f"{base}--{n}"
            record = self.store.get_briefing(candidate)
            if record is None or self._is_open(record):
                return candidate, record, item_ids
            item_ids = [i for i in item_ids if i not in set(self.store.briefing_items(candidate))]
            if not item_ids:
                return candidate, record, []
            n += 1

    def _event_target(self, plan: _Planned) -> tuple[str, BriefingRecord | None, list[str]]:
        """Items held by any closed briefing of the lineage are never drafted again; the
        rest go to the first open briefing of the lineage whose id may name them, else
        to a new addendum (or, for a new event, a new briefing).

        A briefing named after the base carries words of the base's lead, which may be
        more restricted than the new items: below the TLP of a closed briefing of the
        lineage, they get an id of their own, like a fresh briefing, so that their
        public URL, feeds and sitemap carry nothing their audience may not see.
        """
        lineage = self.store.briefings_holding(plan.kind, plan.item_ids)
        open_ids = {r.id for r in lineage if self._is_open(r)}
        closed = [r for r in lineage if r.id not in open_ids]
        held = {i for r in closed for i in self.store.briefing_items(r.id)}
        item_ids = [i for i in plan.item_ids if i not in held]
        if not item_ids:
            return closed[-1].id, closed[-1], []
        items = self._items(item_ids)
        tlp = strictest(*(i.tlp for i in items))
        below = any(tlp.rank < r.tlp.rank for r in closed)
        for record in lineage:
            if record.id in open_ids and not (below and _stem(record.id) == plan.id):
                return record.id, record, item_ids
        stem = self._fresh_id(plan.kind, Event(items)) if below else plan.id
        return self._unused_id(stem), None, item_ids

    def _unused_id(self, stem: str) -> str:
        """``stem``, or the first ``stem--n`` (n >= 2) that no briefing has: a stored
        briefing outside the lineage is never overwritten."""
        candidate, n = stem, 1
        while self.store.get_briefing(candidate) is not None:
            n += 1
            candidate = f"{stem}--{n}"
        return candidate

    def _items(self, item_ids: list[str]) -> list[Item]:
        """The stored items of ``item_ids``, sorted by id."""
        keep = set(item_ids)
        return sorted(
            (i for i in self.store.list_items(ids=item_ids) if i.id in keep), key=lambda i: i.id
        )

    def _is_open(self, record: BriefingRecord) -> bool:
        """A flow may rewrite it: a draft it wrote, unedited, without approvals."""
        if record.state != "draft" or record.drafted_hash != record.content_hash:
            return False
        if self.store.approvals(record.id):
            return False
        path = self.workspace.resolve(record.path)
        return path.exists() and sha256_bytes(path.read_bytes()) == record.content_hash

    def _write(self, plan: _Planned, report: DraftReport) -> None:
        target, record, item_ids = self._target(plan)
        if not item_ids:
            report.kept.append(target)
            return
        if target != plan.id or set(item_ids) != set(plan.item_ids):
            plan = self._replan_subset(plan, target, item_ids)
        # Whole seconds: the store keeps seconds, and re-rendering must give the same bytes.
        now = self.clock().replace(microsecond=0)
        created = record.created_at if record and record.created_at else now
        meta = {**plan.meta, "id": target, "created": created, "state": "draft", "version": 1}
        meta["updated"] = record.updated_at if record and record.updated_at else now
        raw = render_document(meta, plan.body)
        if record is not None and sha256_bytes(raw) == record.content_hash:
            report.unchanged.append(target)
            return
        if record is not None:
            meta["updated"] = now
            raw = render_document(meta, plan.body)
        path = self.workspace.content_dir / f"{target}.md"
        write_atomically(path, raw)
        digest = sha256_bytes(raw)
        new_record = BriefingRecord(
            id=target, kind=plan.kind, lang=self.lang, path=str(path.relative_to(self.workspace.root)),
            state="draft", title=plan.title, tlp=plan.tlp, priority=plan.priority, content_hash=digest,
            version=1, period=plan.period, drafted_hash=digest, last_editor=DRAFTER, created_at=created,
            updated_at=now,
        )  # fmt: skip
        with self.store.transaction() as conn:
            self.store.save_briefing(conn, new_record)
            self.store.set_briefing_items(conn, target, item_ids)
            self.audit.append(
                conn, actor=DRAFTER, action="draft" if record is None else "redraft", briefing_id=target,
                lang=self.lang, content_hash=digest, details={"items": len(item_ids)}, at=now,
            )  # fmt: skip
        self.audit.write_head()
        (report.created if record is None else report.updated).append(target)

    def _replan_subset(self, plan: _Planned, target: str, item_ids: list[str]) -> _Planned:
        """The same briefing restricted to ``item_ids`` (an addendum's new items)."""
        items = self._items(item_ids)
        if plan.kind == "digest":
            window = timedelta(hours=self.settings.group_window_hours)
            redone = self._digest(plan.period or "", plan.tlp, group_events(items, window))
            redone.title = f"{plan.title} (addendum)"
            redone.meta["title"] = redone.title
            redone.body = redone.body.replace(f"# {plan.title}", f"# {redone.title}", 1)
            return redone
        # One event, not regrouped: the new items may be linked to each other only
        # through items the lineage already holds, and all of them count for the TLP.
        event = Event(items)
        return self._alert(event, target) if plan.kind == "alert" else self._debunk(event, target)


def _stem(briefing_id: str) -> str:
    """The base id of an addendum or correction (``x--2``, ``x--v2``): ``x``."""
    return briefing_id.split("--")[0]


def _slugify(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "event"


def draft_briefings(workspace: Workspace, store: Store, *, clock: Clock = utcnow) -> DraftReport:
    """The drafting stage: plan and write every briefing the tagged items call for."""
    lang = workspace.config.workspace.source_lang
    labels = glossary_labels(workspace)
    return Drafter(workspace, store, lambda concept: labels(concept, lang), clock=clock).run()
