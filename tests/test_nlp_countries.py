"""Countries and demonyms as ISO 3166-1 codes: the ``briefings_countries`` component on real
blank spaCy pipelines in the six languages, its ambiguity rules, and the data file."""

from __future__ import annotations

import pycountry
import pytest
import spacy

import nlp.countries  # noqa: F401  (registers the factory)
from nlp.countries import BLOCK, LABEL, country_codes, country_terms, inflect, load_demonyms
from nlp.pipeline import PipelineCache

LANGUAGES = ("en", "fr", "es", "ar", "ru", "zh")


@pytest.fixture(scope="module")
def pipelines():
    cache: dict[str, spacy.Language] = {}

    def get(lang: str) -> spacy.Language:
        if lang not in cache:
            nlp = spacy.blank(lang)
            nlp.add_pipe("briefings_countries")
            cache[lang] = nlp
        return cache[lang]

    return get


def codes(pipelines, lang: str, text: str) -> list[str]:
    return country_codes(pipelines(lang)(text))


def found(pipelines, lang: str, text: str) -> list[tuple[str, str]]:
    doc = pipelines(lang)(text)  # keep the Doc alive while its SpanGroup is read
    return [(span.text, span.kb_id_) for span in doc.spans["countries"]]


SENTENCES = [
    ("en", "Russian hackers targeted hospitals in Ukraine and Moldova.", ["MD", "RU", "UA"]),
    ("en", "The U.S. and the UK blamed North Korea; Iranian and Chinese groups denied it.",
     ["CN", "GB", "IR", "KP", "US"]),
    ("en", "Saudi Arabia, the UAE and Israel shared indicators with Morocco and Algeria.",
     ["AE", "DZ", "IL", "MA", "SA"]),
    ("en", "Egyptian, Spanish and French CERTs met British and German officials.",
     ["DE", "EG", "ES", "FR", "GB"]),
    ("fr", "Des pirates russes ont visé des hôpitaux en Ukraine et en Moldavie.", ["MD", "RU", "UA"]),
    ("fr", "La Chine, l'Iran et les États-Unis ; des groupes nord-coréens et chinois.",
     ["CN", "IR", "KP", "US"]),
    ("fr", "Le Maroc, l'Algérie et l'Arabie saoudite ont coopéré avec Israël.", ["DZ", "IL", "MA", "SA"]),
    ("es", "Hackers rusos atacaron hospitales en Ucrania y Moldavia.", ["MD", "RU", "UA"]),
    ("es", "China, Irán y EE. UU. acusaron a Corea del Norte.", ["CN", "IR", "KP", "US"]),
    ("es", "Marruecos, Argelia y Egipto reforzaron sus defensas frente a grupos iraníes.",
     ["DZ", "EG", "IR", "MA"]),
    ("ar", "هاجم قراصنة روس مستشفيات في أوكرانيا ومولدوفا.", ["MD", "RU", "UA"]),
    ("ar", "اتهمت الولايات المتحدة والصين وروسيا إيران بشن هجمات.", ["CN", "IR", "RU", "US"]),
    ("ar", "تعاون المغرب والجزائر ومصر مع السعودية والإمارات.", ["AE", "DZ", "EG", "MA", "SA"]),
    ("ru", "Российские хакеры атаковали больницы Украины и Молдавии.", ["MD", "RU", "UA"]),
    ("ru", "В Китае, Иране и США отрицают причастность КНДР.", ["CN", "IR", "KP", "US"]),
    ("ru", "Марокко, Алжир и Египет сотрудничают с Саудовской Аравией.", ["DZ", "EG", "MA", "SA"]),
    ("zh", "俄罗斯黑客攻击了乌克兰和摩尔多瓦的医院。", ["MD", "RU", "UA"]),
    ("zh", "美国、中国和伊朗都否认与朝鲜有关。", ["CN", "IR", "KP", "US"]),
    ("zh", "摩洛哥、阿尔及利亚和埃及与沙特阿拉伯合作。", ["DZ", "EG", "MA", "SA"]),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), SENTENCES)
def test_each_language_finds_the_countries(pipelines, lang, text, expected):
    assert codes(pipelines, lang, text) == expected


DEMONYMS = [
    ("en", "Russians and Iranians, Israelis and Saudis.", ["IL", "IR", "RU", "SA"]),
    ("fr", "russe", ["RU"]), ("fr", "Les Russes", ["RU"]), ("fr", "des banques russes", ["RU"]),
    ("fr", "une entreprise chinoise", ["CN"]), ("fr", "des sociétés chinoises", ["CN"]),
    ("fr", "la cyberattaque iranienne", ["IR"]), ("fr", "des hackers iraniens", ["IR"]),
    ("fr", "des banques marocaines", ["MA"]), ("fr", "les autorités américaines", ["US"]),
    ("es", "ruso", ["RU"]), ("es", "la agencia rusa", ["RU"]), ("es", "grupos rusos", ["RU"]),
    ("es", "las empresas rusas", ["RU"]), ("es", "las empresas chinas", ["CN"]),
    ("es", "un grupo iraní", ["IR"]), ("es", "hackers iraníes", ["IR"]),
    ("es", "las autoridades francesas", ["FR"]), ("es", "bancos alemanes", ["DE"]),
    ("ar", "روسي", ["RU"]), ("ar", "الروسي", ["RU"]), ("ar", "روسية", ["RU"]),
    ("ar", "الحكومة الروسية", ["RU"]), ("ar", "شركات صينية", ["CN"]), ("ar", "القراصنة الإيرانيين", ["IR"]),
    ("ar", "مجموعة كورية شمالية", ["KP"]), ("ar", "الكوريين الشماليين", ["KP"]),
    ("ar", "وروسيا", ["RU"]), ("ar", "بروسيا", ["RU"]), ("ar", "والصين", ["CN"]), ("ar", "للصين", ["CN"]),
    ("ar", "وبإيران", ["IR"]), ("ar", "ولإسرائيل", ["IL"]), ("ar", "ايران", ["IR"]),
    ("ru", "российский", ["RU"]), ("ru", "российская", ["RU"]), ("ru", "российские", ["RU"]),
    ("ru", "российских", ["RU"]), ("ru", "российского", ["RU"]), ("ru", "российскими", ["RU"]),
    ("ru", "Россия", ["RU"]), ("ru", "России", ["RU"]), ("ru", "Россией", ["RU"]), ("ru", "Россию", ["RU"]),
    ("ru", "Китая", ["CN"]), ("ru", "китайских", ["CN"]), ("ru", "американцев", ["US"]),
    ("ru", "россияне", ["RU"]), ("ru", "Северной Кореей", ["KP"]), ("ru", "Саудовской Аравии", ["SA"]),
    ("ru", "Соединённых Штатов Америки", ["US"]), ("ru", "Соединенного Королевства", ["GB"]),
    ("ru", "Ёжик в России и российских СМИ", ["RU"]),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), DEMONYMS)
def test_demonyms_and_inflected_forms(pipelines, lang, text, expected):
    assert codes(pipelines, lang, text) == expected


AMBIGUOUS = [
    # English: capitals, names, US states, regions
    ("en", "Attackers may target hospitals in May.", []),
    ("en", "They served fine china and a roast turkey with chile peppers; a guinea pig.", []),
    ("en", "Michael Jordan and Chad Smith visited Georgia Tech.", []),
    ("en", "Offices in Jersey City; an interview with Tom Holland.", []),
    ("en", "Polling stations in Atlanta, Georgia and the state of Georgia closed.", []),
    ("en", "Hospitals in New Mexico and New Jersey; Latin American and North American banks.", []),
    ("en", "Let us know; tell us more.", []),
    ("en", "Jordan and Chad condemned the attack on Georgia's ministries.", ["GE", "JO", "TD"]),
    ("en", "Turkey and China responded; US officials and the U.S. Treasury too.", ["CN", "TR", "US"]),
    ("en", "RUSSIA AND CHINA BLAMED", ["CN", "RU"]),
    ("en", "Ships in the Indian Ocean; American Indian tribes.", []),
    ("en", "Northern Ireland and Ireland.", ["GB", "IE"]),
    ("en", "Banks in the British Virgin Islands and the U.S. Virgin Islands.", ["VG", "VI"]),
    # French, Spanish: lower-case common words, names, places
    ("fr", "Une réunion à Maurice avec Dominique ; une grenade.", []),
    ("fr", "Le Nouveau-Mexique et l'océan Indien ; des banques latino-américaines.", []),
    ("fr", "un plat au chili ; l'équateur ; le Chili et l'Équateur", ["CL", "EC"]),
    ("es", "La reunión en Granada con Mauricio; chile picante; el ecuador.", []),
    ("es", "Chile y Ecuador firmaron; una empresa china y la China continental.", ["CL", "CN", "EC"]),
    # Arabic: "financial", Amman, the Maghreb, Latin America
    ("ar", "الدعم المالي للمؤسسات في عمان", []),
    ("ar", "دول المغرب العربي وأمريكا اللاتينية والمحيط الهندي", []),
    ("ar", "سلطنة عمان وجمهورية مالي", ["ML", "OM"]),
    ("ar", "المكتب القطري للبرنامج في قطر", ["QA"]),
    # Russian: "того" (of that), first names, lower-case common words
    ("ru", "Того же мнения придерживается того же Маврикий.", []),
    ("ru", "В комнате стоял чад.", []),
    ("ru", "Чад и Чили", ["CL", "TD"]),
    # Chinese: no spaces, so names inside other words
    ("zh", "发展中国家和欧美国家的医院；朝鲜半岛；马里兰州；阿曼达；内蒙古；印度洋", []),
    ("zh", "许多哥伦比亚人；沿海地区；黑山县", ["CO"]),
    ("zh", "中国台湾、白俄罗斯和印度尼西亚", ["BY", "ID", "TW"]),
    ("zh", "索马里和马里", ["ML", "SO"]),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "text", "expected"), AMBIGUOUS)
def test_ambiguity_rules(pipelines, lang, text, expected):
    assert codes(pipelines, lang, text) == expected


@pytest.fixture(scope="module")
def tagging_pipelines():
    """The pipelines ``briefings tag`` uses, where new words' lexemes get only the lexical
    attributes the components say they read (the rules above read IS_ALPHA and IS_STOP)."""
    cache = PipelineCache()
    return cache.get


@pytest.mark.parametrize(("lang", "text", "expected"), AMBIGUOUS)
def test_ambiguity_rules_in_the_tagging_pipeline(tagging_pipelines, lang, text, expected):
    assert codes(tagging_pipelines, lang, text) == expected


def test_spans_are_labelled_with_codes(pipelines):
    doc = pipelines("en")("Russian hackers hit Ukraine; the Russian Federation denied it.")
    spans = doc.spans["countries"]
    assert [(s.text, s.label_, s.kb_id_) for s in spans] == [
        ("Russian", LABEL, "RU"),
        ("Ukraine", LABEL, "UA"),
        ("Russian Federation", LABEL, "RU"),
    ]
    assert country_codes(doc) == ["RU", "UA"]


def test_longest_name_wins(pipelines):
    assert found(pipelines, "en", "South Sudan and the Democratic People's Republic of Korea") == [
        ("South Sudan", "SS"),
        ("Democratic People's Republic of Korea", "KP"),
    ]
    assert found(pipelines, "ar", "روسيا البيضاء") == [("روسيا البيضاء", "BY")]


def test_zh_uses_the_character_segmenter(pipelines):
    nlp = pipelines("zh")
    assert nlp.tokenizer.segmenter == "char"
    assert found(pipelines, "zh", "俄罗斯黑客") == [("俄罗斯", "RU")]


def test_country_codes_without_spans():
    doc = spacy.blank("en")("Nothing here.")
    assert country_codes(doc) == []


def test_custom_spans_key():
    nlp = spacy.blank("en")
    nlp.add_pipe("briefings_countries", config={"spans_key": "places"})
    doc = nlp("Iran and Iraq.")
    assert country_codes(doc, "places") == ["IQ", "IR"]
    assert "countries" not in doc.spans


def test_unsupported_language_falls_back_to_english_and_pycountry():
    nlp = spacy.blank("de")
    nlp.add_pipe("briefings_countries")
    assert country_codes(nlp("Russland und China; Russian hackers.")) == ["CN", "RU"]


def test_inflection_rules():
    assert inflect("russe~", "fr") == ["russe", "russes"]
    assert inflect("iranien~", "fr") == ["iranien", "iranienne", "iraniens", "iraniennes"]
    assert inflect("ruso~", "es") == ["ruso", "rusa", "rusos", "rusas"]
    assert inflect("francés~", "es") == ["francés", "francesa", "franceses", "francesas"]
    assert set(inflect("российский~", "ru")) >= {
        "российский", "российская", "российские", "российских", "российского", "российскую",
    }  # fmt: skip
    assert inflect("Россия~", "ru") == ["Россия", "России", "Россию", "Россией"]
    assert "Саудовской Аравией" in inflect("Саудовская Аравия~", "ru")
    assert set(inflect("روسي~", "ar")) >= {"روسي", "الروسي", "روسية", "الروسية"}
    assert inflect("Iran", "en") == ["Iran"]


def test_data_file_is_consistent():
    data = load_demonyms()
    countries = data["countries"]
    assert len(countries) >= 60
    for code, by_lang in countries.items():
        assert isinstance(code, str), code  # a bare NO in YAML 1.1 is false
        assert pycountry.countries.get(alpha_2=code) is not None, code
        assert set(by_lang) == set(LANGUAGES), code
    for lang in LANGUAGES:
        terms = country_terms(lang)  # raises if a form is listed for two countries
        listed = {t.text for t in terms if t.code != BLOCK}
        for name in data["exclude"].get(lang, []):
            assert name not in listed, (lang, name)


def test_empty_text(pipelines):
    for lang in LANGUAGES:
        doc = pipelines(lang)("")
        assert list(doc.spans["countries"]) == []
        assert country_codes(doc) == []


def test_ten_megabytes():
    para = "Russian and Iranian groups hit hospitals in Ukraine; the U.S. and France responded.\n"
    copies = 10_000_000 // len(para) + 1
    nlp = spacy.blank("en")
    nlp.add_pipe("briefings_countries")
    nlp.max_length = len(para) * copies + 1
    doc = nlp(para * copies)
    assert len(doc.spans["countries"]) == 5 * copies
    assert country_codes(doc) == ["FR", "IR", "RU", "UA", "US"]
