"""The fast suffix search finds what spaCy's own search finds, on every tokenizer.

:class:`nlp.suffix_search.FastSuffixSearch` skips strings by their last character and
searches only the end of the rest: these tests hold it to the original pattern's
``search`` on random strings built from the characters the rules name, on tricky
hand-written patterns, on whole texts (same tokens), and check that patterns of
other shapes keep spaCy's search and that tokenizers still serialize.
"""

from __future__ import annotations

import json
import pickle
import random
import re
from pathlib import Path

import pytest
import spacy

from nlp.pipeline import SUPPORTED_LANGUAGES, build_pipeline
from nlp.suffix_search import FastSuffixSearch, fast_suffix_search, split_alternatives

DATA = Path(__file__).parent / "data"
# Languages whose tokenizer has suffix rules (spaCy's Chinese segmenter has none).
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


@pytest.fixture(scope="module", params=AFFIX_LANGUAGES)
def pipeline(request):
    return build_pipeline(request.param)


def test_every_rule_based_pipeline_gets_the_fast_search(pipeline) -> None:
    fast = pipeline.tokenizer.suffix_search
    assert isinstance(fast, FastSuffixSearch), pipeline.lang  # a Python upgrade must not
    assert fast.last is not None and 3 <= fast.width <= 8  # silently turn it off
    assert fast.unbounded is not None  # spaCy's "\.\.+$"


def test_it_finds_what_the_original_pattern_finds(pipeline) -> None:
    fast = pipeline.tokenizer.suffix_search
    original = fast.__self__.search
    strings = random_strings(fast.__self__.pattern + EXTRA, 30_000, pipeline.lang)
    strings += [
        prefix + "." * dots + end
        for prefix in ("", "a", "12", "x" * 9)
        for dots in range(0, 12)
        for end in ("", "\n", "a", ")")
    ]
    strings += ["10km", "5€", "iOS.", "DDoS.", "١٠كم", "10كم", "3)", "(x)...", "x.\n", "\n"]
    differ = [s for s in strings if span(fast(s)) != span(original(s))]
    assert differ == []
    found = sum(original(s) is not None for s in strings)
    assert found > len(strings) // 10  # the strings do reach the rules


@pytest.mark.parametrize(
    "pattern",
    [
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
    ],
)
def test_tricky_patterns_find_the_same(pattern) -> None:
    for flags in (0, re.IGNORECASE):
        regex = re.compile(pattern, flags)
        fast = fast_suffix_search(regex.search)
        assert fast is not None, pattern
        strings = random_strings("abcdkmgxzqKAB%.-1 9\nZ" + "é_", 20_000, pattern)
        assert [s for s in strings if span(fast(s)) != span(regex.search(s))] == []


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
def test_patterns_of_other_shapes_keep_their_search(search) -> None:
    assert fast_suffix_search(search) is None


def test_alternatives_are_split_at_the_top_level_only() -> None:
    pattern = r"a$|[|\]]$|(?:b|c)$|\|$|[]|]$|(?<=[(|])d$"
    pieces = split_alternatives(pattern)
    assert pieces == ["a$", r"[|\]]$", "(?:b|c)$", r"\|$", "[]|]$", "(?<=[(|])d$"]
    assert "|".join(pieces) == pattern


def test_the_pipeline_tokenizes_texts_as_with_spacys_search(pipeline) -> None:
    """Same tokens on the gold sentences and ill-formed feeds as with the plain search;
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
    for text in texts:
        assert [t.text for t in pipeline.make_doc(text)] == [t.text for t in plain.make_doc(text)]


def test_the_tokenizer_still_serializes(pipeline) -> None:
    data = pipeline.tokenizer.to_bytes()
    fresh = spacy.blank(pipeline.lang).tokenizer
    fresh.from_bytes(data)
    assert fresh.suffix_search.__self__.pattern == pipeline.tokenizer.suffix_search.__self__.pattern
    copy = pickle.loads(pickle.dumps(pipeline.tokenizer.tokenizer))
    text = "Des pirates ont chiffré 10km de données (CVE-2024-1234)... 5€."
    assert [t.text for t in copy(text)] == [t.text for t in pipeline.make_doc(text)]


def test_without_the_parser_of_re_the_pipeline_keeps_spacys_search(monkeypatch) -> None:
    """``re._parser`` is private: a Python without it builds pipelines as before."""
    import nlp.suffix_search

    monkeypatch.setattr(nlp.suffix_search, "sre", None)
    nlp_ = build_pipeline("en")
    assert not isinstance(nlp_.tokenizer.suffix_search, FastSuffixSearch)
    assert [t.text for t in nlp_.make_doc("Ransomware hit (St Mary's)...")][-2:] == [")", "..."]
