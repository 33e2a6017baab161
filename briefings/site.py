"""Building one audience's static site: every file as bytes, before anything is written.

Pure: publications and settings in, ``{relative path: bytes}`` out. Pages are
rendered from Jinja2 templates (the workspace's ``templates/site/`` first, then
the shipped ones) with UI text from gettext catalogs and locale formats from
Babel; feeds come from :mod:`briefings.feeds`. The output depends only on the
inputs (no clock), so the same workspace gives the same site.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

import jinja2

from briefings import feeds, i18n, progress
from briefings.config import AudienceConfig
from briefings.errors import PublishError
from briefings.models import BriefingRecord
from briefings.rendering import MIN_PARALLEL, RENDER_VERSION, MarkdownRenderer

Labels = Callable[[str, str], str]  # (concept id, lang) -> label
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
STATIC_FILES = ("style.css", "print.css", "favicon.ico")
FEED_SIZE = 20  # entries per feed: the latest updates; the site's lists have every briefing


class LazyHtml:
    """Markdown to be rendered only if the page is built (not reused from the last
    release). Its ``repr`` is its render key, so a page's data, ``repr``-ed, is a key
    of everything the page is made of without rendering anything."""

    __slots__ = ("_key", "text")

    def __init__(self, text: str):
        self.text = text
        self._key: str | None = None

    def __repr__(self) -> str:
        if self._key is None:
            self._key = f"LazyHtml({MarkdownRenderer.key(self.text)})"
        return self._key


class LiveFile:
    """A file of the live release reused as it is, standing in for its bytes: the writer
    hard-links it and the manifest takes its (checked) digest, so its bytes are only
    read when something needs them (:meth:`read`)."""

    __slots__ = ("digest", "path")

    def __init__(self, path: str, digest: str):
        self.path = path
        self.digest = digest

    def read(self) -> bytes:
        with open(self.path, "rb") as handle:
            return handle.read()


class LazyBytes(Protocol):
    """Bytes not read yet: their SHA-256, and how to read them (checked against it)."""

    @property
    def digest(self) -> str: ...

    def read(self) -> bytes: ...


def content(data: bytes | LiveFile | LazyBytes) -> bytes:
    """The bytes of a built file, read from the live release when it was reused."""
    return data if isinstance(data, bytes) else data.read()


class PageCache:
    """Pages and feeds of the last release that can be reused as they are.

    A file is reused when the key of all its inputs (template sources and catalogs in
    ``fingerprint``, the site and page data, the Markdown's render key) is the one
    recorded for it (``known``: path -> key) and ``fetch(path)`` still returns its bytes
    (the caller checks them against the last signed manifest). ``keys`` holds the key of
    every page built or reused, for the next build."""

    def __init__(
        self,
        fingerprint: str,
        known: dict[str, str],
        fetch: Callable[[str], bytes | LiveFile | None],
        known_units: dict[str, list[str]] | None = None,
    ):
        self.fingerprint = fingerprint
        self.known = known
        self.fetch = fetch
        self.keys: dict[str, str] = {}
        self.reused: set[str] = set()
        # path -> [unit key, page key]: see :meth:`page_key_of`.
        self.known_units = known_units or {}
        self.units: dict[str, list[str]] = {}

    def page_key_of(self, path: str, unit: str) -> str | None:
        """The page key recorded for ``path`` when it was built from the same unit.

        A unit key is a digest of what a page is made of taken at the source (the
        signatures of the publications it shows, the labels it names), cheap to work out;
        the page key is the digest of the page's full data, dear to build. The same unit
        means the same page data, so the page is reused without building its data."""
        found = self.known_units.get(path)
        if found and found[0] == unit and self.known.get(path) == found[1]:
            return found[1]
        return None

    def put_unit(self, path: str, unit: str, key: str) -> None:
        self.units[path] = [unit, key]

    def key(self, *inputs: Any) -> str:
        """A digest of ``inputs`` (built of dicts, lists, strings, numbers, dates,
        dataclasses and :class:`LazyHtml`: their ``repr`` says everything about them)."""
        text = repr(inputs)
        return hashlib.sha256(f"{self.fingerprint}\n{text}".encode()).hexdigest()

    def get(self, path: str, key: str) -> bytes | LiveFile | None:
        if self.known.get(path) != key:
            return None
        data = self.fetch(path)
        if data is not None:
            self.keys[path] = key
            self.reused.add(path)
        return data

    def put(self, path: str, key: str) -> None:
        self.keys[path] = key


SITE_VERSION = "1"  # bump when the code (not the templates) changes what pages say


def build_fingerprint(template_dirs: list[Path], settings: Any) -> str:
    """What every page of a build depends on besides its own data: the templates (the
    workspace's overrides and the shipped ones), the page-text catalogs, the versions of
    the libraries that write pages and feeds, and the builder's settings."""
    from importlib.metadata import PackageNotFoundError, version

    # RENDER_VERSION: units name publications by their bytes, not by their rendering.
    digest = hashlib.sha256(f"site {SITE_VERSION} {RENDER_VERSION}\n{settings!r}\n".encode())
    for name in ("jinja2", "markdown", "nh3", "babel", "feedgen"):
        try:
            digest.update(f"{name} {version(name)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{name} -\n".encode())
    shipped = resources.files("briefings")
    folders = [*template_dirs, Path(str(shipped / "templates" / "site"))]
    folders.append(Path(str(shipped / "locales")))
    for folder in folders:
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and path.suffix in (".j2", ".po", ".css", ".html", ".xml"):
                digest.update(f"{path.relative_to(folder)}\n".encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


@dataclass
class Publication:
    """One briefing in one language, as it will be published.

    ``text`` is the Markdown body, or a function making it from ``raw`` on first use
    (:attr:`body`): a rebuild reuses most pages and never needs most bodies. ``raw`` is
    the bytes, or a file standing in for them (its ``digest``, and ``read()`` checking
    them) when they have not been read: a reused Markdown copy never needs them."""

    record: BriefingRecord
    lang: str
    meta: dict[str, Any]
    text: str | Callable[[], str]
    raw: bytes | LazyBytes
    published: datetime
    updated: datetime
    provenance: dict[str, Any] = field(default_factory=dict)
    withdrawn: dict[str, Any] | None = None
    id: str = field(init=False, repr=False, compare=False)  # the record's (asked 150,000 times)

    def __post_init__(self) -> None:
        self.id = self.record.id

    @property
    def body(self) -> str:
        if not isinstance(self.text, str):
            self.text = self.text()
        return self.text

    @cached_property
    def digest(self) -> str:
        """The SHA-256 of ``raw``."""
        if isinstance(self.raw, bytes):
            return hashlib.sha256(self.raw).hexdigest()
        return self.raw.digest

    @property
    def title(self) -> str:
        return str(self.meta.get("title") or self.record.title)


@lru_cache(maxsize=1 << 16)
def href(from_file: str, to_file: str) -> str:
    """A relative link between two site files, with pretty URLs for index pages.

    Both are paths from the site's root ("en/x/index.html"); string work only
    (``posixpath.relpath`` asks the OS for the current folder on every call), memoised:
    a listing page links the same few concept pages from every summary."""
    here = from_file.split("/")[:-1]
    there = to_file.split("/")
    common = 0
    while common < len(here) and common < len(there) - 1 and here[common] == there[common]:
        common += 1
    target = "../" * (len(here) - common) + "/".join(there[common:])
    if target == "index.html":
        return "./"
    if target.endswith("/index.html"):
        return target[: -len("index.html")]
    return target


def _base_prefix(path: str) -> str:
    """The relative prefix from ``path`` to the site root: "" at the root, "../../" two down."""
    depth = path.count("/")
    return "../" * depth


def slug_of(concept_id: str) -> str:
    return concept_id.split(".", 1)[-1]


class SiteBuilder:
    """Builds the files of one audience's site."""

    def __init__(
        self,
        *,
        audience: AudienceConfig,
        site_title: str,
        languages: list[str],
        source_lang: str,
        labels: Labels,
        renderer: MarkdownRenderer,
        page_size: int,
        template_dirs: list[Path] | None = None,
        demonstration: bool = False,
        status_page: bool = False,
        feed_size: int = FEED_SIZE,
        pages: PageCache | None = None,
        template_cache: Path | None = None,
        render_processes: int = 0,
    ):
        # Worker processes for a build with many texts not rendered before (0: one per CPU).
        self.render_processes = render_processes or os.cpu_count() or 1
        self.template_cache = template_cache  # compiled templates, kept between runs
        if template_cache is not None:
            try:
                template_cache.mkdir(parents=True, exist_ok=True)
            except OSError:
                self.template_cache = None
        self.feed_size = feed_size
        self.pages = pages
        # The rendered Markdown each built file embeds (a page's body, a feed's entries),
        # so that the leak scan reads each such text once, not once per file.
        self.embedded: dict[str, list[str]] = {}
        # A feed entry's rendered Markdown -> the briefing page whose body it is (the leak
        # scan need not read it again when that page passed, see publishing).
        self.embedded_pages: dict[str, str] = {}
        # The SHA-256 of files whose bytes are a publication's (known: not hashed again).
        self.digests: dict[str, str] = {}
        self.demonstration = demonstration
        self.status_page = status_page
        self._corrected_by: dict[str, str] = {}
        self._versions: dict[str, dict[str, Publication]] = {}
        self._signatures: dict[int, str] = {}
        self._signed: list[Publication] = []
        self._labels_by_pub: dict[int, tuple[Publication, tuple[str, ...]]] = {}
        self._versions_signatures: dict[str | None, str] = {}
        self._listing_langs: dict[str, set[str]] = {}
        self._envs: dict[str, jinja2.Environment] = {}
        self.audience = audience
        self.site_title = audience.title or site_title
        self.languages = languages
        self.source_lang = source_lang
        # Memoised for the build: pages and lists ask for the same few labels thousands of times.
        self.labels = lru_cache(maxsize=None)(labels)
        self.renderer = renderer
        self.page_size = page_size
        self.base_url = audience.base_url
        self.template_dirs = tuple(str(p) for p in template_dirs or [])

    def settings(self) -> tuple:
        """The builder's settings, for :func:`build_fingerprint`."""
        return (
            self.audience.name, self.audience.max_tlp.value, self.site_title, self.languages,
            self.source_lang, self.page_size, self.base_url, self.template_dirs,
            self.demonstration, self.status_page, self.feed_size,
        )  # fmt: skip

    # -- templates --------------------------------------------------------------------

    def _env(self, lang: str) -> jinja2.Environment:
        """The builder's template environment for ``lang``, made once. Kept on the builder:
        a cache on the method would keep every builder (each with a whole build's
        publications and pages) alive after its run, and its young objects for the
        garbage collector to walk (measured: 63 ms of a 1.15 s rebuild)."""
        env = self._envs.get(lang)
        if env is None:
            env = self._envs[lang] = self._new_env(lang)
        return env

    def _new_env(self, lang: str) -> jinja2.Environment:
        loaders: list[jinja2.BaseLoader] = [jinja2.FileSystemLoader(d) for d in self.template_dirs]
        loaders.append(jinja2.PackageLoader("briefings", "templates/site"))
        env = _Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=True,
            extensions=["jinja2.ext.i18n"],
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # one build: no stat of every template on every page
            bytecode_cache=(
                jinja2.FileSystemBytecodeCache(str(self.template_cache))
                if self.template_cache
                else None
            ),
        )
        env.install_gettext_translations(i18n.translations(lang), newstyle=True)
        env.globals["gettext"] = _memoised_gettext(env.globals["gettext"])
        return env

    def _page(
        self,
        lang: str,
        template: str,
        path: str,
        page: dict[str, Any] | Callable[[], dict[str, Any]],
        unit: tuple | None = None,
    ) -> bytes | LiveFile:
        """A page from its template, or the same bytes from the last release when every
        input of it is the same (``pages``); ``LazyHtml`` values are rendered only then.

        ``page`` may be a function making the page's data, and ``unit`` what that data
        is made of (see :meth:`PageCache.page_key_of`): when the last build recorded the
        same unit for this path, the page is reused without its data being made."""
        unit_key = None
        if self.pages is not None and unit is not None:
            unit_key = self.pages.key("unit", template, path, unit)
            key = self.pages.page_key_of(path, unit_key)
            reused = self.pages.get(path, key) if key is not None else None
            if reused is not None:
                self.pages.put_unit(path, unit_key, key)
                return reused
        if callable(page):
            page = page()
        site = self._site_context(lang, path)
        key = None
        if self.pages is not None:
            key = self.pages.key(template, path, site, page)
            if unit_key is not None:
                self.pages.put_unit(path, unit_key, key)
            reused = self.pages.get(path, key)
            if reused is not None:
                return reused
        page = {k: self.renderer.render(v.text) if isinstance(v, LazyHtml) else v
                for k, v in page.items()}  # fmt: skip
        self.embedded[path] = [v for k, v in page.items() if k == "html" and v]
        data = self._render(lang, template, path, site, page)
        if self.pages is not None and key is not None:
            self.pages.put(path, key)
        return data

    def _render(
        self, lang: str, template: str, path: str, site: dict[str, Any], page: dict[str, Any]
    ) -> bytes:
        try:
            html = self._env(lang).get_template(template).render(site=site, page=page)
        except jinja2.TemplateError as exc:
            raise PublishError(
                f"template error in {_template_location(exc, template)} while rendering "
                f"{path}: {exc.message or type(exc).__name__}. Fix the template (or remove the "
                f"workspace's override of it) and publish again"
            ) from exc
        return html.encode("utf-8")

    def _site_context(self, lang: str, path: str) -> dict[str, Any]:
        return {
            "title": self.site_title,
            "lang": lang,
            "dir": _text_direction(lang),
            "locale_tag": _locale_tag(lang),
            "base": _base_prefix(path),
            "languages": [
                {
                    "lang": other,
                    "name": _language_name(other),
                    "href": href(path, f"{other}/index.html"),
                    "locale_tag": _locale_tag(other),
                }
                for other in self.languages
            ],
            "audience": self.audience.name,
            "demonstration": self.demonstration,
            "tlp_max": self.audience.max_tlp.value,
            "status_href": href(path, "status.html") if self.status_page else None,
            "public_key_href": href(path, "briefings.pub"),
            "manifest_href": href(path, "manifest.txt"),
            "feeds": {
                "atom": href(path, f"{lang}/feed.atom"),
                "rss": href(path, f"{lang}/feed.rss"),
                "json": href(path, f"{lang}/feed.json"),
                "opml": href(path, f"{lang}/feeds.opml"),
            },
        }

    # -- the build ----------------------------------------------------------------------

    def build(self, publications: list[Publication]) -> dict[str, bytes]:
        """Every file of the site. No page carries the build's time: a page changes only
        when what it shows changes, so a rebuild rewrites only the files an edit affects."""
        files: dict[str, bytes] = {}
        by_lang: dict[str, list[Publication]] = {lang: [] for lang in self.languages}
        for pub in publications:
            by_lang.setdefault(pub.lang, []).append(pub)
        for pubs in by_lang.values():
            pubs.sort(key=lambda p: (p.published, p.id), reverse=True)
        versions: dict[str, dict[str, Publication]] = {}
        for pub in publications:
            versions.setdefault(pub.id, {})[pub.lang] = pub
        # The correction of each corrected briefing: both pages link each other.
        self._corrected_by = {
            str(pub.meta["corrects"]): pub.id
            for pub in sorted(publications, key=lambda p: (p.published, p.id))
            if pub.meta.get("corrects")
        }
        self._versions = versions
        self._versions_signatures = {}
        concepts = {
            (lang, category): self._grouped(pubs, category)
            for lang, pubs in by_lang.items()
            for category in ("sector", "threat")
        }
        # Which listing folders exist in which languages: only those are alternates.
        self._listing_langs: dict[str, set[str]] = {"": set(by_lang)}
        for (lang, category), groups in concepts.items():
            for concept in groups:
                self._listing_langs.setdefault(self._listing_folder(category, concept), set()).add(
                    lang
                )
        self._render_ahead(publications)
        progress.notify("pages", audience=self.audience.name, total=len(publications))
        for lang, pubs in by_lang.items():
            for done, pub in enumerate(pubs, 1):
                files.update(self._briefing_files(pub, versions[pub.id]))
                if done % 32 == 0 or done == len(pubs):  # (a rebuild reuses 8,000 in a second)
                    progress.notify("pages-built", count=32 if done % 32 == 0 else done % 32)
            files.update(self._listing_files(lang, pubs, "index", None))
            for category in ("sector", "threat"):
                for concept, chosen in sorted(concepts[(lang, category)].items()):
                    files.update(self._listing_files(lang, chosen, category, concept))
            files.update(self._feed_files(lang, pubs, concepts[(lang, "sector")]))
        files["index.html"] = self._root()
        files["sitemap.xml"] = self._sitemap(files, versions)
        files["robots.txt"] = (
            f"User-agent: *\nAllow: /\nSitemap: {self.base_url}sitemap.xml\n".encode()
        )
        for name in STATIC_FILES:
            files[name] = (resources.files("briefings") / "templates" / "site" / name).read_bytes()
        return files

    def _render_ahead(self, publications: list[Publication]) -> None:
        """When the render cache holds fewer than half of the publications (a first
        build, an emptied cache), render their Markdown in worker processes first: it is
        most of a build's time. Otherwise each page renders its own, if it is built."""
        if self.render_processes <= 1 or len(publications) < MIN_PARALLEL:
            return
        if self.renderer.cached_count() >= len(publications) // 2:
            return
        self.renderer.render_many(
            (_without_title(p.body, p.title) for p in publications if not p.withdrawn),
            self.render_processes,
        )

    def _grouped(self, pubs: list[Publication], category: str) -> dict[str, list[Publication]]:
        """The publications of each concept of ``category``, in the order of ``pubs``."""
        groups: dict[str, list[Publication]] = {}
        for pub in pubs:
            for concept in dict.fromkeys(self._concepts(pub, category)):
                groups.setdefault(concept, []).append(pub)
        return groups

    @staticmethod
    def _listing_folder(category: str, concept: str | None) -> str:
        if category == "index" or concept is None:
            return ""
        return f"{'sectors' if category == 'sector' else 'threats'}/{slug_of(concept)}/"

    def _version_path(self, briefing_id: str, lang: str) -> str | None:
        """The page of ``briefing_id`` in ``lang``, else in its original language."""
        versions = self._versions.get(briefing_id) or {}
        if lang in versions:
            return self._briefing_path(lang, briefing_id)
        for pub in versions.values():
            if not pub.provenance.get("original_lang"):
                return self._briefing_path(pub.lang, briefing_id)
        return None

    @staticmethod
    def _concepts(pub: Publication, category: str) -> list[str]:
        return list(pub.meta.get(f"{category}s") or [])

    def _briefing_path(self, pub_lang: str, briefing_id: str) -> str:
        return f"{pub_lang}/{briefing_id}/index.html"

    def _concept_links(self, pub: Publication, category: str, path: str) -> list[dict[str, str]]:
        folder = {"sector": "sectors", "threat": "threats"}[category]
        return [
            {
                "label": self.labels(c, pub.lang),
                "href": href(path, f"{pub.lang}/{folder}/{slug_of(c)}/index.html"),
            }
            for c in self._concepts(pub, category)
        ]

    def _briefing_files(
        self, pub: Publication, versions: dict[str, Publication]
    ) -> dict[str, bytes | LiveFile]:
        path = self._briefing_path(pub.lang, pub.id)

        def page_data() -> dict[str, Any]:
            alternates = [
                {
                    "locale_tag": _locale_tag(lang),
                    "href": href(path, self._briefing_path(lang, pub.id)),
                    "lang": lang,
                }
                for lang in self.languages
                if lang in versions
            ]
            provenance = dict(pub.provenance)
            original = provenance.get("original_lang")
            provenance.setdefault("machine_translated", False)
            provenance.setdefault("package", None)
            provenance.setdefault("reviewed_by", [])
            provenance["original_href"] = (
                href(path, self._briefing_path(original, pub.id)) if original else None
            )
            provenance["original_lang_name"] = _language_name(original) if original else None
            provenance.pop("original_lang", None)
            correction = None
            if pub.meta.get("corrects"):
                earlier = self._version_path(str(pub.meta["corrects"]), pub.lang)
                correction = {
                    "corrects_href": href(path, earlier) if earlier else None,
                    "changes": str(pub.meta.get("changes") or ""),
                }
            corrected_by = None
            if pub.id in self._corrected_by:
                later = self._version_path(self._corrected_by[pub.id], pub.lang)
                corrected_by = {"href": href(path, later) if later else None}
            withdrawn = None
            if pub.withdrawn:
                withdrawn = {
                    "reason": pub.withdrawn["reason"],
                    "date": _format_date(pub.withdrawn["at"], pub.lang),
                }
            return {
                "kind": "briefing",
                "id": pub.id,
                "title": pub.title,
                "html": "" if withdrawn else LazyHtml(_without_title(pub.body, pub.title)),
                "date": _format_date(pub.published, pub.lang),
                "datetime": pub.published.isoformat(),
                "updated": _format_date(pub.updated, pub.lang),
                "updated_datetime": pub.updated.isoformat(),
                "tlp": pub.record.tlp.value,
                "briefing_kind": pub.record.kind,
                "sectors": self._concept_links(pub, "sector", path),
                "threats": self._concept_links(pub, "threat", path),
                "countries": list(pub.meta.get("countries") or []),
                "provenance": provenance,
                "correction": correction,
                "corrected_by": corrected_by,
                "withdrawn": withdrawn,
                "claim_review_json": None if withdrawn else self._claim_review(pub),
                "markdown_href": href(path, f"{pub.lang}/{pub.id}.md"),
                "alternates": alternates,
            }

        unit = self._briefing_unit(pub, versions)
        out = {path: self._page(pub.lang, "briefing.html.j2", path, page_data, unit)}
        if not pub.withdrawn:
            out[f"{pub.lang}/{pub.id}.md"] = pub.raw
            self.digests[f"{pub.lang}/{pub.id}.md"] = pub.digest
        return out

    # -- units: what a page is made of, cheap to work out (see PageCache.page_key_of) --

    def _signature(self, pub: Publication) -> str:
        """Everything this builder reads of a publication: its bytes (its front matter and
        text are parsed from them), its record's id, TLP label, kind and title, its
        language, dates, provenance and withdrawal. Nothing else of it may be read by a
        page that has a unit (a test changes each of these and checks the page)."""
        found = self._signatures.get(id(pub))
        if found is None:
            read = (
                pub.digest, pub.record.id, pub.lang,
                pub.record.tlp.value, pub.record.kind, pub.record.title, pub.published,
                pub.updated, pub.provenance, pub.withdrawn,
            )  # fmt: skip
            # One short digest: units name each publication several times.
            found = hashlib.sha256(repr(read).encode()).hexdigest()
            self._signatures[id(pub)] = found
            self._signed.append(pub)  # kept alive: its id is not reused in this build
        return found

    def _labels_of(self, pub: Publication) -> tuple[str, ...]:
        """The labels a page shows for the publication's sectors and threats (asked for
        by its page and each list it is on: worked out once per build)."""
        found = self._labels_by_pub.get(id(pub))
        if found is None:
            labels = tuple(
                self.labels(c, pub.lang)
                for category in ("sector", "threat")
                for c in self._concepts(pub, category)
            )
            # The pub is kept with them: its id() is not reused by another in this build.
            found = self._labels_by_pub[id(pub)] = (pub, labels)
        return found[1]

    def _versions_signature(self, briefing_id: str | None) -> str:
        """One digest of the signatures of a briefing in every language (each of its
        pages asks, three times: a short string keeps the units quick to digest)."""
        found = self._versions_signatures.get(briefing_id)
        if found is None:
            versions = (self._versions.get(briefing_id) or {}) if briefing_id else {}
            signed = tuple((lang, self._signature(v)) for lang, v in sorted(versions.items()))
            found = hashlib.sha256(repr(signed).encode()).hexdigest() if signed else ""
            self._versions_signatures[briefing_id] = found
        return found

    def _briefing_unit(self, pub: Publication, versions: dict[str, Publication]) -> tuple:
        """What a briefing page is made of: the briefing in every language (alternates,
        the original), the briefing it corrects and the one correcting it, its labels."""
        corrects = str(pub.meta["corrects"]) if pub.meta.get("corrects") else None
        later = self._corrected_by.get(pub.id)  # ``versions`` are self._versions[pub.id]
        return (
            "briefing", pub.lang, self._signature(pub), self._versions_signature(pub.id),
            corrects, self._versions_signature(corrects), later, self._versions_signature(later),
            self._labels_of(pub),
        )  # fmt: skip

    def _claim_review(self, pub: Publication) -> str | None:
        if pub.record.kind != "debunk" or not pub.meta.get("claim"):
            return None
        evidence = [
            e.get("url")
            for e in pub.meta.get("evidence") or []
            if isinstance(e, dict) and e.get("url")
        ]
        data = {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": f"{self.base_url}{pub.lang}/{pub.id}/",
            "inLanguage": _locale_tag(pub.lang),
            "datePublished": pub.published.date().isoformat(),
            "claimReviewed": str(pub.meta["claim"]),
            "itemReviewed": {"@type": "Claim", "appearance": evidence},
            "author": {"@type": "Organization", "name": self.site_title},
            "reviewRating": {
                "@type": "Rating",
                "alternateName": str(pub.meta.get("rating") or "unrated"),
            },
        }
        # "</" would end the script element early; JSON allows "<\/".
        return json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")

    def _listing_files(
        self, lang: str, pubs: list[Publication], kind: str, concept: str | None
    ) -> dict[str, bytes | LiveFile]:
        folder = self._listing_folder(kind, concept)
        languages = self._listing_langs.get(folder, {lang})
        pages = max(1, -(-len(pubs) // self.page_size))
        out = {}
        for number in range(1, pages + 1):
            path = (
                f"{lang}/{folder}index.html"
                if number == 1
                else f"{lang}/{folder}page/{number}/index.html"
            )
            chunk = pubs[(number - 1) * self.page_size : number * self.page_size]

            def page_path(n: int) -> str:
                return (
                    f"{lang}/{folder}index.html"
                    if n == 1
                    else f"{lang}/{folder}page/{n}/index.html"
                )

            def page_data(path: str = path, number: int = number, chunk=chunk) -> dict[str, Any]:
                return {
                    "kind": kind,
                    "title": self.labels(concept, lang) if concept else self.site_title,
                    "heading": self.labels(concept, lang) if concept else None,
                    "briefings": [self._summary(p, path) for p in chunk],
                    "pagination": {
                        "page": number,
                        "pages": pages,
                        "prev_href": href(path, page_path(number - 1)) if number > 1 else None,
                        "next_href": href(path, page_path(number + 1)) if number < pages else None,
                    },
                    "alternates": [
                        {
                            "locale_tag": _locale_tag(other),
                            "href": href(path, f"{other}/{folder}index.html"),
                            "lang": other,
                        }
                        for other in self.languages
                        if other in languages
                    ],
                    "feeds": (
                        {
                            ext: href(path, f"{lang}/{folder}feed.{ext}")
                            for ext in ("atom", "rss", "json")
                        }
                        if kind == "sector"
                        else None
                    ),
                    "tlp": None,
                }

            unit = (
                "listing", lang, kind, concept, self.labels(concept, lang) if concept else None,
                number, pages, tuple(sorted(languages)),
                tuple((self._signature(p), self._labels_of(p)) for p in chunk),
            )  # fmt: skip
            out[path] = self._page(lang, "index.html.j2", path, page_data, unit)
        return out

    def _summary(self, pub: Publication, path: str) -> dict[str, Any]:
        return {
            "id": pub.id,
            "href": href(path, self._briefing_path(pub.lang, pub.id)),
            "title": pub.title,
            "kind": pub.record.kind,
            "date": _format_date(pub.published, pub.lang),
            "datetime": pub.published.isoformat(),
            "summary": "" if pub.withdrawn else _summary_of(pub),
            "tlp": pub.record.tlp.value,
            "sectors": self._concept_links(pub, "sector", path),
            "threats": self._concept_links(pub, "threat", path),
            "machine_translated": bool(pub.provenance.get("machine_translated")),
            "withdrawn": bool(pub.withdrawn),
        }

    def _feed_inputs(self, pubs: list[Publication]) -> list[tuple]:
        """What the entries of a feed are made of, without rendering or even reading a
        body: each publication's signature (its bytes give its summary and content) and
        the labels of its sectors."""
        return [(self._signature(pub), self._labels_of(pub)) for pub in pubs]

    def _feed_entries(self, pubs: list[Publication]) -> list[feeds.FeedEntry]:
        entries = []
        for pub in pubs:
            url = f"{self.base_url}{pub.lang}/{pub.id}/"
            status = (
                "withdrawn"
                if pub.withdrawn
                else ("corrected" if pub.meta.get("corrects") else "published")
            )
            content = (
                f"<p>{xml_escape(str(pub.withdrawn['reason']))}</p>"
                if pub.withdrawn
                else self.renderer.render(_without_title(pub.body, pub.title))
            )  # the page's own rendering: each text is rendered once
            entries.append(
                feeds.FeedEntry(
                    id=f"{self.base_url}{pub.lang}/{pub.id}/",
                    url=url,
                    title=pub.title,
                    summary="" if pub.withdrawn else _summary_of(pub),
                    content_html=content,
                    published=pub.published,
                    updated=pub.updated,
                    lang=pub.lang,
                    categories=tuple(
                        self.labels(c, pub.lang) for c in self._concepts(pub, "sector")
                    ),
                    status=status,
                )
            )
        return entries

    def _feed_files(
        self, lang: str, pubs: list[Publication], sectors: dict[str, list[Publication]]
    ) -> dict[str, bytes]:
        out: dict[str, bytes] = {}
        listed: list[tuple[str, str, str, str]] = []

        def add(folder: str, title: str, chosen: list[Publication]) -> None:
            # The latest updates (new, corrected, withdrawn); a feed is as new as its newest
            # entry, so it changes only when one of its entries does.
            # (sorted(..., reverse=True)[:size], without sorting a language's thousands)
            chosen = heapq.nlargest(self.feed_size, chosen, key=lambda p: (p.updated, p.id))
            updated = max((p.updated for p in chosen), default=EPOCH)
            feed_url = f"{self.base_url}{lang}/{folder}feed"
            info = feeds.FeedInfo(
                id=f"{feed_url}.atom", title=title, subtitle=self.site_title, lang=lang,
                site_url=f"{self.base_url}{lang}/{folder}", feed_url=feed_url, updated=updated,
                author=self.site_title,
            )  # fmt: skip
            paths = [f"{lang}/{folder}feed.{ext}" for ext in ("atom", "rss", "json")]
            key = None
            if self.pages is not None:
                key = self.pages.key("feeds", folder, info, self._feed_inputs(chosen))
                reused = [self.pages.get(path, key) for path in paths]
                if all(data is not None for data in reused):
                    out.update(zip(paths, reused, strict=True))
                    listed.append((title, f"{feed_url}.atom", info.site_url, "atom"))
                    return
            entries = self._feed_entries(chosen)
            for path in paths:
                self.embedded[path] = [e.content_html for e in entries if e.content_html]
            for pub, entry in zip(chosen, entries, strict=True):
                if not pub.withdrawn and entry.content_html:
                    page = self._briefing_path(pub.lang, pub.id)
                    self.embedded_pages[entry.content_html] = page
            out[paths[0]] = feeds.atom_feed(info, entries)
            out[paths[1]] = feeds.rss_feed(info, entries)
            out[paths[2]] = feeds.json_feed(info, entries)
            if self.pages is not None and key is not None:
                for path in paths:
                    self.pages.put(path, key)
            listed.append((title, f"{feed_url}.atom", info.site_url, "atom"))

        add("", self.site_title, pubs)
        for concept, chosen in sorted(sectors.items()):
            label = self.labels(concept, lang)
            add(f"sectors/{slug_of(concept)}/", f"{self.site_title}: {label}", chosen)
        out[f"{lang}/feeds.opml"] = feeds.opml(self.site_title, lang, listed)
        return out

    def _root(self) -> bytes:
        lang = self.source_lang
        page = {
            "kind": "root",
            "title": self.site_title,
            "alternates": [
                {"locale_tag": _locale_tag(other), "href": f"{other}/", "lang": other}
                for other in self.languages
            ],
        }
        return self._page(lang, "root.html.j2", "index.html", page)

    def _sitemap(
        self, files: dict[str, bytes], versions: dict[str, dict[str, Publication]]
    ) -> bytes | LiveFile:
        """The sitemap: every page, and each briefing page's versions. The same pages and
        versions as the last build: its sitemap, reused."""
        pages = sorted(p for p in files if p.endswith("index.html"))
        key = None
        if self.pages is not None:
            shown = "\n".join(pages)
            langs = sorted((i, tuple(sorted(v))) for i, v in versions.items())
            key = self.pages.key("sitemap", self.base_url, shown, langs)
            reused = self.pages.get("sitemap.xml", key)
            if reused is not None:
                return reused
        data = self._sitemap_bytes(pages, versions)
        if self.pages is not None and key is not None:
            self.pages.put("sitemap.xml", key)
        return data

    def _sitemap_bytes(
        self, pages: list[str], versions: dict[str, dict[str, Publication]]
    ) -> bytes:
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">',
        ]
        alternates: dict[str, list[str]] = {}  # the same lines on each version's entry
        for path in pages:
            url = self.base_url + path.removesuffix("index.html")
            lines.append(f"<url><loc>{xml_escape(url)}</loc>")
            parts = path.split("/")
            if len(parts) == 3 and parts[1] in versions:
                found = alternates.get(parts[1])
                if found is None:
                    found = alternates[parts[1]] = [
                        f'<xhtml:link rel="alternate" hreflang={quoteattr(_locale_tag(lang))} '
                        f"href={quoteattr(f'{self.base_url}{lang}/{parts[1]}/')}/>"
                        for lang in sorted(versions[parts[1]])
                    ]
                lines += found
            lines.append("</url>")
        lines.append("</urlset>")
        return ("\n".join(lines) + "\n").encode("utf-8")


_DICT_ATTRIBUTES = frozenset(dir(dict))


class _Environment(jinja2.Environment):
    """Jinja2's environment, reading ``page.title`` from a dict by key first.

    Jinja2 tries the attribute first, and a dict has none by that name: every ``page.x``
    and ``site.x`` raised and caught an AttributeError (a third of a page's rendering).
    Names a dict does have ("items") go Jinja2's own way, and so does a missing key:
    the same value in every case."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def _memoised_gettext(gettext: Callable[..., str]) -> Callable[..., str]:
    """Jinja2's new-style ``gettext`` with the answers to plain strings kept: a page asks
    for some thirty, the same on every page. With variables it is asked every time (the
    values go into the text); the answer also depends on autoescaping, which is keyed."""
    answers: dict[tuple[str, bool], str] = {}

    @jinja2.pass_context
    def memoised(context: Any, string: str, **variables: Any) -> str:
        if variables:
            return gettext(context, string, **variables)
        key = (string, context.eval_ctx.autoescape)
        found = answers.get(key)
        if found is None:
            found = answers[key] = gettext(context, string)
        return found

    return memoised


def _without_title(body: str, title: str) -> str:
    """The body without a leading "# title" heading: the page shows the title itself."""
    first, _, rest = body.lstrip().partition("\n")
    if first.startswith("# ") and first[2:].strip().replace("\\", "") == title.strip():
        return rest.lstrip("\n")
    return body


def _summary_of(pub: Publication) -> str:
    """The front matter's summary (translated with the page), else the first paragraph."""
    summary = pub.meta.get("summary")
    return " ".join(str(summary).split())[:400] if summary else _first_paragraph(pub.body)


def _first_paragraph(body: str) -> str:
    """The first paragraph of prose in a Markdown body, as plain text."""
    for block in body.split("\n\n"):
        text = block.strip()
        if text and not text.startswith(("#", "|", "-", "*", ">", "```")):
            return " ".join(text.split())[:400]
    return ""


def _template_location(exc: jinja2.TemplateError, template: str) -> str:
    """ "file, line N" of a template error: a syntax error carries it; an error while
    rendering is found in the traceback, whose template frames Jinja2 rewrites to point
    at the template's own file and line."""
    filename = getattr(exc, "filename", None)
    lineno = getattr(exc, "lineno", None)
    if not filename:
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_code.co_filename
            if name.endswith((".j2", ".html", ".xml")):
                filename, lineno = name, tb.tb_lineno
            tb = tb.tb_next
    where = filename or getattr(exc, "name", None) or template
    return f"{where}, line {lineno}" if lineno else str(where)


@lru_cache(maxsize=8192)
def _format_date(moment: datetime, lang: str) -> str:
    """A date in ``lang``'s format (memoised: listings show the same dates many times)."""
    return i18n.format_date(moment, lang)


def forget_build_memos() -> None:
    """Empty the memos a build fills with its own links and dates (:func:`href`,
    :func:`_format_date`); the publishing stage calls it when a build ends.

    They spare work within a build. Kept after it, in a process that lives on (a test
    run, the benchmark, a program calling ``publish_site`` again), they hold tens of
    thousands of small objects made among a build's millions, which spread the next
    build's objects over more of the memory: a process that kept every 97th of three
    million objects it had made rebuilt the 2,000-briefing bench site 12 % slower than
    one that did not (measured alternately); the bench's steady rebuilds after a full
    build in the same process took 1.13-1.17 s with the memos kept and 1.03-1.10 s with
    them emptied (runs an hour apart; the machine moves such figures by a tenth)."""
    href.cache_clear()
    _format_date.cache_clear()


# Babel parses a locale on every call: memoised, as pages ask for the same few languages.
_language_name = lru_cache(maxsize=256)(i18n.language_name)
_locale_tag = lru_cache(maxsize=256)(i18n.locale_tag)
_text_direction = lru_cache(maxsize=256)(i18n.text_direction)
