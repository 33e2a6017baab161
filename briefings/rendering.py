"""Markdown to safe HTML: Python-Markdown with tables, footnotes, a table of contents
and attribute lists, then nh3, so nothing in a briefing (or smuggled into it from a
feed) can run in a reader's browser. Rendering is cached by content hash."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

import markdown
import nh3

from briefings import progress
from briefings.fast_markdown import FastMarkdown

log = logging.getLogger(__name__)

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


MIN_PARALLEL = 64  # fewer texts than this are rendered in the publishing process


def new_markdown() -> markdown.Markdown:
    """A Markdown converter with the renderer's extensions (reset it between texts):
    Python-Markdown's output, faster (:mod:`briefings.fast_markdown`)."""
    return FastMarkdown(
        extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
    )


def _render_in_workers(shares: list[list[str]]) -> list[list[str]] | None:
    """Each share rendered by its own ``python -m briefings.render_worker``, all at
    once; None (after a warning) if a worker cannot start or fails."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p
    )}  # fmt: skip
    results: list[list[str]] = [[] for _ in shares]
    errors: list[str] = []

    def run(index: int) -> None:
        # Its error output goes to a file: a full pipe nobody reads would stop it.
        with tempfile.TemporaryFile() as stderr:
            try:
                worker = subprocess.Popen(
                    [sys.executable, "-m", "briefings.render_worker"], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=stderr, env=env,
                )  # fmt: skip
            except OSError as exc:
                errors.append(str(exc))
                return
            feeder = threading.Thread(target=_feed, args=(worker, shares[index]), daemon=True)
            feeder.start()
            assert worker.stdout is not None
            done = results[index]
            for line in worker.stdout:
                done.append(json.loads(line))
                if len(done) % 16 == 0:
                    progress.notify("renders-done", count=16)
            progress.notify("renders-done", count=len(done) % 16)
            feeder.join()
            if worker.wait() != 0 or len(done) != len(shares[index]):
                stderr.seek(0)
                said = stderr.read().decode("utf-8", "replace").strip().splitlines()
                errors.append(said[-1] if said else f"exit status {worker.returncode}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(shares))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        log.warning("cannot render Markdown in worker processes (%s); rendering here", errors[0])
        return None
    return results


def _feed(worker: subprocess.Popen, texts: list[str]) -> None:
    """Write a worker's texts and close its input (in a thread: it answers meanwhile)."""
    assert worker.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        worker.stdin.write(json.dumps(texts).encode("utf-8"))
    with contextlib.suppress(BrokenPipeError):
        worker.stdin.close()


class MarkdownRenderer:
    """Thread-safe, cached Markdown rendering: in memory, and in a SQLite file in
    ``cache_dir`` when given (one row per rendered text, written in one transaction by
    :meth:`flush`, so a build with thousands of new texts does not pay a file each)."""

    def __init__(self, cache_dir: Path | None = None):
        self.cache_dir = cache_dir
        self._memory: dict[str, str] = {}
        self._pending: dict[str, str] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._db_failed = False
        self.rendered = 0  # how many texts were actually rendered (not cached)

    def _md(self) -> markdown.Markdown:
        md = getattr(self._local, "md", None)
        if md is None:
            md = self._local.md = new_markdown()
        return md

    def _connection(self) -> sqlite3.Connection | None:
        if self.cache_dir is None or self._db_failed:
            return None
        if self._db is None:
            try:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(
                    self.cache_dir / "renders.sqlite", timeout=10, check_same_thread=False
                )
                db.execute("CREATE TABLE IF NOT EXISTS renders (key TEXT PRIMARY KEY, html TEXT)")
                self._db = db
            except (OSError, sqlite3.Error) as exc:  # a cache: rendering goes on without it
                log.warning("render cache unavailable in %s: %s", self.cache_dir, exc)
                self._db_failed = True
        return self._db

    @staticmethod
    def key(text: str) -> str:
        """What identifies the rendering of ``text``: its hash and the render version."""
        return hashlib.sha256(f"{RENDER_VERSION}\n{text}".encode()).hexdigest()

    def _cached(self, key: str) -> str | None:
        with self._lock:
            db = self._connection()
            if db is None:
                return None
            try:
                row = db.execute("SELECT html FROM renders WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error:
                return None
        return row[0] if row else None

    def render(self, text: str) -> str:
        key = self.key(text)
        cached = self._memory.get(key)
        if cached is not None:
            return cached
        html = self._cached(key)
        if html is None:
            md = self._md()
            md.reset()
            html = sanitize(md.convert(text))
            self.rendered += 1
            with self._lock:
                self._pending[key] = html
        self._memory[key] = html
        return html

    def cached_count(self) -> int:
        """How many renderings the cache file holds (0 without one)."""
        with self._lock:
            db = self._connection()
            if db is None:
                return 0
            try:
                return int(db.execute("SELECT COUNT(*) FROM renders").fetchone()[0])
            except sqlite3.Error:
                return 0

    def render_many(self, texts: Iterable[str], processes: int) -> int:
        """Render, in ``processes`` worker processes, those of ``texts`` that are not
        cached yet, so that :meth:`render` then finds them: a first build renders
        thousands of texts, and Markdown is most of its time. Returns how many were
        rendered; with fewer than :data:`MIN_PARALLEL` texts to render, or one process,
        it renders nothing (each page renders its own)."""
        if processes <= 1:
            return 0
        todo = {key: text for text in texts if (key := self.key(text)) not in self._memory}
        stored: set[str] = set()
        with self._lock:
            db = self._connection()
            if db is not None and len(todo) >= MIN_PARALLEL:
                with contextlib.suppress(sqlite3.Error):
                    stored = {row[0] for row in db.execute("SELECT key FROM renders")}
        todo = {key: text for key, text in todo.items() if key not in stored}
        if len(todo) < MIN_PARALLEL:
            return 0
        keys, pending = list(todo), list(todo.values())
        progress.notify("renders", total=len(pending), processes=processes)
        shares = [pending[i::processes] for i in range(processes)]  # similar sizes
        results = _render_in_workers(shares)
        if results is None:
            return 0
        rendered = [""] * len(pending)
        for i, share in enumerate(results):
            rendered[i::processes] = share
        with self._lock:
            for key, html in zip(keys, rendered, strict=True):
                self._memory[key] = html
                self._pending[key] = html
        self.rendered += len(rendered)
        return len(rendered)

    def flush(self) -> None:
        """Store the texts rendered since the last flush (quietly skipped on errors)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            db = self._connection()
            if db is None or not pending:
                return
            try:
                with db:
                    db.executemany(
                        "INSERT OR REPLACE INTO renders (key, html) VALUES (?, ?)",
                        pending.items(),
                    )
            except sqlite3.Error as exc:
                log.warning("cannot store rendered Markdown in %s: %s", self.cache_dir, exc)

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
