"""Template boilerplate and the TLP leak scan: what every briefing says is no leak,
what the sources or an officer said still is.

The end-to-end cases publish real workspaces: an AMBER digest and CLEAR digests that
share the templates' sentences must publish, while a sentence of the AMBER one's own
text copied into a CLEAR briefing must still fail the build.
"""

from __future__ import annotations

from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.boilerplate import (
    HOLE,
    boilerplate_matcher,
    drafting_templates,
    label_list_matcher,
    line_variants,
)
from briefings.errors import PublishError
from briefings.publishing import clauses, markdown_reading
from briefings.tlp import TLP


def reading(text: str) -> list[str]:
    return clauses(markdown_reading(text))


@pytest.fixture(scope="module")
def shipped():
    return boilerplate_matcher(drafting_templates(Path("/nonexistent")), reading)


def test_if_blocks_and_their_else_branches_are_taken_and_left_out():
    line = "A{{ x }}{% if y %} B {{ z }}{% else %} C{% endif %} D{# note #}"
    assert sorted(line_variants(line)) == sorted(
        [f"A{HOLE} B {HOLE} D", f"A{HOLE} C D", f"A{HOLE} D"]
    )


@pytest.mark.parametrize(
    "clause",
    [
        "1 event reported by 1 source, most urgent first",
        "14 events reported by 9 sources, most urgent first",
        "Priority 80 · TLP:AMBER · reported by 3 sources",
        "No civilian sector was named in the sources",
    ],
)
def test_what_the_shipped_templates_write_is_boilerplate(shipped, clause):
    assert shipped(clause)


@pytest.mark.parametrize(
    "clause",
    [
        "Our contact at the Ostrava clinic confirmed exploitation of the pumps in two wards",
        "1 event reported by 1 source, most urgent first, and our contact in Ostrava confirmed "
        "the pumps are exploited in two wards of the clinic",  # too long for its holes
        "Ransomware closed twelve wards at the Northbank general hospital on Monday night",
    ],
)
def test_text_of_the_sources_or_an_officer_is_not(shipped, clause):
    assert not shipped(clause)


def test_a_workspace_override_adds_its_own_sentences(tmp_path):
    drafts = tmp_path / "templates" / "drafts"
    drafts.mkdir(parents=True)
    (drafts / "digest.md.j2").write_text(
        "{{ n }} incidents this week, summarised by the coalition desk.\n{{ body }}\n", "utf-8"
    )
    matcher = boilerplate_matcher(drafting_templates(tmp_path), reading)
    assert matcher("7 incidents this week, summarised by the coalition desk")
    assert matcher("1 event reported by 1 source, most urgent first")  # shipped ones stay


def test_lists_of_glossary_labels_are_boilerplate_other_lists_are_not():
    labels = label_list_matcher(["hospitals and health care", "drinking water", "ransomware"])
    assert labels("Hospitals and health care, Drinking water.")
    assert labels("Ransomware · drinking water")
    assert not labels("Hospitals and health care, the Ostrava clinic")
    assert not label_list_matcher([])("anything")


# -- end to end ----------------------------------------------------------------------------

SHARED = "1 event reported by 1 source, most urgent first. TLP:{tlp}."
AMBER_OWN = "Our contact at the Ostrava clinic confirmed exploitation of the pumps in two wards."


def digest_body(tlp: str, story: str) -> str:
    return (
        f"# Digest\n\n{SHARED.format(tlp=tlp)}\n\n## Health care\n\n"
        f"### {story}\n\nPriority 70 · Ransomware · reported by 2 sources\n\n"
        f"Sectors: Health care, Drinking water, Electricity.\n"
    )


def amber_briefing(env) -> str:
    """An AMBER briefing on other concepts than the CLEAR ones (its own event)."""
    amber = pf.new_briefing(
        env, "Pump flaw digest", tlp=TLP.AMBER, sectors=["sector.water"], threats=["threat.wiper"]
    )
    pf.rewrite(env, amber, digest_body("AMBER", "Dialysis pumps exploited") + AMBER_OWN + "\n")
    return amber


@pytest.fixture
def env(tmp_path: Path):
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    yield env
    env.close()


def test_briefings_sharing_template_sentences_publish_across_tlp_labels(env):
    amber = amber_briefing(env)
    clear = pf.new_briefing(env, "Ward closures digest")
    pf.rewrite(env, clear, digest_body("CLEAR", "Wards closed by ransomware"))
    for briefing_id in (amber, clear):
        pf.approved(env, briefing_id)

    pf.publish(env)

    public = pf.site_files(pf.output(env, "public"))
    page = next(data for path, data in public.items() if path.endswith(f"{clear}/index.html"))
    assert b"most urgent first" in page  # the shared sentence is on the public site
    assert not any(AMBER_OWN.encode() in data for data in public.values())


def test_the_amber_briefing_s_own_sentence_copied_still_fails_the_build(env):
    amber = amber_briefing(env)
    leaky = pf.new_briefing(env, "Ward closures digest")
    pf.rewrite(env, leaky, digest_body("CLEAR", "Wards closed") + AMBER_OWN + "\n")
    for briefing_id in (amber, leaky):
        pf.approved(env, briefing_id)

    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value) and "Ostrava clinic" in str(raised.value)
