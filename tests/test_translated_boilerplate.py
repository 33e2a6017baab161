"""Translated template sentences are boilerplate for the TLP leak scan; what an officer
or a source wrote in an AMBER briefing, and its translation, is not.

End to end on real components: a workspace with English and French, alerts drafted by
the real drafter, approved by officers, translated by the real translation stage with
the project's small en-fr Argos package (``models/``, as tests/test_translation.py uses
it), published with the real ``publish_site``.

That package translates the sentences of its synthetic corpus and little else: the
shipped templates' advice and reason lines come out garbled and with QA findings, so
such a translation is held for a linguist. The first case therefore drafts with a
workspace template whose fixed sentences the package knows (its translations are
publishable as they are); the second uses the shipped templates and a linguist approves
the machine translations unchanged. Either way the AMBER and CLEAR translations share
long translated template sentences, and before translated boilerplate was recognised the
public build failed on them ("TLP check failed").
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import briefing_fixtures as bf
import publishing_fixtures as pf
import pytest

from briefings.approval import Workflow
from briefings.documents import parse_document, render_document
from briefings.errors import PublishError
from briefings.publishing import (
    MIN_SENTENCE,
    PublishReport,
    _boilerplate,
    _squash,
    _template_text,
    clauses,
    collect_publications,
    markdown_reading,
)
from briefings.site import Publication
from briefings.tlp import TLP
from briefings.translated_boilerplate import (
    is_wholly_boilerplate,
    source_clause_test,
    translated_boilerplate,
    unit_sentences,
)
from briefings.translation import approve_translation, install_package, translate_briefings
from briefings.translation.markdown import segment_document

MODEL = next(
    iter(sorted((Path(__file__).resolve().parent.parent / "models").glob("translate-en_fr-*.argosmodel"))),
    None,
)  # fmt: skip

# A workspace's alert template: its fixed sentences are sentences the small package knows.
ALERT_TEMPLATE = """# {{ title | md }}

## What happened

{{ event.summary | md }}

## What to do

- Check whether your organisation runs the affected systems.
- Report incidents to your national CERT.
"""
CHECK = "Check whether your organisation runs the affected systems."
REPORT = "Report incidents to your national CERT."
# What the package makes of them (asserted in the first test: the model is deterministic).
CHECK_FR = "Vérifiez si votre organisation utilise les systèmes concernés"
REPORT_FR = "Signalez les incidents à votre CERT national"

AMBER_TITLE = "Operators in health care in Velmora have switched to manual procedures"
ITEM_SENTENCE = "Investigators found traces of ransomware on 12 computers in Velmora."
CLEAR_TITLE = "The authorities in Ostrava restored services in health care"
CLEAR_TEXT = "At least 40 organisations were affected in Ostrava."
OFFICER_SENTENCE = (
    "The national CERT warns organisations in drinking water about a new wave of wiper malware."
)


@pytest.fixture
def env(tmp_path: Path):
    """A workspace in English and French, with the small en-fr package installed."""
    if MODEL is None:
        pytest.skip("no en-fr package in models/")
    env = pf.make_site_env(tmp_path / "ws", languages=("en", "fr"))
    copy = tmp_path / MODEL.name
    shutil.copyfile(MODEL, copy)
    install_package(env.workspace, copy, clock=env.clock)
    yield env
    env.close()


def use_alert_template(env) -> None:
    drafts = env.root / "templates" / "drafts"
    drafts.mkdir(parents=True, exist_ok=True)
    (drafts / "alert.md.j2").write_text(ALERT_TEMPLATE, "utf-8")


def two_alerts(env, amber_body=None) -> tuple[str, str]:
    """An AMBER and a CLEAR alert on one sector, days apart (two events), drafted and
    approved; ``amber_body(body)`` is an officer's edit of the AMBER one first."""
    amber = pf.new_briefing(env, AMBER_TITLE, ITEM_SENTENCE, tlp=TLP.AMBER)
    clear = pf.new_briefing(env, CLEAR_TITLE, CLEAR_TEXT, published=bf.T0 + timedelta(days=4))
    if amber_body is not None:
        pf.rewrite(env, amber, amber_body(body_of(env.read(amber))))
    for briefing_id in (amber, clear):
        pf.approved(env, briefing_id)
    return amber, clear


def body_of(raw: bytes) -> str:
    return parse_document(raw, Path("x.md")).body


def translate(env, glossary, tools) -> None:
    report = translate_briefings(env.workspace, env.store, glossary, tools=tools, clock=env.clock)
    assert report.ok, report.to_json()


def french(env, briefing_id: str) -> Path:
    path = env.path(briefing_id)
    return path.with_name(f"{path.stem}.fr{path.suffix}")


def sentences_of(path: Path) -> set[str]:
    return set(clauses(markdown_reading(body_of(path.read_bytes())), MIN_SENTENCE))


def linguist_edits(env, briefing_id: str, edit) -> None:
    """The linguist changes the French translation's body and approves it."""
    path = french(env, briefing_id)
    document = parse_document(path.read_bytes(), path)
    path.write_bytes(render_document(document.meta, edit(document.body)))
    approve_translation(
        Workflow(env.workspace, env.store, clock=env.clock), briefing_id, "fr", "lin"
    )


def public_page(env, briefing_id: str, lang: str = "fr") -> str:
    public = pf.site_files(pf.output(env, "public"))
    return pf.page_text(public[f"{lang}/{briefing_id}/index.html"])


def machine_translated_alerts(env, glossary, tools, amber_body=None) -> tuple[str, str]:
    use_alert_template(env)
    amber, clear = two_alerts(env, amber_body)
    translate(env, glossary, tools)
    for briefing_id in (amber, clear):
        info = parse_document(french(env, briefing_id).read_bytes(), Path("x.md")).meta
        assert info["translation"]["state"] == "machine", info["translation"]["findings"]
    return amber, clear


def reading(text: str) -> list[str]:
    return clauses(markdown_reading(text))


# -- which source sentences are boilerplate ----------------------------------------------------


def test_the_sentences_drafts_take_from_the_shipped_templates_are_wholly_boilerplate(tmp_path):
    """Their translations are then boilerplate too; a sentence with text of the sources
    in it is not, and neither is one with a short word the templates do not write."""
    env = pf.make_site_env(tmp_path / "ws")
    env.add_item(
        AMBER_TITLE, ITEM_SENTENCE, tlp=TLP.AMBER, sectors=["sector.hospitals"],
        threats=["threat.ransomware"], cves=["CVE-2026-11111"], priority=80,
    )  # fmt: skip
    pf.new_briefing(
        env, "Fake recall letters circulate", kind="debunk", threats=["threat.wiper"],
        tactics=["tactic.impersonation"],
    )  # fmt: skip
    is_boilerplate = source_clause_test(
        _squash(_boilerplate()), _template_text(env.workspace), MIN_SENTENCE
    )
    verdicts = {}
    for record in env.store.list_briefings():  # an alert and a digest of each TLP, a debunk
        document = parse_document(env.read(record.id), env.path(record.id))
        for unit in segment_document(document.meta, document.body).units:
            for sentence in unit_sentences(unit):
                verdicts[sentence] = is_wholly_boilerplate(sentence, is_boilerplate, reading)

    template_sentences = [
        "**Priority 80** · TLP:AMBER",
        "What to do",
        "Sectors: Hospitals.",  # "Sectors" is shorter than any pattern's fixed text
        "sector essentialness 5/5 (Hospitals): +40",  # "+40": a clause without letters
        "Keep offline, tested backups; patch internet-facing systems and remote access first; "
        "require multi-factor authentication; prepare to run essential services on paper.",
        "An officer rates this claim (false, misleading, unproven or true) in the front matter "
        "and explains the verdict here.",
        "1 event reported by 1 source, most urgent first.",
        "Sources",
    ]
    assert {s: verdicts.get(s) for s in template_sentences} == dict.fromkeys(
        template_sentences, True
    )
    of_the_sources = [s for s in verdicts if "Velmora" in s or "Fake recall" in s]
    assert len(of_the_sources) > 5 and not any(verdicts[s] for s in of_the_sources)
    assert verdicts["cve: `CVE-2026-11111`"] is False  # "cve" is no word of a template


# -- the false positive, reproduced ------------------------------------------------------


def test_unedited_alerts_machine_translated_publish_across_tlp_labels(env, glossary, tools):
    amber, clear = machine_translated_alerts(env, glossary, tools)
    shared = sentences_of(french(env, amber)) & sentences_of(french(env, clear))
    assert {CHECK_FR, REPORT_FR} <= shared  # long, identical, and not English

    report = pf.publish(env)  # the leak scan raises on a leak

    assert {amber, clear} <= set(report.published)
    assert not [s for s in report.skipped if "(fr)" in s], report.skipped
    assert REPORT_FR in public_page(env, clear) and CHECK_FR in public_page(env, clear)
    public = pf.site_files(pf.output(env, "public"))
    assert pf.files_containing(public, amber) == []
    members = pf.site_files(pf.output(env, "members"))
    assert f"fr/{amber}/index.html" in members


def test_unedited_alerts_with_reviewed_translations_publish_across_tlp_labels(env, glossary, tools):
    """Shipped templates (advice, reason line, "Who is affected"); the package garbles
    them, but the same way in both, and a linguist approves both translations as they are."""
    amber, clear = two_alerts(env)
    translate(env, glossary, tools)
    for briefing_id in (amber, clear):
        linguist_edits(env, briefing_id, lambda body: body)
    shared = sentences_of(french(env, amber)) & sentences_of(french(env, clear))
    assert shared, "the package no longer gives both alerts a long translated template sentence"

    pf.publish(env)

    text = public_page(env, clear)
    assert all(sentence in text for sentence in shared), shared


# -- what must still fail --------------------------------------------------------------------


def own_paragraph(body: str) -> str:
    return body.replace("## What to do", f"{OFFICER_SENTENCE}\n\n## What to do", 1)


def inside_boilerplate(body: str) -> str:
    """The officer's sentence in the same list item as a template sentence."""
    assert f"- {REPORT}\n" in body
    return body.replace(f"- {REPORT}\n", f"- {REPORT} {OFFICER_SENTENCE}\n", 1)


@pytest.mark.parametrize("edit", [own_paragraph, inside_boilerplate])
def test_an_amber_officer_sentence_translated_and_copied_fails_the_build(
    env, glossary, tools, edit
):
    amber, clear = machine_translated_alerts(env, glossary, tools, edit)
    [translated] = [
        s for s in sentences_of(french(env, amber)) if "Le CERT national met en garde" in s
    ]
    if edit is inside_boilerplate:  # one unit, a template sentence and the officer's
        assert f"- {REPORT_FR}. {translated}." in body_of(french(env, amber).read_bytes())
    pf.publish(env)  # the sentence is nowhere public yet: no leak

    linguist_edits(env, clear, lambda body: f"{body}\n{translated}.\n")
    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value)
    assert translated[:40] in str(raised.value)  # the French needle found it


def test_an_amber_source_item_sentence_translated_and_copied_fails_the_build(env, glossary, tools):
    amber, clear = machine_translated_alerts(env, glossary, tools)
    [translated] = [s for s in sentences_of(french(env, amber)) if "enquêteurs" in s]
    pf.publish(env)

    linguist_edits(env, clear, lambda body: f"{body}\n{translated}.\n")
    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value) and translated[:40] in str(raised.value)


def test_a_clear_briefing_written_with_the_amber_officer_sentence_fails_the_build(
    env, glossary, tools
):
    use_alert_template(env)
    amber = pf.new_briefing(env, AMBER_TITLE, ITEM_SENTENCE, tlp=TLP.AMBER)
    clear = pf.new_briefing(env, CLEAR_TITLE, CLEAR_TEXT, published=bf.T0 + timedelta(days=4))
    for briefing_id in (amber, clear):
        pf.rewrite(env, briefing_id, inside_boilerplate(body_of(env.read(briefing_id))))
        pf.approved(env, briefing_id)
    translate(env, glossary, tools)

    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    [french_page] = [
        line for line in str(raised.value).splitlines() if f"fr/{clear}/index.html" in line
    ]
    assert amber in french_page and "Le CERT national met en garde" in french_page


# -- the strict fallback -------------------------------------------------------------------


STRUCTURE_CHANGES = {
    "a paragraph added at the end": lambda body: f"{body}\nNote du traducteur.\n",
    "a paragraph added at the top": lambda body: body.replace("## ", "Note.\n\n## ", 1),
    "a list item removed": lambda body: body.replace(f"- {CHECK_FR}.\n", "", 1),
}


@pytest.mark.parametrize("change", list(STRUCTURE_CHANGES))
def test_a_reviewed_translation_whose_structure_changed_keeps_every_sentence_a_needle(
    env, glossary, tools, change
):
    """Its units no longer pair with the source's one to one: none is taken for a
    translation of boilerplate, so the template sentences it shares with the CLEAR
    translation fail the build (strict, though nothing restricted leaks)."""
    amber, _ = machine_translated_alerts(env, glossary, tools)
    pf.publish(env)  # needles kept for the next build: made again, the translation changed
    linguist_edits(env, amber, STRUCTURE_CHANGES[change])

    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value)
    assert REPORT_FR in str(raised.value) or CHECK_FR in str(raised.value)


def test_a_unit_whose_sentences_differ_in_number_keeps_its_sentences_needles(env, glossary, tools):
    amber, _ = machine_translated_alerts(env, glossary, tools)
    # The item with the first template sentence gets a second sentence; the other pairs.
    linguist_edits(
        env, amber, lambda body: body.replace(f"{CHECK_FR}.", f"{CHECK_FR}. Faites-le.", 1)
    )

    with pytest.raises(PublishError) as raised:
        pf.publish(env)
    assert amber in str(raised.value)
    assert CHECK_FR[:40] in str(raised.value) and REPORT_FR not in str(raised.value)


def publications(env) -> dict[tuple[str, str], Publication]:
    found = collect_publications(env.workflow(), PublishReport())
    return {(p.id, p.lang): p for p in found}


def test_no_pairing_without_the_exact_source(env, glossary, tools):
    """A translation of other source bytes, or without its source at hand, pairs nothing;
    with its source, its translated template sentences are found."""
    amber, _ = machine_translated_alerts(env, glossary, tools)
    pubs = publications(env)
    source, translation = pubs[(amber, "en")], pubs[(amber, "fr")]

    def found(*given: Publication) -> set[str]:
        is_template = {CHECK.rstrip("."), REPORT.rstrip(".")}.__contains__
        result = translated_boilerplate(given, is_template, reading)
        return result.get((amber, "fr"), set())

    assert {CHECK_FR, REPORT_FR} <= found(source, translation)
    assert found(translation) == set()
    meta = {**translation.meta, "translation": {**translation.meta["translation"]}}
    meta["translation"]["source_sha256"] = "0" * 64
    stale = Publication(
        translation.record, "fr", meta, translation.body, translation.raw,
        translation.published, translation.updated,
    )  # fmt: skip
    assert found(source, stale) == set()
