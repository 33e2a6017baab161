"""Builders for the drafting, review and audit tests: a real workspace with officers,
items stored in the real store (SQLite, or PostgreSQL through the ``database``
fixture) and tagged without spaCy, a controllable clock.

Not a test module and not a conftest: test files ``import briefing_fixtures as bf``
(tests/conftest.py puts this folder on ``sys.path``).

Tagging is tested elsewhere; here analyses are written straight into the store
with :meth:`Store.save_analyses`, exactly as the tagging stage would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from briefings.approval import Workflow
from briefings.drafting import Drafter, DraftReport
from briefings.models import Analysis, Indicator, Item, Tag
from briefings.store import Store
from briefings.tlp import TLP
from briefings.wording import sector_why
from briefings.workspace import CONFIG_NAME, Workspace, open_workspace

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = "2026-03-02"  # the daily period of T0
TAGGER = "test-tagger/1"

OFFICERS = """
[[officers]]
name = "ana"
roles = ["officer"]

[[officers]]
name = "ben"
roles = ["officer"]

[[officers]]
name = "carla"
roles = ["officer"]

[[officers]]
name = "lin"
roles = ["linguist"]
languages = ["fr"]
"""


def config_text(
    *,
    approvals_required: int = 2,
    four_eyes: bool = True,
    alert_priority: int = 60,
    extra: str = "",
    database: Path | str | None = None,
) -> str:
    """A ``briefings.toml`` with three officers (ana, ben, carla) and a linguist (lin);
    the state in the default SQLite file unless a PostgreSQL ``database`` URL is given."""
    url = f"database = {json.dumps(database)}\n" if isinstance(database, str) else ""
    return (
        f'[workspace]\nsource_lang = "en"\nlanguages = ["en", "fr"]\n{url}\n'
        "[ingest]\ndetect_language = false\n\n"
        f"[drafting]\nalert_priority = {alert_priority}\n\n"
        f"[policy]\napprovals_required = {approvals_required}\n"
        f"four_eyes = {'true' if four_eyes else 'false'}\n"
        f"{OFFICERS}\n{extra}"
    )


class Clock:
    """An injected clock: fixed at ``now`` until the test moves it."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def label(concept_id: str) -> str:
    """Concept labels as the glossary falls back to them: the id's slug, capitalized."""
    return concept_id.split(".", 1)[-1].replace("-", " ").capitalize()


def _tag(text: str, concept: str, category: str) -> Tag:
    word = concept.split(".", 1)[-1].replace("-", " ")
    start = text.lower().find(word)
    if start < 0:
        return Tag(concept, category, word, 0, 0)
    return Tag(concept, category, text[start : start + len(word)], start, start + len(word))


@dataclass
class Env:
    """One workspace, its store and a clock; briefings are read and written by id."""

    workspace: Workspace
    store: Store
    clock: Clock
    _keys: list[str] = field(default_factory=list)

    @property
    def root(self) -> Path:
        return self.workspace.root

    def workflow(self) -> Workflow:
        return Workflow(self.workspace, self.store, clock=self.clock)

    def drafter(self) -> Drafter:
        return Drafter(self.workspace, self.store, label, clock=self.clock)

    def draft(self) -> DraftReport:
        return self.drafter().run()

    def add_item(
        self,
        title: str,
        text: str = "",
        *,
        key: str | None = None,
        source: str = "cert-a",
        lang: str = "en",
        published: datetime = T0,
        tlp: TLP = TLP.CLEAR,
        url: str | None = None,
        threats: Iterable[str] = (),
        sectors: Iterable[str] = (),
        tactics: Iterable[str] = (),
        cves: Iterable[str] = (),
        countries: Iterable[str] = (),
        priority: int = 40,
    ) -> str:
        """Store an item and its analysis; returns the item id."""
        key = key or f"entry-{len(self._keys) + 1}"
        self._keys.append(key)
        text = text or f"{title}. More details follow."
        item = Item(
            id="", source_id=source, url=url, title=title, summary=text, html=f"<p>{text}</p>",
            text=text, published=published, updated=None, lang=lang, lang_declared=lang,
            lang_confidence=None, tlp=tlp, content_hash=f"{source}:{key}:{title}:{text}",
        )  # fmt: skip
        with self.store.transaction() as conn:
            _, item_id = self.store.record_item(
                conn, item, entry_key=key, global_key=None, seen_at=published
            )
        self.tag(
            item_id, threats=threats, sectors=sectors, tactics=tactics, cves=cves,
            countries=countries, priority=priority,
        )  # fmt: skip
        return item_id

    def tag(
        self,
        item_id: str,
        *,
        threats: Iterable[str] = (),
        sectors: Iterable[str] = (),
        tactics: Iterable[str] = (),
        cves: Iterable[str] = (),
        countries: Iterable[str] = (),
        priority: int = 40,
    ) -> None:
        """Store an analysis of the item's current revision, as the tagging stage would."""
        stored = self.store.get_item(item_id)
        assert stored is not None
        full = stored.tagging_text
        tags = (
            [_tag(full, c, "threat") for c in threats]
            + [_tag(full, c, "sector") for c in sectors]
            + [_tag(full, c, "tactic") for c in tactics]
        )
        indicators = [Indicator("cve", cve, cve, 0, len(cve)) for cve in cves]
        # Worded as the tagger words them (nlp.priority), each sector taken as essential (5/5).
        reasons = [
            {"factor": "sector", "concept": c, "points": 40, "why": sector_why(5)} for c in sectors
        ]
        analysis = Analysis(
            item_id, stored.revision, TAGGER, tags=tags, indicators=indicators,
            countries=list(countries), priority=priority, reasons=reasons,
        )  # fmt: skip
        self.store.save_analyses([analysis], self.clock())

    # -- files of briefings -------------------------------------------------------------

    def path(self, briefing_id: str) -> Path:
        record = self.store.get_briefing(briefing_id)
        assert record is not None, f"no briefing {briefing_id}"
        return self.workspace.resolve(record.path)

    def read(self, briefing_id: str) -> bytes:
        return self.path(briefing_id).read_bytes()

    def write(self, briefing_id: str, data: bytes) -> None:
        """Change the file behind the program's back, as a text editor would."""
        self.path(briefing_id).write_bytes(data)

    # -- state, for before/after comparisons ------------------------------------------

    def snapshot(self) -> dict[str, object]:
        """Every row of the workflow tables, the audit head and every content file."""
        conn = self.store._connect()
        tables = {
            # Sorted, not in storage order: the comparison is of contents, on either backend.
            name: sorted(
                (tuple(dict(row).values()) for row in conn.execute(f"SELECT * FROM {name}")),
                key=repr,
            )
            for name in ("briefings", "briefing_items", "approvals", "audit_log", "content_blobs")
        }
        head = self.store.state_dir / "audit.head"
        files = {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.workspace.content_dir.rglob("*"))
            if p.is_file()
        }
        return {
            "tables": tables,
            "head": head.read_bytes() if head.exists() else None,
            "files": files,
        }

    def sql(self, statement: str, params: tuple = ()) -> None:
        """Write to the database directly, as someone bypassing the program would."""
        with self.store.transaction() as conn:
            conn.execute(statement, params)

    def close(self) -> None:
        self.store.close()


def make_env(root: Path, **config) -> Env:
    """A workspace at ``root`` with ``config_text(**config)`` and an open store."""
    root.mkdir(parents=True, exist_ok=True)
    (root / CONFIG_NAME).write_text(config_text(**config), "utf-8")
    workspace = open_workspace(root, environ={})
    return Env(workspace, Store.for_workspace(workspace), Clock())


def one_digest(env: Env) -> str:
    """A single daily digest drafted from one CLEAR item; returns its id."""
    env.add_item(
        "Ransomware shuts hospital wards",
        threats=["threat.ransomware"],
        sectors=["sector.hospitals"],
        priority=40,
    )
    report = env.draft()
    assert report.created == [f"digest-{PERIOD}"], report
    return f"digest-{PERIOD}"


def approve_fully(env: Env, briefing_id: str, officers: tuple[str, ...] = ("ana", "ben")) -> None:
    workflow = env.workflow()
    for officer in officers:
        workflow.approve(briefing_id, officer)
    record = env.store.get_briefing(briefing_id)
    assert record is not None and record.state == "approved"


# -- one event across TLP labels: an AMBER alert, approved, then CLEAR reports -----------

# The tests give the CLEAR reports titles without a word of the AMBER title, so a public
# id or page that carries one of its words carries something of the AMBER item; their
# slugs sort before the AMBER one, so ordering briefings by id would take them for the base.
AMBER_EVENT_TITLE = "Ostrava dialysis pump firmware flaw exploited"
EVENT_CVE = "CVE-2026-24017"
EVENT_CONCEPTS = {"threats": ["threat.ransomware"], "sectors": ["sector.hospitals"]}


def slug_words(title: str) -> set[str]:
    """The words a briefing id takes from ``title``."""
    return set(re.sub(r"[^a-z0-9]+", " ", title.lower()).split())


def approved_amber_alert(env: Env) -> str:
    """An alert drafted from one TLP:AMBER item about ``EVENT_CVE``, approved by ana and
    ben; returns its id."""
    env.add_item(AMBER_EVENT_TITLE, tlp=TLP.AMBER, cves=[EVENT_CVE], priority=80, **EVENT_CONCEPTS)
    [alert] = [b for b in env.draft().created if b.startswith("alert-")]
    approve_fully(env, alert)
    return alert


def join_event(
    env: Env,
    title: str,
    *,
    hours: float,
    tlp: TLP = TLP.CLEAR,
    sectors: Iterable[str] = ("sector.hospitals",),
    key: str | None = None,
) -> str:
    """Store a further report of ``EVENT_CVE`` (the CVE makes it the same event, whatever
    its sectors), ``hours`` after T0 on the same day; returns the item id. The same
    ``key`` again stores a new revision of that report."""
    return env.add_item(
        title, key=key, tlp=tlp, cves=[EVENT_CVE], priority=80,
        published=T0 + timedelta(hours=hours),
        url="https://cert.example/" + "-".join(title.lower().split()),
        threats=EVENT_CONCEPTS["threats"], sectors=list(sectors),
    )  # fmt: skip


def briefings_of_kind(env: Env, kind: str) -> set[str]:
    return {r.id for r in env.store.list_briefings() if r.kind == kind}
