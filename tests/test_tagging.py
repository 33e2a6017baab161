"""The tagging stage on real blank spaCy pipelines: concepts across languages, matching
rules, priority, bad input, the tagger version, the store and the ``items`` command.

No mocks: every pipeline is ``nlp.pipeline.build_pipeline`` on ``spacy.blank(lang)``
with the shipped glossary, built once for the module.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, datetime, timedelta
from importlib import import_module
from itertools import pairwise
from pathlib import Path

import pytest
import spacy

from briefings.cli import main
from briefings.ingestion import Ingestor
from briefings.models import Item
from briefings.store import Store
from briefings.tlp import TLP
from briefings.workspace import open_workspace
from nlp.pipeline import COMPONENTS, MAX_CHARS, TRAINED_ENTITIES, PipelineCache, max_chars
from nlp.tagging import analysis_from_doc, tag_items, tagger_version

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pipelines() -> PipelineCache:
    return PipelineCache()


def concepts(pipelines: PipelineCache, lang: str, text: str) -> list[tuple[str, str]]:
    doc = pipelines.get(lang)(text)
    return [(span.text, span.kb_id_) for span in doc.spans["concepts"]]


def concept_ids(pipelines: PipelineCache, lang: str, text: str) -> set[str]:
    return {kb_id for _, kb_id in concepts(pipelines, lang, text)}


def make_item(n: int, lang: str | None, title: str, text: str = "") -> Item:
    return Item(
        id=f"item-{n}",
        source_id="test",
        url=f"https://cert.example/{n}",
        title=title,
        summary=text[:200],
        html=f"<p>{text[:200]}</p>",
        text=text,
        published=T0 + timedelta(minutes=n),
        updated=None,
        lang=lang,
        lang_declared=lang,
        lang_confidence=None,
        tlp=TLP.CLEAR,
        content_hash=f"hash-{n}",
    )


# -- the same event in six languages --------------------------------------------------------

RANSOMWARE_AT_HOSPITALS = {
    "en": "Ransomware attacks have shut down hospitals in three cities.",
    "fr": "Des attaques par rançongiciel ont paralysé des hôpitaux dans trois villes.",
    "es": "Ataques de ransomware paralizaron hospitales en tres ciudades.",
    "ar": "شلت هجمات برمجيات الفدية المستشفيات في ثلاث مدن.",
    "ru": "Атаки программ-вымогателей парализовали больницы в трёх городах.",
    "zh": "勒索软件攻击导致三座城市的医院陷入瘫痪。",
}


@pytest.mark.parametrize("lang", sorted(RANSOMWARE_AT_HOSPITALS))
def test_each_language_tags_the_same_concepts_for_the_same_event(pipelines, lang) -> None:
    doc = pipelines.get(lang)(RANSOMWARE_AT_HOSPITALS[lang])
    found = {(span.label_, span.kb_id_) for span in doc.spans["concepts"]}
    assert found == {("threat", "threat.ransomware"), ("sector", "sector.hospitals")}


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ar", "ru", "zh"])
def test_the_same_event_gets_the_same_priority_in_every_language(pipelines, lang) -> None:
    english = pipelines.get("en")(RANSOMWARE_AT_HOSPITALS["en"])
    doc = pipelines.get(lang)(RANSOMWARE_AT_HOSPITALS[lang])
    assert doc._.priority == english._.priority
    assert [r["factor"] for r in doc._.priority_reasons] == ["sector", "threat", "signal"]


# -- matching rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "a spear phishing campaign", [("spear phishing campaign", "threat.spear-phishing")]),
        ("en", "distributed denial of service attacks",
         [("distributed denial of service attacks", "threat.ddos")]),
        ("fr", "de faux comptes officiels",
         [("faux comptes officiels", "tactic.t0097-206-impersonating-authorities")]),
        ("es", "el colegio electoral", [("colegio electoral", "sector.elections")]),
        ("es", "una fábrica de trolls", [("fábrica de trolls", "tactic.t0091-003-troll-farms")]),
        ("zh", "实施鱼叉式网络钓鱼攻击", [("鱼叉式网络钓鱼", "threat.spear-phishing")]),
        ("zh", "乌克兰电网遭到破坏性恶意软件攻击",
         [("电网", "sector.electricity"), ("破坏性恶意软件", "threat.wiper")]),
    ],
)  # fmt: skip
def test_longest_match_wins(pipelines, lang, text, expected) -> None:
    assert concepts(pipelines, lang, text) == expected


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "A spear-phishing campaign and distributed denial-of-service attacks hit "
               "fake news sites posing as news outlets, then hospitals and water utilities."),
        ("fr", "Une campagne d'hameçonnage ciblé, des attaques par déni de service distribué "
               "et de faux sites d'information visant des centres hospitaliers."),
        ("zh", "鱼叉式网络钓鱼攻击和分布式拒绝服务攻击针对虚假新闻网站与医疗机构。"),
    ],
)  # fmt: skip
def test_overlapping_matches_are_resolved(pipelines, lang, text) -> None:
    doc = pipelines.get(lang)(text)
    spans = sorted(doc.spans["concepts"], key=lambda s: s.start)
    assert len(spans) >= 4
    for left, right in pairwise(spans):
        assert left.end <= right.start, (left.text, right.text)


@pytest.mark.parametrize(
    ("lang", "text", "concept"),
    [
        ("fr", "RANÇONGICIEL", "threat.ransomware"),
        ("fr", "rancongiciel", "threat.ransomware"),
        ("fr", "Rançongiciels", "threat.ransomware"),
        ("fr", "HÔPITAUX", "sector.hospitals"),
        ("es", "Campaña De Phishing", "threat.phishing"),
        ("es", "CIBERANZUELO", "tactic.t0016-clickbait"),
        ("ru", "ШИФРОВАЛЬЩИКИ", "threat.ransomware"),
        ("ru", "подстановка учётных данных", "threat.credential-stuffing"),  # ё read as е
        ("en", "RANSOMWARE", "threat.ransomware"),
    ],
)
def test_case_and_diacritics_are_ignored(pipelines, lang, text, concept) -> None:
    assert concept_ids(pipelines, lang, text) == {concept}


@pytest.mark.parametrize("apostrophe", ["'", "\u2019"])
def test_french_typographic_apostrophes_match_like_straight_ones(pipelines, apostrophe) -> None:
    text = (
        "Une campagne d'hameçonnage a mis l'hôpital à l'arrêt ; l'eau potable est touchée."
    ).replace("'", apostrophe)
    doc = pipelines.get("fr")(text)
    found = [(s.text, s.kb_id_) for s in doc.spans["concepts"]]
    assert found == [
        (f"campagne d{apostrophe}hameçonnage", "threat.phishing"),
        ("hôpital", "sector.hospitals"),
        ("eau potable", "sector.drinking-water"),
    ]
    for span in doc.spans["concepts"]:  # offsets point into the text as written
        assert text[span.start_char : span.end_char] == span.text
    assert "a service is disrupted" in {r["why"] for r in doc._.priority_reasons}  # à l’arrêt


@pytest.mark.parametrize(
    "text",
    ["والمستشفيات", "بالمستشفيات", "للمستشفيات", "فالمستشفيات", "وبالمستشفيات",
     "المستشفيات", "المُستشفيات"],
)  # fmt: skip
def test_arabic_proclitics_and_vowel_marks_before_the_article(pipelines, text) -> None:
    assert concept_ids(pipelines, "ar", text) == {"sector.hospitals"}


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("مدارس ومستشفيات", "sector.hospitals"),
        ("هجوم ببرمجيات الفدية", "threat.ransomware"),
        ("تعرضت لهجمات الفدية", "threat.ransomware"),
    ],
)
def test_arabic_proclitics_on_indefinite_nouns(pipelines, text, concept) -> None:
    assert concept in concept_ids(pipelines, "ar", text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("атака шифровальщиком", "threat.ransomware"),
        ("в больницах области", "sector.hospitals"),
        ("с программами-вымогателями", "threat.ransomware"),
        ("о DDoS-атаке на портал", "threat.ddos"),
        ("утечку данных", "threat.data-leak"),
        ("для водоканалов", "sector.drinking-water"),
        ("в ЦИК", "sector.elections"),
    ],
)
def test_russian_case_forms(pipelines, text, concept) -> None:
    assert concept in concept_ids(pipelines, "ru", text)


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("в трёх клиниках", "sector.hospitals"),
        ("о фишинговых сайтах", "threat.phishing"),
        ("об утечках персональных данных", "threat.data-leak"),
    ],
)
def test_russian_prepositional_plurals(pipelines, text, concept) -> None:
    assert concept in concept_ids(pipelines, "ru", text)


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "A RAT was found on the server.", {"threat.remote-access-trojan"}),
        ("en", "Lab rats and a rat in the server room.", set()),
        ("en", "Rat poison was ordered.", set()),
        ("fr", "Une fraude BEC a visé la PME.", {"threat.business-email-compromise"}),
        ("fr", "Un coup de bec ; Bec de gaz.", set()),
        ("fr", "Le SAMU et le CHU.", {"sector.emergency-services", "sector.hospitals"}),
        ("fr", "Le samu et le chu.", set()),
        ("es", "Dos hospitales y dos clínicas.", {"sector.hospitals"}),
        ("es", "Un ataque DoS contra el portal.", {"threat.denial-of-service"}),
    ],
)
def test_short_capitalised_acronyms_match_only_as_written(pipelines, lang, text, expected) -> None:
    assert concept_ids(pipelines, lang, text) == expected


@pytest.mark.parametrize(
    ("lang", "text", "concept"),
    [
        ("en", "Three ministries were hit by DDoS.", "threat.ddos"),
        ("fr", "Les sites des mairies ont subi un DDoS.", "threat.ddos"),
        ("es", "El portal sufrió un ataque DoS.", "threat.denial-of-service"),
    ],
)
def test_mixed_case_acronyms_at_the_end_of_a_sentence(pipelines, lang, text, concept) -> None:
    assert concept in concept_ids(pipelines, lang, text)


@pytest.mark.parametrize("text", ["该SQLite组件存在漏洞。", "APT13组织发起攻击。"])
def test_chinese_latin_acronyms_do_not_match_inside_longer_words(pipelines, text) -> None:
    assert concept_ids(pipelines, "zh", text) == set()


# -- priority -------------------------------------------------------------------------------


def test_priority_ranks_disrupted_hospitals_above_phishing_against_a_news_site(pipelines) -> None:
    nlp = pipelines.get("en")
    severe = nlp(
        "Attackers actively exploited a VPN flaw to deploy ransomware that disrupted two "
        "hospitals; patients were diverted."
    )
    mild = nlp("A phishing campaign targeted the staff of a news outlet.")
    assert severe._.priority > mild._.priority

    by_factor = {}
    for reason in severe._.priority_reasons:
        assert set(reason) == {"factor", "concept", "points", "why"}
        assert isinstance(reason["points"], int) and reason["points"] > 0 and reason["why"]
        by_factor.setdefault(reason["factor"], []).append(reason)
    assert by_factor["sector"][0]["concept"] == "sector.hospitals"
    assert by_factor["threat"][0]["concept"] == "threat.ransomware"
    assert {r["why"] for r in by_factor["signal"]} == {
        "exploitation is under way", "a service is disrupted", "people are affected"
    }  # fmt: skip
    points = sum(r["points"] for r in severe._.priority_reasons)
    assert severe._.priority == min(100, points)

    assert [(r["factor"], r["concept"]) for r in mild._.priority_reasons] == [
        ("sector", "sector.media"),
        ("threat", "threat.phishing"),
    ]
    assert mild._.priority == sum(r["points"] for r in mild._.priority_reasons)


def test_priority_counts_indicators_and_tactics_on_essential_sectors(pipelines) -> None:
    doc = pipelines.get("fr")(
        "De faux comptes diffusent une vidéo hypertruquée sur l'eau potable ; "
        "voir hxxps://faux-avis[.]com/eau."
    )
    factors = {r["factor"]: r for r in doc._.priority_reasons}
    assert factors["tactic"]["points"] > 0 and factors["tactic"]["concept"].startswith("tactic.")
    assert factors["indicators"]["points"] > 0
    assert factors["sector"]["concept"] == "sector.drinking-water"


def test_priority_reasons_belong_to_their_document(pipelines) -> None:
    nlp = pipelines.get("en")
    text = "Ransomware disrupted two hospitals; see CVE-2024-3400."
    first, second = nlp(text), nlp(text)
    first._.priority_reasons[0]["points"] = 0
    first._.priority_reasons.append({"factor": "edited"})
    assert second._.priority_reasons == nlp(text)._.priority_reasons
    assert {r["factor"] for r in second._.priority_reasons} == {
        "sector", "threat", "signal", "indicators"
    }  # fmt: skip
    assert second._.priority_reasons[0]["points"] > 0


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_priority_reads_the_concept_spans_without_the_glossary_copy(pipelines, lang) -> None:
    """A Doc whose concept spans were set by other means (no plain copy in user_data, or
    one that no longer matches the spans) is scored from the spans themselves."""
    from nlp.glossary_matcher import CONCEPTS_KEY

    nlp = pipelines.get(lang)
    texts = {
        "en": "A phishing campaign and fake accounts spread lies about the drinking water; "
              "attackers exploited a flaw to disrupt hospitals.",
        "fr": "De faux comptes diffusent une vidéo hypertruquée sur l'eau potable ; "
              "le rançongiciel a paralysé les hôpitaux.",
        "ar": "هجوم ببرمجيات الفدية على المستشفيات وحسابات وهمية تنشر أخبارا كاذبة عن مياه الشرب.",
    }  # fmt: skip
    doc = nlp(texts[lang])
    expected = (doc._.priority, doc._.priority_reasons)
    assert expected[0] > 0 and len(doc.spans["concepts"]) >= 3
    scorer = nlp.get_pipe("briefings_priority")
    del doc.user_data[CONCEPTS_KEY]
    assert (scorer(doc)._.priority, doc._.priority_reasons) == expected
    doc.user_data[CONCEPTS_KEY] = []  # stale: the spans were changed after the glossary ran
    assert (scorer(doc)._.priority, doc._.priority_reasons) == expected


def test_overlap_resolution_is_spacys_filter_spans() -> None:
    """The glossary's resolution on match tuples keeps what ``spacy.util.filter_spans``
    keeps (longer first, then earlier), on random runs of nested and crossing matches."""
    import random

    from spacy.util import filter_spans

    from nlp.glossary_matcher import _longest_first

    doc = spacy.blank("en")("w " * 40)
    rng = random.Random(3)
    for _ in range(2000):
        matches = set()
        for _ in range(rng.randint(0, 12)):
            start = rng.randint(0, 35)
            matches.add((start, start + rng.randint(1, 5), rng.randint(1, 3)))
        # The PhraseMatcher's order: by start, then end; the key tells equals apart.
        found = [(key, start, end) for start, end, key in sorted(matches)]
        spans = [doc[start:end] for _, start, end in found]
        expected = sorted((span.start, span.end) for span in filter_spans(spans))
        kept = _longest_first(found)
        assert [(start, end) for _, start, end in kept] == expected, found
        # Among equal spans the first in the matcher's order is kept, as filter_spans does.
        first_of = {}
        for match in found:
            first_of.setdefault(match[1:], match)
        assert all(first_of[match[1:]] == match for match in kept)


# -- bad input ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mixed_batch(pipelines):
    long_en = "Ransomware disrupted hospitals and water utilities across the region. " * 42_000
    assert len(long_en) > MAX_CHARS  # about 3 MB
    long_zh = "勒索软件攻击导致多家医院停摆。" * 10_000  # 150,000 characters
    items = [
        make_item(1, "en", "Ransomware hits a hospital", "Patients were diverted."),
        make_item(2, "en", "", ""),
        make_item(3, "en", "Huge", long_en),
        make_item(4, "zh", "长文本", long_zh),
        make_item(5, "en", "Mixed", "Ransomware hit المستشفيات, 医院 and больницы 🚑 in Kyiv."),
        make_item(6, "xx", "Multi", "APT28 used CVE-2024-3400 against 203.0.113.9."),
        make_item(7, "tlh", "Klingon", "nuqneH. APT28 Qapla' 198.51.100.7"),
        make_item(8, "de", "Deutsch", "Ransomware legt Krankenhäuser lahm; APT28 steckt dahinter."),
        make_item(9, None, "Unknown", "CVE-2023-4966 exploited by LockBit affiliates."),
        make_item(10, "fr", "Rançongiciel", "Un rançongiciel a paralysé l'hôpital."),
    ]
    analyses, report = tag_items(items, pipelines, tagger_version(), batch_size=4)
    return items, {a.item_id: a for a in analyses}, report


def test_a_mixed_batch_is_tagged_whole_with_problems_reported(mixed_batch) -> None:
    items, analyses, report = mixed_batch
    for item in items:
        errors = [e for e in report.errors if e.startswith(f"{item.id}:")]
        assert item.id in analyses or errors, item.id
    assert set(analyses) == {item.id for item in items}  # nothing here is beyond tagging
    assert report.total == len(items)
    assert report.tagged == {"en": 4, "zh": 1, "xx": 1, "tlh": 1, "de": 1, "unknown": 1, "fr": 1}


def test_texts_beyond_the_limit_are_cut_and_reported(mixed_batch) -> None:
    _, analyses, report = mixed_batch
    assert any(e.startswith("item-3:") and f"up to {MAX_CHARS:,}" in e for e in report.errors)
    assert any(e.startswith("item-4:") and f"up to {max_chars('zh'):,}" in e for e in report.errors)
    assert max_chars("zh") == 100_000 < max_chars("en") == MAX_CHARS
    huge = analyses["item-3"]
    assert {t.concept for t in huge.tags} >= {"threat.ransomware", "sector.hospitals"}
    assert max(t.end for t in huge.tags) <= MAX_CHARS
    assert {t.concept for t in analyses["item-4"].tags} >= {"threat.ransomware"}
    assert len(report.errors) == 2, report.errors


def test_empty_mixed_unknown_and_untermed_languages_give_clean_analyses(mixed_batch) -> None:
    _, analyses, _ = mixed_batch
    empty = analyses["item-2"]
    assert (empty.tags, empty.indicators, empty.countries, empty.priority) == ([], [], [], 0)
    assert {t.concept for t in analyses["item-5"].tags} == {"threat.ransomware"}
    for item_id in ("item-6", "item-7", "item-9"):  # xx, tlh, no language: names and indicators
        analysis = analyses[item_id]
        assert analysis.indicators, item_id
    assert {t.concept for t in analyses["item-6"].tags} == {"actor.apt28"}
    assert {(i.type, i.value) for i in analyses["item-7"].indicators} == {("ipv4", "198.51.100.7")}
    # German has no glossary terms: only language-neutral names are found.
    assert {t.concept for t in analyses["item-8"].tags} == {"actor.apt28"}
    assert {t.concept for t in analyses["item-10"].tags} == {
        "threat.ransomware", "sector.hospitals"
    }  # fmt: skip


def test_unknown_language_codes_fall_back_to_the_multi_language_tokenizer(pipelines) -> None:
    for lang in ("xx", "tlh", None):
        nlp = pipelines.get(lang)
        assert nlp.lang == "xx" and tuple(nlp.pipe_names) == COMPONENTS
    assert pipelines.get("de").lang == "de"


# -- lexical attributes ---------------------------------------------------------------------

# Words that no pattern and no earlier test put in a vocabulary, so their lexemes are made
# while tagging, with only the attributes the components read.
NEW_WORDS = {
    "en": "Michaelina Jordan and Chadwick Smithson met in Georgia; Tbilisi's Zurabovich "
          "Institute said Chad condemned ransomware at Quorvex Hospital.",
    "fr": "Dominiquette Maurice a parlé à Granadilla du rançongiciel de l'Hôpital Vexorin.",
    "es": "Mauricioso Granada habló del ransomware en el Hospital Quorvex de Chile.",
    "ar": "قال زوربيكوفيتش إن هجوم برمجيات الفدية عطّل مستشفيات كوارفكس في الأردن وتشاد",
    "ru": "Зурабовичус сообщил о программе-вымогателе в больнице Кварвекс в Чаде и Иордании.",
    "zh": "佐拉博维奇说，勒索软件攻击了乍得和约旦的夸维克斯医院。",
}  # fmt: skip


def gold_texts(lang: str) -> list[str]:
    lines = (ROOT / "tests" / "data" / "gold" / "tagging.jsonl").read_text("utf-8").splitlines()
    return [case["text"] for case in map(json.loads, lines) if case["lang"] == lang]


def test_the_pipeline_computes_only_the_lexical_attributes_its_components_read(pipelines):
    from spacy.attrs import IS_ALPHA, IS_STOP, LIKE_URL, NORM, SHAPE

    nlp = pipelines.get("en")
    assert set(nlp.vocab.lex_attr_getters) == {NORM, IS_ALPHA, IS_STOP}
    doc = nlp("Visit hxxps://quorvexian.example now")
    assert doc[1].shape_ == "" and not doc[1].like_url  # new words: left unset
    # Every other pipeline keeps spaCy's attributes: the dict is the Vocab's own.
    blank = spacy.blank("en")
    assert {SHAPE, LIKE_URL} <= set(blank.vocab.lex_attr_getters)
    assert blank("quorvexianish")[0].shape_ == "xxxx"


def test_a_component_that_does_not_say_what_it_reads_keeps_every_attribute() -> None:
    from spacy.attrs import SHAPE

    from nlp.pipeline import build_pipeline, compute_only_what_is_read

    nlp = build_pipeline("en")
    nlp_all = spacy.blank("en")
    nlp_all.add_pipe("briefings_indicators")
    nlp_all.add_pipe("sentencizer")  # spaCy's own: says nothing
    assert compute_only_what_is_read(nlp_all) is False
    assert SHAPE in nlp_all.vocab.lex_attr_getters and SHAPE not in nlp.vocab.lex_attr_getters


@pytest.mark.parametrize("lang", sorted(NEW_WORDS))
def test_the_same_analyses_as_with_every_lexical_attribute(pipelines, monkeypatch, lang) -> None:
    import nlp.pipeline

    trimmed = pipelines.get(lang)  # built before the patch below
    monkeypatch.setattr(nlp.pipeline, "compute_only_what_is_read", lambda nlp: False)
    every = nlp.pipeline.build_pipeline(lang)
    assert len(trimmed.vocab.lex_attr_getters) < 5 < 20 < len(every.vocab.lex_attr_getters)
    texts = [*gold_texts(lang), NEW_WORDS[lang], NEW_WORDS[lang].upper()]
    expected = [found_in(doc) for doc in every.pipe(texts)]
    got = [found_in(doc) for doc in trimmed.pipe(texts)]
    assert got == expected
    assert any(a.countries for a, _ in expected) and any(a.tags for a, _ in expected)


def found_in(doc) -> tuple:
    """What tagging stores, and each country span (stored only as a set of codes)."""
    places = [(span.start_char, span.end_char, span.kb_id_) for span in doc.spans["countries"]]
    return analysis_from_doc(doc, "i", 1, "t"), places


def test_an_attribute_read_but_not_declared_would_be_missed(monkeypatch) -> None:
    """The reason for the declarations: countries read IS_ALPHA and IS_STOP of the words
    beside a name; without them a new first name beside "Jordan" reads as no word."""
    from spacy.attrs import NORM

    from nlp.countries import CountryMatcher, country_codes
    from nlp.pipeline import build_pipeline

    text = "Michaelina Jordan visited Chadwick Smithson."
    assert country_codes(build_pipeline("en")(text)) == []
    monkeypatch.setattr(CountryMatcher, "lexical_attributes", frozenset({NORM}))
    assert country_codes(build_pipeline("en")(text)) == ["JO"]


# -- a trained pipeline's entities ---------------------------------------------------------


@pytest.fixture(scope="module")
def trained_ner(tmp_path_factory) -> Path:
    import trained_pipeline

    return trained_pipeline.train_ner(tmp_path_factory.mktemp("models") / "ner")


ENTITY_TEXT = "Zorblat Industries said ransomware hit hospitals in Vexmoor; Marta Quell spoke."


def test_a_configured_trained_pipeline_adds_its_entities(pipelines, trained_ner) -> None:
    from spacy.attrs import NORM, SHAPE

    cache = PipelineCache(trained_models={"en": str(trained_ner)})
    nlp = cache.get("en")
    assert nlp.pipe_names == [*COMPONENTS, TRAINED_ENTITIES]
    trained = spacy.load(trained_ner)
    expected = [(e.label_, e.text, e.start_char, e.end_char) for e in trained(ENTITY_TEXT).ents]
    assert {label for label, *_ in expected} == {"ORG", "GPE", "PERSON"}  # it learnt them
    [analysis], report = tag_items([make_item(1, "en", "", ENTITY_TEXT)], cache, "t")
    assert not report.errors
    offset = len("\n\n")  # the tagging text is title, blank line, body
    assert [(e.label, e.text, e.start - offset, e.end - offset) for e in analysis.entities] == (
        expected
    )
    # The rules find what they find without the trained pipeline.
    [rules_only], _ = tag_items([make_item(1, "en", "", ENTITY_TEXT)], pipelines, "t")
    assert (analysis.tags, analysis.countries, analysis.priority) == (
        rules_only.tags, rules_only.countries, rules_only.priority
    )  # fmt: skip
    assert rules_only.entities == []
    # The trained pipeline keeps its own vocabulary and lexical features.
    model = nlp.get_pipe(TRAINED_ENTITIES).model
    assert model.vocab is not nlp.vocab and SHAPE in model.vocab.lex_attr_getters
    assert model.vocab.lex_attr_getters[NORM]("Rançon") == "rançon"  # not folded
    assert SHAPE not in nlp.vocab.lex_attr_getters


def test_a_trained_pipeline_tags_the_head_of_a_text_beyond_its_limit(trained_ner) -> None:
    nlp = PipelineCache(trained_models={"en": str(trained_ner)}).get("en")
    model = nlp.get_pipe(TRAINED_ENTITIES).model
    model.max_length = 40
    text = "Zorblat Industries said on Monday that " + "ransomware hit Vexmoor. " * 20
    doc = nlp(text)
    assert [s.text for s in doc.spans["entities"]] == ["Zorblat Industries"]
    assert {s.kb_id_ for s in doc.spans["concepts"]} == {"threat.ransomware"}


@spacy.Language.component("briefings_test_refuses_boom")
def refuses_boom(doc):
    """A trained pipeline's component that fails on some texts (for the test below)."""
    if "BOOM" in doc.text:
        raise ValueError("cannot handle BOOM")
    return doc


def test_a_trained_pipeline_failing_on_a_text_costs_only_that_text_s_entities(
    trained_ner, tmp_path, caplog
) -> None:
    fragile = spacy.load(trained_ner)
    fragile.add_pipe("briefings_test_refuses_boom")
    fragile.to_disk(tmp_path / "fragile")
    cache = PipelineCache(trained_models={"en": str(tmp_path / "fragile")})
    items = [
        make_item(1, "en", "", ENTITY_TEXT),
        make_item(2, "en", "BOOM", "Ransomware hit Vexmoor hospitals."),
        make_item(3, "en", "", ENTITY_TEXT),
    ]
    with caplog.at_level("WARNING", logger="nlp.entities"):
        analyses, report = tag_items(items, cache, "t")
    assert not report.errors and [a.item_id for a in analyses] == ["item-1", "item-2", "item-3"]
    first, boom, third = analyses
    assert first.entities and third.entities == first.entities
    assert boom.entities == [] and {t.concept for t in boom.tags} >= {"threat.ransomware"}
    [message] = [r.getMessage() for r in caplog.records]
    assert "failed on a text (ValueError: cannot handle BOOM)" in message


def test_a_missing_trained_pipeline_is_reported_and_the_rules_tag_alone(caplog) -> None:
    cache = PipelineCache(trained_models={"en": "briefings_no_such_pipeline"})
    with caplog.at_level("WARNING", logger="nlp.pipeline"):
        nlp = cache.get("en")
    assert tuple(nlp.pipe_names) == COMPONENTS
    [message] = [r.getMessage() for r in caplog.records]
    assert "'briefings_no_such_pipeline'" in message and "not installed" in message
    assert "using rules only" in message
    [analysis], report = tag_items([make_item(1, "en", "Ransomware", "")], cache, "t")
    assert not report.errors and analysis.entities == []
    assert [t.concept for t in analysis.tags] == ["threat.ransomware"]


def test_a_trained_pipeline_that_cannot_be_loaded_is_reported_and_the_rules_tag_alone(
    trained_ner, tmp_path, caplog
) -> None:
    import shutil

    broken = shutil.copytree(trained_ner, tmp_path / "broken")
    (broken / "config.cfg").write_text('[nlp]\nlang = "en"\n', "utf-8")  # damaged
    cache = PipelineCache(trained_models={"en": str(broken)})
    with caplog.at_level("WARNING", logger="nlp.pipeline"):
        nlp = cache.get("en")
    assert tuple(nlp.pipe_names) == COMPONENTS
    [message] = [r.getMessage() for r in caplog.records]
    assert "cannot be loaded (ConfigValidationError" in message and "using rules only" in message
    [analysis], report = tag_items([make_item(1, "en", "Ransomware", "")], cache, "t")
    assert not report.errors and analysis.entities == []


def test_the_tagger_version_names_the_trained_pipelines(trained_ner, tmp_path) -> None:
    import shutil

    plain = tagger_version()
    with_model = tagger_version(None, {"en": str(trained_ner)})
    assert with_model.startswith(plain + "+models-")
    assert tagger_version(None, {"en": str(trained_ner)}) == with_model  # stable
    upgraded = shutil.copytree(trained_ner, tmp_path / "ner")
    meta = json.loads((upgraded / "meta.json").read_text("utf-8"))
    meta["version"] = "0.0.2"
    (upgraded / "meta.json").write_text(json.dumps(meta), "utf-8")
    assert tagger_version(None, {"en": str(upgraded)}) != with_model
    missing = tagger_version(None, {"en": "briefings_no_such_pipeline"})
    assert missing not in (plain, with_model)
    assert tagger_version(None, {}) == plain


# -- the tagger version ---------------------------------------------------------------------

GLOSSARY = """\
concepts:
- id: actor.test-heron
  category: actor
  flags: [dnt]
  source: "MITRE ATT&CK G9999 (made up for a test)"
  definition: "A group made up for a test."
  terms:
    "*":
      preferred: "Quiet Heron"
"""


def test_tagger_version_names_the_code_and_the_glossary(tmp_path) -> None:
    shipped = tagger_version()
    assert shipped.startswith("tagger-") and "+glossary-" in shipped
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "actors.yaml").write_text(GLOSSARY, "utf-8")
    (two / "actors.yaml").write_text(GLOSSARY + '      variants: ["Silent Heron"]\n', "utf-8")
    versions = {shipped, tagger_version([str(one)]), tagger_version([str(two)])}
    assert len(versions) == 3


def test_tagger_version_changes_when_the_glossary_file_changes(tmp_path) -> None:
    (tmp_path / "actors.yaml").write_text(GLOSSARY, "utf-8")
    before = tagger_version([str(tmp_path)])
    (tmp_path / "actors.yaml").write_text(GLOSSARY + '      variants: ["Silent Heron"]\n', "utf-8")
    assert tagger_version([str(tmp_path)]) != before


def test_cached_pipelines_follow_an_edited_glossary(tmp_path) -> None:
    (tmp_path / "actors.yaml").write_text(GLOSSARY, "utf-8")
    pipelines = PipelineCache(glossary_paths=[str(tmp_path)])
    text = "Silent Heron and Quiet Heron struck again."
    assert concepts(pipelines, "en", text) == [("Quiet Heron", "actor.test-heron")]
    (tmp_path / "actors.yaml").write_text(GLOSSARY + '      variants: ["Silent Heron"]\n', "utf-8")
    assert concepts(pipelines, "en", text) == [
        ("Silent Heron", "actor.test-heron"),
        ("Quiet Heron", "actor.test-heron"),
    ]


# -- the store ------------------------------------------------------------------------------


def test_store_round_trip_and_filters(pipelines, tmp_path) -> None:
    store = Store(tmp_path / "state" / "briefings.sqlite3")
    items = [
        make_item(1, "en", "Ransomware disrupts hospitals",
                  "CVE-2024-3400 is actively exploited; patients diverted from 203.0.113.9."),
        make_item(2, "fr", "Hameçonnage", "Une campagne d'hameçonnage vise une rédaction."),
        make_item(3, "es", "Desinformación", "Cuentas falsas difunden bulos sobre las elecciones."),
    ]  # fmt: skip
    ids = []
    for n, item in enumerate(items):
        with store.transaction() as conn:
            _, item_id = store.record_item(
                conn, item, entry_key=f"e{n}", global_key=item.url, seen_at=T0
            )
        ids.append(item_id)
    stored = store.items_to_tag(tagger_version())
    assert len(stored) == 3
    analyses, report = tag_items(stored, pipelines, tagger_version())
    assert not report.errors
    store.save_analyses(analyses, T0)
    assert store.items_to_tag(tagger_version()) == []

    def listed(**filters) -> set[str]:
        return {item.title for item in store.list_items(**filters)}

    assert listed(concept="threat.ransomware") == {"Ransomware disrupts hospitals"}
    assert listed(category="tactic") == {"Desinformación"}
    assert listed(category="sector") == {"Ransomware disrupts hospitals", "Desinformación"}
    assert listed(min_priority=60) == {"Ransomware disrupts hospitals"}
    assert listed(concept="threat.phishing", min_priority=10) == {"Hameçonnage"}
    assert listed(concept="threat.phishing", min_priority=90) == set()

    item = store.get_item(ids[0])
    text = item.tagging_text
    assert item.analysis.tagger == tagger_version()
    for tag in item.analysis.tags:
        assert text[tag.start : tag.end] == tag.text
    assert [(i.type, i.value) for i in item.analysis.indicators] == [
        ("cve", "CVE-2024-3400"),
        ("ipv4", "203.0.113.9"),
    ]
    for indicator in item.analysis.indicators:
        assert text[indicator.start : indicator.end] == indicator.text
    assert item.analysis.priority == min(100, sum(r["points"] for r in item.analysis.reasons))
    store.close()


# -- the items command on a small real workspace --------------------------------------------

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>{title}</title><link>https://cert.example/</link>
<language>{lang}</language>{items}</channel></rss>"""
ENTRY = """<item><title>{title}</title><link>https://cert.example/{lang}/{n}</link>
<guid>https://cert.example/{lang}/{n}</guid><pubDate>Mon, 0{n} Nov 2026 08:00:00 +0000</pubDate>
<description>{body}</description></item>"""
FEEDS = {
    "en": [
        ("Ransomware disrupts hospitals in Spain",
         "Attackers actively exploited CVE-2024-3400 to deploy ransomware; patients were "
         "diverted. Block hxxps://update-check[.]net/gate.php and 203.0.113.45."),
        ("Phishing campaign against a news outlet",
         "Journalists received phishing emails from a lookalike domain."),
    ],
    "fr": [
        ("Rançongiciel dans un hôpital", "Un rançongiciel a paralysé un hôpital français."),
    ],
}  # fmt: skip


def write_feed_workspace(root: Path) -> Path:
    (root / "feeds").mkdir(parents=True)
    sources = []
    for lang, entries in FEEDS.items():
        items = "".join(
            ENTRY.format(title=title, body=body, lang=lang, n=n + 1)
            for n, (title, body) in enumerate(entries)
        )
        (root / "feeds" / f"{lang}.xml").write_text(
            RSS.format(title=f"CERT {lang}", lang=lang, items=items), "utf-8"
        )
        sources.append(
            f'[[sources]]\nid = "cert-{lang}"\nurl = "feeds/{lang}.xml"\nlang = "{lang}"\n'
        )
    (root / "briefings.toml").write_text(
        '[workspace]\nsource_lang = "en"\nlanguages = ["en", "fr"]\n'
        "[ingest]\ndetect_language = false\n\n" + "\n".join(sources),
        "utf-8",
    )
    return root


def test_cli_items_json_after_tagging_a_small_real_workspace(pipelines, tmp_path, capsys) -> None:
    root = write_feed_workspace(tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    ingestor = Ingestor.for_workspace(workspace, store)
    try:
        reports = [ingestor.ingest_source(source) for source in workspace.config.sources]
    finally:
        ingestor.close()
    assert [r.status for r in reports] == ["ok", "ok"]
    analyses, report = tag_items(store.items_to_tag(tagger_version()), pipelines, tagger_version())
    assert not report.errors and len(analyses) == 3
    store.save_analyses(analyses, T0)
    store.close()

    assert main(["-w", str(root), "items", "--json"]) == 0
    listed = {item["title"]: item for item in json.loads(capsys.readouterr().out)}
    assert len(listed) == 3
    first = listed["Ransomware disrupts hospitals in Spain"]
    assert {"tags", "indicators", "countries", "priority", "tagger"} <= set(first)
    tags = {tag["concept"]: tag for tag in first["tags"]}
    assert {"threat.ransomware", "sector.hospitals", "threat.vulnerability-exploitation"} <= set(
        tags
    )
    for tag in first["tags"]:
        assert set(tag) == {"concept", "category", "text", "start", "end"}
        assert tag["category"] == tag["concept"].split(".", 1)[0]
    indicators = {(i["type"], i["value"], i["text"]) for i in first["indicators"]}
    assert ("url", "https://update-check.net/gate.php", "hxxps://update-check[.]net/gate.php") in (
        indicators
    )
    assert ("cve", "CVE-2024-3400", "CVE-2024-3400") in indicators
    assert first["countries"] == ["ES"]
    assert first["priority"]["score"] >= 80
    assert {r["factor"] for r in first["priority"]["reasons"]} >= {"sector", "threat", "signal"}
    assert all(r["points"] > 0 for r in first["priority"]["reasons"])
    french = listed["Rançongiciel dans un hôpital"]
    assert french["lang"] == "fr" and french["countries"] == ["FR"]
    assert {t["concept"] for t in french["tags"]} == {"threat.ransomware", "sector.hospitals"}

    def titles(*args: str) -> set[str]:
        assert main(["-w", str(root), "items", "--json", *args]) == 0
        return {item["title"] for item in json.loads(capsys.readouterr().out)}

    assert titles("--tag", "threat.ransomware") == {
        "Ransomware disrupts hospitals in Spain", "Rançongiciel dans un hôpital"
    }  # fmt: skip
    assert titles("--category", "sector", "--lang", "en") == {
        "Ransomware disrupts hospitals in Spain", "Phishing campaign against a news outlet"
    }  # fmt: skip
    assert titles("--min-priority", str(first["priority"]["score"])) == {
        "Ransomware disrupts hospitals in Spain"
    }


# -- packaging ------------------------------------------------------------------------------


def test_components_are_declared_as_spacy_factory_entry_points() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"][
        "entry-points"
    ]["spacy_factories"]
    assert set(declared) == {*COMPONENTS, TRAINED_ENTITIES}
    for name, target in declared.items():
        module, _, attr = target.partition(":")
        assert getattr(import_module(module), attr) is spacy.registry.factories.get(name), name


def test_components_sharing_one_matcher_pass_work_alone_disabled_and_replaced(tmp_path) -> None:
    """Glossary, countries and priority share one NORM PhraseMatcher pass per Doc
    (``nlp.norm_matcher``): each must still find its own matches alone, with the others
    disabled, and a replaced component must not keep its predecessor's patterns."""
    from nlp.pipeline import build_pipeline

    text = "Ransomware hit hospitals in France; services are disrupted. Quiet Heron again."
    full = build_pipeline("en")
    doc = full(text)
    assert {s.kb_id_ for s in doc.spans["concepts"]} >= {"threat.ransomware", "sector.hospitals"}
    assert [s.kb_id_ for s in doc.spans["countries"]] == ["FR"]
    assert any(r["factor"] == "signal" for r in doc._.priority_reasons)

    with full.select_pipes(enable=["briefings_countries"]):
        alone = full(text)
    assert [s.kb_id_ for s in alone.spans["countries"]] == ["FR"]
    assert "concepts" not in alone.spans

    countries_only = spacy.blank("en")
    countries_only.add_pipe("briefings_countries")
    only = countries_only(text)
    assert [s.kb_id_ for s in only.spans["countries"]] == ["FR"]

    # Another glossary replaces the shipped one: none of the old patterns stays.
    (tmp_path / "actors.yaml").write_text(GLOSSARY, "utf-8")
    full.replace_pipe(
        "briefings_glossary", "briefings_glossary", config={"glossary_paths": [str(tmp_path)]}
    )
    again = full(text)
    assert [s.kb_id_ for s in again.spans["concepts"]] == ["actor.test-heron"]
    assert [s.kb_id_ for s in again.spans["countries"]] == ["FR"]
    assert any(r["factor"] == "signal" for r in again._.priority_reasons)
