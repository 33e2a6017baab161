"""Feeds of the published briefings: Atom and RSS 2.0 (feedgen), JSON Feed 1.1, and OPML.

Every function here is pure: the same arguments give byte-identical output. Nothing
reads the clock (feedgen would stamp ``updated``, ``lastBuildDate`` and its own
version; all three are set explicitly), entries are ordered newest update first,
then by id, and every date is written in UTC.

Corrections and withdrawals are updates of the same entry (same id, later
``updated``) whose title carries a translated "Corrected: " / "Withdrawn: " prefix,
so a subscriber's reader shows them again instead of leaving a silent gap.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from feedgen.ext.base import BaseEntryExtension
from feedgen.feed import FeedGenerator

from briefings.i18n import locale_tag, translations

GENERATOR = "coalition-briefings"
"""The generator named in Atom and RSS: fixed, so output does not change with versions."""
STATUSES = ("published", "corrected", "withdrawn")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Characters XML 1.0 cannot carry at all (lxml refuses them); a hostile or broken
# title must not stop the feed of a whole language.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@dataclass(frozen=True)
class FeedEntry:
    """One briefing in one language, as a feed entry."""

    id: str  # stable, e.g. "tag:briefings.example,2026:digest-2026-11-02/fr"
    url: str  # absolute URL of the page
    title: str
    summary: str  # plain text
    content_html: str  # sanitized HTML
    published: datetime  # UTC
    updated: datetime  # UTC
    lang: str
    categories: tuple[str, ...] = ()  # labels
    status: str = "published"  # "published" | "corrected" | "withdrawn"


@dataclass(frozen=True)
class FeedInfo:
    """A whole feed: per language, or per language and sector."""

    id: str
    title: str
    subtitle: str
    lang: str
    site_url: str
    feed_url: str  # without extension: ".../feed" -> feed.atom, feed.rss, feed.json
    updated: datetime
    author: str


def entry_title(entry: FeedEntry) -> str:
    """The title as published: prefixed, in the entry's language, when the entry is a
    correction or a withdrawal (never twice)."""
    if entry.status == "published":
        return entry.title
    if entry.status not in STATUSES:
        raise ValueError(
            f"feed entry {entry.id!r} has status {entry.status!r}; use one of {', '.join(STATUSES)}"
        )
    gettext = translations(entry.lang).gettext
    if entry.status == "withdrawn":
        template = gettext("Withdrawn: %(title)s")
    else:
        template = gettext("Corrected: %(title)s")
    prefix = template.split("%(title)s", 1)[0]
    if prefix and entry.title.startswith(prefix):
        return entry.title
    return template % {"title": entry.title}


def ordered(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    """Newest update first, then by id: the one order every format uses."""
    return sorted(entries, key=lambda e: (-_utc(e.updated).timestamp(), e.id))


def atom_feed(info: FeedInfo, entries: Sequence[FeedEntry]) -> bytes:
    """Atom 1.0 (RFC 4287) with ``xml:lang`` on the feed (and on entries in another
    language), a self link to ``<feed_url>.atom`` and full sanitized HTML content."""
    generator = _generator(info, ".atom", "application/atom+xml")
    for entry in ordered(entries):
        item = _entry(generator, entry)
        if locale_tag(entry.lang) != locale_tag(info.lang):
            item.register_extension("briefings_language", _EntryLanguage, atom=True, rss=False)
            item.briefings_language.lang = locale_tag(entry.lang)
    return generator.atom_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def rss_feed(info: FeedInfo, entries: Sequence[FeedEntry]) -> bytes:
    """RSS 2.0 with ``<language>``, an atom:link to ``<feed_url>.rss``, the summary as
    ``<description>`` and the sanitized HTML as ``content:encoded``."""
    generator = _generator(info, ".rss", "application/rss+xml")
    for entry in ordered(entries):
        _entry(generator, entry)
    return generator.rss_str(pretty=True, encoding="UTF-8", xml_declaration=True)


def json_feed(info: FeedInfo, entries: Sequence[FeedEntry]) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1) with ``language`` on the feed
    and on every item."""
    items = []
    for entry in ordered(entries):
        item: dict[str, object] = {
            "id": entry.id,
            "url": entry.url,
            "title": entry_title(entry),
            "content_html": entry.content_html,
            "date_published": _rfc3339(entry.published),
            "date_modified": _rfc3339(entry.updated),
            "language": locale_tag(entry.lang),
        }
        if entry.summary:
            item["summary"] = entry.summary
        if entry.categories:
            item["tags"] = list(entry.categories)
        items.append(item)
    document = {
        "version": JSON_FEED_VERSION,
        "title": info.title,
        "home_page_url": info.site_url,
        "feed_url": info.feed_url + ".json",
        "description": info.subtitle or info.title,
        "language": locale_tag(info.lang),
        "authors": [{"name": info.author}],
        "items": items,
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def opml(title: str, lang: str, feeds: Sequence[tuple[str, str, str, str]]) -> bytes:
    """An OPML 2.0 subscription list: one outline per ``(title, xml_url, html_url,
    type)`` in the given order, ``type`` being "rss" or "atom"."""
    root = ET.Element("opml", {"version": "2.0", _XML_LANG: locale_tag(lang)})
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _xml_text(title)
    body = ET.SubElement(root, "body")
    for feed_title, xml_url, html_url, kind in feeds:
        if kind not in ("rss", "atom"):
            raise ValueError(f"OPML outline {feed_title!r} has type {kind!r}; use 'rss' or 'atom'")
        ET.SubElement(
            body,
            "outline",
            {
                "type": kind,
                "text": _xml_text(feed_title),
                "title": _xml_text(feed_title),
                "xmlUrl": _xml_text(xml_url),
                "htmlUrl": _xml_text(html_url),
            },
        )
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


# -- feedgen plumbing ---------------------------------------------------------------


class _EntryLanguage(BaseEntryExtension):
    """Marks an Atom entry whose language differs from its feed's with ``xml:lang``."""

    lang = ""

    def extend_atom(self, entry):
        if self.lang:
            entry.set(_XML_LANG, self.lang)
        return entry


def _generator(info: FeedInfo, extension: str, media_type: str) -> FeedGenerator:
    generator = FeedGenerator()
    generator.id(info.id)
    generator.title(_xml_text(info.title))
    # RSS requires a description; Atom's subtitle is optional.
    generator.subtitle(_xml_text(info.subtitle or info.title))
    generator.language(locale_tag(info.lang))
    generator.author({"name": _xml_text(info.author)})
    # feedgen takes RSS's one <link> from the last link given: the site, not the feed.
    generator.link(href=info.feed_url + extension, rel="self", type=media_type)
    generator.link(href=info.site_url, rel="alternate", type="text/html")
    generator.generator(GENERATOR)
    updated = _utc(info.updated)
    generator.updated(updated)
    generator.lastBuildDate(updated)
    return generator


def _entry(generator: FeedGenerator, entry: FeedEntry):
    item = generator.add_entry(order="append")
    item.id(entry.id)  # also the RSS guid, isPermaLink="false"
    item.title(_xml_text(entry_title(entry)))
    item.link(href=entry.url, rel="alternate", type="text/html")
    item.published(_utc(entry.published))
    item.updated(_utc(entry.updated))
    if entry.summary:
        item.summary(_xml_text(entry.summary))
    item.content(_xml_text(entry.content_html), type="html")
    for label in entry.categories:
        item.category(term=_xml_text(label), label=_xml_text(label))
    return item


def _utc(value: datetime) -> datetime:
    """Aware UTC datetime; naive values are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rfc3339(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)
