"""The multilingual termbase: the shipped data, the validator's findings, the exports, the CLI.

The shipped glossary is checked as it is. Each kind of mistake a linguist can
make is written as a small YAML file in the test's own folder, and the finding
must name that file and the line where the mistake is.
"""

from __future__ import annotations

import csv
import io
import random
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import glossary as glossary_package
from briefings.cli import main
from briefings.errors import GlossaryError
from glossary import (
    DEFAULT_LANGUAGES,
    NEUTRAL,
    Finding,
    Glossary,
    check_glossary,
    export_csv,
    export_tbx,
    load_glossary,
)
from glossary.termbase import _KEEP_MARKED, CSV_COLUMNS, TBX_NAMESPACE, normalize_term

DATA = Path(glossary_package.__file__).parent / "data"
TBX = f"{{{TBX_NAMESPACE}}}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
DISARM_ID = re.compile(r"\bT\d{4}(\.\d{3})?\b")
TRANSLATED = ("sector", "threat", "tactic")


@pytest.fixture(scope="module")
def shipped() -> Glossary:
    return load_glossary()


@pytest.fixture(scope="module")
def shipped_findings() -> list[Finding]:
    return check_glossary()


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} is not in the fixture {occurrence} time(s)"
    return hits[occurrence - 1]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def concept(concept_id: str, preferred: str, *variants: str) -> str:
    """A valid sector with English terms only (these tests check English alone)."""
    return (
        f"- id: {concept_id}\n"
        "  category: sector\n"
        "  essentialness: 3\n"
        '  source: "Written for the tests"\n'
        "  definition: A concept for the tests.\n"
        "  terms:\n"
        "    en:\n"
        f"      preferred: {preferred}\n"
        f"      variants: [{', '.join(variants)}]\n"
    )


def findings_for(path: Path) -> list[Finding]:
    return errors(check_glossary(path, languages=("en",)))


def only_finding(path: Path, message: str) -> Finding:
    found = [f for f in findings_for(path) if message in f.message]
    assert len(found) == 1, [str(f) for f in findings_for(path)]
    return found[0]


# -- the shipped glossary ---------------------------------------------------------------


def test_the_shipped_glossary_has_no_errors(shipped_findings) -> None:
    assert [str(f) for f in errors(shipped_findings)] == []


def test_the_shipped_glossary_has_enough_of_each_category(shipped) -> None:
    sectors = shipped.by_category("sector")
    tactics = shipped.by_category("tactic")
    actors = shipped.by_category("actor")
    assert len(sectors) >= 25
    assert len(tactics) >= 40
    assert all(DISARM_ID.search(c.source) for c in tactics), [
        c.id for c in tactics if not DISARM_ID.search(c.source)
    ]
    assert len([a for a in actors if a.is_dnt]) >= 100


def test_the_shipped_glossary_has_enough_threats(shipped) -> None:
    if not (DATA / "threats.yaml").exists():
        pytest.skip("glossary/data/threats.yaml is not written yet: no threats to count")
    assert len(shipped.by_category("threat")) >= 40


def test_tactic_ids_carry_their_disarm_technique_id(shipped) -> None:
    for tactic in shipped.by_category("tactic"):
        technique = DISARM_ID.search(tactic.source).group(0).lower().replace(".", "-")
        assert tactic.id.startswith(f"tactic.{technique}-"), tactic.id


def test_translated_concepts_have_a_preferred_term_in_every_language(shipped) -> None:
    missing = [
        (c.id, lang)
        for category in TRANSLATED
        for c in shipped.by_category(category)
        for lang in DEFAULT_LANGUAGES
        if c.preferred_term(lang) is None or c.preferred_term(lang).lang != lang
    ]
    assert missing == []


def test_preferred_terms_in_other_scripts_are_translated(shipped) -> None:
    untranslated = []
    for category in TRANSLATED:
        for c in shipped.by_category(category):
            english = c.preferred_term("en").text.casefold()
            for lang in ("ar", "ru", "zh"):
                if c.preferred_term(lang).text.casefold() == english:
                    untranslated.append((c.id, lang))
    assert untranslated == []


# -- findings name the file and the line ------------------------------------------------


def test_a_term_claimed_by_two_concepts_is_reported_where_it_is_repeated(tmp_path) -> None:
    write(tmp_path, "a.yaml", "concepts:\n" + concept("sector.alpha", "alpha", "shared term"))
    second = "concepts:\n" + concept("sector.beta", "beta", "Shared Term")
    path_b = write(tmp_path, "b.yaml", second)

    found = errors(check_glossary(tmp_path, languages=("en",)))

    assert len(found) == 1, [str(f) for f in found]
    assert found[0].file == str(path_b)
    assert found[0].line == line_of(second, "Shared Term")
    assert found[0].concept_id == "sector.beta"
    assert "already belongs to sector.alpha" in found[0].message


def test_a_missing_preferred_term_is_reported(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "      preferred: alpha\n", ""
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "no preferred term in 'en'")

    assert (finding.file, finding.line) == (str(path), line_of(text, "variants: [alphas]"))


def test_a_language_without_terms_is_reported_on_the_concept(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas")
    path = write(tmp_path, "g.yaml", text)

    found = errors(check_glossary(path, languages=("en", "fr")))

    assert [(f.file, f.line, f.message) for f in found] == [
        (str(path), line_of(text, "id: sector.alpha"), "no preferred term in 'fr'")
    ]


def test_two_preferred_keys_are_reported_on_the_second(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "      preferred: alpha\n", "      preferred: alpha\n      preferred: alpha two\n"
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "more than one preferred term")

    assert (finding.file, finding.line) == (str(path), line_of(text, "preferred: alpha two"))


def test_a_list_of_preferred_terms_is_reported(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "preferred: alpha\n", "preferred: [alpha, alpha two]\n"
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "more than one preferred term in 'en'")

    assert (finding.file, finding.line) == (str(path), line_of(text, "preferred: [alpha"))
    assert "move the others to 'variants'" in finding.message


def test_an_unknown_category_is_reported(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "  category: sector\n  essentialness: 3\n", "  category: sectr\n"
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "unknown category 'sectr'")

    assert (finding.file, finding.line) == (str(path), line_of(text, "category: sectr"))


def test_a_malformed_id_is_reported(tmp_path) -> None:
    text = "concepts:\n" + concept("Sector.Bad_Id", "alpha", "alphas")
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "malformed id 'Sector.Bad_Id'")

    assert (finding.file, finding.line) == (str(path), line_of(text, "id: Sector.Bad_Id"))


def test_an_id_that_does_not_start_with_its_category_is_reported(tmp_path) -> None:
    text = "concepts:\n" + concept("threat.alpha", "alpha", "alphas").replace(
        "  essentialness: 3\n", ""
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "does not start with its category 'sector'")

    assert finding.line == line_of(text, "id: threat.alpha")


def test_a_duplicate_id_is_reported_on_the_second_concept(tmp_path) -> None:
    text = (
        "concepts:\n"
        + concept("sector.alpha", "alpha", "alphas")
        + concept("sector.alpha", "beta", "betas")
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "duplicate id")

    assert (finding.file, finding.line) == (str(path), line_of(text, "id: sector.alpha", 2))
    assert f"first defined at {path}:{line_of(text, 'id: sector.alpha')}" in finding.message


def test_an_unknown_flag_is_reported_on_its_line(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "  essentialness: 3\n",
        "  essentialness: 3\n  flags:\n    - civilian-essential\n    - urgent\n",
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "unknown flag 'urgent'")

    assert (finding.file, finding.line) == (str(path), line_of(text, "- urgent"))


def test_a_yaml_syntax_error_is_reported_with_its_line(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "definition: A concept for the tests.", "definition: A concept: for the tests."
    )
    path = write(tmp_path, "g.yaml", text)

    finding = only_finding(path, "YAML syntax error")

    assert (finding.file, finding.line) == (str(path), line_of(text, "definition:"))
    assert finding.concept_id is None


def test_every_problem_is_reported_at_once(tmp_path) -> None:
    text = (
        "concepts:\n"
        + concept("Sector.Bad_Id", "alpha", "alphas")
        + concept("sector.beta", "alpha", "betas")
    )
    path = write(tmp_path, "g.yaml", text)

    messages = [f.message for f in findings_for(path)]

    assert any(m.startswith("malformed id") for m in messages)
    assert any("already belongs to Sector.Bad_Id" in m for m in messages)


def test_loading_an_invalid_glossary_raises_and_lists_the_errors(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas").replace(
        "  category: sector\n  essentialness: 3\n", "  category: sectr\n"
    )
    path = write(tmp_path, "g.yaml", text)

    with pytest.raises(GlossaryError) as raised:
        load_glossary(path, languages=("en",))

    assert f"{path}:{line_of(text, 'category: sectr')}" in str(raised.value)
    assert "unknown category 'sectr'" in str(raised.value)


def test_a_valid_small_glossary_loads(tmp_path) -> None:
    path = write(tmp_path, "g.yaml", "concepts:\n" + concept("sector.alpha", "alpha", "alphas"))

    loaded = load_glossary(path, languages=("en",))

    assert loaded.preferred("sector.alpha", "en") == "alpha"
    assert [t for t, _, _ in loaded.terms_for("en")] == ["alpha", "alphas"]


# -- version ----------------------------------------------------------------------------


def test_the_version_changes_when_a_term_changes_and_only_then(tmp_path) -> None:
    text = "concepts:\n" + concept("sector.alpha", "alpha", "alphas")
    path = write(tmp_path, "g.yaml", text)
    first = load_glossary(path, languages=("en",)).version

    assert load_glossary(path, languages=("en",)).version == first
    copy = tmp_path / "copy"
    copy.mkdir()
    assert load_glossary(write(copy, "g.yaml", text), languages=("en",)).version == first

    path.write_text(text.replace("alphas", "alpha sector"), encoding="utf-8")
    changed = load_glossary(path, languages=("en",)).version
    assert changed != first

    path.write_text(text, encoding="utf-8")
    assert load_glossary(path, languages=("en",)).version == first


# -- exports ----------------------------------------------------------------------------


def test_tbx_export_has_one_entry_per_concept_and_a_section_per_language(shipped, tmp_path) -> None:
    out = tmp_path / "glossary.tbx"
    export_tbx(shipped, out)

    root = ET.parse(out).getroot()
    entries = root.findall(f"{TBX}text/{TBX}body/{TBX}conceptEntry")

    assert root.tag == f"{TBX}tbx"
    assert [e.get("id") for e in entries] == [c.id for c in shipped.concepts]
    for entry, c in zip(entries, shipped.concepts, strict=True):
        sections = [s.get(XML_LANG) for s in entry.findall(f"{TBX}langSec")]
        own = [lang for lang in c.languages if lang != NEUTRAL]
        expected = set(shipped.languages) if NEUTRAL in c.languages else set(own)
        assert len(sections) == len(set(sections)), c.id
        assert set(sections) == expected, c.id
        terms = [t.text for t in entry.iter(f"{TBX}term")]
        assert set(terms) == {t.text for t in c.terms}, c.id


def test_tbx_export_marks_preferred_terms_and_carries_the_english_definition(
    shipped, tmp_path
) -> None:
    out = tmp_path / "glossary.tbx"
    export_tbx(shipped, out)
    entry = next(
        e
        for e in ET.parse(out).getroot().iter(f"{TBX}conceptEntry")
        if e.get("id") == "tactic.t0086-002-deepfakes"
    )
    by_lang = {s.get(XML_LANG): s for s in entry.findall(f"{TBX}langSec")}
    concept_ = shipped.concept("tactic.t0086-002-deepfakes")

    definition = by_lang["en"].find(f"{TBX}descrip[@type='definition']")
    assert definition is not None and definition.text == concept_.definition
    for lang, section in by_lang.items():
        preferred = [
            ts.find(f"{TBX}term").text
            for ts in section.findall(f"{TBX}termSec")
            if ts.find(f"{TBX}termNote").text == "preferredTerm-admn-sts"
        ]
        assert preferred == [concept_.preferred_term(lang).text], lang


def test_csv_export_round_trips_one_row_per_term(shipped, tmp_path) -> None:
    out = tmp_path / "glossary.csv"
    export_csv(shipped, out)

    with out.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    assert tuple(reader.fieldnames) == CSV_COLUMNS

    expected = [
        {
            "concept_id": c.id,
            "category": c.category,
            "lang": t.lang,
            "term": t.text,
            "preferred": "true" if t.preferred else "false",
            "status": t.status,
            "flags": "|".join(c.flags),
            "source": c.source,
        }
        for c in shipped.concepts
        for t in c.terms
    ]
    assert rows == expected


def test_csv_export_writes_to_a_text_stream(tmp_path) -> None:
    path = write(tmp_path, "g.yaml", "concepts:\n" + concept("sector.alpha", "alpha", "alphas"))
    buffer = io.StringIO()

    export_csv(load_glossary(path, languages=("en",)), buffer)

    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows[1:] == [
        ["sector.alpha", "sector", "en", "alpha", "true", "proposed", "", "Written for the tests"],
        [
            "sector.alpha",
            "sector",
            "en",
            "alphas",
            "false",
            "proposed",
            "",
            "Written for the tests",
        ],
    ]


# -- the command line -------------------------------------------------------------------


@pytest.fixture
def outside_any_workspace(tmp_path, monkeypatch) -> Path:
    """A current folder without briefings.toml, so the CLI uses the shipped glossary."""
    monkeypatch.delenv("BRIEFINGS_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_cli_check_passes_on_the_shipped_glossary(outside_any_workspace, capsys) -> None:
    code = main(["glossary", "check"])

    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "0 errors" in captured.out


def test_cli_export_writes_a_parseable_tbx_file(outside_any_workspace, shipped, capsys) -> None:
    out = outside_any_workspace / "export" / "glossary.tbx"
    out.parent.mkdir()

    code = main(["glossary", "export", "--format", "tbx", "-o", str(out)])

    assert code == 0, capsys.readouterr().err
    entries = ET.parse(out).getroot().findall(f"{TBX}text/{TBX}body/{TBX}conceptEntry")
    assert len(entries) == len(shipped)


def _normalize_term_reference(text: str) -> str:
    """normalize_term as first written: every character folded on its own."""
    text = text.replace("\u2019", "'").replace("\u02bc", "'")
    text = text.replace("\u2010", "-").replace("\u2011", "-").replace("\u0640", "")
    folded = []
    for char in unicodedata.normalize("NFC", text):
        if char in _KEEP_MARKED:
            folded.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        folded.append("".join(c for c in decomposed if unicodedata.category(c) != "Mn"))
    return " ".join(unicodedata.normalize("NFC", "".join(folded)).casefold().split())


def test_term_folding_is_the_same_as_folding_each_character() -> None:
    """normalize_term takes shortcuts (ASCII as it is, memoised characters); it must
    fold every shipped term and any text exactly as the plain per-character rule."""
    shipped = load_glossary()
    terms = [t.text for c in shipped.concepts for t in c.terms]
    rng = random.Random(3)
    alphabet = [
        *"aZ -'\u2019\u02bc\u2010\u2011\u0640\u00a0\t", "é", "e\u0301", "ß", "ﬁ", "İ", "ё", "й", "и\u0306", "ї", "أ", "ا\u0654", "\u064e",
        "ٔ", "中", "Ω", "ǅ", "①", "ｅ", "Å", "A\u030a", "\u0301",
    ]  # fmt: skip
    texts = terms + ["".join(rng.choice(alphabet) for _ in range(12)) for _ in range(5000)]
    for text in texts:
        assert normalize_term(text) == _normalize_term_reference(text), repr(text)
