"""Drafting on real workspaces: grouping items into events, digests per period and TLP,
alerts and debunks, idempotent re-runs that never touch what officers edited or approved,
addenda, inert Markdown from hostile feeds, template overrides."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html import escape
from itertools import pairwise
from pathlib import Path

import briefing_fixtures as bf
import pytest
from markdown_it import MarkdownIt

from briefings.config import SourceConfig
from briefings.documents import parse_document
from briefings.drafting import draft_briefings, group_events, markdown_escape, same_event
from briefings.ingestion import Ingestor
from briefings.models import Analysis, Indicator, Item, Tag
from briefings.tlp import TLP
from briefings.workspace import Workspace

try:  # Python-Markdown: here only through prefect's dependencies, so optional
    import markdown
except ImportError:  # pragma: no cover
    markdown = None


T0 = bf.T0
P = bf.PERIOD
WINDOW = timedelta(hours=72)


@pytest.fixture
def env(tmp_path: Path):
    env = bf.make_env(tmp_path / "ws")
    yield env
    env.close()


def meta(env, briefing_id: str) -> dict:
    return parse_document(env.read(briefing_id), env.path(briefing_id)).meta


def body(env, briefing_id: str) -> str:
    return parse_document(env.read(briefing_id), env.path(briefing_id)).body


def content_files(env) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(env.workspace.content_dir.glob("*.md"))}


def ransomware_at_hospitals(env, title: str = "Ransomware shuts hospital wards", **kw) -> str:
    kw.setdefault("threats", ["threat.ransomware"])
    kw.setdefault("sectors", ["sector.hospitals"])
    return env.add_item(title, **kw)


# -- grouping items into events --------------------------------------------------------


def item(
    item_id: str,
    *,
    hours: float = 0,
    lang: str = "en",
    source: str = "cert-a",
    threats=(),
    sectors=(),
    cves=(),
    countries=(),
    priority: int = 40,
) -> Item:
    """An in-memory stored item with its analysis (for the pure grouping functions)."""
    tags = [Tag(c, "threat", c, 0, 1) for c in threats] + [
        Tag(c, "sector", c, 0, 1) for c in sectors
    ]
    return Item(
        id=item_id, source_id=source, url=None, title=item_id, summary="", html="", text="",
        published=T0 + timedelta(hours=hours), updated=None, lang=lang, lang_declared=lang,
        lang_confidence=None, tlp=TLP.CLEAR, content_hash=item_id, sources=[source],
        analysis=Analysis(
            item_id, 1, bf.TAGGER, tags=tags,
            indicators=[Indicator("cve", c, c, 0, 1) for c in cves],
            countries=list(countries), priority=priority,
        ),
    )  # fmt: skip


RANSOMWARE_HOSPITALS = {"threats": ["threat.ransomware"], "sectors": ["sector.hospitals"]}


def test_same_threat_and_sector_in_two_languages_is_one_event() -> None:
    en = item("it-en", source="cert-en", **RANSOMWARE_HOSPITALS)
    fr = item("it-fr", hours=6, lang="fr", source="cert-fr", **RANSOMWARE_HOSPITALS)
    assert same_event(en, fr, WINDOW)
    [event] = group_events([en, fr], WINDOW)
    assert {i.id for i in event.items} == {"it-en", "it-fr"}
    assert event.sources == ["cert-en", "cert-fr"]


def test_same_cve_is_one_event_even_days_apart_and_across_concepts() -> None:
    a = item("it-a", cves=["CVE-2024-1480"], threats=["threat.ddos"])
    b = item("it-b", hours=24 * 10, cves=["CVE-2024-1480"], sectors=["sector.elections"])
    assert same_event(a, b, WINDOW)
    assert len(group_events([a, b], WINDOW)) == 1


def test_same_concepts_in_different_countries_are_two_events() -> None:
    fr = item("it-fr", countries=["FR"], **RANSOMWARE_HOSPITALS)
    de = item("it-de", hours=1, countries=["DE"], **RANSOMWARE_HOSPITALS)
    assert not same_event(fr, de, WINDOW)
    assert len(group_events([fr, de], WINDOW)) == 2


def test_an_item_without_a_country_joins_one_with_a_country() -> None:
    fr = item("it-fr", countries=["FR"], **RANSOMWARE_HOSPITALS)
    anywhere = item("it-x", hours=2, **RANSOMWARE_HOSPITALS)
    assert len(group_events([fr, anywhere], WINDOW)) == 1


def test_same_concepts_outside_the_window_are_two_events() -> None:
    a = item("it-a", **RANSOMWARE_HOSPITALS)
    b = item("it-b", hours=73, **RANSOMWARE_HOSPITALS)
    assert len(group_events([a, b], WINDOW)) == 2


def test_a_shared_threat_alone_or_a_shared_sector_alone_is_not_an_event() -> None:
    a = item("it-a", threats=["threat.ransomware"], sectors=["sector.hospitals"])
    b = item("it-b", threats=["threat.ransomware"], sectors=["sector.drinking-water"])
    c = item("it-c", threats=["threat.ddos"], sectors=["sector.hospitals"])
    assert len(group_events([a, b, c], WINDOW)) == 3


def test_grouping_is_transitive_and_events_come_most_urgent_first() -> None:
    a = item("it-a", priority=20, cves=["CVE-2024-1480"])
    b = item("it-b", priority=30, cves=["CVE-2024-1480"], **RANSOMWARE_HOSPITALS)
    c = item("it-c", priority=10, hours=1, **RANSOMWARE_HOSPITALS)
    d = item("it-d", priority=90, threats=["threat.ddos"])
    events = group_events([a, b, c, d], WINDOW)
    assert [sorted(i.id for i in e.items) for e in events] == [["it-d"], ["it-a", "it-b", "it-c"]]
    assert events[1].lead.id == "it-b"


def test_two_sources_in_two_languages_make_one_digest_entry(env) -> None:
    ransomware_at_hospitals(env, source="cert-en", url="https://cert-en.example/1")
    ransomware_at_hospitals(
        env,
        "Un rançongiciel paralyse des hôpitaux",
        source="cert-fr",
        lang="fr",
        published=T0 + timedelta(hours=5),
        url="https://cert-fr.example/1",
    )
    env.draft()
    text = body(env, f"digest-{P}")
    assert "1 event reported by 2 sources" in text
    assert text.count("### ") == 1
    assert "reported by 2 sources" in text.split("### ", 1)[1]
    assert "(cert-fr, fr)" in text
    assert {s["source"] for s in meta(env, f"digest-{P}")["sources"]} == {"cert-en", "cert-fr"}


# -- digests -------------------------------------------------------------------------------


def test_digest_sections_are_ordered_most_urgent_first(env) -> None:
    env.add_item(
        "Ward closures", threats=["threat.ransomware"], sectors=["sector.hospitals"], priority=40
    )
    env.add_item(
        "Pump stations down",
        threats=["threat.ddos"],
        sectors=["sector.drinking-water"],
        priority=55,
    )
    env.add_item(
        "Clinic records leaked", threats=["threat.ddos"], sectors=["sector.hospitals"], priority=45
    )
    env.add_item(
        "Poll site outage", threats=["threat.ddos"], sectors=["sector.elections"], priority=30
    )
    env.add_item("Sectorless noise", threats=["threat.ddos"], priority=20)
    env.draft()
    text = body(env, f"digest-{P}")

    sections = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sections == ["Drinking water", "Hospitals", "Elections", "Other"]
    events = [line[4:] for line in text.splitlines() if line.startswith("### ")]
    assert events == [
        "Pump stations down", "Clinic records leaked", "Ward closures", "Poll site outage",
        "Sectorless noise",
    ]  # fmt: skip
    assert meta(env, f"digest-{P}")["priority"] == 55
    assert "5 events reported by 1 source, most urgent first" in text


def test_one_digest_per_tlp_a_green_item_does_not_taint_the_clear_digest(env) -> None:
    env.add_item("Public advisory", threats=["threat.ddos"], sectors=["sector.elections"])
    env.add_item(
        "Members-only note", threats=["threat.ransomware"], sectors=["sector.hospitals"],
        tlp=TLP.GREEN,
    )  # fmt: skip
    env.add_item(
        "Restricted detail", threats=["threat.ddos"], sectors=["sector.drinking-water"],
        tlp=TLP.AMBER_STRICT,
    )  # fmt: skip
    report = env.draft()

    assert sorted(report.created) == [
        f"digest-{P}", f"digest-{P}-amber-strict", f"digest-{P}-green",
    ]  # fmt: skip
    clear, green = meta(env, f"digest-{P}"), meta(env, f"digest-{P}-green")
    assert clear["tlp"] == "CLEAR"
    assert clear["title"] == f"Daily digest {P}"
    assert "Members-only" not in env.read(f"digest-{P}").decode()
    assert "Restricted" not in env.read(f"digest-{P}").decode()
    assert green["tlp"] == "GREEN"
    assert green["title"] == f"Daily digest {P} (TLP:GREEN)"
    assert "Members-only note" in body(env, f"digest-{P}-green")
    assert "Public advisory" not in body(env, f"digest-{P}-green")
    assert meta(env, f"digest-{P}-amber-strict")["tlp"] == "AMBER+STRICT"
    tlps = {r.id: r.tlp for r in env.store.list_briefings()}
    assert tlps[f"digest-{P}"] is TLP.CLEAR
    assert tlps[f"digest-{P}-green"] is TLP.GREEN


def test_an_event_with_a_green_report_leaves_the_clear_digest_entirely(env) -> None:
    ransomware_at_hospitals(env, "Public report")
    ransomware_at_hospitals(env, "Member report", tlp=TLP.GREEN, published=T0 + timedelta(hours=1))
    env.add_item("Unrelated public item", threats=["threat.ddos"], sectors=["sector.elections"])
    env.draft()
    clear = env.read(f"digest-{P}").decode()
    assert "Public report" not in clear and "Member report" not in clear
    assert "Unrelated public item" in clear
    green = body(env, f"digest-{P}-green")
    assert "Public report" in green and "Member report" in green


def test_alerts_are_drafted_at_and_above_the_alert_priority(env) -> None:
    env.add_item("Just below", threats=["threat.ddos"], sectors=["sector.elections"], priority=59)
    env.add_item(
        "Exactly at", threats=["threat.ransomware"], sectors=["sector.hospitals"], priority=60
    )
    env.add_item(
        "Well above", threats=["threat.ddos"], sectors=["sector.drinking-water"], priority=95
    )
    report = env.draft()

    alerts = sorted(r for r in report.created if r.startswith("alert-"))
    assert len(alerts) == 2
    titles = sorted(meta(env, a)["title"] for a in alerts)
    assert titles == ["Alert: Exactly at", "Alert: Well above"]
    for alert in alerts:
        assert meta(env, alert)["kind"] == "alert"
        assert alert.startswith(f"alert-{P}-")


def test_the_alert_threshold_comes_from_the_config(tmp_path: Path) -> None:
    env = bf.make_env(tmp_path / "ws", alert_priority=90)
    try:
        env.add_item("High", threats=["threat.ddos"], sectors=["sector.elections"], priority=80)
        assert not [b for b in env.draft().created if b.startswith("alert-")]
    finally:
        env.close()


def test_a_tactic_gets_a_debunk_with_claim_rating_and_evidence(env) -> None:
    env.add_item(
        "Hospitals will close all week, says fake ministry post",
        source="factcheck",
        url="https://factcheck.example/1",
        tactics=["tactic.impersonation"],
        sectors=["sector.hospitals"],
    )
    env.add_item("No tactic here", threats=["threat.ddos"], sectors=["sector.elections"])
    report = env.draft()

    [debunk] = [b for b in report.created if b.startswith("debunk-")]
    front = meta(env, debunk)
    assert front["kind"] == "debunk"
    assert front["claim"] == "Hospitals will close all week, says fake ministry post"
    assert front["rating"] == "unrated"
    assert front["evidence"] == [{"source": "factcheck", "url": "https://factcheck.example/1"}]
    assert front["tactics"] == ["tactic.impersonation"]
    text = body(env, debunk)
    assert "## The claim" in text and "## Evidence" in text
    assert (
        "[Hospitals will close all week, says fake ministry post](https://factcheck.example/1)"
        in text
    )
    assert "Impersonation" in text


def test_drafted_markdown_keeps_headings_and_paragraphs_apart(env) -> None:
    """Template lines ending in a conditional keep their line break: a heading never
    follows text on the next line, and the priority line, the sectors, the countries,
    an event's summary, its indicators and its advice are paragraphs of their own."""
    for source in ("cert-a", "cert-b"):  # two sources, countries, a CVE: every optional part
        ransomware_at_hospitals(
            env, priority=80, source=source, countries=["FR", "BE"], cves=["CVE-2026-1234"]
        )
    env.add_item(
        "Fake ministry post says hospitals close", source="factcheck", priority=70,
        tactics=["tactic.impersonation"], sectors=["sector.hospitals"],
    )  # fmt: skip
    report = env.draft()
    kinds = {b.split("-", 1)[0] for b in report.created}
    assert kinds == {"digest", "alert", "debunk"}, report.created

    for briefing_id in report.created:
        text = body(env, briefing_id)
        lines = text.split("\n")
        for before, line in pairwise(lines):
            assert not (line.startswith("#") and before.strip()), (briefing_id, before, line)
        paragraphs = [
            token.map for token in MarkdownIt().parse(text) if token.type == "paragraph_open"
        ]
        starts = {lines[start].split(":")[0] for start, _ in paragraphs}
        for marker in ("Sectors", "Countries", "**Indicators", "**What to do", "**Priority 80**"):
            if marker in text:
                assert any(start.startswith(marker) for start in starts), (briefing_id, marker)
        for start, end in paragraphs:  # each of those is one line
            first = lines[start]
            if first.startswith(("Sectors", "Countries", "**", "Priority")):
                assert end - start == 1, (briefing_id, lines[start:end])


def test_front_matter_has_every_key(env) -> None:
    ransomware_at_hospitals(env, priority=70, url="https://cert.example/1", countries=["FR"])
    report = env.draft()
    for briefing_id in report.created:
        front = meta(env, briefing_id)
        for key in ("id", "kind", "title", "lang", "tlp", "sectors", "threats", "sources",
                    "created", "updated", "state"):  # fmt: skip
            assert key in front, (briefing_id, key)
        assert front["id"] == briefing_id
        assert front["lang"] == "en"
        assert front["state"] == "draft"
        assert front["created"] == front["updated"] == "2026-03-02T09:00:00Z"
        assert front["sectors"] == ["sector.hospitals"]
        assert front["threats"] == ["threat.ransomware"]
        assert front["sources"][0]["url"] == "https://cert.example/1"
    assert meta(env, f"digest-{P}")["period"] == P


# -- re-runs --------------------------------------------------------------------------------


def test_a_rerun_with_nothing_new_changes_no_byte(env) -> None:
    ransomware_at_hospitals(env, priority=70)
    env.add_item("A claim", tactics=["tactic.impersonation"], sectors=["sector.elections"])
    env.add_item("Members", threats=["threat.ddos"], sectors=["sector.elections"], tlp=TLP.GREEN)
    first = env.draft()
    files = content_files(env)
    before = env.snapshot()
    env.clock.advance(hours=3)

    again = env.draft()

    assert sorted(again.unchanged) == sorted(first.created)
    assert again.created == again.updated == again.kept == []
    assert content_files(env) == files
    assert env.snapshot() == before


def test_a_rerun_with_a_real_clock_changes_no_byte(env) -> None:
    env.clock.now = T0.replace(microsecond=123456)  # what datetime.now() returns
    ransomware_at_hospitals(env)
    env.draft()
    files = content_files(env)
    env.clock.advance(minutes=30)

    again = env.draft()

    assert again.updated == []
    assert content_files(env) == files


def test_a_new_item_in_the_period_updates_the_open_draft(env) -> None:
    ransomware_at_hospitals(env)
    env.draft()
    env.clock.advance(hours=2)
    env.add_item(
        "Pumps offline", threats=["threat.ddos"], sectors=["sector.drinking-water"],
        published=T0 + timedelta(hours=1),
    )  # fmt: skip

    report = env.draft()

    assert report.updated == [f"digest-{P}"]
    front = meta(env, f"digest-{P}")
    assert front["created"] == "2026-03-02T09:00:00Z"
    assert front["updated"] == "2026-03-02T11:00:00Z"
    assert len(front["sources"]) == 2
    assert "Pumps offline" in body(env, f"digest-{P}")
    assert len(env.store.briefing_items(f"digest-{P}")) == 2
    actions = [e.action for e in env.store.audit_entries(f"digest-{P}")]
    assert actions == ["draft", "redraft"]


def test_a_draft_an_officer_edited_is_kept_byte_for_byte(env) -> None:
    digest = bf.one_digest(env)
    edited = env.read(digest).replace(b"More details follow.", b"Three wards closed.")
    env.workflow().edit(digest, "ana", edited)

    report = env.draft()

    assert report.kept == [digest]
    assert env.read(digest) == edited
    # Even when new items arrive: they go to an addendum, never into the officer's text.
    env.add_item("Another outage", threats=["threat.ddos"], sectors=["sector.elections"])
    report = env.draft()
    assert env.read(digest) == edited
    assert report.created == [f"{digest}--2"]


def test_a_draft_edited_by_hand_and_not_yet_noticed_is_kept(env) -> None:
    digest = bf.one_digest(env)
    edited = env.read(digest) + b"\nAdded in a text editor.\n"
    env.write(digest, edited)  # nobody ran sync: the store still has the drafted hash

    report = env.draft()

    assert report.kept == [digest]
    assert env.read(digest) == edited


def test_after_approval_new_items_go_to_an_addendum_with_only_them(env) -> None:
    digest = bf.one_digest(env)
    first_item = env.store.briefing_items(digest)
    bf.approve_fully(env, digest)
    approved = env.read(digest)
    env.clock.advance(hours=4)
    new_item = env.add_item(
        "Pumps offline", threats=["threat.ddos"], sectors=["sector.drinking-water"],
        published=T0 + timedelta(hours=3),
    )  # fmt: skip

    report = env.draft()

    addendum = f"{digest}--2"
    assert report.created == [addendum]
    assert digest not in report.updated
    assert env.read(digest) == approved
    assert env.workflow().approved_bytes(digest) == approved
    assert env.store.get_briefing(digest).state == "approved"
    front = meta(env, addendum)
    assert front["id"] == addendum
    assert front["title"] == f"Daily digest {P} (addendum)"
    assert [s["item"] for s in front["sources"]] == [new_item]
    text = body(env, addendum)
    assert text.startswith(f"# Daily digest {P} (addendum)")
    assert "Pumps offline" in text
    assert "hospital" not in text.lower()
    assert env.store.briefing_items(addendum) == [new_item]
    assert env.store.briefing_items(digest) == first_item

    # A further item extends the open addendum; a rerun then changes nothing.
    env.add_item(
        "Poll site outage", threats=["threat.ransomware"], sectors=["sector.elections"],
        published=T0 + timedelta(hours=5),
    )  # fmt: skip
    assert env.draft().updated == [addendum]
    assert env.read(digest) == approved
    assert env.draft().updated == []


def test_an_item_joining_an_approved_event_goes_to_the_addendum_only(env) -> None:
    digest = bf.one_digest(env)
    bf.approve_fully(env, digest)
    approved = env.read(digest)
    late = ransomware_at_hospitals(
        env, "More wards close", source="cert-b", published=T0 + timedelta(hours=2)
    )
    env.draft()
    assert env.read(digest) == approved
    assert env.store.briefing_items(f"{digest}--2") == [late]


def test_an_approved_addendum_leads_to_a_third_part(env) -> None:
    digest = bf.one_digest(env)
    bf.approve_fully(env, digest)
    env.add_item("Second", threats=["threat.ddos"], sectors=["sector.elections"])
    env.draft()
    bf.approve_fully(env, f"{digest}--2")
    env.add_item("Third", threats=["threat.ddos"], sectors=["sector.drinking-water"])
    report = env.draft()
    assert report.created == [f"{digest}--3"]
    assert "Third" in body(env, f"{digest}--3")
    assert "Second" not in body(env, f"{digest}--3")


# -- addenda below the TLP of their lineage ---------------------------------------------

# Further reports of the AMBER alert's event (bf.approved_amber_alert), all TLP:CLEAR.
CLEAR_REPORTS = (
    "Advisory on infusion devices from the vendor",
    "Bedside equipment update guidance for hospitals",
    "Checklist of affected models now public",
)


def own_id(item_id: str, title: str) -> str:
    """The id a fresh alert drafted from this one item gets."""
    slug = "-".join(title.lower().split())[:48].strip("-")
    return f"alert-{P}-{slug}-{hashlib.sha256(item_id.encode()).hexdigest()[:6]}"


def assert_nothing_of(amber_id: str, briefing_id: str, env) -> None:
    """``briefing_id`` carries no word of the AMBER title, in its id or its text."""
    assert not briefing_id.startswith(amber_id.split("--")[0]), briefing_id
    assert bf.slug_words(bf.AMBER_EVENT_TITLE).isdisjoint(briefing_id.split("-")), briefing_id
    assert amber_id.rsplit("-", 1)[1] not in briefing_id  # nor the AMBER key's digest
    text = env.read(briefing_id).decode().lower()
    assert not bf.slug_words(bf.AMBER_EVENT_TITLE) & set(re.findall(r"[a-z0-9]+", text))


def test_a_clear_addendum_of_an_amber_alert_is_named_after_its_own_items(
    tmp_path: Path, database
) -> None:
    # One clock second throughout: the base must be told from its addenda by more than
    # the time they were made, and by more than their ids (the CLEAR ones sort first).
    env = bf.make_env(tmp_path / "ws", database=database)
    try:
        amber = bf.approved_amber_alert(env)
        amber_bytes, amber_items = env.read(amber), env.store.briefing_items(amber)

        # A CLEAR report joins the event: a CLEAR addendum, named after itself.
        first = bf.join_event(env, CLEAR_REPORTS[0], hours=1)
        report = env.draft()
        [addendum] = [b for b in report.created if b.startswith("alert-")]
        assert addendum == own_id(first, CLEAR_REPORTS[0])
        assert_nothing_of(amber, addendum, env)
        assert env.store.get_briefing(addendum).tlp is TLP.CLEAR
        assert meta(env, addendum)["tlp"] == "CLEAR"
        assert env.store.briefing_items(addendum) == [first]

        # Drafting again changes nothing.
        before = env.snapshot()
        again = env.draft()
        assert again.created == again.updated == []
        assert env.snapshot() == before

        # A further CLEAR report extends the open addendum, under the same id.
        third = bf.join_event(env, CLEAR_REPORTS[1], hours=2)
        report = env.draft()
        assert addendum in report.updated
        assert not [b for b in report.created if b.startswith("alert-")]
        assert env.store.briefing_items(addendum) == sorted([first, third])
        assert env.store.get_briefing(addendum).tlp is TLP.CLEAR
        assert_nothing_of(amber, addendum, env)

        # Once approved, the next CLEAR report makes another addendum of its own.
        bf.approve_fully(env, addendum)
        addendum_bytes = env.read(addendum)
        fourth = bf.join_event(env, CLEAR_REPORTS[2], hours=3)
        report = env.draft()
        [second_addendum] = [b for b in report.created if b.startswith("alert-")]
        assert second_addendum == own_id(fourth, CLEAR_REPORTS[2])
        assert_nothing_of(amber, second_addendum, env)
        assert env.store.briefing_items(second_addendum) == [fourth]
        assert env.read(addendum) == addendum_bytes
        assert env.store.briefing_items(addendum) == sorted([first, third])
        before = env.snapshot()
        assert env.draft().created == []
        assert env.snapshot() == before

        # An AMBER report after that is an addendum of the AMBER base, by the base's name.
        bf.approve_fully(env, second_addendum)
        fifth = bf.join_event(env, "Second clinic confirms the attack", hours=4, tlp=TLP.AMBER)
        report = env.draft()
        assert [b for b in report.created if b.startswith("alert-")] == [f"{amber}--2"]
        assert env.store.briefing_items(f"{amber}--2") == [fifth]
        assert env.store.get_briefing(f"{amber}--2").tlp is TLP.AMBER

        # The AMBER base was never drafted again.
        assert env.read(amber) == amber_bytes
        assert env.store.briefing_items(amber) == amber_items
        assert "redraft" not in [e.action for e in env.store.audit_entries(amber)]
        alerts = {amber, addendum, second_addendum, f"{amber}--2"}
        assert bf.briefings_of_kind(env, "alert") == alerts
        # Digests are named after their period and TLP only: nothing to carry.
        for digest in bf.briefings_of_kind(env, "digest"):
            assert bf.slug_words(bf.AMBER_EVENT_TITLE).isdisjoint(digest.split("-")), digest
    finally:
        env.close()


def test_an_open_addendum_named_after_the_base_never_takes_less_restricted_items(env) -> None:
    amber = bf.approved_amber_alert(env)
    second = bf.join_event(env, "Second clinic confirms the attack", hours=1, tlp=TLP.AMBER,
                           key="second")  # fmt: skip
    env.draft()
    open_addendum = f"{amber}--2"
    assert env.store.briefing_items(open_addendum) == [second]
    drafted = env.read(open_addendum)

    # The source republishes the report as TLP:CLEAR: under the base's name, it would
    # carry words of the AMBER item to the public; it gets a name of its own instead.
    title = "Second clinic confirms the attack publicly"
    assert bf.join_event(env, title, hours=1, key="second") == second
    report = env.draft()

    [addendum] = [b for b in report.created if b.startswith("alert-")]
    assert addendum == own_id(second, title)
    assert env.store.get_briefing(addendum).tlp is TLP.CLEAR
    assert env.store.briefing_items(addendum) == [second]
    assert env.read(open_addendum) == drafted  # left for officers to reject
    before = env.snapshot()
    assert env.draft().created == []
    assert env.snapshot() == before


def test_an_addendum_holds_and_shows_all_its_items_even_if_linked_only_through_the_base(
    env,
) -> None:
    amber = bf.approved_amber_alert(env)
    # One shares only the CVE with the AMBER item, the other only its threat and sector:
    # the two are linked to each other through the AMBER item alone.
    by_cve = env.add_item(
        "Election portal outage tied to the same bug", tlp=TLP.AMBER, cves=[bf.EVENT_CVE],
        threats=["threat.ddos"], sectors=["sector.elections"], priority=80,
        published=T0 + timedelta(hours=1),
    )  # fmt: skip
    by_concepts = ransomware_at_hospitals(
        env, "Wards closed across the region", priority=80, published=T0 + timedelta(hours=2)
    )
    report = env.draft()

    assert [b for b in report.created if b.startswith("alert-")] == [f"{amber}--2"]
    addendum = f"{amber}--2"
    assert env.store.briefing_items(addendum) == sorted([by_cve, by_concepts])
    assert env.store.get_briefing(addendum).tlp is TLP.AMBER
    assert meta(env, addendum)["tlp"] == "AMBER"
    text = body(env, addendum)
    assert "Election portal outage" in text and "Wards closed across the region" in text


# -- hostile text ---------------------------------------------------------------------------

HOSTILE_TITLE = "<script>alert(1)</script> # Fake heading [x](javascript:alert(1)) *bold* `code`"
HOSTILE_TEXT = (
    "# Take over the page\n\n[click here](javascript:alert(document.cookie)) "
    '<img src=x onerror=alert(1)> <a href="javascript:alert(2)">a</a> | table | '
    "![img](https://tracker.example/p.png) <https://auto.example/>"
)


def _render_all(text: str) -> list[str]:
    """The body as HTML by two real Markdown engines (raw HTML allowed, as in a preview)."""
    engines = [MarkdownIt("commonmark").render]
    if markdown is not None:
        engines.append(markdown.markdown)
    return [render(text) for render in engines]


def _headings(html: str) -> int:
    return sum(html.count(f"<h{n}") for n in range(1, 7))


def test_escaped_text_is_inert_markdown(find_active_content) -> None:
    escaped = markdown_escape(HOSTILE_TITLE + " " + HOSTILE_TEXT)
    assert "\n" not in escaped
    for html in _render_all(escaped):
        assert find_active_content(html) == []
        assert "<a " not in html and "<h1" not in html and "<img" not in html
        assert "<strong>" not in html and "<em>" not in html and "<code>" not in html


READER_TEXTS = [
    HOSTILE_TITLE,
    "AT&T says a < b && c > d; &amp; and &#39; are written out, not entities",
    "1. Patch first",
    "2) then reboot",
    "- a dash",
    "+ a plus",
    "-1 degrees",
    "Heading {: .lead #top } attributes",
    r"C:\Windows\Temp _under_ *star* [link](u) #hash > quote | pipe ! bang",
    "<https://auto.example/> <!-- comment --> <?php ?>",
]


@pytest.mark.parametrize("text", READER_TEXTS)
def test_escaped_text_reads_back_exactly_as_written(text: str) -> None:
    """No backslash or entity shows on the page: readers see the feed's text."""
    import html as html_module

    escaped = markdown_escape(text)
    for rendered in _render_all(escaped):
        assert re.fullmatch(r"<p>.*</p>\s*", rendered, re.DOTALL), rendered
        shown = html_module.unescape(re.sub(r"<[^>]+>", "", rendered)).strip()
        assert shown == " ".join(text.split())


def test_a_digest_lists_its_sources_as_a_list(env) -> None:
    env.add_item("Ransomware at a hospital", "Hospitals hit.", url="https://cert.example/1",
                 priority=80, **RANSOMWARE_HOSPITALS)  # fmt: skip
    [digest] = [b for b in env.draft().created if b.startswith("digest-")]
    for rendered in _render_all(body(env, digest)):
        assert '<ul>\n<li><a href="https://cert.example/1">' in rendered


@pytest.mark.parametrize(
    "kind",
    [
        "digest",
        "alert",
        "debunk",
    ],
)
def test_hostile_item_text_is_escaped_in_the_draft(env, find_active_content, kind: str) -> None:
    env.add_item(
        HOSTILE_TITLE,
        HOSTILE_TEXT,
        url="https://cert.example/advisory/1",
        priority=80,
        tactics=["tactic.impersonation"],
        **RANSOMWARE_HOSPITALS,
    )
    report = env.draft()
    assert len(report.created) == 3  # digest, alert, debunk
    [briefing_id] = [b for b in report.created if b.startswith(f"{kind}-")]

    text = body(env, briefing_id)
    assert "&lt;script\\>" in text
    assert "<script>" not in text
    assert "\n# Take over" not in text
    template_headings = sum(1 for line in text.splitlines() if line.startswith("#"))
    for html in _render_all(text):
        assert find_active_content(html) == []
        assert _headings(html) == template_headings  # none from the item's text
    # The hostile text is still there for officers to read, as text.
    assert "alert(1)" in text


def _ingest_hostile_feed(env, link: str) -> str:
    feed = env.root / "feeds" / "hostile.xml"
    feed.parent.mkdir(parents=True, exist_ok=True)
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>h</title>'
        "<link>https://hostile.example/</link>"
        f"<item><title>{escape('Ransomware at hospitals <b>now</b>')}</title>"
        f"<link>{escape(link)}</link><guid>g1</guid>"
        "<pubDate>Mon, 02 Mar 2026 08:00:00 +0000</pubDate>"
        f"<description>{escape('<p>Wards closed.</p>')}</description></item>"
        "</channel></rss>\n",
        "utf-8",
    )
    config = env.workspace.config.model_copy(deep=True)
    config.sources.append(SourceConfig(id="hostile", url="feeds/hostile.xml", lang="en"))
    workspace = Workspace(env.root, config)
    ingestor = Ingestor.for_workspace(workspace, env.store, clock=env.clock)
    try:
        report = ingestor.ingest_source(config.source("hostile"))
    finally:
        ingestor.close()
    assert report.status == "ok", report
    [stored] = env.store.list_items(source="hostile")
    env.tag(stored.id, priority=80, **RANSOMWARE_HOSPITALS)
    return stored.url


def test_a_hostile_link_from_a_real_feed_stays_inert(env, find_active_content) -> None:
    url = _ingest_hostile_feed(
        env, "https://hostile.example/a)<img src=x onerror=alert(1)>[more](https://phish.example/"
    )
    assert url.startswith("https://hostile.example/a)<img")  # ingestion keeps it: web URL
    report = env.draft()
    assert report.created
    for briefing_id in report.created:
        for html in _render_all(body(env, briefing_id)):
            assert find_active_content(html) == [], briefing_id
            # The hostile URL stays one inert, percent-encoded link to its own host.
            assert 'href="https://phish.example' not in html


# -- templates and the stage function ---------------------------------------------------------


def test_a_workspace_template_overrides_the_shipped_one(env) -> None:
    override = env.root / "templates" / "drafts" / "digest.md.j2"
    override.parent.mkdir(parents=True)
    override.write_text(
        "# {{ title }}\n\nCoalition house style: {{ events | length }} event(s).\n"
        "{% for section in sections %}\n## {{ section.label }}\n{% endfor %}\n",
        "utf-8",
    )
    ransomware_at_hospitals(env, priority=70)
    env.draft()
    text = body(env, f"digest-{P}")
    assert text.startswith(f"# Daily digest {P}\n\nCoalition house style: 1 event(s).\n")
    assert "## Hospitals" in text
    assert "Ransomware shuts" not in text
    alert = next(r.id for r in env.store.list_briefings() if r.kind == "alert")
    assert "## What happened" in body(env, alert), "other templates stay the shipped ones"


GLOSSARY = """\
concepts:
- id: sector.hospitals
  category: sector
  source: test data
  definition: Hospitals and clinics.
  terms:
    "*":
      preferred: hospitals and clinics
"""


def test_draft_briefings_labels_sections_from_the_workspace_glossary(tmp_path: Path) -> None:
    env = bf.make_env(tmp_path / "ws", extra='[tagging]\nglossary = ["glossary.yaml"]\n')
    try:
        (env.root / "glossary.yaml").write_text(GLOSSARY, "utf-8")
        ransomware_at_hospitals(env)
        report = draft_briefings(env.workspace, env.store, clock=env.clock)
        assert report.created == [f"digest-{P}"]
        text = body(env, f"digest-{P}")
        assert "## Hospitals and clinics" in text  # from the glossary
        assert "· Ransomware" in text  # not in the glossary: the id's slug
    finally:
        env.close()


def test_untagged_items_are_counted_not_drafted(env) -> None:
    raw = Item(
        id="", source_id="cert-a", url=None, title="Untagged", summary="", html="", text="x",
        published=T0, updated=None, lang="en", lang_declared="en", lang_confidence=None,
        tlp=TLP.CLEAR, content_hash="untagged",
    )  # fmt: skip
    with env.store.transaction() as conn:
        env.store.record_item(conn, raw, entry_key="u", global_key=None, seen_at=T0)
    report = env.draft()
    assert report.untagged_items == 1
    assert report.created == []


def test_a_title_with_yaml_syntax_round_trips_through_the_front_matter(env) -> None:
    title = "tlp: CLEAR - id: x # [a, b] {c: d} 'q' \"dq\" & *ref !tag %"
    env.add_item(title, tactics=["tactic.impersonation"], sectors=["sector.elections"], priority=70)
    report = env.draft()
    for briefing_id in report.created:
        front = meta(env, briefing_id)
        assert front["id"] == briefing_id
        assert front["tlp"] == "CLEAR"
        if briefing_id.startswith("debunk-"):
            assert front["claim"] == title


# One line, as ingestion keeps titles; long enough that YAML folds it at width 100.
FOLDED_CLAIM = "Viral post claims that every hospital in the capital will close next week ---"


def test_a_long_claim_ending_in_dashes_keeps_the_front_matter_whole(env) -> None:
    title = FOLDED_CLAIM.replace("Viral post", "A viral social media post today")
    assert "\n" not in title and len(title) > 90
    env.add_item(title, tactics=["tactic.impersonation"], sectors=["sector.hospitals"])
    [debunk] = [b for b in env.draft().created if b.startswith("debunk-")]
    front = meta(env, debunk)
    assert front["claim"] == title
    assert front["rating"] == "unrated"
    assert front["state"] == "draft"
    assert "rating:" not in body(env, debunk)
