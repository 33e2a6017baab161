"""Feeds: Atom, RSS 2.0, JSON Feed 1.1 and OPML, read back with feedparser, json and
xml.etree. Real feedgen and Babel catalogs; no mocks."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

import feedparser
import pytest

from briefings.feeds import (
    GENERATOR,
    FeedEntry,
    FeedInfo,
    atom_feed,
    entry_title,
    json_feed,
    opml,
    rss_feed,
)

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HOSTILE = '<script>alert("x")</script> & <b>bold</b> ]]> \x00\x0b'
SITE = "https://briefings.example/public/fr/"
UPDATED = datetime(2026, 11, 4, 8, 0, tzinfo=UTC)


def _info(lang: str = "fr", **changes) -> FeedInfo:
    fields = {
        "id": f"tag:briefings.example,2026:public/{lang}",
        "title": "Bulletins de la coalition",
        "subtitle": "Cybersécurité et désinformation : bulletins approuvés",
        "lang": lang,
        "site_url": SITE,
        "feed_url": SITE + "feed",
        "updated": UPDATED,
        "author": "Coalition communications office",
    } | changes
    return FeedInfo(**fields)


def _entry(slug: str, day: int, lang: str = "fr", **changes) -> FeedEntry:
    fields = {
        "id": f"tag:briefings.example,2026:{slug}/{lang}",
        "url": f"{SITE}b/{slug}/",
        "title": f"Bulletin {slug}",
        "summary": f"Résumé de {slug}.",
        "content_html": f"<p>Texte de {slug} avec <code>198.51.100.7</code>.</p>",
        "published": datetime(2026, 11, day, 9, 0, tzinfo=UTC),
        "updated": datetime(2026, 11, day, 9, 0, tzinfo=UTC),
        "lang": lang,
        "categories": ("Santé", "Rançongiciel"),
    } | changes
    return FeedEntry(**fields)


ENTRIES = [
    _entry("digest-2026-11-01", 1),
    _entry("alert-2026-11-03", 3),
    _entry("debunk-2026-11-02", 2),
    # Withdrawn on the 4th: an update of an older entry, carrying the notice only.
    _entry(
        "alert-2026-10-30",
        1,
        published=datetime(2026, 10, 30, 7, 0, tzinfo=UTC),
        updated=datetime(2026, 11, 4, 7, 30, tzinfo=UTC),
        status="withdrawn",
        content_html="<p>Ce bulletin a été retiré : attribution non confirmée.</p>",
        summary="Ce bulletin a été retiré.",
    ),
    _entry("hostile", 2, title=HOSTILE, summary=HOSTILE),
]
NEWEST_FIRST = [
    "tag:briefings.example,2026:alert-2026-10-30/fr",
    "tag:briefings.example,2026:alert-2026-11-03/fr",
    "tag:briefings.example,2026:debunk-2026-11-02/fr",
    "tag:briefings.example,2026:hostile/fr",  # same update as the debunk: by id
    "tag:briefings.example,2026:digest-2026-11-01/fr",
]


@pytest.mark.parametrize("build", [atom_feed, rss_feed, json_feed])
def test_output_is_reproducible(build):
    first = build(_info(), ENTRIES)
    shuffled = ENTRIES[:]
    random.Random(7).shuffle(shuffled)
    assert build(_info(), shuffled) == first
    assert build(_info(), tuple(ENTRIES)) == first


def test_atom_reads_back():
    data = atom_feed(_info(), ENTRIES)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.id == "tag:briefings.example,2026:public/fr"
    assert parsed.feed.title == "Bulletins de la coalition"
    assert parsed.feed.language == "fr"
    assert parsed.feed.updated_parsed[:6] == (2026, 11, 4, 8, 0, 0)
    assert parsed.feed.generator == GENERATOR
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links == {"self": SITE + "feed.atom", "alternate": SITE}
    assert [entry.id for entry in parsed.entries] == NEWEST_FIRST
    first = parsed.entries[1]
    assert first.link == SITE + "b/alert-2026-11-03/"
    assert first.summary == "Résumé de alert-2026-11-03."
    assert (
        first.content[0].value == "<p>Texte de alert-2026-11-03 avec <code>198.51.100.7</code>.</p>"
    )
    assert first.published_parsed[:3] == (2026, 11, 3)
    assert [tag.term for tag in first.tags] == ["Santé", "Rançongiciel"]
    root = ET.fromstring(data)
    assert root.get(XML_LANG) == "fr"
    assert root.findtext(f"{ATOM}updated") == "2026-11-04T08:00:00+00:00"


def test_rss_reads_back():
    data = rss_feed(_info(), ENTRIES)
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "rss20"
    assert parsed.feed.language == "fr"
    assert parsed.feed.link == SITE
    assert parsed.feed.generator == GENERATOR
    assert parsed.feed.updated_parsed[:6] == (2026, 11, 4, 8, 0, 0)  # lastBuildDate
    assert [entry.id for entry in parsed.entries] == NEWEST_FIRST
    assert all(entry.guidislink is False for entry in parsed.entries)
    channel = ET.fromstring(data).find("channel")
    assert channel.findtext("language") == "fr"
    assert channel.findtext("lastBuildDate") == "Wed, 04 Nov 2026 08:00:00 +0000"
    assert channel.find(f"{ATOM}link").get("href") == SITE + "feed.rss"
    item = channel.findall("item")[1]
    assert item.findtext("description") == "Résumé de alert-2026-11-03."
    assert "<code>198.51.100.7</code>" in item.findtext(
        "{http://purl.org/rss/1.0/modules/content/}encoded"
    )


def test_json_feed_1_1():
    document = json.loads(json_feed(_info(), ENTRIES))
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert document["language"] == "fr"
    assert document["title"] == "Bulletins de la coalition"
    assert document["home_page_url"] == SITE
    assert document["feed_url"] == SITE + "feed.json"
    assert document["authors"] == [{"name": "Coalition communications office"}]
    assert [item["id"] for item in document["items"]] == NEWEST_FIRST
    item = document["items"][1]
    assert item == {
        "id": "tag:briefings.example,2026:alert-2026-11-03/fr",
        "url": SITE + "b/alert-2026-11-03/",
        "title": "Bulletin alert-2026-11-03",
        "content_html": "<p>Texte de alert-2026-11-03 avec <code>198.51.100.7</code>.</p>",
        "date_published": "2026-11-03T09:00:00Z",
        "date_modified": "2026-11-03T09:00:00Z",
        "language": "fr",
        "summary": "Résumé de alert-2026-11-03.",
        "tags": ["Santé", "Rançongiciel"],
    }


def test_ids_are_stable_across_builds_and_formats():
    later = [*ENTRIES, _entry("digest-2026-11-05", 5)]
    info = _info(updated=datetime(2026, 11, 5, 10, 0, tzinfo=UTC))
    for build in (atom_feed, rss_feed):
        before = [entry.id for entry in feedparser.parse(build(_info(), ENTRIES)).entries]
        after = [entry.id for entry in feedparser.parse(build(info, later)).entries]
        assert after == ["tag:briefings.example,2026:digest-2026-11-05/fr", *before]
    after = [item["id"] for item in json.loads(json_feed(info, later))["items"]]
    assert after[1:] == NEWEST_FIRST


@pytest.mark.parametrize(("lang", "tag"), [("zh", "zh-Hans"), ("ar", "ar"), ("en", "en")])
def test_language_metadata(lang, tag):
    entries = [_entry("a", 1, lang=lang)]
    assert ET.fromstring(atom_feed(_info(lang), entries)).get(XML_LANG) == tag
    assert feedparser.parse(rss_feed(_info(lang), entries)).feed.language == tag
    assert json.loads(json_feed(_info(lang), entries))["language"] == tag


def test_an_entry_in_another_language_says_so():
    entries = [_entry("a", 1), _entry("b", 2, lang="en")]
    root = ET.fromstring(atom_feed(_info(), entries))
    langs = {e.findtext(f"{ATOM}id"): e.get(XML_LANG) for e in root.findall(f"{ATOM}entry")}
    assert langs == {
        "tag:briefings.example,2026:a/fr": None,
        "tag:briefings.example,2026:b/en": "en",
    }
    items = json.loads(json_feed(_info(), entries))["items"]
    assert [item["language"] for item in items] == ["en", "fr"]


def test_withdrawn_entries_are_updates_with_a_translated_prefix():
    for build in (atom_feed, rss_feed):
        parsed = feedparser.parse(build(_info(), ENTRIES))
        withdrawn = parsed.entries[0]
        assert withdrawn.id == "tag:briefings.example,2026:alert-2026-10-30/fr"
        assert withdrawn.title == "Retiré\u00a0: Bulletin alert-2026-10-30"
        assert "attribution non confirmée" in withdrawn.content[0].value
        assert "Texte de alert-2026-10-30" not in str(withdrawn)
    atom = feedparser.parse(atom_feed(_info(), ENTRIES)).entries[0]
    assert atom.updated_parsed[:5] == (2026, 11, 4, 7, 30)
    assert atom.published_parsed[:3] == (2026, 10, 30)
    item = json.loads(json_feed(_info(), ENTRIES))["items"][0]
    assert item["title"] == "Retiré\u00a0: Bulletin alert-2026-10-30"
    assert item["date_modified"] == "2026-11-04T07:30:00Z"


@pytest.mark.parametrize(
    ("lang", "status", "title"),
    [
        ("en", "withdrawn", "Withdrawn: T"),
        ("en", "corrected", "Corrected: T"),
        ("fr", "corrected", "Corrigé\u00a0: T"),
        ("ar", "withdrawn", "مسحوبة: T"),
        ("ru", "corrected", "Исправлено: T"),
        ("zh", "withdrawn", "已撤回：T"),
        ("de", "withdrawn", "Withdrawn: T"),  # no catalog: English
        ("en", "published", "T"),
    ],
)
def test_status_prefixes(lang, status, title):
    entry = _entry("x", 1, lang=lang, title="T", status=status)
    assert entry_title(entry) == title
    assert entry_title(_entry("x", 1, lang=lang, title=title, status=status)) == title  # not twice


def test_unknown_status_is_refused():
    with pytest.raises(ValueError, match="status 'deleted'"):
        atom_feed(_info(), [_entry("x", 1, status="deleted")])


def test_hostile_titles_are_escaped():
    for build in (atom_feed, rss_feed):
        data = build(_info(title=HOSTILE), ENTRIES)
        assert b"<script>" not in data and b"<b>" not in data
        root = ET.fromstring(data)  # still well-formed XML, control characters and all
        assert root is not None
        parsed = feedparser.parse(data)
        assert not parsed.bozo, parsed.get("bozo_exception")
        [hostile] = [e for e in parsed.entries if e.id.endswith(":hostile/fr")]
        assert "alert(" in hostile.title and "]]>" in hostile.title
    document = json.loads(json_feed(_info(title=HOSTILE), ENTRIES))
    assert document["title"] == HOSTILE  # JSON carries it as data, exactly


def test_dates_are_written_in_utc():
    paris = timezone(timedelta(hours=1))
    entry = _entry(
        "x",
        1,
        published=datetime(2026, 11, 2, 1, 0, tzinfo=paris),
        updated=datetime(2026, 11, 2, 1, 0),
    )
    item = json.loads(json_feed(_info(), [entry]))["items"][0]
    assert item["date_published"] == "2026-11-02T00:00:00Z"
    assert item["date_modified"] == "2026-11-02T01:00:00Z"  # naive: taken as UTC
    root = ET.fromstring(atom_feed(_info(), [entry]))
    assert root.find(f"{ATOM}entry").findtext(f"{ATOM}published") == "2026-11-02T00:00:00+00:00"


def test_empty_feeds_are_valid():
    assert not feedparser.parse(atom_feed(_info(), [])).bozo
    assert not feedparser.parse(rss_feed(_info(), [])).bozo
    assert json.loads(json_feed(_info(), []))["items"] == []


def test_opml_lists_every_feed():
    feeds = [
        ("Bulletins (Atom)", SITE + "feed.atom", SITE, "atom"),
        ("Bulletins (RSS)", SITE + "feed.rss", SITE, "rss"),
        ("Santé & <eau>", SITE + "sectors/health/feed.atom", SITE + "sectors/health/", "atom"),
    ]
    data = opml("Flux de la coalition " + HOSTILE, "fr", feeds)
    assert data == opml("Flux de la coalition " + HOSTILE, "fr", feeds)
    assert b"<script>" not in data
    root = ET.fromstring(data)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.get(XML_LANG) == "fr"
    assert root.findtext("head/title").startswith("Flux de la coalition <script>")
    outlines = root.findall("body/outline")
    assert [
        (o.get("text"), o.get("xmlUrl"), o.get("htmlUrl"), o.get("type")) for o in outlines
    ] == feeds
    assert all(o.get("title") == o.get("text") for o in outlines)
    with pytest.raises(ValueError, match="type 'json'"):
        opml("Flux", "fr", [("JSON", SITE + "feed.json", SITE, "json")])
