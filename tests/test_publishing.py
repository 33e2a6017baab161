"""Publishing on real workspaces, trying hard to break its rules: only approved bytes
reach a site, nothing above an audience's TLP label reaches it (and the leak scan fails
the build when something slips), withdrawals and corrections leave notices, the switch
is atomic (a publishing process killed at any point leaves the live site whole and
verifiable), rebuilds are incremental, bad input gives a clear error and leaves the
live site alone, hostile HTML never survives, and the same workspace gives the same site.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.documents import parse_document
from briefings.errors import PublishError, WorkflowError
from briefings.publishing import MANIFEST, publish_site, read_manifest
from briefings.store import Store
from briefings.tlp import TLP
from briefings.verification import verify_site
from briefings.workspace import open_workspace

bf = pf.bf
REPO = Path(__file__).resolve().parents[1]
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # the clock of PUBLISH_SCRIPT

CLEAR_BODY = """# Hospital wards closed

Ransomware closed twelve wards at the Northbank general hospital on Monday night.

## What to do

Restore the ward systems from offline backups and call the national CERT.
"""
AMBER_LINE = "Our contact at the Ostrava clinic confirmed exploitation of the pumps in two wards."
AMBER_SENTENCE = "The pump firmware 3.2 accepts unsigned updates from the clinic network."
AMBER_LINKED = (
    "The [Brno vendor portal](https://vendor.example/psirt) still serves the vulnerable build."
)
AMBER_BODY = f"""# Dialysis pumps

The vendor told us privately on Monday. {AMBER_SENTENCE} A fix ships in May.

{AMBER_LINE}

{AMBER_LINKED}
"""


@pytest.fixture
def env(tmp_path: Path):
    """One language keeps these tests fast (templates compile per language and audience)."""
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    yield env
    env.close()


@pytest.fixture
def env2(tmp_path: Path):
    """English and French."""
    env = pf.make_site_env(tmp_path / "ws")
    yield env
    env.close()


def clear_alert(env, body: str = CLEAR_BODY, title: str = "Ransomware shuts hospital wards") -> str:
    briefing_id = pf.new_briefing(env, title)
    pf.rewrite(env, briefing_id, body)
    return briefing_id


def amber_alert(env, body: str = AMBER_BODY) -> str:
    briefing_id = pf.new_briefing(
        env,
        "Dialysis pump firmware flaw",
        tlp=TLP.AMBER,
        sectors=["sector.water"],
        threats=["threat.wiper"],
    )
    pf.rewrite(env, briefing_id, body)
    return briefing_id


def other_alert(env, title: str, sector: str, threat: str, body: str | None = None) -> str:
    briefing_id = pf.new_briefing(env, title, sectors=[sector], threats=[threat])
    if body is not None:
        pf.rewrite(env, briefing_id, body)
    return briefing_id


def three_approved_alerts(env) -> tuple[str, list[str]]:
    """The CLEAR hospital alert, and two others on other sectors and threats, approved."""
    edited = clear_alert(env)
    others = [
        other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"),
        other_alert(env, "DDoS on rail ticketing", "sector.rail", "threat.ddos"),
    ]
    for briefing_id in (edited, *others):
        pf.approved(env, briefing_id)
    return edited, others


def live_state(env, audience: str = "public") -> tuple[Path, dict[str, bytes]]:
    out = pf.output(env, audience)
    return out.resolve(), pf.site_files(out)


# -- only approved bytes --------------------------------------------------------------


def test_drafts_reviews_and_rejections_never_appear(env) -> None:
    approved_id = clear_alert(env)
    raw = pf.approved(env, approved_id)
    draft_id = other_alert(
        env, "Wiper hits water utility", "sector.water", "threat.wiper",
        "# Draft\n\nQuokka marker: a draft sentence that nobody approved.\n",
    )  # fmt: skip
    review_id = other_alert(
        env, "Phishing targets schools", "sector.education", "threat.phishing",
        "# Review\n\nWombat marker: a sentence with only one approval of two.\n",
    )  # fmt: skip
    env.workflow().approve(review_id, "ana")
    rejected_id = other_alert(
        env, "DDoS on rail ticketing", "sector.rail", "threat.ddos",
        "# Rejected\n\nNumbat marker: approved by two officers, then rejected.\n",
    )  # fmt: skip
    pf.approved(env, rejected_id)
    env.workflow().reject(rejected_id, "carla", "wrong attribution")

    report = pf.publish(env)

    assert report.published == [approved_id]
    assert env.store.get_briefing(approved_id).state == "published"
    for audience in ("public", "members"):
        files = pf.site_files(pf.output(env, audience))
        for needle in (
            "Quokka", "Wombat", "Numbat", draft_id, review_id, rejected_id,
            "Wiper hits water utility", "Phishing targets schools", "DDoS on rail ticketing",
            "digest-",
        ):  # fmt: skip
            assert pf.files_containing(files, needle) == [], (audience, needle)
        assert not any("digest" in path for path in files)
        assert files[f"en/{approved_id}.md"] == raw
        assert env.store.blob(pf.sha256(raw)) == raw
        assert pf.files_containing(files, "Northbank general hospital")


@pytest.mark.parametrize("how", ["officer", "text editor"])
def test_an_edit_after_approval_keeps_an_unpublished_briefing_off_the_site(env, how) -> None:
    kept = other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper")
    pf.approved(env, kept)
    edited = clear_alert(env)
    raw = pf.approved(env, edited)
    changed = raw.replace(b"twelve wards", b"forty wards")
    if how == "officer":
        env.workflow().edit(edited, "carla", changed)
    else:  # behind the program's back
        env.write(edited, changed)

    report = pf.publish(env)

    assert report.published == [kept]
    assert env.store.get_briefing(edited).state == "in-review"
    for audience in ("public", "members"):
        files = pf.site_files(pf.output(env, audience))
        assert pf.files_containing(files, edited) == []
        assert pf.files_containing(files, "Northbank") == []
        assert f"en/{kept}/index.html" in files


def test_a_published_briefing_edited_afterwards_stays_as_published_until_reapproved(env) -> None:
    briefing_id = clear_alert(env)
    raw = pf.approved(env, briefing_id)
    pf.publish(env, audiences=["public"])
    env.write(briefing_id, raw.replace(b"twelve wards", b"forty wards"))  # a text editor

    pf.publish(env, audiences=["public"])

    files = pf.site_files(pf.output(env))
    assert pf.files_containing(files, "forty wards") == []
    assert files.get(f"en/{briefing_id}.md") == raw  # what was approved and published
    assert f"en/{briefing_id}/index.html" in files
    bf.approve_fully(env, briefing_id)
    pf.publish(env, audiences=["public"])
    files = pf.site_files(pf.output(env))
    assert files[f"en/{briefing_id}.md"] == env.read(briefing_id)


def publish_with_a_change_midway(env, change):
    """Publish the public site, running ``change()`` once during the build (when it first
    asks for a label); assert that it ran."""
    changed = []

    def labels_after_a_change(concept: str, lang: str) -> str:
        if not changed:
            change()
            changed.append(True)
        return pf.labels(concept, lang)

    report = publish_site(
        env.workspace, env.store, clock=env.clock, labels=labels_after_a_change,
        audiences=["public"],
    )  # fmt: skip
    assert changed
    return report


def test_a_text_approved_while_the_site_is_built_is_published_by_the_next_run(env) -> None:
    """The run records as published what it built: an officer approving an edited text
    during the build (here, when the build first asks for a label) does not get the new
    text recorded as published while the site still shows the one approved before."""
    briefing_id = clear_alert(env)
    before = pf.approved(env, briefing_id)
    after = before.replace(b"twelve wards", b"forty wards")

    def approve_an_edit() -> None:
        env.write(briefing_id, after)
        bf.approve_fully(env, briefing_id)

    report = publish_with_a_change_midway(env, approve_an_edit)
    assert briefing_id not in report.published
    assert any(
        s.startswith(f"{briefing_id}: approved again while the site was being built")
        for s in report.skipped
    )
    assert pf.site_files(pf.output(env))[f"en/{briefing_id}.md"] == before
    record = env.store.get_briefing(briefing_id)
    assert record.state == "approved" and record.content_hash == pf.sha256(after)
    # The log says what the public saw: the text approved before, the state unchanged.
    [shown] = [e for e in env.store.audit_entries() if e.action == "publish"]
    assert (shown.briefing_id, shown.content_hash) == (briefing_id, pf.sha256(before))
    assert "while the site was being built" in shown.details["reason"]

    report = pf.publish(env, audiences=["public"])
    assert briefing_id in report.published
    assert pf.site_files(pf.output(env))[f"en/{briefing_id}.md"] == after
    entries = [e for e in env.store.audit_entries() if e.action == "publish"]
    assert [(e.briefing_id, e.content_hash) for e in entries] == [
        (briefing_id, pf.sha256(before)),
        (briefing_id, pf.sha256(after)),
    ]
    assert env.store.get_briefing(briefing_id).state == "published"
    assert env.workflow().audit.verify() == []
    pf.publish(env, audiences=["public"])  # nothing new: nothing more in the log
    assert len([e for e in env.store.audit_entries() if e.action == "publish"]) == 2


def test_a_text_edited_while_the_site_is_built_is_recorded_as_shown(env) -> None:
    """An approved briefing edited in a text editor during the build (no longer
    approved): the site the build switched to shows the approved text, and the audit log
    says so; the next run takes it off the site and records nothing more."""
    briefing_id = clear_alert(env)
    before = pf.approved(env, briefing_id)

    def edit() -> None:
        env.write(briefing_id, before.replace(b"twelve wards", b"forty wards"))
        env.workflow().sync(briefing_id)

    report = publish_with_a_change_midway(env, edit)
    assert briefing_id not in report.published
    assert f"{briefing_id}: changed while the site was being built" in "\n".join(report.skipped)
    assert pf.site_files(pf.output(env))[f"en/{briefing_id}.md"] == before
    assert env.store.get_briefing(briefing_id).state != "approved"
    [shown] = [e for e in env.store.audit_entries() if e.action == "publish"]
    assert (shown.briefing_id, shown.content_hash) == (briefing_id, pf.sha256(before))

    pf.publish(env, audiences=["public"])
    assert len([e for e in env.store.audit_entries() if e.action == "publish"]) == 1


def test_only_an_approved_text_is_recorded_as_shown(env) -> None:
    briefing_id = clear_alert(env)
    workflow = env.workflow()
    with pytest.raises(WorkflowError, match="was never approved"):
        workflow.record_shown([(briefing_id, pf.sha256(b"forged"))], "publisher", "test")
    assert [e for e in env.store.audit_entries() if e.action == "publish"] == []


def _published_then_forged_in_the_store(env) -> tuple[str, bytes]:
    """A briefing published, then its text in the store changed (a ransom note): its id
    and the published bytes."""
    briefing_id = clear_alert(env)
    raw = pf.approved(env, briefing_id)
    pf.publish(env, audiences=["public"])
    forged = raw.replace(b"twelve wards", b"all wards; pay the ransom to 1BoatSLRHt")
    env.sql("UPDATE content_blobs SET content = ? WHERE sha256 = ?", (forged, pf.sha256(raw)))
    return briefing_id, raw


def test_published_bytes_changed_in_the_database_are_never_republished(env) -> None:
    briefing_id, raw = _published_then_forged_in_the_store(env)
    pf.approved(env, other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"))

    pf.publish(env, audiences=["public"])  # a rebuild for the new briefing

    files = pf.site_files(pf.output(env))
    assert pf.files_containing(files, "1BoatSLRHt") == []
    assert files.get(f"en/{briefing_id}.md") in (raw, None)


def test_the_stored_published_text_is_checked_when_the_file_no_longer_holds_it(env) -> None:
    # The file still holding the published text stands in for the store's copy; once
    # edited (not approved again), only the store's copy is left, and a forged one goes.
    briefing_id, raw = _published_then_forged_in_the_store(env)
    env.write(briefing_id, raw.replace(b"twelve wards", b"nine wards"))  # a text editor

    report = pf.publish(env, audiences=["public"])

    files = pf.site_files(pf.output(env))
    assert pf.files_containing(files, "1BoatSLRHt") == []
    assert pf.files_containing(files, "nine wards") == []
    assert any("changed in the database" in s and briefing_id in s for s in report.skipped)


def test_the_markdown_copy_is_the_approved_bytes_to_the_byte(env) -> None:
    briefing_id = clear_alert(env)
    front, _, _ = env.read(briefing_id).partition(b"\n---\n")
    # CRLF line ends, trailing spaces, non-ASCII, a BOM-like character inside, no final newline.
    body = "\r\n# Hôpital\r\n\r\nRançongiciel à Northbank — 12 services fermés.  \r\n\r\nمستشفى \ufeff end"
    raw = front + b"\n---\n" + body.encode("utf-8")
    env.workflow().edit(briefing_id, "carla", raw)
    assert pf.approved(env, briefing_id) == raw

    pf.publish(env)

    for audience in ("public", "members"):
        files = pf.site_files(pf.output(env, audience))
        assert files[f"en/{briefing_id}.md"] == raw
        manifest = read_manifest(files[MANIFEST].decode())
        assert manifest[f"en/{briefing_id}.md"] == pf.sha256(raw)


@pytest.mark.parametrize(
    "problem", ["broken front matter", "stale", "with findings", "needs review", "no state"]
)
def test_a_translation_that_is_not_publishable_is_held_with_a_message(env2, problem) -> None:
    env = env2
    briefing_id = clear_alert(env)
    raw = pf.approved(env, briefing_id)
    french = pf.write_translation(
        env, briefing_id, "fr", "Alerte : hôpitaux", "# Hôpital\n\nPhrase Kinkajou.\n",
        source=raw if problem != "stale" else raw + b"\nolder source\n",
        findings=[{"check": "numbers", "where": "body line 3", "message": "12 is missing"}]
        if problem == "with findings" else None,
        state="needs-review" if problem == "needs review" else "machine",
    )  # fmt: skip
    path = env.path(briefing_id).with_name(f"{env.path(briefing_id).stem}.fr.md")
    if problem == "broken front matter":
        path.write_bytes(french.replace(b"title:", b"title: [unclosed", 1))
    elif problem == "no state":
        path.write_bytes(french.replace(b"state: machine", b"reviewer: nobody"))

    report = pf.publish(env)

    assert report.published == [briefing_id]
    files = pf.site_files(pf.output(env))
    assert f"en/{briefing_id}/index.html" in files
    assert not any(p.startswith(f"fr/{briefing_id}") for p in files)
    assert pf.files_containing(files, "Kinkajou") == []
    notes = [n for n in report.skipped if briefing_id in n and "(fr)" in n]
    assert len(notes) == 1, report.skipped
    if problem == "broken front matter":
        assert path.name in notes[0]


# -- TLP -------------------------------------------------------------------------------


def test_restricted_briefings_never_reach_an_audience_above_their_label(env2) -> None:
    env = env2
    clear = clear_alert(env)
    restricted = {
        TLP.GREEN: ("Grid operator DDoS", "sector.energy", "threat.ddos", "Gecko"),
        TLP.AMBER: ("Dialysis pump firmware flaw", "sector.water", "threat.wiper", "Ocelot"),
        TLP.AMBER_STRICT: ("Telecom core breach", "sector.telecom", "threat.phishing", "Marmot"),
        TLP.RED: ("Rail signalling intrusion", "sector.rail", "threat.ics-manipulation", "Tapir"),
    }
    ids = {}
    for tlp, (title, sector, threat, marker) in restricted.items():
        ids[tlp] = pf.new_briefing(env, title, tlp=tlp, sectors=[sector], threats=[threat])
        pf.rewrite(
            env, ids[tlp], f"# {marker}\n\n{marker} marker sentence, restricted to TLP:{tlp}.\n"
        )
    for briefing_id in [clear, *ids.values()]:
        pf.approved(env, briefing_id)
    # A French machine translation of the AMBER briefing, publishable by policy.
    amber_raw = env.read(ids[TLP.AMBER])
    pf.write_translation(
        env, ids[TLP.AMBER], "fr", "Alerte : faille des pompes",
        "# Ocelot-fr\n\nPhrase marqueur Ocelot-fr, réservée aux membres.\n", source=amber_raw,
    )  # fmt: skip

    report = pf.publish(env)

    public = pf.site_files(pf.output(env, "public"))
    members = pf.site_files(pf.output(env, "members"))
    allowed = {"public": {TLP.CLEAR}, "members": {TLP.CLEAR, TLP.GREEN, TLP.AMBER}}
    for audience, files in (("public", public), ("members", members)):
        for tlp, (title, sector, _, marker) in restricted.items():
            found = [
                path
                for needle in (ids[tlp], title, marker, sector.split(".")[1] + "/")
                for path in pf.files_containing(files, needle)
            ] + [path for path in files if sector.split(".")[1] in path]
            if tlp in allowed[audience]:
                assert found, (audience, tlp)
            else:
                assert found == [], (audience, tlp, found)
        assert f"en/{clear}/index.html" in files
        assert {"sitemap.xml", "robots.txt", "en/feeds.opml", "fr/feeds.opml", "en/feed.json"} <= (
            set(files)
        )  # every page, feed, sitemap and subscription list was searched
    assert pf.files_containing(public, "Ocelot-fr") == []
    assert f"fr/{ids[TLP.AMBER]}/index.html" in members
    assert any(ids[TLP.RED] in note and "limit" in note for note in report.skipped)
    assert ids[TLP.RED] not in report.published
    assert env.store.get_briefing(ids[TLP.RED]).state == "approved"


def test_a_withdrawn_amber_briefing_leaves_its_notice_only_for_members(env) -> None:
    amber_id = amber_alert(env)
    pf.approved(env, amber_id)
    pf.approved(env, clear_alert(env))
    pf.publish(env)
    env.clock.advance(hours=2)
    env.workflow().withdraw(amber_id, "ben", "Superseded by a vendor advisory")

    pf.publish(env)

    public = pf.site_files(pf.output(env, "public"))
    members = pf.site_files(pf.output(env, "members"))
    for needle in (amber_id, "Dialysis pump", "Superseded by a vendor advisory"):
        assert pf.files_containing(public, needle) == [], needle
    assert "Superseded by a vendor advisory" in pf.page_text(members[f"en/{amber_id}/index.html"])
    assert pf.files_containing(members, "Ostrava") == []


@pytest.mark.parametrize("label", ["AMBER", "TLP:RED", "amber+strict"])
def test_a_label_raised_in_the_front_matter_keeps_the_briefing_out_of_public(env, label) -> None:
    briefing_id = clear_alert(env)
    pf.rewrite(env, briefing_id, tlp=label)
    pf.approved(env, briefing_id)

    pf.publish(env)

    assert pf.files_containing(pf.site_files(pf.output(env, "public")), "Northbank") == []
    in_members = pf.files_containing(pf.site_files(pf.output(env, "members")), "Northbank")
    assert bool(in_members) == (TLP.parse(label) is TLP.AMBER)


LEAKS = {
    "a whole line": lambda amber_id: ("Ransomware at wards", f"# Wards\n\n{AMBER_LINE}\n"),
    "one sentence of a paragraph": lambda amber_id: (
        "Ransomware at wards",
        f"# Wards\n\nWe also heard this: {AMBER_SENTENCE}\n",
    ),
    "the rendered text of a linked line": lambda amber_id: (
        "Ransomware at wards",
        "# Wards\n\nThe Brno vendor portal still serves the vulnerable build.\n",
    ),
    "a sentence quoted in a list item": lambda amber_id: (
        "Ransomware at wards",
        f"# Wards\n\n- A partner wrote: *{AMBER_SENTENCE}*\n- Nothing else.\n",
    ),
    "its title in the text": lambda amber_id: (
        "Ransomware at wards",
        "# Wards\n\nRelated: Alert: Dialysis pump firmware flaw.\n",
    ),
    "its title as the title": lambda amber_id: ("Alert: Dialysis pump firmware flaw", None),
    "its id": lambda amber_id: ("Ransomware at wards", f"# Wards\n\nSee {amber_id} for more.\n"),
    # A sentence copied into a longer one next to commas (no sentence end around it).
    "a sentence after a comma": lambda amber_id: (
        "Ransomware at wards",
        f"# Wards\n\nAs a partner reported yesterday, {AMBER_SENTENCE}\n",
    ),
    "a sentence before a comma": lambda amber_id: (
        "Ransomware at wards",
        f"# Wards\n\n{AMBER_SENTENCE[:-1]}, a partner reported yesterday.\n",
    ),
    "a sentence between commas": lambda amber_id: (
        "Ransomware at wards",
        f"# Wards\n\nYesterday, {AMBER_SENTENCE[:-1]}, a partner said, and more.\n",
    ),
}


@pytest.mark.parametrize(
    "leak",
    list(LEAKS),
)
def test_the_leak_scan_fails_the_build_and_leaves_the_live_sites(env, leak) -> None:
    amber_id = amber_alert(env)
    pf.approved(env, amber_id)
    good = clear_alert(env)
    pf.approved(env, good)
    pf.publish(env)
    before = {a: live_state(env, a) for a in ("public", "members")}

    leaky = other_alert(env, "DDoS on rail ticketing", "sector.rail", "threat.ddos")
    title, body = LEAKS[leak](amber_id)
    pf.rewrite(env, leaky, body, title=title)
    pf.approved(env, leaky)
    with pytest.raises(PublishError) as raised:
        pf.publish(env)

    message = str(raised.value)
    assert amber_id in message and "public" in message
    assert {a: live_state(env, a) for a in ("public", "members")} == before
    assert env.store.get_briefing(leaky).state == "approved"  # not recorded as published


# -- the status page --------------------------------------------------------------------


def test_the_status_page_charts_only_the_audience_s_own_briefings(env) -> None:
    clear = clear_alert(env)
    amber_id = pf.new_briefing(
        env, "Dialysis pump firmware flaw", tlp=TLP.AMBER, sectors=["sector.water"],
        threats=["threat.wiper"], published=datetime(2026, 2, 2, 8, 0, tzinfo=UTC),
    )  # fmt: skip
    pf.rewrite(env, amber_id, AMBER_BODY)
    for briefing_id in (clear, amber_id):
        pf.approved(env, briefing_id)

    pf.publish(env)

    public = pf.site_files(pf.output(env, "public"))
    members = pf.site_files(pf.output(env, "members"))
    status = public["status.html"].decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in status and 'role="img"' in status
    assert "2026-W10" in status  # the week of the clear briefing's source
    assert "2026-W06" not in status  # the amber one's week: not even a median of it
    for needle in (amber_id, "Dialysis", "Ostrava"):
        assert pf.files_containing({"status.html": public["status.html"]}, needle) == []
    assert "2026-W06" in members["status.html"].decode()
    links = [link for _, link in pf.page_links(public["en/index.html"])]
    assert "../status.html" in links  # linked from the footer of every page
    assert read_manifest(public[MANIFEST].decode())["status.html"] == pf.sha256(
        public["status.html"]
    )
    assert verify_site(pf.output(env, "public")).ok
    assert [a.changed for a in pf.publish(env).audiences] == [False, False]  # stable


# -- withdrawals and corrections ----------------------------------------------------


def test_a_withdrawal_leaves_a_notice_and_an_update_in_every_feed(env2) -> None:
    env = env2
    kept = clear_alert(env)
    withdrawn = other_alert(
        env, "Wiper hits water utility", "sector.water", "threat.wiper",
        "# Wiper\n\nThe Zephyr wiper erased the billing servers of the Eastport utility.\n",
    )  # fmt: skip
    for briefing_id in (kept, withdrawn):
        pf.approved(env, briefing_id)
    pf.write_translation(
        env, withdrawn, "fr", "Alerte : effaceur", "# Effaceur\n\nLe Zephyr a effacé Eastport.\n"
    )
    pf.publish(env, audiences=["public"])
    assert "Zephyr" in pf.page_text(pf.site_files(pf.output(env))[f"fr/{withdrawn}/index.html"])
    env.clock.advance(days=2)  # 2026-03-04 09:00
    env.workflow().withdraw(withdrawn, "ana", "The source retracted its report")

    pf.publish(env, audiences=["public"])

    files = pf.site_files(pf.output(env))
    page = pf.page_text(files[f"en/{withdrawn}/index.html"])
    assert "The source retracted its report" in page
    assert "March 4, 2026" in page
    assert "withdrawn" in page.lower()
    assert pf.files_containing(files, "Zephyr") == []  # the old content is gone everywhere
    assert f"en/{withdrawn}.md" not in files and f"fr/{withdrawn}.md" not in files
    french = pf.page_text(files[f"fr/{withdrawn}/index.html"])
    assert "The source retracted its report" in french and "2026" in french
    assert f"en/{kept}/index.html" in files
    assert pf.broken_links(pf.output(env)) == []
    atom = ET.fromstring(files["en/feed.atom"])
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = next(e for e in atom.findall("a:entry", ns) if withdrawn in e.findtext("a:id", "", ns))
    assert entry.findtext("a:updated", "", ns).startswith("2026-03-04T09:00")
    assert "Withdrawn" in entry.findtext("a:title", "", ns)
    assert atom.findtext("a:updated", "", ns).startswith("2026-03-04T09:00")
    feed = json.loads(files["en/feed.json"])
    item = next(i for i in feed["items"] if withdrawn in i["id"])
    assert item["date_modified"].startswith("2026-03-04T09:00")
    assert "retracted" in item["content_html"]
    rss = ET.fromstring(files["en/feed.rss"])
    assert any("Withdrawn" in (i.findtext("title") or "") for i in rss.iter("item")), (
        "the RSS feed shows the withdrawal"
    )
    assert verify_site(pf.output(env)).ok


def _corrected(env) -> tuple[str, str]:
    original = clear_alert(env)
    pf.approved(env, original)
    pf.publish(env, audiences=["public"])
    env.clock.advance(hours=3)
    correction = env.workflow().correct(original, "ben").id
    body = parse_document(env.read(correction), env.path(correction)).body
    pf.rewrite(env, correction, body.replace("twelve", "ten"), changes="Ten wards, not twelve.")
    pf.approved(env, correction)
    pf.publish(env, audiences=["public"])
    return original, correction


def test_a_correction_links_the_original_which_is_marked_corrected(env) -> None:
    original, correction = _corrected(env)

    assert env.store.get_briefing(original).state == "corrected"
    assert env.store.get_briefing(correction).state == "published"
    pf.publish(env, audiences=["public"])  # the next run publishes the original as corrected
    files = pf.site_files(pf.output(env))
    page = files[f"en/{correction}/index.html"]
    assert "Ten wards, not twelve." in pf.page_text(page)
    assert any(f"{original}/" in href for _, href in pf.page_links(page))
    assert f"en/{original}/index.html" in files  # no silent gap
    assert pf.broken_links(pf.output(env)) == []
    titles = [i["title"] for i in json.loads(files["en/feed.json"])["items"]]
    assert any(t.startswith("Corrected:") for t in titles)


def test_the_corrected_original_says_so_and_links_the_correction(env) -> None:
    original, correction = _corrected(env)
    pf.publish(env, audiences=["public"])

    page = pf.site_files(pf.output(env))[f"en/{original}/index.html"]
    assert any(f"{correction}/" in href for _, href in pf.page_links(page))
    assert "correct" in pf.page_text(page).split("Alert: Ransomware")[1].lower()


# -- the site's links ----------------------------------------------------------------


def test_every_link_of_a_one_language_site_resolves(env) -> None:
    for briefing_id in (
        clear_alert(env),
        other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"),
    ):
        pf.approved(env, briefing_id)
    pf.publish(env)

    for audience in ("public", "members"):
        broken = [link for link in pf.broken_links(pf.output(env, audience)) if "/fr/" not in link]
        assert broken == []


def test_no_language_link_points_at_a_page_that_does_not_exist(env2) -> None:
    env = env2
    briefing_id = clear_alert(env)
    pf.approved(env, briefing_id)
    pf.publish(env)

    assert pf.broken_links(pf.output(env)) == []  # e.g. en/sectors/hospitals/ -> fr/...


# -- releases, the atomic switch, incremental rebuilds ---------------------------------


def test_the_output_is_a_relative_link_to_a_complete_release(env) -> None:
    pf.approved(env, clear_alert(env))

    pf.publish(env)

    for audience in ("public", "members"):
        out = pf.output(env, audience)
        assert out.is_symlink()
        assert not os.path.isabs(os.readlink(out))  # the site folder can be moved or mirrored
        assert out.resolve().parent == env.root / "site" / ".releases" / audience
        assert verify_site(out).ok


def _inodes(folder: Path) -> dict[str, tuple[int, int]]:
    folder = folder.resolve()
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_a_second_identical_publish_writes_nothing(env) -> None:
    pf.approved(env, clear_alert(env))
    pf.publish(env)
    releases = sorted((env.root / "site" / ".releases").rglob("*"))
    before = {a: _inodes(pf.output(env, a)) for a in ("public", "members")}
    audit = env.store.last_audit_entry()

    report = pf.publish(env)

    assert [a.changed for a in report.audiences] == [False, False]
    assert report.published == []
    assert sorted((env.root / "site" / ".releases").rglob("*")) == releases
    assert {a: _inodes(pf.output(env, a)) for a in ("public", "members")} == before
    assert env.store.last_audit_entry() == audit


def test_an_edit_rewrites_only_the_files_it_affects(env) -> None:
    edited, others = three_approved_alerts(env)
    pf.publish(env)
    old = {a: pf.output(env, a).resolve() for a in ("public", "members")}
    old_files = {a: pf.site_files(old[a]) for a in old}
    env.clock.advance(hours=1)
    env.write(edited, env.read(edited).replace(b"twelve wards", b"eleven wards"))
    bf.approve_fully(env, edited)

    report = pf.publish(env)

    for audience, result in zip(("public", "members"), report.audiences, strict=True):
        new = pf.output(env, audience).resolve()
        assert new != old[audience]
        new_files = pf.site_files(new)
        same = [
            p
            for p in new_files
            if old_files[audience].get(p) == new_files[p]
            and p not in (MANIFEST, "manifest.txt.minisig")
        ]
        rewritten = [
            p for p in same if (new / p).stat().st_ino != (old[audience] / p).stat().st_ino
        ]
        assert rewritten == [], audience
        for other in others:
            assert f"en/{other}/index.html" in same and f"en/{other}.md" in same
        assert {"style.css", "print.css", "robots.txt", "briefings.pub"} <= set(same)
        assert result.written == len(new_files) - len(same)
        assert result.linked == len(same)
        assert b"eleven wards" in new_files[f"en/{edited}.md"]
        assert verify_site(new).ok and verify_site(old[audience]).ok  # the old one is intact


def test_an_edit_days_later_rewrites_exactly_the_pages_that_show_it(env) -> None:
    """No page carries the build's date: a rebuild with nothing new rewrites nothing, and
    an edit approved days later rewrites its own page and copy, the lists and feeds that
    show it (those with its text or dates), and the manifest; every other file is the same
    inode as before."""
    edited, _ = three_approved_alerts(env)
    pf.publish(env, audiences=["public"])
    env.clock.advance(days=3)
    assert pf.publish(env, audiences=["public"]).audiences[0].changed is False
    old = pf.output(env).resolve()
    before = _inodes(old)
    env.clock.advance(days=3)
    env.write(edited, env.read(edited).replace(b"twelve wards", b"eleven wards"))
    bf.approve_fully(env, edited)

    report = pf.publish(env, audiences=["public"])

    new = pf.output(env).resolve()
    after = _inodes(new)
    rewritten = {p for p in after if after[p][0] != before.get(p, (None,))[0]}
    feeds = {f"{folder}feed.{ext}" for folder in ("en/", "en/sectors/hospitals/")
             for ext in ("atom", "rss", "json")}  # fmt: skip
    # The lists show its title, summary and first publication date: none of them changed.
    assert rewritten == {
        f"en/{edited}/index.html", f"en/{edited}.md", *feeds, MANIFEST, "manifest.txt.minisig",
    }  # fmt: skip
    assert report.audiences[0].written == len(rewritten)
    page = pf.page_text(pf.site_files(new)[f"en/{edited}/index.html"])
    assert "March 2, 2026" in page and "March 8, 2026" in page  # published, then updated
    assert verify_site(pf.output(env)).ok


def test_a_file_damaged_in_the_live_release_is_not_carried_into_the_next(env) -> None:
    pf.approved(env, clear_alert(env))
    pf.publish(env, audiences=["public"])
    css = pf.output(env).resolve() / "style.css"
    data = bytearray(css.read_bytes())
    data[len(data) // 2] ^= 0x01  # bit rot, or someone editing the live copy
    css.write_bytes(bytes(data))
    pf.approved(env, other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"))

    pf.publish(env, audiences=["public"])

    assert verify_site(pf.output(env)).problems == []


@pytest.mark.parametrize("damaged", ["a page", "a feed"])
def test_a_damaged_page_or_feed_is_built_again_not_reused(env, damaged) -> None:
    briefing_id = clear_alert(env)
    pf.approved(env, briefing_id)
    pf.publish(env, audiences=["public"])
    name = (
        f"en/{briefing_id}/index.html" if damaged == "a page" else "en/sectors/hospitals/feed.atom"
    )
    live = pf.output(env).resolve() / name
    good = live.read_bytes()
    live.write_bytes(good.replace(b"Northbank", b"Southbank"))
    pf.approved(env, other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"))

    pf.publish(env, audiences=["public"])

    assert verify_site(pf.output(env)).problems == []
    assert (pf.output(env) / name).read_bytes() == good


def test_a_changed_template_override_rebuilds_the_pages_it_shapes(env) -> None:
    briefing_id = clear_alert(env)
    pf.approved(env, briefing_id)
    pf.publish(env, audiences=["public"])
    overrides = env.root / "templates" / "site"
    overrides.mkdir(parents=True)
    (overrides / "briefing.html.j2").write_text(
        "{% extends 'base.html.j2' %}{% block content %}<p>Override {{ page.title }}</p>"
        "{% endblock %}"
    )

    report = pf.publish(env, audiences=["public"])

    assert report.audiences[0].changed
    page = pf.site_files(pf.output(env))[f"en/{briefing_id}/index.html"]
    assert b"<p>Override Alert: Ransomware shuts hospital wards</p>" in page
    assert verify_site(pf.output(env)).ok


def test_old_releases_are_pruned_but_never_the_live_one(tmp_path: Path) -> None:
    env = pf.make_site_env(
        tmp_path / "ws", languages=("en",), extra="\n[publishing]\nkeep_releases = 2\n"
    )
    releases = env.root / "site" / ".releases" / "public"
    topics = [
        ("Wiper hits water utility", "sector.water", "threat.wiper"),
        ("DDoS on rail ticketing", "sector.rail", "threat.ddos"),
        ("Phishing targets schools", "sector.education", "threat.phishing"),
        ("Jamming near airports", "sector.aviation", "threat.gnss-jamming"),
    ]
    lives = []
    for title, sector, threat in topics[:3]:
        pf.approved(env, other_alert(env, title, sector, threat))
        pf.publish(env, audiences=["public"])
        lives.append(pf.output(env).resolve())
        kept = sorted(p for p in releases.iterdir() if not p.name.startswith("."))
        assert len(kept) <= 2 and lives[-1] in kept
    assert lives[-2].is_dir()  # the previous release stays for a rollback
    # Releases from a machine whose clock ran ahead sort after anything made now.
    for name in ("99990101T000000000000-aaaaaaaa", "99990101T000000000001-bbbbbbbb"):
        shutil.copytree(lives[-1], releases / name)
    pf.approved(env, other_alert(env, *topics[3]))

    pf.publish(env, audiences=["public"])

    live = pf.output(env).resolve()
    assert live.is_dir() and live.parent == releases
    assert verify_site(pf.output(env)).ok
    assert "Jamming" in pf.page_text(pf.site_files(pf.output(env))["en/index.html"])
    env.close()


# -- bad output folders, templates and Markdown ----------------------------------------


def test_a_real_folder_at_the_output_is_refused_and_left_alone(env) -> None:
    out = pf.output(env)
    (out / "en").mkdir(parents=True)
    (out / "index.html").write_text("made by hand")
    (out / "en" / "notes.txt").write_text("keep me")
    before = pf.site_files(out)
    pf.approved(env, clear_alert(env))

    with pytest.raises(PublishError, match="site/public"):
        pf.publish(env)

    assert not out.is_symlink() and pf.site_files(out) == before


def test_an_output_parent_that_is_a_file_is_a_clear_error(env) -> None:
    (env.root / "site").write_text("not a folder")
    pf.approved(env, clear_alert(env))

    with pytest.raises(PublishError, match="site"):
        pf.publish(env)

    assert (env.root / "site").read_text() == "not a folder"


PUBLISH_SCRIPT = '''
"""Publish the workspace argv[1] like a scheduled run.

KILL_POINT makes it print a marker and wait (to be killed) at one point:
write-N (before the N-th file of a release is written), unlink-N (before the N-th file
is removed, from a recycled release), recycled (before the oldest release is renamed
to become the new one), before-rename (the release is complete, not yet renamed into
place), link-made (the new link exists, not yet renamed over the output),
before-switch, after-switch. Prints "ready" once imported, then
waits for a line on stdin when WAIT_FOR_GO is set.
FILE_SIZE_LIMIT limits the size of every file it writes.
"""
import json, os, pathlib, sys, time
from datetime import UTC, datetime

from briefings.publishing import SiteWriter, publish_site
from briefings.store import Store
from briefings.workspace import open_workspace

point = os.environ.get("KILL_POINT", "")


def hold(label):
    print(label, flush=True)
    time.sleep(600)


if point in ("before-switch", "after-switch"):
    switch = SiteWriter.switch

    def patched_switch(self, release):
        if point == "before-switch":
            hold(point)
        switch(self, release)
        if point == "after-switch":
            hold(point)

    SiteWriter.switch = patched_switch
elif point.startswith("write-"):
    nth, calls, write_bytes = int(point[6:]), [0], pathlib.Path.write_bytes

    def patched_write(self, data):
        calls[0] += 1
        if calls[0] == nth:
            hold(point)
        return write_bytes(self, data)

    pathlib.Path.write_bytes = patched_write
elif point.startswith("unlink-"):
    nth, calls, unlink = int(point[7:]), [0], os.unlink

    def patched_unlink(path, *args, **kwargs):
        calls[0] += 1
        if calls[0] == nth:
            hold(point)
        return unlink(path, *args, **kwargs)

    os.unlink = patched_unlink
elif point in ("before-rename", "link-made", "recycled"):
    replace = os.replace

    def patched_replace(src, dst):
        if point == "recycled" and str(dst).endswith(".partial"):
            hold(point)
        suffix = ".partial" if point == "before-rename" else ".switch"
        if str(src).endswith(suffix):
            hold(point)
        return replace(src, dst)

    os.replace = patched_replace

workspace = open_workspace(pathlib.Path(sys.argv[1]), environ={})
store = Store(workspace.database_path)
if os.environ.get("FILE_SIZE_LIMIT"):  # every write past it fails (EFBIG), like a full disk
    import resource, signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = int(os.environ["FILE_SIZE_LIMIT"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
print("ready", flush=True)
if os.environ.get("WAIT_FOR_GO"):
    sys.stdin.readline()
try:
    report = publish_site(
        workspace, store, clock=lambda: datetime(2026, 3, 2, 12, 0, tzinfo=UTC),
        labels=lambda concept, lang: concept.split(".", 1)[-1].replace("-", " ").capitalize(),
    )
except Exception as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), flush=True)
    sys.exit(3)
print(json.dumps({"report": report.to_json()}), flush=True)
'''


def _script(tmp_path: Path) -> Path:
    path = tmp_path / "publish_once.py"
    path.write_text(textwrap.dedent(PUBLISH_SCRIPT))
    return path


def _run_publish(script: Path, workspace: Path, *, prefix: tuple[str, ...] = (), **env) -> dict:
    """Publish in a fresh process; returns its last line (report or error)."""
    done = subprocess.run(
        [*prefix, sys.executable, str(script), str(workspace)],
        capture_output=True, text=True, timeout=120, cwd=script.parent,
        env={**os.environ, "KILL_POINT": "", "PYTHONPATH": str(REPO), **env},
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr
    return json.loads(lines[-1])


def _start(script: Path, workspace: Path, point: str) -> subprocess.Popen:
    """A publishing process for ``workspace``, imported and waiting for "go"."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(workspace)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        cwd=script.parent,
        env={**os.environ, "KILL_POINT": point, "PYTHONPATH": str(REPO), "WAIT_FOR_GO": "1"},
    )  # fmt: skip
    assert process.stdout.readline().strip() == "ready"
    return process


def _kill(process: subprocess.Popen, point: str, delay: float = 0.0) -> str:
    """Let the process publish, SIGKILL it at the marker ``point`` or, for a share of the
    run ("at-50%"), ``delay`` seconds after it starts; returns the last line it printed."""
    try:
        process.stdin.write("go\n")
        process.stdin.flush()
        seen = "go"
        if point.startswith("at-"):
            time.sleep(delay)
        else:
            for line in process.stdout:
                seen = line.strip()
                if seen == point:
                    break
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        return seen
    finally:
        process.kill()
        process.stdin.close()
        process.stdout.close()


def _kill_at(script: Path, workspace: Path, point: str) -> str:
    return _kill(_start(script, workspace, point), point)


def _timed_run(script: Path, workspace: Path) -> float:
    """Publish in a fresh process; returns the seconds from "ready" to its end."""
    process = subprocess.Popen(
        [sys.executable, str(script), str(workspace)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=script.parent,
        env={**os.environ, "KILL_POINT": "", "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    with process:
        assert process.stdout.readline().strip() == "ready"
        start = time.monotonic()
        last = process.stdout.read().strip().splitlines()[-1]
        process.wait(timeout=60)
    assert "report" in json.loads(last), last
    return time.monotonic() - start


def _manifests(workspace: Path) -> dict[str, bytes]:
    return {a: (workspace / "site" / a / MANIFEST).read_bytes() for a in ("public", "members")}


def _assert_whole(workspace: Path, allowed: dict[str, set[bytes]], label: str) -> dict[str, bytes]:
    """Each audience's live folder resolves, verifies and is one of the allowed releases."""
    found = {}
    for audience in ("public", "members"):
        out = workspace / "site" / audience
        assert out.is_symlink() and out.resolve().is_dir(), (label, audience)
        result = verify_site(out)
        assert result.problems == [], (label, audience, result.problems)
        found[audience] = (out / MANIFEST).read_bytes()
        assert found[audience] in allowed[audience], (label, audience, "a mix of releases")
    return found


def _pending_change(tmp_path: Path, *, recycled: bool = False) -> tuple[Path, dict[str, bytes]]:
    """A workspace with a live site (one briefing) and a second one approved since.

    ``recycled``: the site keeps two releases and has two already, so the next publish
    turns the older one into its release (see ``SiteWriter._recycle``)."""
    extra = "\n[publishing]\nkeep_releases = 2\n" if recycled else ""
    env = pf.make_site_env(tmp_path / "template", languages=("en",), extra=extra)
    pf.approved(env, clear_alert(env))
    pf.publish(env)
    if recycled:
        pf.approved(env, other_alert(env, "DDoS on rail ticketing", "sector.rail", "threat.ddos"))
        pf.publish(env)
    old = _manifests(env.root)
    pf.approved(env, other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"))
    env.close()
    return env.root, old


# Where a publishing process is killed: at markers (see PUBLISH_SCRIPT), and after a
# share of the time a whole publish takes on this machine. A recycled release has few
# files to write (the changed ones) and some to remove.
MARKERS = ["write-1", "write-25", "before-rename", "link-made", "before-switch", "after-switch"]
RECYCLED_MARKERS = [
    "recycled", "unlink-1", "unlink-3", "write-1", "write-3", "before-rename", "link-made",
    "before-switch", "after-switch",
]  # fmt: skip
SHARES = [0, 15, 30, 45, 55, 65, 80]


def _publish_here(workspace: Path):
    """The same publish as PUBLISH_SCRIPT's (clock, labels), in this process."""
    opened = open_workspace(workspace, environ={})
    store = Store(opened.database_path)
    try:
        return publish_site(opened, store, clock=lambda: NOON, labels=pf.labels)
    finally:
        store.close()


def _in_parallel(function, points: list[str]) -> dict[str, object]:
    results: dict[str, object] = {}
    threads = [
        threading.Thread(target=lambda p=p: results.__setitem__(p, function(p))) for p in points
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("recycled", [False, True], ids=["new release", "recycled release"])
def test_a_publish_killed_at_any_point_leaves_the_live_site_whole(
    tmp_path: Path, recycled: bool
) -> None:
    template, old = _pending_change(tmp_path, recycled=recycled)
    markers = RECYCLED_MARKERS if recycled else MARKERS
    script = _script(tmp_path)
    reference = tmp_path / "reference"
    shutil.copytree(template, reference, symlinks=True)
    duration = _timed_run(script, reference)
    new = _manifests(reference)
    assert new["public"] != old["public"] and new["members"] != old["members"]
    allowed = {a: {old[a], new[a]} for a in old}
    timed = [f"at-{share}%" for share in SHARES]
    copies = {point: tmp_path / f"kill-{point}" for point in markers + timed}
    for copy in copies.values():
        shutil.copytree(template, copy, symlinks=True)

    started = _in_parallel(lambda p: _start(script, copies[p], p), markers + timed)
    seen = _in_parallel(lambda p: _kill(started[p], p), markers)
    for share, point in zip(SHARES, timed, strict=True):  # one at a time: timing matters
        seen[point] = _kill(started[point], point, duration * share / 100)

    for point in markers:
        assert seen[point] == point, f"the run never reached {point}"
    for point, copy in copies.items():
        found = _assert_whole(copy, allowed, point)
        if point in (
            "recycled",
            "unlink-1",
            "write-1",
            "before-rename",
            "link-made",
            "before-switch",
        ):
            assert found["public"] == old["public"], point
        if point == "after-switch":
            assert found == {"public": new["public"], "members": old["members"]}
    # Then a normal publish finishes the job and cleans up after the killed one.
    for point, copy in copies.items():
        _publish_here(copy)
        assert _assert_whole(copy, {a: {new[a]} for a in new}, point) == new
        debris = [
            p.name for p in (copy / "site").rglob(".*") if p.name.endswith((".partial", ".switch"))
        ]
        assert debris == [], point
        store = Store(open_workspace(copy, environ={}).database_path)
        try:
            states = {r.state for r in store.list_briefings(states=["approved", "published"])}
        finally:
            store.close()
        assert states == {"published"}, point


def test_a_later_publish_cleans_what_killed_publishes_left(tmp_path: Path) -> None:
    template, _ = _pending_change(tmp_path)
    script = _script(tmp_path)
    assert _kill_at(script, template, "write-3") == "write-3"  # leaves a .partial folder
    assert _kill_at(script, template, "after-switch") == "after-switch"  # public switched

    _publish_here(template)

    releases = template / "site" / ".releases"
    assert [p.name for p in releases.rglob("*.partial")] == []


@pytest.fixture(scope="module")
def unwritable_run(tmp_path_factory):
    """A publish (in its own process) while the output parent ``site/`` is read-only."""
    tmp_path = tmp_path_factory.mktemp("unwritable")
    template, _ = _pending_change(tmp_path)
    site = template / "site"
    before = {a: live_state_at(template, a) for a in ("public", "members")}
    site.chmod(0o500)
    try:
        prefix: tuple[str, ...] = ()
        if os.access(site, os.W_OK):
            # Root ignores permission bits; without CAP_DAC_OVERRIDE it obeys them.
            setpriv = shutil.which("setpriv")
            if os.geteuid() != 0 or setpriv is None:
                pytest.skip("chmod cannot make a folder unwritable for this user")
            prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner")
            check = subprocess.run([*prefix, "test", "-w", str(site)], check=False)
            if check.returncode == 0:
                pytest.skip("cannot drop the capability that ignores permission bits")
        result = _run_publish(_script(tmp_path), template, prefix=prefix)
    finally:
        site.chmod(0o755)
    after = {a: live_state_at(template, a) for a in ("public", "members")}
    return site, result, before, after


def test_an_unwritable_output_parent_leaves_the_live_site(unwritable_run) -> None:
    _, result, before, after = unwritable_run

    assert "error" in result, result
    assert after == before


def test_an_unwritable_output_parent_is_a_publish_error_naming_it(unwritable_run) -> None:
    site, result, before, _ = unwritable_run

    assert result["error"] == "PublishError", result
    assert str(site) in result["message"]
    left = sorted(p.name for p in (site / ".releases" / "public").iterdir())
    assert [name for name in left if name != ".finished"] == [before["public"][0].name]


def live_state_at(workspace: Path, audience: str) -> tuple[Path, dict[str, bytes]]:
    out = workspace / "site" / audience
    return out.resolve(), pf.site_files(out)


def test_a_full_disk_while_writing_is_a_clear_error_and_the_live_site_stays(tmp_path: Path) -> None:
    template, _ = _pending_change(tmp_path)
    before = {a: live_state_at(template, a) for a in ("public", "members")}

    result = _run_publish(_script(tmp_path), template, FILE_SIZE_LIMIT="2048")

    assert result["error"] == "PublishError", result
    assert ".releases" in result["message"]
    assert {a: live_state_at(template, a) for a in ("public", "members")} == before
    assert list((template / "site" / ".releases").rglob("*.partial")) == []


BROKEN_TEMPLATES = {
    "syntax error": "{% extends 'base.html.j2' %}{% block content %}{{ page.title }{% endblock %}",
    "undefined field": (
        "{% extends 'base.html.j2' %}{% block content %}{{ page.no_such_field }}{% endblock %}"
    ),
}


def _publish_with_broken_override(env, template: str):
    """Publish once, then again with a broken briefing.html.j2 override; returns the live
    states before and after, and what the second publish raised."""
    pf.approved(env, clear_alert(env))
    pf.publish(env)
    before = {a: live_state(env, a) for a in ("public", "members")}
    overrides = env.root / "templates" / "site"
    overrides.mkdir(parents=True)
    (overrides / "briefing.html.j2").write_text(template)
    pf.approved(env, other_alert(env, "Wiper hits water utility", "sector.water", "threat.wiper"))
    with pytest.raises(Exception) as raised:
        pf.publish(env)
    return before, {a: live_state(env, a) for a in ("public", "members")}, raised.value


@pytest.mark.parametrize("kind", list(BROKEN_TEMPLATES))
def test_a_broken_template_override_leaves_the_live_site(env, kind) -> None:
    before, after, _ = _publish_with_broken_override(env, BROKEN_TEMPLATES[kind])

    assert after == before


@pytest.mark.parametrize("kind", list(BROKEN_TEMPLATES))
def test_a_broken_template_override_is_a_publish_error_naming_the_file(env, kind) -> None:
    _, _, error = _publish_with_broken_override(env, BROKEN_TEMPLATES[kind])

    assert isinstance(error, PublishError), repr(error)
    assert "templates/site/briefing.html.j2" in str(error)


ACTIVE_TAGS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form",
    "input", "button", "textarea", "select", "meta", "link", "base", "svg", "math", "img",
    "video", "audio", "source", "template", "noscript", "portal", "details",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcset"}


class _SiteMarkup(HTMLParser):
    """Active content in a published page, apart from what the site's own frame uses
    (its meta tags, stylesheet and alternate links, and JSON-LD data blocks, and on the
    status page, which shows no briefing text, its inline SVG charts)."""

    def __init__(self, charts: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.charts = charts
        self.found: list[str] = []
        self.footer_inside_body = False
        self._body_depth = 0

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        frame = (
            (tag == "meta" and set(attributes) <= {"charset", "name", "content"})
            or (tag == "link" and attributes.get("rel") in ("alternate", "stylesheet"))
            or (tag == "script" and attributes.get("type") == "application/ld+json")
            or (tag == "svg" and self.charts and attributes.get("role") == "img")
        )
        if tag in ACTIVE_TAGS and not frame:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            squeezed = "".join(ch for ch in value or "" if ord(ch) > 0x20).lower()
            if name.startswith("on") or name == "style":
                self.found.append(f"<{tag} {name}=>")
            elif name in URL_ATTRIBUTES and squeezed.startswith(
                ("javascript:", "data:", "vbscript:")
            ):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "div" and attributes.get("class") == "briefing-body":
            self._body_depth = 1
        elif self._body_depth and tag == "div":
            self._body_depth += 1
        if tag == "footer" and self._body_depth:
            self.footer_inside_body = True

    def handle_endtag(self, tag) -> None:
        if self._body_depth and tag == "div":
            self._body_depth -= 1


HOSTILE_BODY = """# Hostile

<script>window.__pwned=1</script>

<img src=x onerror="window.__pwned=1">

<iframe src="https://evil.example/"></iframe>

[click](javascript:window.__pwned=1) and [tab](jav&#x09;ascript:alert(1)) and
<a href="JaVaScRiPt:alert(1)">raw</a> and <a href="data:text/html;base64,PHNjcmlwdD4=">data</a>

<svg onload="window.__pwned=1"><circle r="1"/></svg>

<math><mi xlink:href="javascript:alert(1)">x</mi></math>

<style>body { display: none }</style>

<form action="https://evil.example/"><input name="q"><button>go</button></form>

A paragraph with attributes.
{: onclick="window.__pwned=1" style="color: red" }

<details open ontoggle="window.__pwned=1">x</details>

<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">

<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example/">

<div><table><tr><td>an unclosed table, an unclosed div and an unclosed comment <!-- here
"""
BROKEN_MARKDOWN = (
    """# Broken

```python
a fence that never closes

**bold that never closes and [a link](http://x that never closes

[^missing-footnote] and | a | table |
|---|
| 1 | 2 | 3 |

"""
    + (">" * 300)
    + " a very deep quote\n\n"
    + "".join("  " * i + "- level\n" for i in range(150))
)


def _feed_fragments(files: dict[str, bytes]):
    """Every HTML fragment a feed reader would render: Atom content, RSS content and
    description, JSON Feed content_html."""
    for path, data in files.items():
        if path.endswith(".json") and "feed" in path:
            for item in json.loads(data)["items"]:
                yield path, item["content_html"]
        elif path.endswith((".atom", ".rss")):
            for element in ET.fromstring(data).iter():
                if element.tag.rsplit("}", 1)[-1] in ("content", "encoded", "description"):
                    yield path, element.text or ""


@pytest.mark.parametrize("body", [HOSTILE_BODY, BROKEN_MARKDOWN], ids=["hostile", "broken"])
def test_hostile_and_broken_markdown_is_published_inert(env, body, find_active_content) -> None:
    hostile_title = '<script>window.__pwned=1</script> <img src=x onerror="window.__pwned=1">'
    briefing_id = clear_alert(env, body=body)
    pf.rewrite(env, briefing_id, title=hostile_title)
    raw = pf.approved(env, briefing_id)

    report = pf.publish(env, audiences=["public"])

    assert report.published == [briefing_id]
    files = pf.site_files(pf.output(env))
    assert files[f"en/{briefing_id}.md"] == raw  # the source copy stays as approved
    pages = {p: d for p, d in files.items() if p.endswith(".html")}
    assert f"en/{briefing_id}/index.html" in pages
    for path, data in pages.items():
        walker = _SiteMarkup(charts=path == "status.html")
        walker.feed(data.decode("utf-8"))
        walker.close()
        assert walker.found == [], path
        assert not walker.footer_inside_body, path  # broken markup cannot swallow the page
        text = data.decode("utf-8")
        assert text.count("<main") == 1 and text.rstrip().endswith("</html>"), path
    for path, fragment in _feed_fragments(files):
        assert find_active_content(fragment) == [], path
    assert hostile_title not in files[f"en/{briefing_id}/index.html"].decode()


# -- reproducibility ---------------------------------------------------------------------


def test_two_workspaces_built_the_same_way_publish_the_same_manifests(tmp_path: Path) -> None:
    manifests = []
    for name in ("one", "two"):
        env = pf.make_site_env(tmp_path / name)
        if manifests:  # the same signing key: it is part of the workspace
            shutil.copytree(tmp_path / "one" / "keys", env.root / "keys")
        pf.approved(env, clear_alert(env))
        pf.approved(env, amber_alert(env))
        pf.write_translation(
            env,
            clear_alert_id(env),
            "fr",
            "Alerte : rançongiciel",
            "# Hôpital\n\nDouze services.\n",
        )
        pf.publish(env)
        manifests.append({a: pf.site_files(pf.output(env, a)) for a in ("public", "members")})
        env.close()

    one, two = manifests
    for audience in ("public", "members"):
        assert one[audience][MANIFEST] == two[audience][MANIFEST]
        assert one[audience] == two[audience]


def clear_alert_id(env) -> str:
    return next(
        r.id for r in env.store.list_briefings() if r.kind == "alert" and r.tlp is TLP.CLEAR
    )
