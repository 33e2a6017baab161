"""The leak scan's search for excluded briefings' ids, with more ids than the few the
publishing tests exclude (past 64 ids the scan uses one pattern, a tree of prefixes,
instead of one substring search per id): every id is found wherever it occurs."""

from __future__ import annotations

import json
import random
import re

from briefings.id_search import IdFinder
from briefings.publishing import _CLAUSE_END, LeakScanner, cut_out, markdown_reading

IDS = [f"alert-2026-03-{day:02d}-incident-{n:05d}-{h}" for day, n, h in
       [(d, d * 37 % 1000, f"{d * 7919 % 65536:04x}") for d in range(1, 29)]]  # fmt: skip
IDS += [f"digest-2026-03-{day:02d}" for day in range(1, 29)]
IDS += [f"{briefing_id}--2" for briefing_id in IDS[:28]]  # an id inside a longer one
IDS += [f"debunk-2026-02-{day:02d}-claim" for day in range(1, 20)]


def scanner() -> LeakScanner:
    return LeakScanner({briefing_id: [briefing_id] for briefing_id in IDS})


def test_every_excluded_id_is_found_in_every_kind_of_file() -> None:
    scan = scanner()
    assert len(IDS) > 64
    for briefing_id in IDS:
        page = f'<p>See <a href="../{briefing_id}/">the briefing</a>.</p>'.encode()
        feed = json.dumps({"items": [{"url": f"https://x.example/en/{briefing_id}/"}]}).encode()
        copy = f"---\ncorrects: {briefing_id}\n---\n\nText.\n".encode()
        for path, data in (("en/index.html", page), ("en/feed.json", feed), ("en/x.md", copy)):
            assert scan.scan(path, data), (briefing_id, path)


def test_ids_of_allowed_briefings_that_merely_look_alike_are_not_leaks() -> None:
    text = " ".join(f"{i[:-1]} {i[1:]} alert-2026-03-{i[-4:]}" for i in IDS if "--" not in i)
    assert scanner().scan("en/index.html", f"<p>{text}</p>".encode()) == []


def test_the_id_finder_finds_every_id_that_occurs() -> None:
    rng = random.Random(8)
    for _ in range(5000):
        count = rng.choice([1, 3, 12])
        ids = {"".join(rng.choice("ab-1") for _ in range(rng.randint(1, 7))) for _ in range(count)}
        text = "".join(rng.choice("ab-1 x") for _ in range(rng.randint(0, 60)))
        found = IdFinder(ids).find(text)
        present = {i for i in ids if i in text}
        assert found <= present, (ids, text)
        # Each id present is found, or a longer one found where it occurs starts with it.
        for i in present:
            assert i in found or any(f.startswith(i) and f in text for f in found), (i, ids, text)


def test_the_id_finder_searches_few_prefixes_for_ids_of_the_same_shapes() -> None:
    finder = IdFinder(IDS)
    assert len(finder._groups) <= 8
    text = f"<a href='../{IDS[40]}/'>x</a> alert-2026-03 alerts digest-2026 {IDS[3]}--9"
    assert finder.find(text) == {IDS[40], IDS[3]}
    assert IdFinder([]).find(text) == set()


def test_the_clause_end_pattern_splits_as_its_plain_form() -> None:
    """``_CLAUSE_END`` is written with one leading character class for speed; it must
    find exactly what the plain alternation finds, in any text."""
    plain = re.compile(r"[.!?;:。！？؟]\s+|\n\s*\n")
    rng = random.Random(5)
    pieces = ["a", "Ab", " ", "  ", "\n", "\n\n", "\t", "\r", "\xa0", "\u2009", "\x0b", ".",
              "!", "?", ";", ":", "。", "؟", "…", "x y", "-", "'"]  # fmt: skip
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
        assert _CLAUSE_END.sub("|", text) == plain.sub("|", text), repr(text)


def test_markdown_reading_breaks_clauses_at_every_block_start() -> None:
    """Headings, list items and quotes start a clause wherever their line is (the first
    line too), as a ``(?m)^`` pattern finds them."""
    plain = re.compile(r"(?m)^[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d+[.)][ \t]+|>[ \t>]*)")
    rng = random.Random(6)
    pieces = ["a", "Ab", " ", "\t", "\n", "\n\n", "\r\n", "#", "## ", "- ", "* ", "+ ", "1. ",
              "12) ", "> ", ">> ", "-", "1.", "x y"]  # fmt: skip
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        expected = plain.sub("\n\n", text).replace("|", "\n\n")
        # Link, emphasis and code marks are dropped after the block starts are found.
        for mark in ("*", "`", "__"):
            expected = expected.replace(mark, "")
        assert markdown_reading(text) == expected, repr(text)


def _cut_one_by_one(text: str, forms: list[str]) -> str:
    for form in forms:
        text = text.replace(form, "\n\n")
    return text


def test_cut_out_cuts_fragments_that_occur_once_as_replacing_them_does() -> None:
    rng = random.Random(3)
    fragments = ["<p>alpha beta</p>", "<p>gamma</p>", "&lt;p&gt;alpha beta&lt;/p&gt;", "delta"]
    for _ in range(3000):
        parts = rng.sample(fragments, rng.randint(0, len(fragments)))
        parts += [rng.choice(["x", " y ", "<br>", "\n"]) for _ in range(rng.randint(0, 8))]
        rng.shuffle(parts)
        text = "".join(parts)
        forms = rng.sample(fragments, rng.randint(0, len(fragments)))
        assert cut_out(text, forms) == _cut_one_by_one(text, forms), (text, forms)


def test_cut_out_never_takes_out_more_than_one_occurrence_of_a_form() -> None:
    # "abcd" and "cdef" overlap in "abcdef": the first is cut, the other stays whole to
    # be scanned; a form found twice is cut once (the second is read with the rest).
    assert cut_out("xx abcdef yy", ["cdef", "abcd"]) == "xx \n\nef yy"
    assert cut_out("ab-ab", ["ab"]) == "\n\n-ab"
    assert cut_out("ab-ab", ["ab", "ab"]) == "\n\n-\n\n"
    assert cut_out("text", ["", "zz"]) == "text"
    # Out of order: the search from the last one found wraps to the start.
    assert cut_out("one two three", ["three", "one"]) == "\n\n two \n\n"
    assert cut_out("xabcx", ["bcx", "ab"]) == "x\n\ncx"  # "ab" starts first; "bcx" stays


def test_cut_out_finds_long_fragments_past_places_that_only_start_like_them() -> None:
    # Long forms are looked for by their first characters, then compared whole.
    common = "<p>" + "shared opening words " * 5
    first, second = common + "one</p>", common + "two</p>"
    text = f"{common}three</p> {second} {common}x {first} {second[:-1]}"
    expected = f"{common}three</p> \n\n {common}x \n\n {second[:-1]}"
    assert cut_out(text, [first, second]) == expected
    assert cut_out(text, [second, first]) == _cut_one_by_one(text, [second, first])
    assert cut_out(common, [first]) == common
