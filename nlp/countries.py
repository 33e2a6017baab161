"""The ``briefings_countries`` component: countries and demonyms as ISO 3166-1 alpha-2 codes.

Names come from pycountry (ISO names, official and common names, and their
translations from pycountry's gettext catalogs) and from ``nlp/data/demonyms.yaml``
(short names, abbreviations, demonyms and their inflected forms, and the rules for
ambiguous words; that file's header explains its format and each choice).

Matching: one ``PhraseMatcher`` on the folded NORM (case, diacritics, ё, Arabic marks,
alef forms and proclitics before ال folded, see :mod:`nlp.normalization`) and one on
the exact text for abbreviations in capitals ("US", "США"). NORM rather than LOWER
(cased scripts) or ORTH (Arabic): it is the folding the glossary component already
installs, computed once per word, so "Cote d'Ivoire", "Соединенные Штаты" and
"ايران" without its hamza match too, at no cost per token. Case still matters where
the data says so (checked on the matched text). Chinese pipelines
tokenize one character per token, so the same matchers work on Chinese text without
spaces. Measured on 2 million characters of Chinese news-like text, matching took
1.6 s with the PhraseMatcher, 2.0 s with one compiled alternation regex over the
text, and 2.5 s with a trie-shaped regex finding the overlapping matches that
longest-first resolution needs; the PhraseMatcher stays. (Tokenizing that text took
far longer: spaCy's character segmenter aligns words with the text in quadratic time.)

Results: ``doc.spans[spans_key]``, label ``country``, ``kb_id`` the alpha-2 code,
overlaps resolved longest first. :func:`country_codes` lists a document's codes.
"""

from __future__ import annotations

import gettext
import itertools
import logging
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pycountry
import yaml
from spacy.attrs import IS_ALPHA, IS_STOP, NORM
from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup, Token

from nlp.norm_matcher import shared_norm_matcher
from nlp.normalization import ar_proclitic_forms, folder_for, install_folding

log = logging.getLogger(__name__)

LABEL = "country"
BLOCK = "_block"  # kb_id of not_countries phrases while overlaps are resolved
FALLBACK_LANGUAGE = "en"
# pycountry's catalog name per language, where it differs from the code.
CATALOGS = {"zh": "zh_CN"}
# In these scripts an untranslated catalog entry is the English name: not a name in the language.
NON_LATIN = frozenset({"ar", "ru", "zh", "uk", "be", "bg", "fa", "he", "ja", "ko"})


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form: ``capitalized`` forms need a capital initial, ``exact`` forms
    (abbreviations in capitals) match as written, ``name_like`` ones need no capitalized
    neighbour."""

    text: str
    code: str
    capitalized: bool = False
    exact: bool = False
    name_like: bool = False

    @property
    def key(self) -> str:
        flags = "C" * self.capitalized + "N" * self.name_like
        return f"{self.code}|{flags}"


@lru_cache(maxsize=1)
def load_demonyms() -> dict:
    """``nlp/data/demonyms.yaml``, parsed once."""
    text = (resources.files("nlp") / "data" / "demonyms.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    bad = [code for code in data["countries"] if not (isinstance(code, str) and len(code) == 2)]
    if bad:
        # YAML 1.1 reads a bare NO (Norway) as false: quote such codes.
        raise ValueError(
            f"demonyms.yaml: country keys must be alpha-2 codes, quoted if needed: {bad}"
        )
    return data


# --- Inflection ("~" in the data file) -------------------------------------------------


def inflect(form: str, lang: str) -> list[str]:
    """Every form a data entry stands for: itself, or its inflections when it ends in "~"."""
    if not form.endswith("~"):
        return [form]
    base = form[:-1]
    inflector = _INFLECTORS.get(lang)
    forms = inflector(base) if inflector else [base]
    return list(dict.fromkeys(forms))


def _inflect_en(base: str) -> list[str]:
    return [base, base + "s"]


def _inflect_fr(base: str) -> list[str]:
    if base.endswith("en"):  # iranien, coréen
        return [base, base + "ne", base + "s", base + "nes"]
    if base.endswith("e"):  # russe, belge
        return [base, base + "s"]
    if base.endswith(("s", "x")):  # chinois
        return [base, base + "e", base + "es"]
    return [base, base + "e", base + "s", base + "es"]  # marocain, allemand, émirati


_ES_UNACCENT = str.maketrans("áéíóú", "aeiou")


def _inflect_es(base: str) -> list[str]:
    if base.endswith("o"):  # ruso
        stem = base[:-1]
        return [base, stem + "a", stem + "os", stem + "as"]
    if base.endswith(("és", "án", "ín", "ón")):  # francés, alemán: the accent goes
        stem = base[:-2] + base[-2].translate(_ES_UNACCENT) + base[-1]
        return [base, stem + "a", stem + "es", stem + "as"]
    if base.endswith(("í", "ú")):  # iraní
        return [base, base + "es", base + "s"]
    if base.endswith(("e", "a")):  # estadounidense, belga
        return [base, base + "s"]
    return [base, base + "a", base + "es", base + "as"]  # español


_AR_ARTICLE = "ال"


def _inflect_ar(base: str) -> list[str]:
    """A nisba adjective (روسي), word by word in a phrase: with and without ال, feminine ة,
    sound plurals ون/ين."""
    words = base.split()
    return [
        " ".join(article + word + suffix for word in words)
        for article in ("", _AR_ARTICLE)
        for suffix in ("", "ة", "ون", "ين")
    ]


# Russian: the six cases (nominative, genitive, dative, accusative, instrumental,
# prepositional); each case is a tuple of alternatives.
_RU_ADJ_ENDINGS = ("ий", "ый", "ой", "ая", "яя", "ое", "ее", "ие", "ые")
_RU_VELAR_HUSHING = "гкхжшчщ"
_RU_HUSHING = "жшчщц"
_RU_VOWELS = "аеёиоуыэюя"

Cases = list[tuple[str, ...]]


def _ru_is_adjective(word: str) -> bool:
    return word.endswith(_RU_ADJ_ENDINGS) and not word.isupper()


def _cases(nominative: str, stem: str, *endings: str) -> Cases:
    """The nominative, then the stem with each ending (genitive ... prepositional)."""
    return [(nominative,), *((stem + ending,) for ending in endings)]


def _ru_adjective(word: str) -> Cases:
    stem, ending = word[:-2], word[-2:]
    soft = stem[-1:] in _RU_VELAR_HUSHING or ending in ("ий", "ие", "ее")
    y = "и" if soft else "ы"
    if ending == "ая":
        return _cases(word, stem, "ой", "ой", "ую", "ой", "ой")
    if ending == "яя":
        return _cases(word, stem, "ей", "ей", "юю", "ей", "ей")
    if ending in ("ие", "ые"):
        return _cases(word, stem, y + "х", y + "м", ending, y + "ми", y + "х")
    # Masculine and neuter singular; accusative as for things, not people.
    return _cases(word, stem, "ого", "ому", ending, y + "м", "ом")


def _ru_noun(word: str, *, neuter: bool = False) -> Cases:
    last, stem = word[-1:], word[:-1]
    if word.isupper():  # США, РФ
        return [(word,)] * 6
    if word.endswith("ия"):
        return _cases(word, word[:-2], "ии", "ии", "ию", "ией", "ии")
    if last == "я":
        return _cases(word, stem, "и", "е", "ю", "ей", "е")
    if last == "а":
        gen = "и" if stem[-1:] in _RU_VELAR_HUSHING else "ы"
        ins = "ей" if stem[-1:] in _RU_HUSHING else "ой"
        return _cases(word, stem, gen, "е", "у", ins, "е")
    if last in "йь":  # Китай, Израиль (masculine)
        return _cases(word, stem, "я", "ю", last, "ем", "е")
    if last == "ы":  # plural: Нидерланды, Штаты; the genitive is -ов or bare (Филиппин)
        cases = _cases(word, stem, "ов", "ам", "ы", "ами", "ах")
        cases[1] = (stem + "ов", stem)
        return cases
    if last == "о" and neuter:  # Королевство after a neuter adjective
        return _cases(word, stem, "а", "у", "о", "ом", "е")
    if last in _RU_VOWELS:  # Марокко, Того, Перу: foreign names in a vowel do not decline
        return [(word,)] * 6
    ins = "ем" if last in _RU_HUSHING else "ом"
    return _cases(word, word, "а", "у", "", ins, "е")


def _ru_person(word: str) -> list[str]:
    """A demonym noun, singular and plural: россиянин, американец, француз."""
    if word.endswith(("анин", "янин")):
        stem = word[:-2]
        return [word, stem + "ина", stem + "ину", stem + "ином", stem + "ине",
                stem + "е", stem, stem + "ам", stem + "ами", stem + "ах"]  # fmt: skip
    if word.endswith("ец"):
        stem = word[:-2]
        if stem[-1:] in _RU_VOWELS:  # китаец -> китайца
            stem += "й"
        endings = ("ца", "цу", "цем", "це", "цы", "цев", "цам", "цами", "цах")
        return [word] + [stem + ending for ending in endings]
    plural = word + ("и" if word[-1] in _RU_VELAR_HUSHING else "ы")
    singular = [form for case in _ru_noun(word) for form in case]
    return [*singular, plural, word + "ов", word + "ам", word + "ами", word + "ах"]


def _inflect_ru(base: str) -> list[str]:
    words = base.split()
    if len(words) == 1 and _ru_is_adjective(base):  # every gender, number and case
        stem = base[:-2]
        plural = "ие" if base.endswith("ий") or stem[-1:] in _RU_VELAR_HUSHING else "ые"
        lemmas = (base, stem + "ая", stem + "ое", stem + plural)
        return [form for lemma in lemmas for case in _ru_adjective(lemma) for form in case]
    if len(words) == 1 and base[:1].islower():
        return _ru_person(base)
    # A name: its leading adjectives and head noun decline together; what follows the
    # head is a fixed complement ("Соединённые Штаты Америки").
    declined: list[Cases] = []
    rest: list[str] = []
    for i, word in enumerate(words):
        if _ru_is_adjective(word):
            declined.append(_ru_adjective(word))
            continue
        neuter = bool(words[:i]) and words[i - 1].endswith(("ое", "ее"))
        declined.append(_ru_noun(word, neuter=neuter))
        rest = words[i + 1 :]
        break
    forms = []
    for case in range(6):
        for combo in itertools.product(*(cases[case] for cases in declined)):
            forms.append(" ".join([*combo, *rest]))
    return forms


_INFLECTORS = {
    "en": _inflect_en,
    "fr": _inflect_fr,
    "es": _inflect_es,
    "ar": _inflect_ar,
    "ru": _inflect_ru,
}

# --- Names per language ----------------------------------------------------------------


def _clean(name: str) -> str:
    # pycountry's Russian names carry stress marks ("Респу́блика"); texts do not.
    return unicodedata.normalize("NFC", name.replace("\u0301", "")).strip()


def _is_exact(form: str) -> bool:
    """Abbreviations in capitals: "US", "U.S.", "EE. UU.", "США"."""
    letters = [c for c in form if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters)


def _pycountry_names(lang: str) -> dict[str, set[str]]:
    catalog = None
    if lang != "en":
        try:
            catalog = gettext.translation(
                "iso3166-1", pycountry.LOCALES_DIR, languages=[CATALOGS.get(lang, lang)]
            )
        except OSError:
            log.debug("no pycountry catalog for %s; using English names", lang)
            return {}
    names: dict[str, set[str]] = {}
    for country in pycountry.countries:
        english = {
            getattr(country, attr, country.name)
            for attr in ("name", "official_name", "common_name")
        }
        found = set()
        for name in english:
            translated = catalog.gettext(name) if catalog else name
            if catalog and translated == name and lang in NON_LATIN:
                continue
            found.add(_clean(translated))
        names[country.alpha_2] = found
    return names


@lru_cache(maxsize=16)
def country_terms(lang: str) -> tuple[Term, ...]:
    """Every surface form matched in ``lang``, not_countries phrases included (code ``_block``).

    A form from the data file wins over pycountry; a pycountry name claimed by two
    countries ("الكونغو") is dropped; excluded names never match.
    """
    data = load_demonyms()
    data_lang = (
        lang
        if any(lang in by_lang for by_lang in data["countries"].values())
        else FALLBACK_LANGUAGE
    )
    fold = folder_for(lang)
    cased = lang not in ("ar", "zh")
    excluded = {_fold_phrase(fold, name) for name in data.get("exclude", {}).get(data_lang, [])}
    name_like = {_fold_phrase(fold, name) for name in data.get("name_like", {}).get(data_lang, [])}

    claimed: dict[str, str] = {}  # folded form -> code
    forms: dict[tuple[str, str], list[str]] = {}  # (folded, code) -> texts as written

    def add(text: str, code: str, *, from_data: bool) -> None:
        folded = _fold_phrase(fold, text)
        if folded in excluded:
            return
        owner = claimed.get(folded)
        if owner is None:
            claimed[folded] = code
        elif owner != code:
            if from_data:
                raise ValueError(
                    f"demonyms.yaml: {text!r} ({lang}) is listed for both {owner} and {code}"
                )
            return
        forms.setdefault((folded, code), []).append(text)

    for code, by_lang in data["countries"].items():
        for entry in by_lang.get(data_lang, []):
            for text in inflect(entry, data_lang):
                add(text, code, from_data=True)
    pycountry_claims: dict[str, set[str]] = {}
    names_by_code = _pycountry_names(lang)
    if lang != "en" and data_lang == FALLBACK_LANGUAGE:
        for code, names in _pycountry_names("en").items():
            names_by_code.setdefault(code, set()).update(names)
    for code, names in names_by_code.items():
        for name in names:
            pycountry_claims.setdefault(_fold_phrase(fold, name), set()).add(code)
    for code, names in sorted(names_by_code.items()):
        for name in sorted(names):
            if len(pycountry_claims[_fold_phrase(fold, name)]) == 1:
                add(name, code, from_data=False)

    terms: list[Term] = []
    for block in data.get("not_countries", {}).get(data_lang, []):
        for text in inflect(block, data_lang):
            terms.append(Term(text, BLOCK, capitalized=cased and text[:1].isupper()))
    for (folded, code), texts in forms.items():
        for text in dict.fromkeys(texts):
            exact = cased and _is_exact(text)
            # A capital is required only if every way of writing the form has one:
            # es "China" (the country) and "china" (Chinese, feminine) both mean CN.
            capitalized = cased and not exact and all(t[:1].isupper() for t in texts)
            terms.append(Term(text, code, capitalized, exact, folded in name_like))
    if lang == "ar":
        terms = [
            Term(v, t.code, t.capitalized, t.exact, t.name_like)
            for t in terms
            for v in ar_proclitic_forms(t.text)  # وروسيا, بروسيا, لروسيا
        ]
    log.debug("country terms for %s: %d", lang, len(terms))
    return tuple(terms)


def _fold_phrase(fold: Callable[[str], str], text: str) -> str:
    return " ".join(fold(word) for word in text.split())


# --- The spaCy component ---------------------------------------------------------------


class CountryMatcher:
    """Finds countries in a Doc; see the module docstring."""

    # NORM for the matcher, IS_ALPHA and IS_STOP for the words beside a name
    # (:func:`_is_capitalized_word`; :func:`nlp.pipeline.compute_only_what_is_read`).
    lexical_attributes = frozenset({NORM, IS_ALPHA, IS_STOP})

    def __init__(self, nlp: Language, name: str, spans_key: str):
        self.name = name
        self.spans_key = spans_key
        install_folding(nlp)
        # One pass over the Doc, shared with the glossary and priority components
        # (:mod:`nlp.norm_matcher`): abbreviations in capitals are folded patterns too,
        # and a match of theirs is kept only when its tokens are written as the pattern is.
        self.matcher = shared_norm_matcher(nlp)
        prefix = self.matcher.owner(name)
        terms = country_terms(nlp.lang)
        by_key: dict[str, list[str]] = {}
        # Blocks first: between spans of equal length, the first is kept.
        for term in sorted(terms, key=lambda t: t.code != BLOCK):
            by_key.setdefault(term.key + "|exact" * term.exact, []).append(term.text)
        strings = nlp.vocab.strings
        self.block = strings.add(BLOCK)
        self.label = strings.add(LABEL)
        # match key -> (code hash, capitalized, name_like, token texts required or None)
        self.rules: dict[int, tuple[int, bool, bool, frozenset[tuple[str, ...]] | None]] = {}
        for key, texts in by_key.items():
            docs = list(nlp.tokenizer.pipe(texts))
            self.matcher.add(prefix + key, docs)
            code, flags, *exact = key.split("|")
            forms = frozenset(tuple(t.text for t in doc) for doc in docs) if exact else None
            self.rules[strings.add(prefix + key)] = (
                strings.add(code),
                "C" in flags,
                "N" in flags,
                forms,
            )
        log.debug("country matcher for %s: %d forms", nlp.lang, len(terms))

    def __call__(self, doc: Doc) -> Doc:
        rules = self.rules
        # The shared matcher's matches are mostly other components': most Docs name no
        # country and get their empty group at once; in the others, this component's
        # matches are picked by a membership test each. The group goes straight into the
        # SpanGroups' dict (see the glossary component).
        if rules.keys().isdisjoint(self.matcher.match_ids(doc)):
            doc.spans.data[self.spans_key] = SpanGroup(doc, name=self.spans_key)
            return doc
        found = []
        for match_id, start, end in self.matcher(doc):
            rule = rules.get(match_id)
            if rule is None:
                continue
            code, capitalized, name_like, exact = rule
            if exact is not None and tuple(doc[i].text for i in range(start, end)) not in exact:
                continue
            if capitalized and not doc[start].text[:1].isupper():
                continue
            if name_like and _beside_capitalized_word(doc, start, end):
                continue
            found.append((start, end, code != self.block, code))
        label = self.label
        spans = [
            Span(doc, start, end, label, None, None, code)
            for start, end, is_country, code in _longest_first(found)
            if is_country
        ]
        doc.spans.data[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for doc in docs:
            yield self(doc)


def _longest_first(found: list[tuple[int, int, bool, int]]) -> list[tuple[int, int, bool, int]]:
    """Non-overlapping matches, longer first, then earlier, then blocks before countries
    (as ``spacy.util.filter_spans`` over spans sorted blocks first), in text order."""
    if len(found) < 2:
        return found
    found.sort(key=lambda m: (m[0] - m[1], m[0], m[2]))
    taken: set[int] = set()
    kept = []
    for match in found:
        start, end = match[0], match[1]
        if start not in taken and end - 1 not in taken:
            kept.append(match)
            taken.update(range(start, end))
    kept.sort()
    return kept


def _is_capitalized_word(token: Token) -> bool:
    # "Michael", "Smith", "Tech"; not "In" or "The" (stop words), not "NEWS" (a headline).
    text = token.text
    return token.is_alpha and text[0].isupper() and not text.isupper() and not token.is_stop


def _beside_capitalized_word(doc: Doc, start: int, end: int) -> bool:
    """True next to another capitalized word: "Michael Jordan", "Chad Smith", "Georgia Power"."""
    return (start > 0 and _is_capitalized_word(doc[start - 1])) or (
        end < len(doc) and _is_capitalized_word(doc[end])
    )


def country_codes(doc: Doc, spans_key: str = "countries") -> list[str]:
    """The ISO 3166-1 alpha-2 codes found in ``doc``, sorted, each once."""
    if spans_key not in doc.spans:
        return []
    return sorted({span.kb_id_ for span in doc.spans[spans_key]})


@Language.factory("briefings_countries", default_config={"spans_key": "countries"})
def make_country_matcher(nlp: Language, name: str, spans_key: str) -> CountryMatcher:
    """Factory: results go to ``doc.spans[spans_key]``."""
    return CountryMatcher(nlp, name, spans_key)
