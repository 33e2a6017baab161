"""The tag-items flow and the ``briefings tag`` command on real Prefect.

Flows run under one ``prefect_test_harness`` for the module (a temporary database
takes 10-15 s to start). A small workspace ingests two local feeds (English and
French, with the library's ingestor); tagging stores an analysis per item revision, a second run finds nothing
new, ``--retag`` tags everything again.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings.cli import main
from briefings.ingestion import Ingestor
from briefings.store import Store
from briefings.workspace import glossary_paths, open_workspace
from nlp.tagging import tagger_version

pytestmark = pytest.mark.flow

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>CERT {lang}</title><link>https://cert.example/</link>
<language>{lang}</language>{items}</channel></rss>"""
ENTRY = """<item><title>{title}</title><link>https://cert.example/{lang}/{n}</link>
<guid>https://cert.example/{lang}/{n}</guid><pubDate>Mon, 0{n} Nov 2026 08:00:00 +0000</pubDate>
<description>{body}</description></item>"""
FEEDS = {
    "en": [
        ("Ransomware disrupts hospitals",
         "CVE-2024-3400 is actively exploited; block 203.0.113.45. Patients were diverted."),
        ("Deepfake videos target the election",
         "Fake accounts spread deepfake videos about polling stations in Moldova."),
    ],
    "fr": [
        ("Rançongiciel à l'hôpital", "Un rançongiciel a paralysé un centre hospitalier."),
    ],
}  # fmt: skip


def make_workspace(root: Path) -> Path:
    (root / "feeds").mkdir(parents=True)
    sources = []
    for lang, entries in FEEDS.items():
        items = "".join(
            ENTRY.format(title=title, body=body, lang=lang, n=n + 1)
            for n, (title, body) in enumerate(entries)
        )
        (root / "feeds" / f"{lang}.xml").write_text(RSS.format(lang=lang, items=items), "utf-8")
        sources.append(
            f'[[sources]]\nid = "cert-{lang}"\nurl = "feeds/{lang}.xml"\nlang = "{lang}"\n'
        )
    (root / "briefings.toml").write_text(
        '[workspace]\nsource_lang = "en"\nlanguages = ["en", "fr"]\n'
        "[fetch]\nretries = 0\n[ingest]\ndetect_language = false\n"
        "[tagging]\nbatch_size = 2\nchunk_size = 1\n\n" + "\n".join(sources),
        "utf-8",
    )
    return root


def ingest(root: Path) -> None:
    """Ingest the local feeds with the library (the ingest flow is tested elsewhere)."""
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    ingestor = Ingestor.for_workspace(workspace, store)
    try:
        reports = [ingestor.ingest_source(source) for source in workspace.config.sources]
    finally:
        ingestor.close()
        store.close()
    assert [(r.status, r.new) for r in reports] == [("ok", 2), ("ok", 1)]


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_flow_tags_new_items_once_and_retags_on_request(harness, tmp_path) -> None:
    from flows.tag import run_tagging

    root = make_workspace(tmp_path / "ws")
    ingest(root)
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    assert store.count_items() == 3
    tagger = tagger_version(glossary_paths(workspace))
    assert store.count_items_to_tag(tagger) == 3

    # chunk_size = 1: one task per item, so the two English items run as two tasks.
    report = run_tagging(workspace)
    assert report.tagged == {"en": 2, "fr": 1} and report.errors == []
    assert store.count_items_to_tag(tagger) == 0
    items = {item.title: item for item in store.list_items()}
    hospitals = items["Ransomware disrupts hospitals"].analysis
    assert hospitals.tagger == tagger
    assert {t.concept for t in hospitals.tags} >= {"threat.ransomware", "sector.hospitals"}
    assert [(i.type, i.value) for i in hospitals.indicators] == [
        ("cve", "CVE-2024-3400"),
        ("ipv4", "203.0.113.45"),
    ]
    assert hospitals.priority >= 80 and hospitals.reasons
    election = items["Deepfake videos target the election"].analysis
    assert election.countries == ["MD"]
    assert {t.category for t in election.tags} == {"tactic", "sector"}
    french = items["Rançongiciel à l'hôpital"].analysis
    assert {t.concept for t in french.tags} == {"threat.ransomware", "sector.hospitals"}

    runs = [run for run in store.list_runs() if run["kind"] == "tag"]
    assert runs[0]["status"] == "ok" and runs[0]["summary"]["tagged"] == 3

    again = run_tagging(workspace)
    assert again.total == 0 and again.tagged == {} and again.errors == []

    retagged = run_tagging(workspace, retag=True)
    assert retagged.tagged == {"en": 2, "fr": 1}
    assert store.count_items_to_tag(tagger) == 0
    assert [r["summary"]["tagged"] for r in store.list_runs() if r["kind"] == "tag"][:3] == [
        3,
        0,
        3,
    ]
    store.close()


def test_cli_tag_json_then_items_json(harness, tmp_path, capsys) -> None:
    root = make_workspace(tmp_path / "ws")
    ingest(root)

    assert main(["-w", str(root), "tag", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first == {"tagged": 3, "by_language": {"en": 2, "fr": 1}, "errors": []}

    assert main(["-w", str(root), "tag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"tagged": 0, "by_language": {}, "errors": []}

    assert main(["-w", str(root), "tag", "--retag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tagged"] == 3

    assert main(["-w", str(root), "tag"]) == 0
    assert "Tagged 0 items (nothing new)." in capsys.readouterr().out

    assert main(["-w", str(root), "items", "--json", "--tag", "threat.ransomware"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {item["title"] for item in listed} == {
        "Ransomware disrupts hospitals", "Rançongiciel à l'hôpital"
    }  # fmt: skip
    for item in listed:
        assert item["tagger"].startswith("tagger-")
        assert item["priority"]["score"] > 0 and item["priority"]["reasons"]
        assert all(set(t) == {"concept", "category", "text", "start", "end"} for t in item["tags"])


def test_a_trained_pipeline_in_the_config_adds_entities_and_retags_when_it_changes(
    harness, tmp_path, capsys
) -> None:
    import spacy
    import trained_pipeline

    model = trained_pipeline.train_ner(tmp_path / "ner")
    root = make_workspace(tmp_path / "ws")
    config = root / "briefings.toml"
    config.write_text(
        config.read_text("utf-8").replace(
            "[tagging]\n", f"[tagging]\ntrained_models = {{en = {json.dumps(str(model))}}}\n"
        ),
        "utf-8",
    )
    ingest(root)
    assert main(["-w", str(root), "tag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tagged"] == 3

    assert main(["-w", str(root), "items", "--json"]) == 0
    listed = {item["title"]: item for item in json.loads(capsys.readouterr().out)}
    trained = spacy.load(model)
    for title, item in listed.items():
        assert "+models-" in item["tagger"]
        if item["lang"] == "fr":
            assert item["entities"] == []  # no trained pipeline for French
            continue
        text = f"{title}\n\n{item['text']}"
        assert item["entities"] == [
            {"label": e.label_, "text": e.text, "start": e.start_char, "end": e.end_char}
            for e in trained(text).ents
        ]
    assert any(item["entities"] for item in listed.values())

    # A new version of the pipeline, in this same process: every item is tagged again,
    # by the new pipeline (trained on fewer rounds, it finds other entities).
    shutil.rmtree(model)
    trained_pipeline.train_ner(model, version="0.0.2", iterations=1)
    assert main(["-w", str(root), "tag", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tagged"] == 3
    assert main(["-w", str(root), "items", "--json", "--lang", "en"]) == 0
    retrained = spacy.load(model)
    changed = False
    for item in json.loads(capsys.readouterr().out):
        text = f"{item['title']}\n\n{item['text']}"
        assert item["entities"] == [
            {"label": e.label_, "text": e.text, "start": e.start_char, "end": e.end_char}
            for e in retrained(text).ents
        ]
        changed = changed or item["entities"] != listed[item["title"]]["entities"]
    assert changed  # so the assertions above tell the two pipelines apart


def test_a_changed_tagging_configuration_gets_pipelines_of_its_own(tmp_path) -> None:
    """A long-running process (``briefings serve``) reads the configuration on each run:
    naming a trained pipeline later must not keep tagging with the pipelines cached before."""
    from flows.tag import _pipelines

    root = make_workspace(tmp_path / "ws")
    before = _pipelines(open_workspace(root, environ={}))
    assert before is _pipelines(open_workspace(root, environ={}))
    config = root / "briefings.toml"
    config.write_text(
        config.read_text("utf-8").replace(
            "[tagging]\n", '[tagging]\ntrained_models = {en = "briefings_no_such_pipeline"}\n'
        ),
        "utf-8",
    )
    after = _pipelines(open_workspace(root, environ={}))
    assert after is not before
    assert after.trained_models == {"en": "briefings_no_such_pipeline"}
    assert before.trained_models == {}
