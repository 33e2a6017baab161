"""Untrusted HTML from feeds and advisories made safe, and plain text drawn from it.

nh3 (ammonia) does the sanitizing: it is both faster and easier to reason about
than feedparser's own sanitizer, which ingestion therefore turns off.
"""

from __future__ import annotations

import html
import re
from functools import lru_cache
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
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")


@lru_cache(maxsize=256)
def _cleaner(base_url: str | None) -> nh3.Cleaner:
    def resolve(url: str) -> str | None:
        absolute = urljoin(base_url, url) if base_url else url
        return absolute if urlsplit(absolute).scheme in URL_SCHEMES else None

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
        url_relative=resolve if base_url else "deny",
    )


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """Safe HTML: no scripts, event handlers, styles, embedded objects or images,
    and links only to http(s) and mailto; relative links resolved against
    ``base_url`` (dropped when there is none).
    """
    if not fragment:
        return ""
    return _cleaner(base_url).clean(fragment).strip()


def html_to_text(fragment: str) -> str:
    """Readable plain text of an HTML fragment (blocks become lines)."""
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return _normalize_space(fragment)
    safe = _cleaner(None).clean(fragment)
    text = _TAG.sub("", _CELL_END.sub(" ", _BLOCK_END.sub("\n", safe)))
    return _normalize_space(html.unescape(text))


def looks_like_html(text: str) -> bool:
    return bool(re.search(r"<[a-zA-Z/!][^>]*>|&[#a-zA-Z0-9]+;", text))


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs."""
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)


def _normalize_space(text: str) -> str:
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
