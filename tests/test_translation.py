"""Translation with the project's real small Argos packages (``models/*.argosmodel``),
copied into each test's workspace and installed through argostranslate's own code.

Every test here runs with network access refused (a guard on ``socket``, not a
mock of our code): translation must work offline.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

import glossary as glossary_package
from briefings.approval import Workflow
from briefings.config import parse_config
from briefings.documents import parse_document, render_document, sha256_bytes
from briefings.errors import TranslationError, WorkflowError
from briefings.models import BriefingRecord
from briefings.publishing import PublishReport, collect_publications
from briefings.rendering import EXTENSION_CONFIGS, EXTENSIONS
from briefings.store import Store
from briefings.tlp import TLP
from briefings.translation import (
    TranslationReport,
    approve_translation,
    install_from_index,
    install_package,
    list_packages,
    remove_package,
    translate_briefings,
    verify_packages,
)
from briefings.translation.argos import ModelSettings, load_model
from briefings.translation.engine import Engine
from briefings.translation.packages import CHECKSUMS, file_sha256, find_route
from briefings.workspace import CONFIG_NAME, Workspace, open_workspace
from glossary import load_glossary
from nlp.sentences import text_tools

MODELS = Path(__file__).resolve().parent.parent / "models"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def model_file(pair: str) -> Path | None:
    source, target = pair.split("-")
    found = sorted(MODELS.glob(f"translate-{source}_{target}-*.argosmodel"))
    return found[-1] if found else None


def needs(*pairs: str):
    missing = [p for p in pairs if model_file(p) is None]
    return pytest.mark.skipif(
        bool(missing),
        reason=f"no {', '.join(missing)} package in models/ yet "
        "(build them: python -m tools.argos_models build --pairs en-fr,en-es,en-ar,fr-en --out models/)",
    )


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Refuse every connection and name lookup while a test runs."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during an offline translation test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


CONFIG = """[workspace]
source_lang = "en"
languages = ["en", "fr", "es", "ar"]

[policy]
approvals_required = 1
four_eyes = false
translation_approvals_required = 1

[[officers]]
name = "ana"
roles = ["officer"]

[[officers]]
name = "lin"
roles = ["linguist"]
languages = ["fr"]

[[officers]]
name = "lea"
roles = ["linguist"]
languages = ["es"]
"""

BODY = """# Alert: ransomware in health care in Velmora

**Priority 4** · reported by 3 sources

## What happened

On 2 March 2026, an incident linked to ransomware disrupted health care in Velmora.
The attackers exploited the vulnerability CVE-2024-3400 to gain access.

## Who is affected

Sectors: health care, drinking water.

## What to do

- Patch internet-facing systems now.
- Keep offline backups.
- Block the domain evil[.]example[.]com and the IP address 203.0.113.7.
- Run the command `systemctl status vpn` to check the installed version.

| Indicator | Value |
|-----------|-------|
| domain | `evil[.]example[.]com` |

```
curl https://evil.example.com/payload_v2 # code is never translated
```

## Sources

- [Advisory of the national CERT](https://cert.example.org/advisories/2026_0042) (cert-a)
"""

PROTECTED = (
    "CVE-2024-3400", "evil[.]example[.]com", "203.0.113.7", "`systemctl status vpn`",
    "](https://cert.example.org/advisories/2026_0042)", "payload_v2", "**",
)  # fmt: skip


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        self.now += timedelta(seconds=1)
        return self.now


@dataclass
class Env:
    workspace: Workspace
    store: Store
    clock: Clock
    glossary: object
    tools: object

    @property
    def root(self) -> Path:
        return self.workspace.root

    def workflow(self) -> Workflow:
        return Workflow(self.workspace, self.store, clock=self.clock)

    def install(self, *pairs: str) -> None:
        for pair in pairs:
            copy = self.root.parent / model_file(pair).name
            shutil.copyfile(model_file(pair), copy)
            install_package(self.workspace, copy, clock=self.clock)

    def add(self, briefing_id: str, body: str, *, lang: str = "en", approve: bool = True,
            **meta) -> Path:  # fmt: skip
        meta = {
            "id": briefing_id, "kind": "alert", "title": meta.pop("title", "Alert"),
            "lang": lang, "tlp": "CLEAR", "state": "draft", **meta,
        }  # fmt: skip
        raw = render_document(meta, body)
        path = self.workspace.content_dir / f"{briefing_id}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        record = BriefingRecord(
            id=briefing_id, kind="alert", lang=lang, path=f"content/{briefing_id}.md",
            state="draft", title=meta["title"], tlp=TLP.CLEAR, priority=50,
            content_hash=sha256_bytes(raw), last_editor="system:draft",
            created_at=self.clock(), updated_at=self.clock(),
        )  # fmt: skip
        with self.store.transaction() as conn:
            self.store.save_briefing(conn, record)
        if approve:
            self.workflow().approve(briefing_id, "ana")
        return path

    def translate(self, **options) -> TranslationReport:
        options.setdefault("tools", self.tools)
        options.setdefault("clock", self.clock)
        return translate_briefings(self.workspace, self.store, self.glossary, **options)

    def translation(self, briefing_id: str, lang: str):
        path = self.workspace.content_dir / f"{briefing_id}.{lang}.md"
        return parse_document(path.read_bytes(), path)


@pytest.fixture
def env(tmp_path, glossary, tools) -> Env:
    root = tmp_path / "workspace"
    root.mkdir()
    (root / CONFIG_NAME).write_text(CONFIG, "utf-8")
    workspace = open_workspace(root, environ={})
    return Env(workspace, Store(workspace.database_path), Clock(), glossary, tools)


# -- structure, independent of the code under test --------------------------------------

_MARKERS = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-+*][ \t]+(?:\[[ xX]\][ \t]+)?|\d+[.)][ \t]+|#{1,6}[ \t]+)?"
)


def line_shape(body: str) -> list[tuple]:
    shape, fence = [], False
    for line in body.rstrip("\n").split("\n"):
        if fence or line.startswith("```"):
            shape.append(("code", line))
            fence = fence != line.startswith("```")
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line))
        shape.append((bool(line.strip()), _MARKERS.match(line).group(), pipes))
    return shape


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events, self.code = [], 0

    def handle_starttag(self, tag, attrs):
        self.events.append((tag, tuple(v for k, v in attrs if k in ("href", "src"))))
        self.code += tag == "code"

    def handle_endtag(self, tag):
        self.events.append(("/" + tag,))
        self.code -= tag == "code"

    def handle_data(self, data):
        if self.code:
            self.events.append(("code", data))


def block_tree(body: str) -> list[tuple]:
    parser = _Tags()
    parser.feed(markdown.markdown(body, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS))
    return parser.events


# -- the network guard itself -------------------------------------------------------------


def test_the_network_guard_refuses_connections():
    with pytest.raises(OSError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


# -- packages -------------------------------------------------------------------------------


@needs("en-fr")
def test_packages_are_installed_listed_verified_and_removed(env):
    env.install("en-fr")
    [package] = list_packages(env.workspace)
    assert (package.pair, package.name) == ("en-fr", "translate-en_fr")
    assert package.archive_sha256 == file_sha256(model_file("en-fr"))
    records = json.loads((env.workspace.packages_dir / CHECKSUMS).read_text())
    assert records[package.folder]["archive_sha256"] == package.archive_sha256
    assert [c.status for c in verify_packages(env.workspace)] == ["ok"]

    (package.path / "model" / "config.json").write_text("{}")
    [check] = verify_packages(env.workspace)
    assert check.status == "modified" and "briefings models install" in check.message

    env.install("en-fr")  # reinstalling replaces it
    assert [c.status for c in verify_packages(env.workspace)] == ["ok"]
    assert [p.pair for p in remove_package(env.workspace, "en-fr")] == ["en-fr"]
    assert list_packages(env.workspace) == [] and verify_packages(env.workspace) == []
    with pytest.raises(TranslationError, match="No installed package for 'en-fr'"):
        remove_package(env.workspace, "en-fr")


@needs("en-fr")
def test_a_corrupted_package_file_is_refused_with_its_name(env):
    data = model_file("en-fr").read_bytes()
    flipped = env.root.parent / "flipped.argosmodel"
    middle = len(data) // 2
    flipped.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    truncated = env.root.parent / "truncated.argosmodel"
    truncated.write_bytes(data[: len(data) // 3])
    for path in (flipped, truncated):
        with pytest.raises(TranslationError, match=re.escape(path.name)):
            install_package(env.workspace, path)
    assert list_packages(env.workspace) == []


def test_installing_from_the_index_offline_says_so(env):
    with pytest.raises(TranslationError, match="Cannot reach the Argos package index") as info:
        install_from_index(env.workspace, "en", "fr")
    assert "briefings models install FILE.argosmodel" in str(info.value)


# -- translating ----------------------------------------------------------------------------


@needs("en-fr")
def test_translation_keeps_structure_and_protected_text(env):
    env.install("en-fr")
    env.add("alert-1", BODY, title="Alert: ransomware in health care in Velmora",
            summary="The attackers exploited the vulnerability CVE-2024-3400 to gain access.")  # fmt: skip
    report = env.translate(langs=["fr"])
    fr = report.languages["fr"]
    assert fr.errors == [] and fr.written == ["alert-1"]
    assert fr.segments > 10 and fr.translated == fr.segments - fr.from_memory

    document = env.translation("alert-1", "fr")
    source = parse_document((env.root / "content/alert-1.md").read_bytes(), Path("x"))
    assert line_shape(document.body) == line_shape(source.body)
    assert block_tree(document.body) == block_tree(source.body)
    for token in PROTECTED:
        assert document.body.count(token) == source.body.count(token), token
    assert "CVE-2024-3400" in document.meta["summary"]
    assert document.meta["title"] != source.meta["title"]
    assert {k: document.meta[k] for k in ("id", "kind", "tlp", "lang")} == {
        "id": "alert-1", "kind": "alert", "tlp": "CLEAR", "lang": "fr"
    }  # fmt: skip
    info = document.meta["translation"]
    assert info["source_sha256"] == sha256_bytes(env.workflow().approved_bytes("alert-1"))
    assert (info["source_lang"], info["package"], info["package_version"]) == (
        "en", "translate-en_fr", "0.1"
    )  # fmt: skip
    assert info["glossary_version"] == env.glossary.version
    assert info["state"] == ("needs-review" if info["findings"] else "machine")
    assert all(set(f) == {"check", "where", "message"} for f in info["findings"])
    assert "secteur de la santé" in document.body  # the glossary's preferred term


@needs("en-fr")
def test_the_memory_answers_a_second_run_without_the_model(env):
    env.install("en-fr")
    env.add("alert-1", BODY)
    first = env.translate(langs=["fr"]).languages["fr"]
    model = load_model(list_packages(env.workspace)[0].path, ModelSettings())
    calls = model.batch_calls
    before = (env.root / "content/alert-1.fr.md").read_bytes()

    again = env.translate(langs=["fr"], force=True).languages["fr"]
    assert (again.segments, again.from_memory, again.translated) == (
        first.segments,
        first.segments,
        0,
    )
    assert model.batch_calls == calls
    after = (env.root / "content/alert-1.fr.md").read_bytes()
    assert parse_document(after, Path("x")).body == parse_document(before, Path("x")).body

    env.add("alert-2", "## What to do\n\n- Keep offline backups.\n- Test your backups regularly.\n")
    third = env.translate(langs=["fr"]).languages["fr"]
    assert third.skipped == ["alert-1"] and third.written == ["alert-2"]
    # heading, two items and the title "Alert", which alert-1 already had
    assert (third.segments, third.from_memory, third.translated) == (4, 3, 1)


@needs("en-fr")
def test_glossary_terms_are_enforced(env, tmp_path):
    # A workspace glossary whose French preferred term the model never learned: the
    # term it learned becomes a variant, and enforcement must rewrite it.
    data = tmp_path / "glossary"
    shutil.copytree(Path(glossary_package.__file__).parent / "data", data)
    sectors = data / "sectors.yaml"
    text = sectors.read_text("utf-8")
    text = text.replace(
        "      preferred: secteur de la santé\n      variants: [",
        "      preferred: domaine hospitalier\n      variants: [secteur de la santé, ",
    )
    sectors.write_text(text, "utf-8")
    env.glossary = load_glossary(data)
    env.tools = text_tools([str(data)])
    env.install("en-fr")
    env.add("alert-1", "Incidents linked to ransomware in health care are increasing in Velmora.\n")
    env.translate(langs=["fr"])
    document = env.translation("alert-1", "fr")
    glossary_findings = [
        f for f in document.meta["translation"]["findings"] if f["check"] == "glossary"
    ]
    assert "domaine hospitalier" in document.body and "secteur de la santé" not in document.body
    assert glossary_findings == []
    assert document.meta["translation"]["glossary_version"] == env.glossary.version


@needs("fr-en", "en-es")
def test_pivoting_through_english(env):
    env.install("fr-en", "en-es")
    body = (
        "## Que faire\n\n"
        "- Les incidents liés au rançongiciel dans le secteur de la santé augmentent à Velmora.\n"
        "- Appliquez la mise à jour pour `agent-v2` avant le 2 mars 2026.\n"
    )
    env.add("avis-1", body, lang="fr", title="Que faire")
    report = env.translate(langs=["es"])
    es = report.languages["es"]
    assert es.errors == [] and es.written == ["avis-1"]
    assert es.routes == ["fr->es: translate-fr_en+translate-en_es 0.1+0.1"]
    document = env.translation("avis-1", "es")
    info = document.meta["translation"]
    assert (info["package"], info["source_lang"]) == ("translate-fr_en+translate-en_es", "fr")
    assert line_shape(document.body) == line_shape(body)
    assert "`agent-v2`" in document.body and "2 de marzo de 2026" in document.body
    # The Spanish preferred term of sector.hospitals, through English, or a finding.
    glossary = [f for f in info["findings"] if f["check"] == "glossary"]
    assert "sector sanitario" in document.body or glossary


@needs("en-fr")
def test_a_stale_translation_is_redone_and_a_current_one_skipped(env):
    env.install("en-fr")
    env.add("alert-1", BODY)
    env.translate(langs=["fr"])
    first = env.translation("alert-1", "fr")
    assert env.translate(langs=["fr"]).languages["fr"].skipped == ["alert-1"]

    workflow = env.workflow()
    source = env.root / "content/alert-1.md"
    workflow.edit("alert-1", "ana", source.read_bytes().replace(b"Keep offline", b"Test your"))
    workflow.approve("alert-1", "ana")
    approved = sha256_bytes(workflow.approved_bytes("alert-1"))
    assert first.meta["translation"]["source_sha256"] != approved  # stale now
    report = PublishReport()
    collect_publications(workflow, report)
    assert any("stale" in s for s in report.skipped)

    redone = env.translate(langs=["fr"]).languages["fr"]
    assert redone.written == ["alert-1"] and redone.translated >= 1
    assert env.translation("alert-1", "fr").meta["translation"]["source_sha256"] == approved


@needs("en-fr")
def test_a_linguist_approves_the_exact_bytes_of_a_translation(env):
    env.install("en-fr")
    env.add("alert-1", "Keep offline backups.\n")
    env.translate(langs=["fr"])
    workflow = env.workflow()
    path = env.root / "content/alert-1.fr.md"
    for officer, message in (("ana", "not a linguist"), ("lea", "may not approve 'fr'")):
        with pytest.raises(WorkflowError, match=message):
            approve_translation(workflow, "alert-1", "fr", officer)
    approval = approve_translation(workflow, "alert-1", "fr", "lin", note="checked")
    assert approval.reviewed and workflow.approved_bytes("alert-1", "fr") == path.read_bytes()
    assert b"reviewed" not in path.read_bytes()
    entry = env.store.audit_entries("alert-1")[-1]
    assert (entry.actor, entry.action, entry.lang) == ("lin", "approve", "fr")
    with pytest.raises(WorkflowError, match="already approved"):
        approve_translation(workflow, "alert-1", "fr", "lin")
    # A new machine translation (the source changed) voids the linguist's approval.
    workflow.edit("alert-1", "ana", (env.root / "content/alert-1.md").read_bytes() + b"\nMore.\n")
    with pytest.raises(WorkflowError, match="only once its source is"):
        approve_translation(workflow, "alert-1", "fr", "lin")
    workflow.approve("alert-1", "ana")
    with pytest.raises(WorkflowError, match="stale"):
        approve_translation(workflow, "alert-1", "fr", "lin")
    env.translate(langs=["fr"])
    assert workflow.approved_bytes("alert-1", "fr") is None


@needs("en-fr")
def test_publishing_takes_a_clean_machine_translation(env):
    env.install("en-fr")
    env.add("alert-1", "Keep offline backups.\n")
    env.translate(langs=["fr"])
    info = env.translation("alert-1", "fr").meta["translation"]
    report = PublishReport()
    langs = {p.lang for p in collect_publications(env.workflow(), report)}
    assert langs == ({"en", "fr"} if info["state"] == "machine" else {"en"})


# -- settings reach CTranslate2 ------------------------------------------------------------

# Sentences on which the small en-fr model decodes differently with a beam of 4 than
# greedily (it tends to stop early with a beam); any of them differing is enough.
BEAM_SENTENCES = [
    "Priority 4 · reported by 3 sources",
    "Priority 3 · reported by 66 sources",
    "Priority 3 · reported by 7 sources",
    "Sectors: health care, waste management.",
    "The attack on the news media in Castanbrarar did not spread to aviation.",
    "The authorities in ⟦0⟧ restored services in digital infrastructure within 19 hours.",
    "Keep offline backups.",
]


@needs("en-fr")
def test_the_configured_beam_size_reaches_the_translator(env):
    import ctranslate2
    import sentencepiece

    env.install("en-fr")
    [package] = list_packages(env.workspace)
    route = find_route([package], "en", "fr")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(package.path / "sentencepiece.model"))
    direct = ctranslate2.Translator(str(package.path / "model"), compute_type="int8")
    outputs = {}
    for beam in (1, 4):
        config = parse_config({"translation": {"beam_size": beam}}, environ={})
        engine = Engine(
            route, memory=None, glossary_version="g",
            settings=ModelSettings.from_config(config.translation),
        )  # fmt: skip
        result = engine.translate(BEAM_SENTENCES)
        assert result.model_calls == 1 and result.translated == len(BEAM_SENTENCES)
        outputs[beam] = [result.translations[s] for s in BEAM_SENTENCES]
        # The same model called directly, one sentence at a time, with that beam.
        for sentence, output in zip(BEAM_SENTENCES, outputs[beam], strict=True):
            [hypothesis] = direct.translate_batch(
                [sp.encode(sentence, out_type=str)], beam_size=beam, length_penalty=0.2,
                replace_unknowns=True,
            )  # fmt: skip
            assert output == sp.decode_pieces(hypothesis.hypotheses[0]).strip(), (beam, sentence)
    assert outputs[1] != outputs[4]


@needs("en-fr")
def test_the_workspace_translation_table_configures_the_loaded_model(env):
    config = (env.root / CONFIG_NAME).read_text("utf-8")
    config += (
        '\n[translation]\nbeam_size = 1\nthreads = 1\ninter_threads = 2\ncompute_type = "float32"\n'
    )
    (env.root / CONFIG_NAME).write_text(config, "utf-8")
    env.workspace = open_workspace(env.root, environ={})
    env.install("en-fr")
    env.add("alert-1", "Keep offline backups.\n")
    fr = env.translate(langs=["fr"]).languages["fr"]
    assert fr.errors == [] and fr.translated == 2  # the title and the sentence
    settings = ModelSettings.from_config(env.workspace.config.translation)
    assert (settings.beam_size, settings.layout) == (1, (2, 1))
    # load_model keeps one model per package and settings: this one did the work.
    model = load_model(list_packages(env.workspace)[0].path, settings)
    assert model.batch_calls == 1
    assert (model.translator.compute_type, model.translator.num_translators) == ("float32", 2)


# -- bad input --------------------------------------------------------------------------------


@needs("en-fr")
def test_missing_and_broken_packages_and_unknown_codes_leave_other_languages_done(env):
    env.install("en-fr", *(p for p in ("en-es",) if model_file(p)))
    env.add("alert-1", "Keep offline backups.\n")
    if model_file("en-es"):  # a package whose model file is broken after installing
        es = next(p for p in list_packages(env.workspace) if p.pair == "en-es")
        (es.path / "model" / "model.bin").write_bytes(b"not a model")
    report = env.translate(langs=["fr", "es", "ar", "qq", "French"])
    assert report.languages["fr"].written == ["alert-1"]
    ar = report.languages["ar"].errors
    assert len(ar) == 1 and "No Argos package for en->ar" in ar[0]
    assert "briefings models install FILE.argosmodel" in ar[0]
    assert "unknown language code 'qq'" in report.languages["qq"].errors[0]
    assert "unknown language code 'French'" in report.languages["French"].errors[0]
    if model_file("en-es"):
        [error] = report.languages["es"].errors
        assert "translate-en_es" in error and "Reinstall it" in error


@needs("en-fr")
def test_a_50000_character_segment_is_cut_for_the_model_and_flagged(env):
    env.install("en-fr")
    sentence = "Keep offline backups and patch internet-facing systems now, "
    giant = (sentence * (50_000 // len(sentence) + 1))[:50_000]
    env.add("alert-1", f"## What to do\n\n{giant}\n\n- Keep offline backups.\n")
    fr = env.translate(langs=["fr"]).languages["fr"]
    assert fr.errors == [] and fr.written == ["alert-1"]
    document = env.translation("alert-1", "fr")
    checks = {f["check"] for f in document.meta["translation"]["findings"]}
    assert "long-segment" in checks and document.meta["translation"]["state"] == "needs-review"
    assert line_shape(document.body) == line_shape(
        f"## What to do\n\n{giant}\n\n- Keep offline backups."
    )


@needs("en-fr")
def test_an_empty_briefing_is_translated_to_an_empty_one(env):
    env.install("en-fr")
    env.add("empty-1", "", title="What to do")
    fr = env.translate(langs=["fr"]).languages["fr"]
    assert fr.errors == [] and fr.written == ["empty-1"] and fr.segments == 1  # the title
    document = env.translation("empty-1", "fr")
    assert document.body.strip() == "" and document.meta["title"] != "What to do"


@needs("en-ar")
def test_right_to_left_text(env):
    env.install("en-ar")
    arabic_quote = "\u200fقال المتحدث: «احفظوا نسخًا احتياطية»\u200f"
    env.add("alert-1", f"## What to do\n\n- Keep offline backups.\n- {arabic_quote}\n")
    env.add("arabic-1", "## ما العمل\n\n- احتفظوا بنسخ احتياطية غير متصلة.\n", lang="ar",
            title="ما العمل")  # fmt: skip
    report = env.translate(langs=["ar", "fr"])
    ar = report.languages["ar"]
    assert ar.errors == [] and ar.written == ["alert-1"]
    body = env.translation("alert-1", "ar").body
    assert body.count("\u200f") == 2 and line_shape(body) == line_shape("## x\n\n- a\n- b")
    assert re.search(r"[\u0600-\u06ff]", body.split("\n")[0])  # the heading is Arabic now
    errors = report.languages["fr"].errors
    assert any("arabic-1" in e and "No Argos package for ar->fr" in e for e in errors)


@needs("en-fr")
def test_drafts_are_not_translated(env):
    env.install("en-fr")
    env.add("draft-1", "Keep offline backups.\n", approve=False)
    report = env.translate(briefing_id="draft-1", langs=["fr"])
    assert report.problems == ["draft-1 is draft; only approved briefings are translated"]
    assert not (env.root / "content/draft-1.fr.md").exists()
