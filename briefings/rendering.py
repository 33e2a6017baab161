"""Markdown to safe HTML: Python-Markdown with tables, footnotes, a table of contents
and attribute lists, then nh3, so nothing in a briefing (or smuggled into it from a
feed) can run in a reader's browser. Rendering is cached by content hash."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import markdown
import nh3

EXTENSIONS = [
    "tables",
    "footnotes",
    "toc",
    "attr_list",
    "fenced_code",
    "sane_lists",
    "def_list",
    "abbr",
]
EXTENSION_CONFIGS = {"toc": {"permalink": False}, "footnotes": {"BACKLINK_TEXT": "↩"}}
RENDER_VERSION = "1"  # bump when the output of the same Markdown changes

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "dd", "del", "div", "dl", "dt",
    "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "ul", "bdi", "bdo", "time",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"id", "lang", "dir", "title"},
    "a": {"href", "hreflang"},
    "abbr": {"title"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "scope", "align"},
    "ol": {"start"},
    "time": {"datetime"},
}
ALLOWED_CLASSES = {
    "div": {"footnote", "toc"},
    "sup": {"footnote-ref"},
    "a": {"footnote-ref", "footnote-backref"},
    "span": {"indicator"},
    "code": {"indicator"},
}


def sanitize(html: str) -> str:
    """The one HTML policy of published pages."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        allowed_classes={k: set(v) for k, v in ALLOWED_CLASSES.items()},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
        clean_content_tags={"script", "style", "iframe", "object", "template"},
    )


class MarkdownRenderer:
    """Thread-safe, cached Markdown rendering (memory, and a folder when given)."""

    def __init__(self, cache_dir: Path | None = None):
        self.cache_dir = cache_dir
        self._memory: dict[str, str] = {}
        self._local = threading.local()
        self.rendered = 0  # how many texts were actually rendered (not cached)

    def _md(self) -> markdown.Markdown:
        md = getattr(self._local, "md", None)
        if md is None:
            md = markdown.Markdown(
                extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
            )
            self._local.md = md
        return md

    @staticmethod
    def key(text: str) -> str:
        """What identifies the rendering of ``text``: its hash and the render version."""
        return hashlib.sha256(f"{RENDER_VERSION}\n{text}".encode()).hexdigest()

    def render(self, text: str) -> str:
        key = self.key(text)
        cached = self._memory.get(key)
        if cached is not None:
            return cached
        path = self.cache_dir / f"{key}.html" if self.cache_dir else None
        if path is not None and path.exists():
            html = path.read_text("utf-8")
        else:
            md = self._md()
            md.reset()
            html = sanitize(md.convert(text))
            self.rendered += 1
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
                tmp.write_text(html, "utf-8")
                tmp.replace(path)
        self._memory[key] = html
        return html
