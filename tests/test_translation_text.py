"""The pure parts of translation, without a model: Markdown segmentation, protection,
segments, glossary enforcement, quality checks, the memory, planning and package
archives. (Translation with the real small Argos packages: test_translation.py.)"""

from __future__ import annotations

import json
import os
import re
import zipfile
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import markdown
import pytest

from briefings.config import parse_config
from briefings.errors import ConfigError, TranslationError
from briefings.rendering import EXTENSION_CONFIGS, EXTENSIONS
from briefings.store import Store
from briefings.translation.argos import ModelSettings
from briefings.translation.markdown import segment_document
from briefings.translation.memory import MemoryKey, TranslationMemory
from briefings.translation.packages import (
    InstalledPackage,
    find_route,
    inspect_archive,
    tree_sha256,
)
from briefings.translation.protection import protect_text, restore, unglue
from briefings.translation.qa import check_segment, repair_placeholders
from briefings.translation.segments import assemble_unit, prepare_unit, simple_sentences
from briefings.translation.stage import language_problem
from briefings.translation.terms import enforce_terms, plain_term_finder

BODY = """# Alert: ransomware hits **hospitals** in Velmora {: #alert}

**Priority 4** · TLP:CLEAR · reported by 3 sources

## What happened

The national CERT warns hospitals. Attackers exploited CVE-2024-3400 to gain
access to `srv_01` and the portal at https://portal.example.org/login?a_b=1.
Apply the update *now*.

> Quoted text from the _advisory_.
> Second line of the quote, with a [link](https://cert.example/a_(b) "Title").

- Patch internet-facing systems now.
- [ ] Keep offline backups.
  A continuation of the item.
    1. A nested item with <br> a tag.

| Indicator | Value |
|-----------|:-----:|
| domain | `evil[.]example[.]com` |
| note | Seen in \\| logs and snake_case_name |

```bash
curl https://x.example # not translated
```

    indented code stays as it is

Term
:   Definition text here.

Setext heading
--------------

***

Text with a footnote[^1] and an ![image](img/a.png).

[^1]: A footnote text.

[ref]: https://example.org
*[CERT]: Computer Emergency Response Team
<div>an html block</div>
"""


def fake_translate(text: str) -> str:
    """A stand-in 'model': upper-cases the words, keeps the placeholders."""
    return re.sub(r"[^\W\d_]+", lambda m: m.group().upper(), text)


def translate_body(body: str, meta: dict | None = None, model=fake_translate):
    segmentation = segment_document(meta or {}, body)
    pieces = []
    for unit in segmentation.units:
        prepared = prepare_unit(unit, simple_sentences)
        outputs = [model(s.text) if s.translatable else s.text for s in prepared.segments]
        pieces.append(assemble_unit(prepared, outputs))
    return segmentation, segmentation.render(pieces)


# -- structure checks, independent of the code under test ------------------------------

_MARKERS = re.compile(
    r"^[ \t]*(?:>[ \t]?)*[ \t]*(?:[-+*][ \t]+(?:\[[ xX]\][ \t]+)?|\d+[.)][ \t]+|#{1,6}[ \t]+"
    r"|:[ \t]+|\[\^[^\]]+\]:[ \t]*)?"
)


def line_shape(body: str) -> list[tuple]:
    """Per line: blank or not, its leading Markdown markers, its table pipes; code
    lines (fenced or indented) in full."""
    shape = []
    fence = None
    for line in body.split("\n"):
        stripped = line.strip()
        if (
            fence
            or stripped.startswith(("```", "~~~"))
            or (line.startswith("    ") and not (stripped[:1].isdigit() or stripped[:1] in "-*+"))
        ):
            shape.append(("code", line))
            if stripped.startswith(("```", "~~~")):
                fence = None if fence else stripped[:3]
            continue
        pipes = len(re.findall(r"(?<!\\)\|", line))
        shape.append((bool(stripped), _MARKERS.match(line).group(), pipes))
    return shape


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.events: list[tuple] = []
        self.in_code = 0

    def handle_starttag(self, tag, attrs):
        kept = tuple(sorted((k, v) for k, v in attrs if k in ("href", "src", "id")))
        self.events.append(("start", tag, kept))
        self.in_code += tag == "code"

    def handle_endtag(self, tag):
        self.events.append(("end", tag))
        self.in_code -= tag == "code"

    def handle_data(self, data):
        if self.in_code:
            self.events.append(("code", data))


def block_tree(body: str) -> list[tuple]:
    """The tags Python-Markdown (as publishing configures it) makes of ``body``,
    with link targets, ids and code text: everything but the prose."""
    html = markdown.markdown(body, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
    parser = _Tags()
    parser.feed(html)
    # The toc extension derives heading ids from the text: those differ by design.
    return [e if not (e[0] == "start" and e[1][:1] == "h") else e[:2] for e in parser.events]


# -- Markdown segmentation --------------------------------------------------------------


def test_units_follow_markdown_blocks_and_skip_code():
    segmentation = segment_document({"title": "T", "summary": "S.", "tlp": "CLEAR"}, BODY)
    kinds = [(u.kind, u.text) for u in segmentation.units]
    assert kinds[:2] == [("field", "T"), ("field", "S.")]
    texts = [t for _, t in kinds]
    assert "Alert: ransomware hits **hospitals** in Velmora" in texts
    assert ("paragraph", "The national CERT warns hospitals. Attackers exploited CVE-2024-3400 to "
            "gain access to `srv_01` and the portal at https://portal.example.org/login?a_b=1. "
            "Apply the update *now*.") in kinds  # fmt: skip
    assert ("item", "Keep offline backups. A continuation of the item.") in kinds
    assert ("cell", "Value") in kinds and ("cell", "`evil[.]example[.]com`") in kinds
    assert ("item", "Definition text here.") in kinds and ("footnote", "A footnote text.") in kinds
    joined = "\n".join(texts)
    for untouched in ("curl", "indented code", "Computer Emergency", "html block", "example.org\n"):
        assert untouched not in joined


def test_translated_body_keeps_every_line_marker_code_and_link():
    _segmentation, (meta, body) = translate_body(BODY, {"title": "Alert", "id": "a-1"})
    assert meta == {"title": "ALERT", "id": "a-1"}
    assert line_shape(body) == line_shape(BODY)
    assert block_tree(body) == block_tree(BODY)
    for kept in ("CVE-2024-3400", "`srv_01`", "https://portal.example.org/login?a_b=1",
                 "](https://cert.example/a_(b) \"Title\")", "snake_case_name", "{: #alert}",
                 "TLP:CLEAR", "[^1]", "](img/a.png)", "<br>"):  # fmt: skip
        assert body.count(kept) == BODY.count(kept), kept
    assert "KEEP OFFLINE BACKUPS." in body and "PATCH INTERNET-FACING" in body


def test_a_wrapped_paragraph_is_spread_over_its_own_lines_without_starting_a_block():
    body = "First line of the text\nsecond line here\nthird line ends."
    doubled = translate_body(body, model=lambda t: "- " + " ".join(w + " 1." for w in t.split()))
    translated = doubled[1][1]
    assert translated.count("\n") == 2
    assert line_shape(translated) == line_shape(body)
    assert block_tree(translated) == block_tree(body)


def test_empty_body_and_fields_only():
    _segmentation, (meta, body) = translate_body("", {"title": "Only a title"})
    assert meta["title"] == "ONLY A TITLE" and body == ""


# -- protection ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'See **the** [CERT advisory](https://cert.example/a_b?x=1 "t") on `rm -rf /`.',
        "Block hxxps[://]evil[.]com/x, 10.0.0.1 and snake_case_name (see https://w.org/Foo_(bar)).",
        "An _emphasis_ and *one* and a <br> tag, \\[escaped\\] text[^1] {: #id} ⟦0⟧ literal",
        "مرحبا \u200fبالعالم\u200f CVE-2023-1234 TLP:AMBER+STRICT",
        "A feed's &lt;script\\> tag, AT&T &amp;amp; and &#39; or &#x27; as written",
    ],
)
def test_protection_round_trips_exactly(text):
    protected = protect_text(text)
    assert "_" not in protected.text  # SentencePiece's decoder would make spaces of them
    assert restore(unglue(protected.text, protected.glue), protected.tokens) == text


def test_character_references_are_protected_not_sent_to_the_model():
    protected = protect_text("Block &lt;iframe\\> and &amp;amp; here, AT&T too")
    assert protected.tokens[:2] == ["&lt;", "\\>"] and "&amp;" in protected.tokens
    assert "&" not in protected.text.replace("AT&T", "")


def test_indicators_and_names_come_from_injected_finders():
    from briefings.translation.protection import TextSpan

    text = "APT28 used evil.example.com against hospitals"
    protected = protect_text(
        text,
        indicators=lambda t: [TextSpan(t.index("evil"), t.index(" against"), "ipv4")],
        names=lambda t: [TextSpan(0, 5, "name", "actor.apt28")],
    )
    assert protected.tokens == ["APT28", "evil.example.com"]
    assert protected.text == "⟦0⟧ used ⟦1⟧ against hospitals"


def test_segments_are_numbered_from_zero_and_identical_sentences_share_text():
    unit = segment_document({}, "Report to `a@b`. Report to `c@d`.").units[0]
    prepared = prepare_unit(unit, simple_sentences)
    assert [s.text for s in prepared.segments] == ["Report to ⟦0⟧.", "Report to ⟦0⟧."]
    assert [s.numbers for s in prepared.segments] == [[0], [1]]
    pieces = assemble_unit(prepared, ["Signalez à ⟦0⟧.", "Signalez à ⟦0⟧."])
    assert pieces == ["Signalez à `a@b`. Signalez à `c@d`."]


def test_segments_without_letters_are_not_translated():
    unit = segment_document({}, "| `1.2.3.4` | 42 |\n|---|---|").units[0]
    assert not prepare_unit(unit, simple_sentences).segments[0].translatable


# -- quality checks and the glossary ----------------------------------------------------


def test_placeholders_are_repaired_and_reported():
    target, findings = repair_placeholders(
        "Block ⟦0⟧ and ⟦1⟧.", "Bloquez ⟦0⟧ et ⟦0⟧ ⟦7⟧.", ["url", "cve"], "body line 3"
    )
    assert target == "Bloquez ⟦0⟧ et ⟦1⟧."
    checks = sorted(f.check for f in findings)
    assert checks == ["placeholders", "placeholders", "placeholders"]
    target, findings = repair_placeholders("See ⟦0⟧.", "Voir.", ["url"], "x")
    assert {f.check for f in findings} == {"links", "placeholders"} and target == "Voir ⟦0⟧."


def test_numbers_length_and_language_checks():
    def detect(text):
        return ("en", 0.9)

    findings = check_segment(
        "On 2 March 2026, 1,500 systems failed.", "Le 3 mars 2026, 1 500 systèmes.",
        where="w", source_lang="en", target_lang="fr", detect=None,
    )  # fmt: skip
    assert [(f.check, f.message) for f in findings] == [
        ("numbers", "missing: 2"),
        ("numbers", "not in the source: 3"),
    ]
    arabic = check_segment(
        "At least 150 organisations were affected.", "تأثرت ١٥٠ منظمة على الأقل.",
        where="w", source_lang="en", target_lang="ar",
    )  # fmt: skip
    assert arabic == []
    long = check_segment(
        "Patch internet-facing systems now, please.", " ".join(["mot", "clef", "texte", "long"] * 30), where="w",
        source_lang="en", target_lang="fr",
    )  # fmt: skip
    assert [f.check for f in long] == ["length"]
    same = check_segment(
        "Patch internet-facing systems now, please.", "Patch internet-facing systems now, please.",
        where="w", source_lang="en", target_lang="fr", detect=detect,
    )  # fmt: skip
    assert [f.check for f in same] == ["language"] and "untranslated" in same[0].message


def test_glossary_variant_replaced_absent_reported_dnt_ignored(glossary):
    en, fr = plain_term_finder(glossary, "en"), plain_term_finder(glossary, "fr")
    result = enforce_terms(
        "Ransomware hit hospitals and APT28 claimed it.",
        "Hôpitaux touchés, APT28 l'a revendiqué.",
        glossary=glossary, target_lang="fr", find_source=en, find_target=fr,
    )  # fmt: skip
    preferred = glossary.preferred("sector.hospitals", "fr")
    assert result.text.startswith(preferred[0].upper() + preferred[1:])
    assert result.replaced == [("Hôpitaux", preferred)]
    assert [c for c, _ in result.missing] == ["threat.ransomware"]


# -- memory, routes, planning, archives -------------------------------------------------


def test_memory_is_keyed_by_everything_that_decides_a_translation(tmp_path):
    memory = TranslationMemory(Store(tmp_path / "state.db"))
    key = MemoryKey("en", "fr", "translate-en_fr@abc", "1.0", "g1")
    memory.remember(key, {"Report to ⟦0⟧.": "Signalez à ⟦0⟧."})
    assert memory.lookup(key, ["Report to ⟦0⟧.", "Other."]) == {"Report to ⟦0⟧.": "Signalez à ⟦0⟧."}
    for other in (
        MemoryKey("en", "fr", "translate-en_fr@abc", "1.0", "g2"),
        MemoryKey("en", "fr", "translate-en_fr@def", "1.0", "g1"),
        MemoryKey("en", "es", "translate-en_fr@abc", "1.0", "g1"),
    ):
        assert memory.lookup(other, ["Report to ⟦0⟧."]) == {}


def _package(from_code, to_code):
    return InstalledPackage(
        f"f-{from_code}-{to_code}", f"translate-{from_code}_{to_code}", from_code, to_code, "1.0",
        Path("/nowhere"), archive_sha256="0" * 64,
    )  # fmt: skip


def test_routes_are_direct_or_through_english_and_errors_name_the_install_command():
    packages = [_package("fr", "en"), _package("en", "es"), _package("en", "fr")]
    assert not find_route(packages, "en", "fr").is_pivot
    pivot = find_route(packages, "fr", "es")
    assert pivot.package == "translate-fr_en+translate-en_es"
    with pytest.raises(TranslationError, match=r"en->ar.*briefings models install FILE"):
        find_route(packages, "en", "ar")
    with pytest.raises(TranslationError, match=r"ar->es \(and none for ar->en"):
        find_route(packages, "ar", "es")


def test_translation_settings_are_validated_and_every_bad_key_named():
    bad = {
        "beam_size": 0, "threads": -1, "inter_threads": -2, "compute_type": "float16",
        "max_batch_size": 0, "max_source_tokens": 8, "beam": 4,
    }  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        parse_config({"translation": bad}, environ={})
    problems = dict(caught.value.problems)
    assert set(problems) == {f"translation.{key}" for key in bad}
    assert "unknown key" in problems["translation.beam"]
    assert "'int8'" in problems["translation.compute_type"]
    with pytest.raises(ConfigError, match=r"translation\.beam_size"):
        parse_config({}, environ={"BRIEFINGS_TRANSLATION__BEAM_SIZE": "seventeen"})


def test_translation_settings_become_the_model_settings():
    defaults = ModelSettings.from_config(parse_config({}, environ={}).translation)
    assert defaults == ModelSettings()  # the table's defaults are the engine's
    config = parse_config(
        {
            "translation": {
                "beam_size": 1,
                "threads": 3,
                "inter_threads": 2,
                "max_source_tokens": 400,
            }
        },
        environ={"BRIEFINGS_TRANSLATION__COMPUTE_TYPE": "float32"},
    )
    settings = ModelSettings.from_config(config.translation)
    assert (settings.beam_size, settings.layout) == (1, (2, 1))  # 3 threads, 2 workers
    assert (settings.compute_type, settings.max_source_tokens) == ("float32", 400)
    assert settings.max_decoding_length > settings.max_source_tokens
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert ModelSettings().layout == (cores, 1)  # 0 and 0: one worker per core
    assert ModelSettings(threads=4, inter_threads=1).layout == (1, 4)
    assert ModelSettings(threads=8, inter_threads=2).layout == (2, 4)


def test_language_codes():
    assert language_problem("fr") is None and language_problem("fil") is None
    assert "unknown language code 'qq'" in language_problem("qq")
    assert language_problem("French")


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_broken_archives_are_refused_with_their_name(tmp_path):
    meta = json.dumps({"from_code": "en", "to_code": "fr"}).encode()
    good = {
        "p/metadata.json": meta, "p/model/model.bin": b"x" * 1000,
        "p/sentencepiece.model": b"y",
    }  # fmt: skip
    assert inspect_archive(_zip(tmp_path / "good.argosmodel", good))[0] == "p"
    not_zip = tmp_path / "not.argosmodel"
    not_zip.write_bytes(b"hello")
    two_tops = _zip(tmp_path / "two.argosmodel", {**good, "q/metadata.json": meta})
    missing = _zip(tmp_path / "missing.argosmodel", {"p/metadata.json": meta})
    data = (tmp_path / "good.argosmodel").read_bytes()
    flipped = tmp_path / "flipped.argosmodel"
    at = data.index(b"x" * 100) + 50
    flipped.write_bytes(data[:at] + b"Z" + data[at + 1 :])
    for path, reason in [
        (not_zip, "not a zip archive"), (two_tops, "exactly one top-level folder"),
        (missing, "model/model.bin is missing"), (flipped, "is corrupted"),
        (tmp_path / "absent.argosmodel", "no such package file"),
    ]:  # fmt: skip
        with pytest.raises(TranslationError, match=re.escape(path.name) + ".*") as info:
            inspect_archive(path)
        assert reason in str(info.value)


def test_tree_hash_changes_with_any_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x").write_bytes(b"1")
    before = tree_sha256(tmp_path)
    (tmp_path / "a" / "x").write_bytes(b"2")
    assert tree_sha256(tmp_path) != before


def test_importing_briefings_translation_loads_no_model_library():
    import subprocess
    import sys

    code = (
        "import sys, briefings.translation, briefings.translation.stage;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('argostranslate','ctranslate2','sentencepiece','spacy','prefect')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_clock_values_are_serialised_in_utc():
    from briefings.translation.files import TranslationInfo

    info = TranslationInfo("en", "s", "p", "1", "h", "g", datetime(2026, 3, 2, 9, tzinfo=UTC))
    assert info.to_meta()["translated_at"] == "2026-03-02T09:00:00Z"
    assert info.to_meta()["state"] == "machine"
