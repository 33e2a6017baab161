"""Fixed wording that drafts carry through template expressions (a priority reason's
"why", a debunk's pending verdict) is boilerplate for the TLP leak scan; a sentence of
the sources or of an officer stays a leak, even written the way a reason line is.

The end-to-end cases publish real workspaces (real store, drafting and publish_site; one
of them tagged by the real spaCy pipeline): unedited AMBER and CLEAR drafts that share
a reason line or the pending verdict must publish, while a reason-like line carrying an
AMBER briefing's own sentence, copied into a CLEAR briefing, must fail the build.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import briefing_fixtures as bf
import publishing_fixtures as pf
import pytest

from briefings.boilerplate import (
    MAX_VALUE,
    boilerplate_matcher,
    drafting_templates,
    fixed_wording_lines,
)
from briefings.documents import parse_document
from briefings.drafting import draft_briefings
from briefings.errors import PublishError
from briefings.publishing import clauses, markdown_reading, publish_site
from briefings.tlp import TLP
from briefings.wording import PENDING_VERDICT, reason_whys

OFFICER_SENTENCE = "Our contact at the Ostrava clinic confirmed exploitation of the pumps"
LONG_SENTENCE = "the Ostrava clinic still runs pump firmware 3.2, which takes unsigned updates"
ITEM_SENTENCE = "The pump firmware 3.2 accepts unsigned updates from the clinic network"


def reading(text: str) -> list[str]:
    return clauses(markdown_reading(text))


@pytest.fixture(scope="module")
def shipped():
    return boilerplate_matcher(drafting_templates(Path("/nonexistent")), reading)


# -- the matcher ---------------------------------------------------------------------------


def test_every_reason_the_tagger_words_is_boilerplate_with_or_without_its_label(shipped):
    for why in reason_whys():
        assert shipped(why), why
        for label in ("Hospitals", "Health care", "Impersonation of public institutions"):
            assert shipped(f"{why} ({label})"), (why, label)


def test_the_pending_verdict_of_a_debunk_is_boilerplate(shipped):
    [clause] = reading(PENDING_VERDICT)
    assert shipped(clause)


@pytest.mark.parametrize(
    "clause",
    [
        f"{OFFICER_SENTENCE} (Hospitals)",  # a sentence where the wording goes: no hole there
        f"{ITEM_SENTENCE} (Health care)",
        f"sector essentialness 5/5 ({LONG_SENTENCE})",  # more than a label's hole holds
        f"sector essentialness 5/5, as {OFFICER_SENTENCE}",
        f"{OFFICER_SENTENCE}, sector essentialness 5/5 (Hospitals)",
        "sector essentialness 7/5 (Hospitals)",  # no such wording
        f"An officer rates this claim: {OFFICER_SENTENCE}",
    ],
)
def test_a_sentence_of_the_sources_or_an_officer_is_not(shipped, clause):
    assert len(LONG_SENTENCE) > MAX_VALUE
    assert not shipped(clause)


def test_an_override_writing_reasons_its_own_way_gets_its_wording_too(tmp_path):
    drafts = tmp_path / "templates" / "drafts"
    drafts.mkdir(parents=True)
    (drafts / "alert.md.j2").write_text(
        '{% for r in event.reasons %}\n* {{ r["why"] }} for {{ r.label }}\n{% endfor %}\n', "utf-8"
    )
    matcher = boilerplate_matcher(drafting_templates(tmp_path), reading)
    assert matcher("sector essentialness 5/5 for Health care")
    assert matcher("sector essentialness 5/5 (Health care)")  # the shipped line stays
    assert not matcher(f"{OFFICER_SENTENCE} for Health care")


def test_only_lines_writing_fixed_wording_are_expanded():
    template = "# {{ title }}\n- {{ reason.why }}: +{{ reason.points }}\n{{ verdict_text }}\n"
    lines = fixed_wording_lines(template)
    assert lines == [
        *(f"- {why}: +{{{{ reason.points }}}}" for why in reason_whys()),
        PENDING_VERDICT,
    ]
    assert fixed_wording_lines("{{ reason.why | upper }}\n{{ event.summary }}\n") == []


def test_the_wording_is_in_what_the_needles_key_hashes():
    """publishing._needles_key hashes drafting_templates(): changing a reason's wording
    (briefings.wording) changes the key, so needles kept from a build before are redone."""
    text = "\n".join(drafting_templates(Path("/nonexistent")))
    for wording in [*reason_whys(), PENDING_VERDICT]:
        assert wording in text, wording


# -- end to end ----------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path):
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    yield env
    env.close()


def public_text(env, briefing_id: str) -> str:
    public = pf.site_files(pf.output(env, "public"))
    return pf.page_text(public[f"en/{briefing_id}/index.html"])


def test_unedited_alerts_on_one_sector_publish_across_tlp_labels(env):
    amber = pf.new_briefing(
        env, "Dialysis pump firmware flaw exploited", tlp=TLP.AMBER, threats=["threat.wiper"]
    )
    clear = pf.new_briefing(env, "Ransomware shuts hospital wards")
    for briefing_id in (amber, clear):
        pf.approved(env, briefing_id)

    report = pf.publish(env)  # the leak scan raises on a leak

    assert clear in report.published and amber in report.published  # members only
    assert "sector essentialness 5/5 (Hospitals): +40" in public_text(env, clear)
    assert pf.files_containing(pf.site_files(pf.output(env, "public")), amber) == []


def test_unedited_debunks_publish_across_tlp_labels(env):
    amber = pf.new_briefing(
        env, "Fake vaccine recall letters circulate in Ostrava", tlp=TLP.AMBER, kind="debunk",
        sectors=["sector.water"], threats=["threat.wiper"], tactics=["tactic.impersonation"],
    )  # fmt: skip
    clear = pf.new_briefing(
        env, "Claim that tap water is poisoned spreads online", kind="debunk",
        sectors=["sector.rail"], threats=["threat.ddos"], tactics=["tactic.fabricated-content"],
    )  # fmt: skip
    for briefing_id in (amber, clear):
        pf.approved(env, briefing_id)

    pf.publish(env)

    assert PENDING_VERDICT in public_text(env, clear)


def test_alerts_and_digests_tagged_by_the_pipeline_publish_across_tlp_labels(env):
    """Real tagging gives both events the same reasons (essential sector, severe threat,
    people affected, a CVE); real drafting words them with glossary labels."""
    from nlp.pipeline import PipelineCache
    from nlp.tagging import tag_items, tagger_version

    env.add_item(
        "Ostrava dialysis pumps hit",
        "Ransomware crews are exploiting CVE-2026-11111 in dialysis pumps at an Ostrava "
        "hospital; patients are affected.",
        tlp=TLP.AMBER,
    )
    env.add_item(  # a day later: another event, another digest
        "Ransomware closes hospital wards",
        "Ransomware is exploiting CVE-2026-22222 at the Northbank hospital; wards are closed "
        "and patients are affected.",
        published=bf.T0 + timedelta(days=1),
    )
    tagger = tagger_version()
    analyses, _ = tag_items(env.store.items_to_tag(tagger), PipelineCache(), tagger)
    env.store.save_analyses(analyses, env.clock())
    drafted = draft_briefings(env.workspace, env.store, clock=env.clock).created
    assert {b.split("-")[0] for b in drafted} == {"alert", "digest"}, drafted
    for briefing_id in drafted:
        bf.approve_fully(env, briefing_id)

    report = publish_site(env.workspace, env.store, clock=env.clock)

    assert set(report.published) == set(drafted)
    [clear] = [b for b in drafted if b.startswith("alert-2026-03-03")]
    text = public_text(env, clear)
    assert "sector essentialness 5/5 (Health care): +40" in text
    assert "CVE ids or indicators to act on: +4" in text


def with_reason(env, briefing_id: str, line: str | None = None, paragraph: str | None = None):
    """An officer adds a line to the briefing's reasons and/or a paragraph at its end."""
    body = parse_document(env.read(briefing_id), env.path(briefing_id)).body
    heading = "## Why this is urgent\n\n"
    assert heading in body
    if line:
        body = body.replace(heading, f"{heading}{line}\n", 1)
    if paragraph:
        body += f"\n{paragraph}\n"
    pf.rewrite(env, briefing_id, body)


LEAKS = {
    # (the line an officer adds to the AMBER alert's reasons, what the CLEAR one carries)
    "an officer's sentence as a reason": (
        f"- {OFFICER_SENTENCE} (Hospitals): +20",
        {"line": f"- {OFFICER_SENTENCE} (Hospitals): +20"},
    ),
    "an officer's sentence as a label": (
        f"- sector essentialness 5/5 ({LONG_SENTENCE}): +40",
        {"line": f"- sector essentialness 5/5 ({LONG_SENTENCE}): +40"},
    ),
    "a source item's sentence as a reason": (
        f"- {ITEM_SENTENCE} (Hospitals): +40",
        {"line": f"- {ITEM_SENTENCE} (Hospitals): +40"},
    ),
    "a source item's sentence": (None, {"paragraph": f"{ITEM_SENTENCE}."}),
}


@pytest.mark.parametrize("leak", list(LEAKS))
def test_an_amber_alert_s_own_sentence_copied_still_fails_the_build(env, leak):
    amber_line, copied = LEAKS[leak]
    amber = pf.new_briefing(
        env, "Dialysis pump firmware flaw", f"{ITEM_SENTENCE}. A fix ships in May.",
        tlp=TLP.AMBER, threats=["threat.wiper"],
    )  # fmt: skip
    if amber_line:
        with_reason(env, amber, amber_line)
    leaky = pf.new_briefing(env, "Ransomware shuts hospital wards")
    with_reason(env, leaky, **copied)
    for briefing_id in (amber, leaky):
        pf.approved(env, briefing_id)

    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value)
