"""briefings.fast_markdown: the same HTML as Python-Markdown, from the same texts.

The corpus mixes every inline syntax the renderer's extensions know (code spans and
backslashes, escapes, footnotes, references, images, autolinks, e-mail links, hard line
breaks, inline HTML, entities, emphasis), in the block structures they meet in briefings,
plus the ill-formed and hostile feeds of feedparser's test suite read as Markdown.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import markdown
import pytest
from markdown.treeprocessors import InlineProcessor

from briefings.fast_markdown import (
    BLOCK_FILTERS,
    HOOK,
    FastMarkdown,
    FilteredBlockParser,
    FilteredInlineProcessor,
    required_strings,
)
from briefings.rendering import EXTENSION_CONFIGS, EXTENSIONS, new_markdown

FEEDS = Path(__file__).parent / "data" / "feedparser"

INLINE = [
    "plain words", "`code`", "``code with ` inside``", "\\`not code\\`", "\\\\`code after backslashes`",
    "\\*not emphasis\\*", "\\[not a link]", "*em*", "**strong**", "***both***", "_em_", "__strong__",
    "snake_case_name", "2*3*4", "a * b", "**unclosed", "[link](https://example.org/a_b)",
    "[link with title](https://example.org \"Title\")", "[ref][r1]", "[r1]", "[missing][nope]",
    "![image](https://example.org/i.png)", "![ref image][r1]", "![r1]", "<https://example.org/x?a=1&b=2>",
    "<mailto:someone@example.org>", "<someone@example.org>", "a@b", "<span>inline html</span>",
    "<b onclick=\"x()\">bold</b>", "<!-- a comment -->", "&amp;", "&copy;", "&#169;", "&#xA9;",
    "& alone", "AT&T", "a < b > c", "trailing two spaces  \nnext line", "footnote[^1]",
    "missing footnote[^zz]", "CVE-2026-0001", "hxxp://bad[.]example", "HTML and CSS",
    "{: .not-attr }", "C:\\\\path\\\\to", "~~strike~~", "[^1]: not a definition inline",
    "tab\there", "中文 [链接](https://example.org/zh)", "العربية *مائل*", "<script>alert(1)</script>",
]  # fmt: skip

BLOCKS = [
    "# Heading {: #custom-id }",
    "## Heading with `code` and *em*",
    "> quoted {inline}",
    "- item {inline}\n- item two\n    - nested {inline}",
    "1. first {inline}\n2. second",
    "| A | B |\n|---|:-:|\n| {inline} | {inline} |",
    "```\nfenced {inline} <b>\n```",
    "    indented code {inline}",
    "Term\n:   definition {inline}",
    "[^1]: The footnote, {inline}.",
    '[r1]: https://example.org/ref "Ref title"',
    "*[HTML]: Hyper Text Markup Language",
    '<div markdown="1">\n{inline}\n</div>',
    "---",
    "{inline}\n{: .cls #pid }",
    "{inline} {inline}\n{inline}",
]


def _documents(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        blocks = []
        for _ in range(rng.randint(1, 8)):
            block = rng.choice(BLOCKS)
            while "{inline}" in block:
                words = " ".join(rng.choice(INLINE) for _ in range(rng.randint(1, 5)))
                block = block.replace("{inline}", words, 1)
            blocks.append(block)
        docs.append("\n\n".join(blocks) + "\n")
    return docs


def _stock() -> markdown.Markdown:
    return markdown.Markdown(
        extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
    )


def _same_output(texts: list[str]) -> list[int]:
    """Indexes of texts the two converters (each reused, as the renderer does) disagree on."""
    stock, fast = _stock(), new_markdown()
    differ = []
    for i, text in enumerate(texts):
        stock.reset()
        fast.reset()
        if stock.convert(text) != fast.convert(text):
            differ.append(i)
    return differ


def test_the_renderer_uses_the_filtered_inline_stage():
    # Fails when a Python-Markdown release renames the loop the filter replaces: the
    # output would still be right, but the speed gone unnoticed.
    assert hasattr(InlineProcessor, HOOK)
    md = new_markdown()
    assert isinstance(md, FastMarkdown)
    assert isinstance(md.treeprocessors["inline"], FilteredInlineProcessor)
    # Every shipped inline pattern can be skipped for some texts.
    unfiltered = [
        type(p).__name__
        for p in md.inlinePatterns
        if required_strings(p.getCompiledRegExp()) is None
    ]
    assert unfiltered == []


def test_the_renderer_uses_the_filtered_block_parser():
    # Fails with a Python-Markdown release other than the one whose block processors'
    # code BLOCK_FILTERS was checked against: check it again, then change the version.
    md = new_markdown()
    assert isinstance(md.parser, FilteredBlockParser)
    md.convert("# Title\n\ntext")
    filtered = {type(p).__name__: needs for p, needs in md.parser._plan if needs is not None}
    assert sorted(filtered) == sorted(cls.__name__ for cls in BLOCK_FILTERS)
    assert filtered["DefListProcessor"] == (":",)  # not " ": a space is in every block


def test_generated_documents_render_the_same():
    texts = _documents(1500, seed=11)
    assert _same_output(texts) == []


def test_single_inline_fragments_render_the_same():
    texts = [f"{a} {b}\n" for a in INLINE for b in INLINE[::7]]
    assert _same_output(texts) == []


def test_hostile_and_ill_formed_feeds_read_as_markdown_render_the_same():
    texts = [
        path.read_bytes().decode("utf-8", "replace")
        for path in sorted(FEEDS.rglob("*"))
        if path.is_file()
    ]
    assert len(texts) > 300
    assert _same_output(texts) == []


@pytest.mark.parametrize(
    ("expression", "needs"),
    [
        (r"\!\[", ("![",)),
        (r"abc", ("abc",)),
        (r"\*|_", ("*", "_")),  # a class of literal characters
        (r"x|yz", ("x", "yz")),
        (r"(?:ab)+c?", ("ab",)),
        (r"<[a-z]+://[^>]*>", ("://",)),  # the longest run wins
        (r"(?<!\\)`", ("`",)),  # a negative lookbehind needs nothing
        (r"(?=`+)", ("`",)),  # a positive lookahead's text is in the string
        (r"&(?:#[0-9]+|[a-z]+);", (";",)),
    ],
)
def test_required_strings_of_expressions(expression, needs):
    assert required_strings(re.compile(expression)) == needs


@pytest.mark.parametrize(
    "expression",
    [r"a?", r"(?:ab)*", r"[a-z]+", r".", r"x|[0-9]", r"(?i)abc", r"(?i:abc)", r"^$", r"\d+"],
)
def test_expressions_with_no_required_string(expression):
    assert required_strings(re.compile(expression)) is None


def test_a_match_always_contains_a_required_string():
    # The contract itself, on random strings over a small alphabet.
    rng = random.Random(5)
    expressions = [r"a(?:b|cd)+e?", r"(?<![x])ab|c", r"[ab]c*d", r"(?:x|yz){2}w", r"q(?=rs)"]
    for expression in expressions:
        compiled = re.compile(expression)
        needs = required_strings(compiled)
        assert needs is not None
        for _ in range(3000):
            text = "".join(rng.choice("abcdqrswxyz") for _ in range(rng.randint(0, 12)))
            if compiled.search(text):
                assert any(s in text for s in needs), (expression, text)
