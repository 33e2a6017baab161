"""Run records and response metrics: durations, weekly medians, the status page.

The pure parts get small hand-made data; one test takes a real workspace
through ingestion, tagging, drafting, approval and publishing (the library's
functions, no Prefect) with injected clocks, and reads the times back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from briefings import metrics
from briefings.metrics import BriefingTimes, WeekStats
from briefings.models import AuditEntry
from briefings.store import Store

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # a Monday: ISO week 2026-W45


def times(hours_to_ingest: float, hours_to_approve: float | None, **published: float):
    return BriefingTimes(
        "b",
        "en",
        first_published=T0,
        ingested=T0 + timedelta(hours=hours_to_ingest),
        approved=T0 + timedelta(hours=hours_to_approve) if hours_to_approve is not None else None,
        published={lang: T0 + timedelta(hours=h) for lang, h in published.items()},
    )


def entry(seq: int, action: str, at: datetime, lang: str = "en") -> AuditEntry:
    stamp = at.isoformat().replace("+00:00", "Z")
    return AuditEntry(seq, stamp, "x", action, "b", lang, None, {}, "", "")


# -- response times ---------------------------------------------------------------------


def test_durations_are_measured_from_the_first_source_publication():
    t = times(0.5, 3, en=4, fr=6)
    assert t.to_ingestion == 1800
    assert t.to_approval == 3 * 3600
    assert t.to_publication("en") == 4 * 3600 and t.to_publication("fr") == 6 * 3600
    assert t.to_publication("ar") is None
    data = t.to_json()
    assert data["seconds"]["to_publication"] == {"en": 14400.0, "fr": 21600.0}
    assert data["first_published"] == "2026-11-02T08:00:00Z"


def test_the_approval_that_counts_is_the_last_one_before_the_first_publication():
    entries = [
        entry(1, "draft", T0 + timedelta(hours=1)),
        entry(2, "state:approved", T0 + timedelta(hours=2)),
        entry(3, "edit", T0 + timedelta(hours=3)),  # voids it
        entry(4, "state:approved", T0 + timedelta(hours=5)),
        entry(5, "publish", T0 + timedelta(hours=6)),
        entry(6, "publish", T0 + timedelta(hours=9)),  # a republication does not count
        entry(7, "state:approved", T0 + timedelta(hours=30)),  # a later version
    ]
    t = metrics.times_from_audit("b", "en", T0, T0 + timedelta(minutes=10), entries)
    assert t.to_approval == 5 * 3600
    assert t.published == {"en": T0 + timedelta(hours=6)}

    unpublished = metrics.times_from_audit("b", "en", T0, None, entries[:2])
    assert unpublished.to_approval == 2 * 3600 and unpublished.to_ingestion is None
    assert metrics.times_from_audit("b", "en", None, None, entries).to_approval is None


def test_weekly_medians_group_by_the_week_of_first_publication():
    week_two = BriefingTimes("c", "en", T0 + timedelta(days=7), T0 + timedelta(days=7, hours=2))
    stats = metrics.weekly_medians(
        [times(1, 3, en=4), times(2, 5, en=8, fr=9), times(3, None), week_two,
         BriefingTimes("no-date", "en", None, T0)]
    )  # fmt: skip
    assert [s.week for s in stats] == ["2026-W45", "2026-W46"]
    first = stats[0]
    assert first.briefings == 3
    assert first.to_ingestion == 2 * 3600
    assert first.to_approval == 4 * 3600  # median of 3 h and 5 h; the unapproved one has none
    assert first.to_publication == {"en": 6 * 3600, "fr": 9 * 3600}
    assert first.counts["to_approval"] == 2 and first.counts["to_publication.fr"] == 1
    assert stats[1].to_approval is None and stats[1].to_ingestion == 2 * 3600


def test_durations_read_as_people_say_them():
    fmt = metrics.format_duration
    assert [fmt(None), fmt(42), fmt(600), fmt(3 * 3600), fmt(3 * 3600 + 1200)] == [
        "–", "42 s", "10 min", "3 h", "3 h 20 min",
    ]  # fmt: skip
    assert fmt(50 * 3600) == "2 d 2 h" and fmt(72 * 3600) == "3 d"


# -- charts and the status page -----------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs


def test_svg_bar_chart_is_well_formed_and_labelled():
    svg = metrics.svg_bar_chart("Time <to> approval", [("2026-W45", 7200.0), ("2026-W46", None)])
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg" and root.get("role") == "img"
    assert root.get("aria-label") == "Time <to> approval"
    assert root.find(f"{ns}title").text == "Time <to> approval"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert texts == ["2026-W45", "2 h", "2026-W46", "–"]
    widths = [float(r.get("width")) for r in root.iter(f"{ns}rect")]
    assert widths[0] > 100 and widths[1] == 2  # a week without a value is a stub, not a bar


def test_status_page_has_no_script_and_no_external_asset():
    stats = [
        WeekStats("2026-W45", 3, 1800.0, 7200.0, {"en": 9000.0, "fr": 12000.0}),
        WeekStats("2026-W46", 1, 600.0, None, {}),
    ]
    page = metrics.status_page(
        stats, title="Coalition <briefings>", generated=T0, languages=["en", "fr", "ar"]
    )
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "iframe" not in parser.tags
    assert parser.tags.count("svg") == 2 + 3  # ingestion, approval, one per language
    links = [v for k, v in parser.attributes if k in ("href", "src")]
    assert links == ["style.css"]  # the site's own stylesheet, nothing from outside
    assert not [k for k, _ in parser.attributes if k.startswith("on") or k == "style"]
    assert "Coalition &lt;briefings&gt;" in page and "<briefings>" not in page
    assert "2 h 30 min" in page and "3 h 20 min" in page  # en and fr medians in the table
    assert "publication in ar" in page  # a language with no publication yet still has its chart

    empty = metrics.status_fragment([])
    assert "No briefings" in empty and "<svg" not in empty


# -- run records --------------------------------------------------------------------------


def test_interrupted_runs_are_closed_and_runs_read_as_lines(tmp_path: Path):
    store = Store(tmp_path / "state.sqlite3")
    dead = store.start_run("pipeline", T0)
    other = store.start_run("ingest", T0)
    mine = store.start_run("pipeline", T0 + timedelta(minutes=5))
    assert metrics.close_interrupted_runs(store, "pipeline", T0, keep=mine) == [dead]
    statuses = {run["id"]: run["status"] for run in store.list_runs()}
    assert statuses == {dead: "interrupted", other: "running", mine: "running"}

    summary = {
        "seconds": 12.5,
        "stages": {
            "ingest": {"status": "partial", "counts": {"new": 3, "errors": 1}},
            "tag": {"status": "skipped", "reason": "no new or changed items"},
            "draft": {"status": "failed", "error": "disk full"},
            "publish": {"status": "not-run", "reason": "draft failed"},
        },
    }
    store.finish_run(mine, "failed", summary, T0 + timedelta(minutes=6))
    rows = {row["id"]: row for row in metrics.run_rows(store.list_runs())}
    assert rows[mine]["seconds"] == 12.5
    assert rows[mine]["line"] == (
        "ingest: new 3, errors 1; tag: skipped (no new or changed items); draft: FAILED (disk full)"
    )
    assert rows[dead]["line"].startswith("the process running it stopped")
    assert rows[other]["seconds"] is None


# -- from a real workspace --------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>CERT</title><link>https://cert.example/</link>
<language>en</language>
<item><title>Ransomware attack disrupts hospital group</title>
<link>https://cert.example/a/1</link><guid>https://cert.example/a/1</guid>
<pubDate>Mon, 02 Nov 2026 06:00:00 +0000</pubDate>
<description>Ransomware encrypted patient records at a hospital group; hospitals should
patch CVE-2026-1234 now and watch for ransomware activity.</description></item>
<item><title>Ransomware gang leaks hospital data</title>
<link>https://cert.example/a/2</link><guid>https://cert.example/a/2</guid>
<pubDate>Mon, 02 Nov 2026 07:00:00 +0000</pubDate>
<description>The ransomware group behind the hospital attack published stolen data;
hospitals should reset credentials.</description></item>
</channel></rss>"""


class Clock:
    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_times_of_a_briefing_taken_through_the_whole_workflow(make_workspace):
    from briefings.approval import Workflow
    from briefings.drafting import draft_briefings
    from briefings.ingestion import Ingestor
    from briefings.publishing import publish_site
    from nlp.pipeline import PipelineCache
    from nlp.tagging import tag_items, tagger_version

    workspace = make_workspace(
        """
[ingest]
detect_language = false
[[sources]]
id = "cert"
url = "feeds/cert.xml"
lang = "en"
[[officers]]
name = "ana"
[[officers]]
name = "ben"
[[audiences]]
name = "public"
output = "site/public"
""",
        languages=("en",),
    )
    (workspace.root / "feeds").mkdir()
    (workspace.root / "feeds" / "cert.xml").write_text(FEED, "utf-8")
    store = Store(workspace.database_path)
    clock = Clock(datetime(2026, 11, 2, 7, 30, tzinfo=UTC))  # half an hour after the first item
    ingestor = Ingestor.for_workspace(workspace, store, clock=clock)
    assert ingestor.ingest_source(workspace.config.source("cert")).new == 2
    ingestor.close()
    tagger = tagger_version()
    analyses, _ = tag_items(store.items_to_tag(tagger), PipelineCache(), tagger)
    store.save_analyses(analyses, clock())
    drafted = draft_briefings(workspace, store, clock=clock)
    briefing = next(b for b in drafted.created if b.startswith("digest"))

    workflow = Workflow(workspace, store, clock=clock)
    clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    workflow.approve(briefing, "ana")
    clock.now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    workflow.approve(briefing, "ben")  # this approval makes it approved
    clock.now = datetime(2026, 11, 2, 10, 45, tzinfo=UTC)
    publish_site(workspace, store, clock=clock)

    found = {t.briefing_id: t for t in metrics.collect_briefing_times(store)}
    assert set(found) == set(drafted.created)
    t = found[briefing]
    assert t.first_published == datetime(2026, 11, 2, 6, 0, tzinfo=UTC)
    assert t.to_ingestion == 1.5 * 3600
    assert t.to_approval == 4 * 3600
    assert t.published == {"en": datetime(2026, 11, 2, 10, 45, tzinfo=UTC)}
    assert t.to_publication("en") == 4.75 * 3600
    others = [found[b] for b in drafted.created if b != briefing]
    assert all(o.approved is None and not o.published for o in others)

    (week,) = metrics.weekly_medians(found.values())
    assert week.week == "2026-W45" and week.briefings == len(drafted.created)
    assert week.to_publication == {"en": 4.75 * 3600}
    page = metrics.status_page([week], title="Example", generated=clock(), languages=["en"])
    assert "4 h 45 min" in page
