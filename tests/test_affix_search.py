"""The fast prefix, suffix, infix and URL searches find what spaCy's own ones find.

:class:`nlp.affix_search.FastSuffixSearch` looks only for the alternatives that can end
with a string's last character, in its last characters;
:class:`nlp.affix_search.FastPrefixSearch` only for those that can begin with its
first; :class:`nlp.affix_search.FastInfixFinditer` from the first character a match
can begin with; :class:`nlp.affix_search.FastRequiredMatch` only where a character
every match holds is. These tests hold them to the original pattern's ``search``,
``finditer`` and ``match`` on random strings built from the characters the rules name, on tricky
hand-written patterns, on whole texts (same tokens), and check that patterns of other
shapes keep spaCy's search and that tokenizers still serialize.
"""

from __future__ import annotations

import json
import pickle
import random
import re
from pathlib import Path

import pytest
import spacy

import nlp.affix_search
from nlp.affix_search import (
    FastInfixFinditer,
    FastPrefixSearch,
    FastRequiredMatch,
    FastSuffixSearch,
    fast_infix_finditer,
    fast_prefix_search,
    fast_required_match,
    fast_suffix_search,
    split_alternatives,
)
from nlp.pipeline import SUPPORTED_LANGUAGES, build_pipeline

DATA = Path(__file__).parent / "data"
# Languages whose tokenizer has affix rules (spaCy's Chinese segmenter has none).
AFFIX_LANGUAGES = [lang for lang in SUPPORTED_LANGUAGES if lang != "zh"] + ["xx"]
# Characters beside those the rules name: letters and digits of the scripts the
# glossary covers, a space, a newline.
EXTRA = "abcxyzXYZ0123456789 \nكمالبةـмкгёжЖ我的é"


def span(match: re.Match | None) -> tuple[int, int] | None:
    return match.span() if match is not None else None


def random_strings(alphabet: str, count: int, seed: str) -> list[str]:
    rng = random.Random(seed)
    letters = sorted(set(alphabet))
    return ["".join(rng.choices(letters, k=rng.randint(0, 14))) for _ in range(count)]


def differences(fast, strings: list[str]) -> list[str]:
    original = fast.__self__.search
    return [s for s in strings if span(fast(s)) != span(original(s))]


def infix_differences(fast, strings: list[str]) -> list[str]:
    original = fast.__self__.finditer
    return [s for s in strings if list(map(span, fast(s))) != list(map(span, original(s)))]


@pytest.fixture(scope="module", params=AFFIX_LANGUAGES)
def pipeline(request):
    return build_pipeline(request.param)


def test_every_rule_based_pipeline_gets_the_fast_searches(pipeline) -> None:
    # A Python upgrade must not silently turn them off.
    suffix, prefix = pipeline.tokenizer.suffix_search, pipeline.tokenizer.prefix_search
    assert isinstance(suffix, FastSuffixSearch) and isinstance(prefix, FastPrefixSearch)
    widths = [a.width for a in suffix.alternatives]
    assert len(widths) > 50 and widths.count(None) == 1  # spaCy's "\.\.+$"
    assert 3 <= max(w for w in widths if w is not None) <= 8
    assert all(a.edge is not None for a in suffix.alternatives + prefix.alternatives)
    # A word ending with a digit or most letters has no suffix to look for; one ending
    # with "s" is searched for the few alternatives that can end with it.
    assert suffix._for("7") is None and suffix._for("x") is None
    chosen = suffix._for("s")
    assert chosen is None or chosen.search.__self__.pattern.count("$") <= 3
    # Words begin with letters and digits, prefixes with punctuation and symbols.
    assert prefix._for("a") is None and prefix._for("7") is None
    assert prefix._for("(") is not None
    infix = pipeline.tokenizer.infix_finditer
    # French splits elisions ("l'hôpital") with an infix of no width: spaCy's search.
    assert isinstance(infix, FastInfixFinditer) == (pipeline.lang != "fr")
    url = pipeline.tokenizer.url_match
    assert isinstance(url, FastRequiredMatch) and url.required == (".",)
    # The special cases were loaded once more after the searches went in, all of them.
    assert pipeline.tokenizer.rules == spacy.blank(pipeline.lang).tokenizer.rules


def test_the_suffix_search_finds_what_the_original_finds(pipeline) -> None:
    fast = pipeline.tokenizer.suffix_search
    strings = random_strings(fast.__self__.pattern + EXTRA, 30_000, pipeline.lang)
    strings += [
        prefix + "." * dots + end
        for prefix in ("", "a", "12", "x" * 9)
        for dots in range(0, 12)
        for end in ("", "\n", "a", ")")
    ]
    strings += ["10km", "5€", "iOS.", "DDoS.", "١٠كم", "10كم", "3)", "(x)...", "x.\n", "\n"]
    assert differences(fast, strings) == []
    found = sum(fast.__self__.search(s) is not None for s in strings)
    assert found > len(strings) // 10  # the strings do reach the rules


def test_the_prefix_search_finds_what_the_original_finds(pipeline) -> None:
    fast = pipeline.tokenizer.prefix_search
    strings = random_strings(fast.__self__.pattern + EXTRA, 30_000, pipeline.lang)
    strings += ["$5", "(x)", "...", "«mot»", "\n", "", "§3", "''x", "-1", "+7", "#tag", "\u061f"]
    assert differences(fast, strings) == []
    found = sum(fast.__self__.search(s) is not None for s in strings)
    assert found > len(strings) // 10


def test_the_infix_search_finds_what_the_original_finds(pipeline) -> None:
    fast = pipeline.tokenizer.infix_finditer
    if not isinstance(fast, FastInfixFinditer):
        assert pipeline.lang == "fr"  # keeps spaCy's (see above)
        return
    strings = random_strings(fast.__self__.pattern[:4000] + EXTRA + ".-,:/~", 30_000, "i")
    strings += ["CVE-2024-1234", "a-b", "1+2", "x...y", "a,b", "http://x", "بريد-الكتروني"]
    assert infix_differences(fast, strings) == []
    found = sum(any(fast.__self__.finditer(s)) for s in strings)
    assert found > len(strings) // 10


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<=\d)[+\-](?=\d)|\.\.+|…",
        r"(?<=[a-z]),(?=[a-z])|[^\w\s]",
        r"(?<=[a-z])(?:-|--|~)(?=[a-z])|x+",
        r"(?i:K)-|z",
        r"b*a|c",
    ],
)
def test_tricky_infix_patterns_find_the_same(pattern) -> None:
    for flags in (0, re.IGNORECASE):
        fast = fast_infix_finditer(re.compile(pattern, flags).finditer)
        if pattern.startswith("(?i:"):
            assert fast is None  # a group with flags of its own: any character
            continue
        assert fast is not None, pattern
        strings = random_strings("abcxzK-+,.~…12 9\né_", 20_000, pattern)
        assert infix_differences(fast, strings) == []


def test_the_url_match_finds_what_the_original_finds(pipeline) -> None:
    fast = pipeline.tokenizer.url_match
    strings = random_strings("abcxyzXYZ019.:/-@_?#=%~+[] \nكم我é", 30_000, "u")
    strings += [
        "https://example.com/a?b=1", "203.0.113.5", "evil-update.com", "a@b.co", "localhost",
        "http://localhost:8080", "10.0.0.1", "xn--bcher-kva.example", "www.who.int.", "a.b",
        "ftp://[2001:db8::1]/x", "user:pass@host.org", "1.2.3", "CVE-2024-1234", "e.g",
    ]  # fmt: skip
    rng = random.Random("urls")  # and addresses put together from parts, some broken
    parts = [["", "http://", "hxxp://", "ftp://", "a@", "u:p@"], ["", "www", "x-y", "1", "я"],
             [".", "", ".."], ["com", "org", "c", "int.", "0"], ["", ":80", ":x", "/a?b#c"]]  # fmt: skip
    strings += ["".join(rng.choice(part) for part in parts) for _ in range(3_000)]
    original = fast.__self__.match
    assert [s for s in strings if span(fast(s)) != span(original(s))] == []
    assert sum(original(s) is not None for s in strings) > 200  # the strings reach it


@pytest.mark.parametrize(
    ("pattern", "required"),
    [
        (r"^a+b|^c", {"a", "c"}),
        (r"x(?:y|z)", {"x"}),
        (r"(?:a|)b", {"b"}),
        (r"a?b", {"b"}),
        (r"(?i:a)b", {"b"}),
        (r"[.@]q*", {".", "@"}),
        (r"(?:ab)+c?", {"a"}),
        (r"(?!x)y{2,}", {"y"}),
    ],
)
def test_required_characters_are_found_and_hold(pattern, required) -> None:
    fast = fast_required_match(re.compile(pattern).match)
    assert fast is not None and set(fast.required) == required
    strings = random_strings("abcqxyz.@ AB", 20_000, pattern)
    original = fast.__self__.match
    assert [s for s in strings if span(fast(s)) != span(original(s))] == []


@pytest.mark.parametrize(
    "match",
    [
        re.compile(r".*").match,  # nothing known
        re.compile(r"a|").match,  # an empty alternative
        re.compile(r"ab", re.IGNORECASE).match,  # "A" matches too
        re.compile(r"[^a]b?").match,
        re.compile(r"[a-f]").match,  # a range: not tested character by character
        re.compile(r"x").search,
        None,
    ],
)
def test_matches_without_required_characters_keep_their_match(match) -> None:
    assert fast_required_match(match) is None


@pytest.mark.parametrize(
    "finditer",
    [
        re.compile(r"(?<=a)(?=b)|,").finditer,  # an alternative of no width
        re.compile(r".x|,").finditer,  # any character may begin a match
        re.compile(r",").search,
        None,
    ],
)
def test_infix_patterns_of_other_shapes_keep_their_search(finditer) -> None:
    assert fast_infix_finditer(finditer) is None


SUFFIX_PATTERNS = [
    r"(?:ab|c)+$",
    r"(?<=\d)(?:km|m|kg)$|%$",
    r"\.\.+$|x$|\.$",
    r"[^a]$|b$",
    r"(?i:K)$|z$",
    r"\d$|[A-F]{2,3}$",
    r"(?>ab)$|a{2,5}$",
    r"(?:a|bc)(?:d|)$",
    r"(?<=[a-z][A-Z])\.$|q$",
    r"x+?$|[\w-]$",
    r"ab*$|c$",
]
PREFIX_PATTERNS = [
    r"^(?:ab|c)+|^x",
    r"^[^a]|^b",
    r"^\.\.+|^\.",
    r"^(?i:K)|^z",
    r"^\d|^[A-F]{2,3}",
    r"^(?>ab)|^a{2,5}",
    r"^(?:a|bc)(?:d|)",
    r"^\$(?=\d)|^%",
    r"^x+?|^[\w-]",
    r"^b*a|^c",
]


@pytest.mark.parametrize(
    ("make", "pattern"),
    [(fast_suffix_search, p) for p in SUFFIX_PATTERNS]
    + [(fast_prefix_search, p) for p in PREFIX_PATTERNS],
)
def test_tricky_affix_patterns_find_the_same(make, pattern) -> None:
    for flags in (0, re.IGNORECASE):
        fast = make(re.compile(pattern, flags).search)
        assert fast is not None, pattern
        strings = random_strings("abcdkmgxzqKAB%.-1 9\nZ$" + "é_", 20_000, pattern)
        assert differences(fast, strings) == []


@pytest.mark.parametrize(
    "search",
    [
        re.compile(r"a|b$").search,  # an alternative not at the end
        re.compile(r"x?$|a$").search,  # matches an empty string
        re.compile(r"a$|b$", re.MULTILINE).search,  # "$" before every newline
        re.compile(r"a$ | b$", re.VERBOSE).search,
        re.compile(r"a$").match,  # not a search
        None,
        str.endswith,
    ],
)
def test_suffix_patterns_of_other_shapes_keep_their_search(search) -> None:
    assert fast_suffix_search(search) is None


@pytest.mark.parametrize(
    "search",
    [
        re.compile(r"^a|b").search,  # an alternative not at the start
        re.compile(r"^x?|^a").search,  # matches an empty string
        re.compile(r"^a|^b", re.MULTILINE).search,  # "^" after every newline
        re.compile(r"^a").match,
        None,
    ],
)
def test_prefix_patterns_of_other_shapes_keep_their_search(search) -> None:
    assert fast_prefix_search(search) is None


def test_alternatives_are_split_at_the_top_level_only() -> None:
    pattern = r"a$|[|\]]$|(?:b|c)$|\|$|[]|]$|(?<=[(|])d$"
    pieces = split_alternatives(pattern)
    assert pieces == ["a$", r"[|\]]$", "(?:b|c)$", r"\|$", "[]|]$", "(?<=[(|])d$"]
    assert "|".join(pieces) == pattern


def test_the_pipeline_tokenizes_texts_as_with_spacys_searches(pipeline) -> None:
    """Same tokens on the gold sentences and ill-formed feeds as with the plain searches;
    two pipelines, so neither tokenizer's cache helps the other."""
    texts = [
        json.loads(line)["text"]
        for line in (DATA / "gold" / "tagging.jsonl").read_text("utf-8").splitlines()
        if line.strip()
    ]
    texts += [
        path.read_text("utf-8", errors="replace")[:20_000]
        for path in sorted((DATA / "feedparser" / "illformed").glob("*.xml"))[:40]
    ]
    plain = build_pipeline(pipeline.lang)
    plain.tokenizer.suffix_search = plain.tokenizer.suffix_search.__self__.search
    plain.tokenizer.prefix_search = plain.tokenizer.prefix_search.__self__.search
    plain.tokenizer.infix_finditer = plain.tokenizer.infix_finditer.__self__.finditer
    plain.tokenizer.url_match = plain.tokenizer.url_match.__self__.match
    for text in texts:
        assert [t.text for t in pipeline.make_doc(text)] == [t.text for t in plain.make_doc(text)]


def test_the_tokenizer_still_serializes(pipeline) -> None:
    data = pipeline.tokenizer.to_bytes()
    fresh = spacy.blank(pipeline.lang).tokenizer
    fresh.from_bytes(data)
    for rules in ("prefix_search", "suffix_search", "infix_finditer", "url_match"):
        restored = getattr(fresh, rules).__self__.pattern
        assert restored == getattr(pipeline.tokenizer, rules).__self__.pattern
    copy = pickle.loads(pickle.dumps(pipeline.tokenizer.tokenizer))
    text = "Des pirates ont chiffré 10km de données (CVE-2024-1234)... 5€. Don't."
    assert [t.text for t in copy(text)] == [t.text for t in pipeline.make_doc(text)]


def test_without_the_parser_of_re_the_pipeline_keeps_spacys_searches(monkeypatch) -> None:
    """``re._parser`` is private: a Python without it builds pipelines as before."""
    monkeypatch.setattr(nlp.affix_search, "sre", None)
    pipeline = build_pipeline("en")
    assert not isinstance(pipeline.tokenizer.suffix_search, FastSuffixSearch)
    assert not isinstance(pipeline.tokenizer.prefix_search, FastPrefixSearch)
    assert not isinstance(pipeline.tokenizer.infix_finditer, FastInfixFinditer)
    assert not isinstance(pipeline.tokenizer.url_match, FastRequiredMatch)
    tokens = [t.text for t in pipeline.make_doc("Ransomware hit (St Mary's)...")]
    assert tokens == ["Ransomware", "hit", "(", "St", "Mary", "'s", ")", "..."]
