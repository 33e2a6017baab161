"""Parsing real CISA CSAF advisories, ROLIE indexes, JSON Feed, RSS and non-feeds.

The advisories in ``tests/data/csaf`` are real (see tests/data/SOURCES.md); what
each is expected to yield is read from its own JSON, not written down twice.
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from briefings.errors import SourceError
from briefings.parsing import (
    canonical_url,
    parse_csaf,
    parse_feed,
    parse_json_feed,
    parse_rolie,
)
from briefings.tlp import TLP

CSAF_DIR = Path(__file__).parent / "data" / "csaf"
ROLIE_INDEX = CSAF_DIR / "cisa-csaf-it-feed-tlp-white.json"
ADVISORIES = sorted(p for p in CSAF_DIR.glob("*.json") if p != ROLIE_INDEX)
ROLIE_LOCATION = "https://www.cisa.gov/sites/default/files/csaf/rolie/feed/it-feed-tlp-white.json"


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _product_names(node: Any) -> set[str]:
    """Every product name anywhere in a product tree, by plain recursion."""
    names: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "product" and isinstance(value, dict) and value.get("name"):
                names.add(value["name"])
            elif key == "full_product_names":
                names |= {p["name"] for p in value if p.get("name")}
            else:
                names |= _product_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _product_names(value)
    return names


# -- CSAF 2.0 ---------------------------------------------------------------------------


def test_every_copied_advisory_is_tested() -> None:
    assert len(ADVISORIES) == 13


@pytest.mark.parametrize("path", ADVISORIES, ids=[p.name for p in ADVISORIES])
def test_real_csaf_advisory(path: Path) -> None:
    body = path.read_bytes()
    data = json.loads(body)
    doc = data["document"]
    entry = parse_csaf(body, location=str(path))

    assert entry.title == " ".join(doc["title"].split())
    assert entry.key == doc["tracking"]["id"]
    csaf = entry.extra["csaf"]
    assert csaf["tracking_id"] == doc["tracking"]["id"]
    assert csaf["cves"] == sorted({v["cve"] for v in data["vulnerabilities"] if "cve" in v})
    assert csaf["cves"], "every copied advisory names at least one CVE"
    assert doc["distribution"]["tlp"]["label"] == "WHITE"
    assert entry.tlp is TLP.CLEAR
    assert entry.published == _utc(doc["tracking"]["initial_release_date"])
    assert entry.updated == _utc(doc["tracking"]["current_release_date"])
    for moment in (entry.published, entry.updated):
        assert moment.utcoffset().total_seconds() == 0
    assert csaf["products"]
    assert set(csaf["products"]) <= _product_names(data["product_tree"])
    # The self reference is the advisory's address, wherever the copy was read from.
    self_refs = [r["url"] for r in doc["references"] if r["category"] == "self"]
    assert entry.url == self_refs[0]
    for cve in csaf["cves"]:
        assert cve in entry.content_html


@pytest.mark.parametrize("path", ADVISORIES, ids=[p.name for p in ADVISORIES])
def test_csaf_global_key_is_stable(path: Path) -> None:
    body = path.read_bytes()
    doc = json.loads(body)["document"]
    here = parse_csaf(body, location=str(path))
    there = parse_csaf(body, location="https://mirror.example/csaf/" + path.name)
    reformatted = parse_csaf(json.dumps(json.loads(body), indent=4).encode(), location="x.json")
    assert here.global_key == there.global_key == reformatted.global_key
    assert here.global_key == f"csaf:https://www.cisa.gov:{doc['tracking']['id'].lower()}"


def _advisory(**changes: Any) -> dict[str, Any]:
    data = json.loads((CSAF_DIR / "va-24-262-01.json").read_bytes())
    data = copy.deepcopy(data)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (b"this is not JSON", "malformed JSON at line 1"),
        (b"", "malformed JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1, 2, 3]", "not a JSON object"),
        (json.dumps(_advisory(document__tracking__id=None)).encode(), "document.tracking.id"),
        (json.dumps(_advisory(document__tracking__id="")).encode(), "document.tracking.id"),
        (json.dumps(_advisory(document__csaf_version="1.2")).encode(), "csaf_version '1.2'"),
        (json.dumps(_advisory(document__csaf_version=None)).encode(), "document.csaf_version"),
        (
            json.dumps(_advisory(document__distribution__tlp__label="PURPLE")).encode(),
            "document.distribution.tlp.label",
        ),
        (json.dumps({"document": {}}).encode(), "document.title"),
    ],
    ids=[
        "not-json",
        "empty",
        "not-utf8",
        "array",
        "no-tracking-id",
        "empty-tracking-id",
        "csaf-1.2",
        "no-csaf-version",
        "unknown-tlp",
        "empty-document",
    ],
)
def test_invalid_csaf_is_a_one_line_source_error_naming_the_field(body: bytes, named: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_csaf(body, location="advisory.json")
    message = str(caught.value)
    assert named in message
    assert "\n" not in message
    assert message.startswith("invalid CSAF")


def test_csaf_missing_fields_are_all_named() -> None:
    data = _advisory(document__tracking__id=None, document__title=None)
    with pytest.raises(SourceError, match=r"missing document\.title, document\.tracking\.id"):
        parse_csaf(json.dumps(data).encode(), location="advisory.json")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("TLP:AMBER", TLP.AMBER),
        ("AMBER+STRICT", TLP.AMBER_STRICT),
        ("GREEN", TLP.GREEN),
        ("RED", TLP.RED),
    ],
)
def test_csaf_tlp_labels(label: str, expected: TLP) -> None:
    data = _advisory(document__distribution__tlp__label=label)
    assert parse_csaf(json.dumps(data).encode(), location="a.json").tlp is expected


def test_csaf_without_tlp_has_none() -> None:
    data = _advisory(document__distribution=None)
    assert parse_csaf(json.dumps(data).encode(), location="a.json").tlp is None


# -- ROLIE ------------------------------------------------------------------------------


def test_real_rolie_index_newest_first() -> None:
    body = ROLIE_INDEX.read_bytes()
    raw = json.loads(body)["feed"]["entry"]
    entries = parse_rolie(body, location=ROLIE_LOCATION)
    assert {e.id for e in entries} == {r["id"] for r in raw}
    assert [e.updated for e in entries] == sorted((_utc(r["updated"]) for r in raw), reverse=True)
    by_id = {r["id"]: r for r in raw}
    for entry in entries:
        assert entry.url == by_id[entry.id]["content"]["src"]
        assert entry.updated.tzinfo is not None


ROLIE_RELATIVE = {
    "feed": {
        "id": "test-feed",
        "entry": [
            {
                "id": "OLD-1",
                "updated": "2023-01-01T00:00:00Z",
                "content": {"src": "2023/old-1.json"},
            },
            {
                "id": "NEW-2",
                "updated": "2024-10-24T06:00:00+02:00",
                "link": [{"rel": "self", "href": "../archive/new-2.json"}],
            },
            {
                "id": "MID-3",
                "updated": "2024-01-01T00:00:00Z",
                "content": {"src": "/abs/mid-3.json"},
            },
            {"id": "NO-LINK", "updated": "2025-01-01T00:00:00Z"},
        ],
    }
}


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        (
            "https://csaf.example/feeds/white/index.json",
            [
                "https://csaf.example/feeds/archive/new-2.json",
                "https://csaf.example/abs/mid-3.json",
                "https://csaf.example/feeds/white/2023/old-1.json",
            ],
        ),
        (
            "/srv/csaf/feeds/white/index.json",
            [
                "/srv/csaf/feeds/archive/new-2.json",
                "/abs/mid-3.json",
                "/srv/csaf/feeds/white/2023/old-1.json",
            ],
        ),
    ],
    ids=["https", "local-path"],
)
def test_rolie_entries_resolved_against_the_location(location: str, expected: list[str]) -> None:
    entries = parse_rolie(json.dumps(ROLIE_RELATIVE).encode(), location=location)
    assert [e.url for e in entries] == expected
    assert [e.id for e in entries] == ["NEW-2", "MID-3", "OLD-1"]
    assert entries[0].updated == datetime(2024, 10, 24, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body", [b"{}", b'{"feed": []}', b'{"feed": {"entry": {}}}', b"[]", b"not json"]
)
def test_not_a_rolie_feed(body: bytes) -> None:
    with pytest.raises(SourceError) as caught:
        parse_rolie(body, location="index.json")
    assert "\n" not in str(caught.value)


# -- JSON Feed --------------------------------------------------------------------------

JSON_FEED = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "Bulletins du CERT",
    "home_page_url": "https://cert.example/fr/",
    "feed_url": "https://cert.example/fr/feed.json",
    "language": "fr",
    "items": [
        {
            "id": "2026-001",
            "url": "bulletins/2026-001?utm_source=feed#haut",
            "title": "Vulnérabilité  dans\n un routeur",
            "content_html": "<p>Appliquez le correctif.</p>",
            "summary": "Correctif disponible",
            "date_published": "2026-03-01T10:00:00+01:00",
            "date_modified": "2026-03-02T08:00:00Z",
            "tags": ["routeur", "correctif"],
        },
        {
            "id": "2026-002",
            "external_url": "https://other.example/notice",
            "content_text": "Premier paragraphe <pas du HTML>.\n\nSecond paragraphe.",
            "language": "en",
        },
        {"title": "sans identifiant"},
    ],
}


def test_json_feed_1_1() -> None:
    parsed = parse_json_feed(
        json.dumps(JSON_FEED).encode(), location="https://cert.example/fr/feed.json"
    )
    assert parsed.title == "Bulletins du CERT"
    assert parsed.lang == "fr"
    assert parsed.warnings == ["an item without an id was skipped"]
    first, second = parsed.entries
    assert first.key == "2026-001"
    assert first.title == "Vulnérabilité dans un routeur"
    assert first.url == "https://cert.example/fr/bulletins/2026-001?utm_source=feed#haut"
    assert first.global_key == "https://cert.example/fr/bulletins/2026-001"
    assert first.content_html == "<p>Appliquez le correctif.</p>"
    assert first.summary_html == "<p>Correctif disponible</p>"
    assert first.published == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert first.updated == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert first.lang == "fr"
    assert first.extra["tags"] == ["routeur", "correctif"]
    assert second.url == "https://other.example/notice"
    assert second.content_html == (
        "<p>Premier paragraphe &lt;pas du HTML&gt;.</p>\n<p>Second paragraphe.</p>"
    )
    assert second.title == "Premier paragraphe <pas du HTML>. Second paragraphe."
    assert second.lang == "en"


@pytest.mark.parametrize("content_type", ["application/feed+json", "application/json", None])
def test_parse_feed_recognizes_json_feed(content_type: str | None) -> None:
    body = b"\n  " + json.dumps(JSON_FEED).encode()
    parsed = parse_feed(
        body, location="https://cert.example/fr/feed.json", content_type=content_type
    )
    assert [e.key for e in parsed.entries] == ["2026-001", "2026-002"]


def test_json_feed_unknown_version_is_a_warning() -> None:
    data = {"version": "https://jsonfeed.org/version/9", "items": [{"id": "1", "title": "t"}]}
    parsed = parse_json_feed(json.dumps(data).encode(), location="f.json")
    assert [e.key for e in parsed.entries] == ["1"]
    assert "unknown JSON Feed version" in parsed.warnings[0]


@pytest.mark.parametrize("body", [b'{"version": "https://jsonfeed.org/version/1.1"}', b"{oops"])
def test_json_that_is_not_a_json_feed(body: bytes) -> None:
    with pytest.raises(SourceError):
        parse_feed(body, location="f.json", content_type="application/json")


# -- RSS and Atom ------------------------------------------------------------------------

RSS_RELATIVE = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>CERT news</title><link>https://cert.example/news/</link>
<item><title>Relative</title><link>advisories/1.html</link><guid isPermaLink="false">a-1</guid>
<pubDate>Tue, 10 Mar 2026 09:30:00 +0100</pubDate>
<description>&lt;p&gt;See &lt;a href="../faq.html"&gt;the FAQ&lt;/a&gt;&lt;/p&gt;</description></item>
<item><title>Root-relative</title><link>/advisories/2.html?utm_medium=rss&amp;id=2</link></item>
<item><title>Absolute</title><link>HTTPS://CERT.Example/advisories/3/</link></item>
</channel></rss>"""


def test_rss_relative_links_are_resolved_against_the_channel_link() -> None:
    parsed = parse_feed(RSS_RELATIVE, location="https://mirror.example/feed.xml")
    first, second, third = parsed.entries
    assert first.url == "https://cert.example/news/advisories/1.html"
    assert first.key == "a-1"
    assert first.published == datetime(2026, 3, 10, 8, 30, tzinfo=UTC)
    assert second.url == "https://cert.example/advisories/2.html?utm_medium=rss&id=2"
    assert second.global_key == "https://cert.example/advisories/2.html?id=2"
    assert third.global_key == "https://cert.example/advisories/3"
    # Links inside the HTML stay raw here; ingestion resolves them while sanitizing.
    assert 'href="../faq.html"' in first.summary_html


def test_rss_relative_links_fall_back_to_the_document_location() -> None:
    body = RSS_RELATIVE.replace(b"<link>https://cert.example/news/</link>", b"")
    parsed = parse_feed(body, location="https://mirror.example/feeds/feed.xml")
    assert parsed.entries[0].url == "https://mirror.example/feeds/advisories/1.html"


def test_rss_language_is_the_entries_language() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>CERT-FR</title><link>https://cert.example/</link>
<language>fr</language>
<item><title>Multiples vuln\xc3\xa9rabilit\xc3\xa9s</title><link>https://cert.example/avis/1</link></item>
</channel></rss>"""
    parsed = parse_feed(body, location="https://cert.example/feed")
    assert parsed.lang == "fr"
    assert [e.lang for e in parsed.entries] == ["fr"]
    assert parsed.entries[0].title == "Multiples vulnérabilités"


def test_atom_entry_language_overrides_the_feed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>t</title><id>urn:f</id>
<updated>2026-01-01T00:00:00Z</updated>
<entry xml:lang="es"><title>Aviso</title><id>urn:1</id><link href="https://cert.example/1"/>
<updated>2026-01-02T00:00:00Z</updated><content type="html">&lt;p&gt;Hola&lt;/p&gt;</content></entry>
</feed>"""
    (entry,) = parse_feed(body, location="https://cert.example/atom").entries
    assert entry.lang == "es"
    assert entry.key == "urn:1"
    assert entry.content_html == "<p>Hola</p>"
    assert entry.updated == datetime(2026, 1, 2, tzinfo=UTC)


def test_recovered_feed_is_kept_with_a_warning() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
<item><title>Ben & Jerry</title><link>https://cert.example/1</link></item></channel></rss>"""
    parsed = parse_feed(body, location="https://cert.example/rss")
    assert [e.url for e in parsed.entries] == ["https://cert.example/1"]
    assert parsed.warnings and parsed.warnings[0].startswith("recovered from a malformed feed")


def test_truncated_feed_is_refused() -> None:
    with pytest.raises(SourceError, match="cut short"):
        parse_feed(RSS_RELATIVE[:-40], location="https://cert.example/rss")


PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
HTML_PAGE = b"""<!DOCTYPE html><html lang="en"><head><title>CERT</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head>
<body><h1>Advisories</h1><p>Our feed moved.</p></body></html>"""


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (HTML_PAGE, "text/html", "not a feed"),
        (HTML_PAGE, None, "not a feed"),
        (b"Service temporarily unavailable.\nTry later.\n", "text/plain", "not a feed"),
        (b"Service temporarily unavailable.\nTry later.\n", None, "not a feed"),
        (PNG, "image/png", "wrong content type image/png"),
        (PNG, None, "not a feed"),
        (b"", None, "not a feed"),
        (b"<?xml version='1.0'?><note><to>x</to></note>", "application/xml", "not a feed"),
        (b"%PDF-1.7\n", "application/pdf", "wrong content type application/pdf"),
    ],
    ids=[
        "html",
        "html-untyped",
        "text",
        "text-untyped",
        "png",
        "png-untyped",
        "empty",
        "xml",
        "pdf",
    ],
)
def test_document_that_is_not_a_feed(body: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_feed(body, location="https://cert.example/feed", content_type=content_type)
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


# -- links --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://Cert.Example/a/b/?utm_source=x&id=7#top", "https://cert.example/a/b?id=7"),
        ("https://cert.example", "https://cert.example/"),
        ("https://cert.example/a?fbclid=1&gclid=2", "https://cert.example/a"),
        ("https://cert.example/a?b=&c=1", "https://cert.example/a?b=&c=1"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected
