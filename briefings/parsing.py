"""Bytes from a source turned into :class:`~briefings.models.Entry` objects.

feedparser reads RSS 0.9x/1.0/2.0 and Atom; JSON Feed 1.0/1.1 is read here
because feedparser 6.0 (the current release) does not support it. CSAF 2.0
advisories and ROLIE indexes are JSON documents read here too. Problems in
content are returned as data (:class:`ParsedFeed.warnings`) when something
usable remains, and raised as :class:`~briefings.errors.SourceError` when not.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser

from briefings.errors import SourceError
from briefings.models import Entry
from briefings.sanitizing import html_to_text, looks_like_html, text_to_html
from briefings.tlp import TLP

JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")
# Media types that can never hold a feed; anything else is given to the parser.
NOT_FEED_TYPES = re.compile(r"^(image|audio|video|font)/|^application/(pdf|zip|gzip|octet-stream)$")
_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Internal DTD subsets declare entities, the tool of expansion attacks (billion
# laughs, quadratic blowup); feeds have no legitimate need for them.
_ENTITY_DECL = re.compile(rb"<!ENTITY[^>]*>", re.IGNORECASE)
_TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|fbclid|gclid|mc_cid|mc_eid)$", re.IGNORECASE)


@dataclass
class ParsedFeed:
    """Entries read from one document, plus what was odd about it."""

    entries: list[Entry]
    title: str | None = None
    lang: str | None = None
    warnings: list[str] = field(default_factory=list)


def parse_feed(body: bytes, *, location: str, content_type: str | None = None) -> ParsedFeed:
    """Read an RSS, Atom or JSON Feed document; SourceError when nothing usable is in it."""
    if content_type and NOT_FEED_TYPES.search(content_type):
        raise SourceError(f"wrong content type {content_type}: expected a feed")
    if _looks_like_json(body, content_type):
        return parse_json_feed(body, location=location)
    warnings: list[str] = []
    prolog_end = body.find(b"]>", 0, 65536)
    if prolog_end != -1 and _ENTITY_DECL.search(body, 0, prolog_end):
        body = _ENTITY_DECL.sub(b"", body[:prolog_end]) + body[prolog_end:]
        warnings.append("XML entity declarations removed (they are not expanded)")
    headers = {"content-type": content_type} if content_type else {}
    # Our own sanitizer (nh3) and URL resolution run later: feedparser's are
    # slower and would only be undone.
    parsed = feedparser.parse(
        body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
    )
    if parsed.bozo:
        reason = _describe_xml_error(parsed.get("bozo_exception"))
        if _is_cut_short(parsed.get("bozo_exception")):
            # What a truncated document yields are truncated entries, which
            # would be stored as content: refuse it and keep what we have.
            raise SourceError(f"malformed feed, cut short: {reason}")
        if not parsed.entries:
            if not parsed.get("version"):
                kind = f" (content type {content_type})" if content_type else ""
                raise SourceError(f"not a feed{kind}: {reason}")
            raise SourceError(f"malformed feed: {reason}")
        warnings.append(f"recovered from a malformed feed: {reason}")
    elif not parsed.get("version") and not parsed.entries:
        kind = f" (content type {content_type})" if content_type else ""
        raise SourceError(f"not a feed{kind}: no RSS, Atom or JSON Feed root element")
    feed_lang = parsed.feed.get("language") or None
    base = parsed.feed.get("link") or location
    entries = []
    for raw in parsed.entries:
        entry = _entry_from_feedparser(raw, base=base, feed_lang=feed_lang)
        if entry is not None:
            entries.append(entry)
    skipped = len(parsed.entries) - len(entries)
    if skipped:
        warnings.append(f"{skipped} entries without title, link or content were skipped")
    return ParsedFeed(entries, parsed.feed.get("title"), feed_lang, warnings)


def _describe_xml_error(exc: object) -> str:
    if exc is None:
        return "malformed document"
    get_message = getattr(exc, "getMessage", None)
    if get_message is not None:  # xml.sax's SAXParseException
        return f"line {exc.getLineNumber()} column {exc.getColumnNumber()}: {get_message()}"
    return _one_line(exc) or type(exc).__name__


def _is_cut_short(exc: object) -> bool:
    """True when the XML parser ran out of document (a truncated feed), as
    opposed to a recoverable slip inside it such as a stray ampersand."""
    message = str(exc).lower()
    return "no element found" in message or "unclosed token" in message


def _entry_from_feedparser(raw: Any, *, base: str, feed_lang: str | None) -> Entry | None:
    title = raw.get("title") or ""
    # feedparser hands HTML-typed titles over as markup, and many RSS feeds put
    # escaped HTML in titles declared as text: either way, keep the text only.
    if (raw.get("title_detail") or {}).get("type") in _HTML_TYPES or looks_like_html(title):
        title = html_to_text(title)
    title = _one_line(title)
    link = raw.get("link") or None
    if link:
        link = urljoin(base, link.strip())
    content_html = ""
    content_lang = None
    for content in raw.get("content") or []:
        if content.get("value"):
            content_html = _as_html(content.get("value", ""), content.get("type"))
            content_lang = content.get("language")
            break
    summary_html = ""
    detail = raw.get("summary_detail") or {}
    if raw.get("summary"):
        summary_html = _as_html(raw.get("summary", ""), detail.get("type"))
    if not (title or link or summary_html or content_html):
        return None
    key = raw.get("id") or link or _digest(title, summary_html, content_html)
    lang = content_lang or detail.get("language") or (raw.get("title_detail") or {}).get("language")
    return Entry(
        key=str(key).strip(),
        title=title or _first_words(summary_html or content_html),
        url=link if link and _is_web_url(link) else None,
        global_key=canonical_url(link) if link and _is_web_url(link) else None,
        summary_html=summary_html,
        content_html=content_html,
        published=_from_struct(raw.get("published_parsed") or raw.get("created_parsed")),
        updated=_from_struct(dict.get(raw, "updated_parsed")),
        lang=lang or feed_lang,
        extra={"tags": [t.get("term") for t in raw.get("tags") or [] if t.get("term")]},
    )


def parse_json_feed(body: bytes, *, location: str) -> ParsedFeed:
    """Read a JSON Feed 1.0 or 1.1 document (https://jsonfeed.org/version/1.1)."""
    data = _load_json(body, "JSON Feed")
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise SourceError("not a JSON Feed: no 'items' list")
    version = data.get("version")
    warnings = []
    if version not in JSON_FEED_VERSIONS:
        warnings.append(f"unknown JSON Feed version {version!r}, read as 1.1")
    base = data.get("home_page_url") or data.get("feed_url") or location
    feed_lang = data.get("language")
    entries = []
    for raw in data["items"]:
        if not isinstance(raw, dict) or not raw.get("id"):
            warnings.append("an item without an id was skipped")
            continue
        link = raw.get("url") or raw.get("external_url")
        link = urljoin(base, str(link)) if link else None
        content_html = raw.get("content_html") or text_to_html(str(raw.get("content_text") or ""))
        summary = raw.get("summary")
        entries.append(
            Entry(
                key=str(raw["id"]),
                title=_one_line(raw.get("title")) or _first_words(content_html),
                url=link if link and _is_web_url(link) else None,
                global_key=canonical_url(link) if link and _is_web_url(link) else None,
                summary_html=text_to_html(str(summary)) if summary else "",
                content_html=str(content_html),
                published=_from_iso(raw.get("date_published")),
                updated=_from_iso(raw.get("date_modified")),
                lang=raw.get("language") or feed_lang,
                extra={"tags": [str(t) for t in raw.get("tags") or []]},
            )
        )
    return ParsedFeed(entries, data.get("title"), feed_lang, warnings)


# -- CSAF 2.0 ---------------------------------------------------------------------------

_CSAF_REQUIRED = (
    ("document", "category"),
    ("document", "csaf_version"),
    ("document", "title"),
    ("document", "publisher", "name"),
    ("document", "publisher", "namespace"),
    ("document", "tracking", "id"),
    ("document", "tracking", "status"),
    ("document", "tracking", "version"),
    ("document", "tracking", "initial_release_date"),
    ("document", "tracking", "current_release_date"),
)
_CSAF_TEXT_NOTES = ("summary", "description", "general")


def parse_csaf(body: bytes, *, location: str) -> Entry:
    """Read one CSAF 2.0 advisory; SourceError names every missing required field."""
    data = _load_json(body, "CSAF advisory")
    if not isinstance(data, dict):
        raise SourceError("invalid CSAF: the document is not a JSON object")
    missing = [".".join(path) for path in _CSAF_REQUIRED if _dig(data, *path) in (None, "")]
    if missing:
        raise SourceError(f"invalid CSAF: missing {', '.join(missing)}")
    doc = data["document"]
    if str(doc["csaf_version"]) != "2.0":
        raise SourceError(f"invalid CSAF: csaf_version {doc['csaf_version']!r}, expected '2.0'")
    tracking = doc["tracking"]
    tlp_label = _dig(doc, "distribution", "tlp", "label")
    try:
        tlp = TLP.parse(tlp_label) if tlp_label else None
    except ValueError as exc:
        raise SourceError(f"invalid CSAF: document.distribution.tlp.label: {exc}") from None
    vulns = [v for v in data.get("vulnerabilities") or [] if isinstance(v, dict)]
    cves = sorted({str(v["cve"]).upper() for v in vulns if v.get("cve")})
    products = sorted(_product_names(data.get("product_tree") or {}))
    notes = [n for n in doc.get("notes") or [] if isinstance(n, dict)]
    sectors = [n.get("text", "") for n in notes if "sector" in str(n.get("title", "")).lower()]
    self_url = next(
        (r.get("url") for r in doc.get("references") or [] if r.get("category") == "self"), None
    )
    if not self_url and _is_web_url(location):
        self_url = location
    namespace = str(doc["publisher"]["namespace"]).rstrip("/").lower()
    return Entry(
        key=str(tracking["id"]),
        title=_one_line(doc["title"]),
        url=self_url,
        global_key=f"csaf:{namespace}:{str(tracking['id']).lower()}",
        summary_html=_notes_html(n for n in notes if n.get("category") == "summary"),
        content_html=_csaf_html(notes, vulns, products),
        published=_from_iso(tracking.get("initial_release_date")),
        updated=_from_iso(tracking.get("current_release_date")),
        lang=doc.get("lang"),
        tlp=tlp,
        extra={
            "csaf": {
                "tracking_id": tracking["id"],
                "version": str(tracking["version"]),
                "status": tracking["status"],
                "publisher": doc["publisher"]["name"],
                "category": doc["category"],
                "cves": cves,
                "products": products[:200],
                "sectors": sectors,
                "max_cvss": _max_cvss(vulns),
            }
        },
    )


def _csaf_html(notes: list[dict], vulns: list[dict], products: list[str]) -> str:
    parts = [_notes_html(n for n in notes if n.get("category") in _CSAF_TEXT_NOTES)]
    if vulns:
        rows = []
        for vuln in vulns:
            summary = " ".join(
                str(n.get("text", ""))
                for n in vuln.get("notes") or []
                if n.get("category") == "summary"
            )
            label = vuln.get("cve") or vuln.get("title") or "Vulnerability"
            rows.append(f"<li><strong>{_esc(label)}</strong>: {_esc(summary)}</li>")
        parts.append("<h2>Vulnerabilities</h2><ul>" + "".join(rows) + "</ul>")
    if products:
        shown = "".join(f"<li>{_esc(p)}</li>" for p in products[:50])
        parts.append(f"<h2>Affected products</h2><ul>{shown}</ul>")
    return "\n".join(p for p in parts if p)


def _notes_html(notes) -> str:
    out = []
    for note in notes:
        title = note.get("title")
        text = str(note.get("text", "")).strip()
        if text:
            out.append((f"<h3>{_esc(title)}</h3>" if title else "") + text_to_html(text))
    return "\n".join(out)


def _product_names(tree: dict) -> set[str]:
    names = {str(p["name"]) for p in tree.get("full_product_names") or [] if p.get("name")}
    stack = list(tree.get("branches") or [])
    while stack:
        branch = stack.pop()
        if not isinstance(branch, dict):
            continue
        product = branch.get("product")
        if isinstance(product, dict) and product.get("name"):
            names.add(str(product["name"]))
        stack.extend(branch.get("branches") or [])
    return names


def _max_cvss(vulns: list[dict]) -> float | None:
    scores = [
        float(score.get(version, {}).get("baseScore"))
        for vuln in vulns
        for score in vuln.get("scores") or []
        for version in ("cvss_v3", "cvss_v2")
        if isinstance(score.get(version), dict) and score[version].get("baseScore") is not None
    ]
    return max(scores) if scores else None


# -- ROLIE ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RolieEntry:
    """One advisory named by a ROLIE feed index."""

    id: str
    url: str
    updated: datetime | None


def parse_rolie(body: bytes, *, location: str) -> list[RolieEntry]:
    """Advisory locations of a CSAF ROLIE feed index, newest first, resolved against ``location``."""
    data = _load_json(body, "ROLIE feed")
    feed = data.get("feed") if isinstance(data, dict) else None
    if not isinstance(feed, dict) or not isinstance(feed.get("entry", []), list):
        raise SourceError("not a ROLIE feed: no 'feed.entry' list")
    out = []
    for raw in feed.get("entry", []):
        if not isinstance(raw, dict):
            continue
        href = _dig(raw, "content", "src") or next(
            (
                link.get("href")
                for link in raw.get("link") or []
                if isinstance(link, dict) and link.get("rel") == "self"
            ),
            None,
        )
        if not href:
            continue
        out.append(
            RolieEntry(
                str(raw.get("id") or href),
                urljoin(location, str(href)),
                _from_iso(raw.get("updated")),
            )
        )
    epoch = datetime.min.replace(tzinfo=UTC)
    out.sort(key=lambda e: e.updated or epoch, reverse=True)
    return out


# -- helpers ----------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """A link reduced to what identifies the page: lower-case scheme and host,
    no fragment, no tracking parameters, no trailing slash."""
    parts = urlsplit(url.strip())
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
    )
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, query, ""))


def _is_web_url(url: str) -> bool:
    return urlsplit(url).scheme in {"http", "https"}


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type:
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _load_json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SourceError(f"invalid {what}: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"invalid {what}: malformed JSON at line {exc.lineno} column {exc.colno}"
        ) from None


def _as_html(value: str, media_type: str | None) -> str:
    if media_type == "text/plain":
        return text_to_html(value)
    return value


def _dig(data: Any, *path: str) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _from_struct(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _from_iso(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _first_words(html_text: str, words: int = 12) -> str:
    return " ".join(html_to_text(html_text).split()[:words])


def _digest(*parts: str) -> str:
    return "sha256:" + hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()


def _esc(value: Any) -> str:
    return html.escape(str(value))
