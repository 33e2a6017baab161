"""Untrusted HTML from feeds and advisories made safe, and plain text drawn from it.

nh3 (ammonia) does the sanitizing: it is both faster and easier to reason about
than feedparser's own sanitizer, which ingestion therefore turns off.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

# Structure and emphasis only. No img/iframe/object/style: a published page
# must load nothing from elsewhere, and images in feeds are often trackers.
ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "article", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del",
        "div", "dl", "figcaption", "figure", "footer", "header", "section",
        "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark",
        "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "table",
        "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var", "bdi", "bdo",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "hreflang", "title"},
    "abbr": {"title"},
    "bdo": {"dir"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
    "time": {"datetime"},
    "*": {"lang", "dir"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Their content is code or noise, never text a reader should see.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "noscript", "template", "iframe", "object"})

_BLOCK_END = re.compile(
    r"</(p|div|li|h[1-6]|tr|table|blockquote|pre|ul|ol|dl|dd|dt|section|article|header|footer"
    r"|figure|figcaption|caption)\s*>|<br\s*/?>",
    re.IGNORECASE,
)
_CELL_END = re.compile(r"</(td|th)\s*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\u00a0]+")  # \r, \f and \v end lines: splitlines() sees them
_BLANK_LINES = re.compile(r"\n\s*\n+")


# One cleaner for every fragment: building one costs as much as using it.
# Relative links pass through it and are resolved (or dropped) afterwards.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
    url_relative="pass_through",
)
# nh3's output always double-quotes attributes, so this finds every link target.
_HREF = re.compile(r' href="([^"]*)"')
_ABSOLUTE_PREFIXES = ("https://", "http://", "mailto:")


def _resolve_links(html_text: str, base_url: str | None) -> str:
    def resolve(match: re.Match) -> str:
        raw = match.group(1)
        if raw.startswith(_ABSOLUTE_PREFIXES):  # nh3 already vetted the scheme
            return match.group(0)
        url = html.unescape(raw) if "&" in raw else raw
        if urlsplit(url).scheme in URL_SCHEMES:
            return match.group(0)
        absolute = urljoin(base_url, url) if base_url else ""
        if urlsplit(absolute).scheme not in URL_SCHEMES:
            return ""  # a relative link with nothing to resolve it against
        return f' href="{html.escape(absolute, quote=True)}"'

    return _HREF.sub(resolve, html_text)


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Safe HTML: no scripts, event handlers, styles, embedded objects or images,
    and links only to http(s) and mailto; relative links resolved against
    ``base_url`` (dropped when there is none).
    """
    if not fragment:
        return ""
    cleaned = _CLEANER.clean(fragment).strip()
    return _resolve_links(cleaned, base_url) if ' href="' in cleaned else cleaned


def html_to_text(fragment: str, *, sanitized: bool = False) -> str:
    """Readable plain text of an HTML fragment (blocks become lines).

    ``sanitized`` says the fragment came from :func:`sanitize_html` already.
    """
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _normalize_space(fragment)
    safe = fragment if sanitized else _CLEANER.clean(fragment)
    text = _TAG.sub("", _CELL_END.sub(" ", _BLOCK_END.sub("\n", safe)))
    return _normalize_space(html.unescape(text))


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<[a-zA-Z/!][^>]*>|&[#a-zA-Z0-9]+;", text))


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _normalize_space(text: str) -> str:
    # One pass over the whole text, then a cheap strip per line.
    lines = _SPACES.sub(" ", text).splitlines()
    return _BLANK_LINES.sub("\n\n", "\n".join(line.strip() for line in lines)).strip()
