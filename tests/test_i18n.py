"""Page text, locales and the site templates: catalogs complete and consistent, dates
and numbers per locale, and every template rendered in every language.

Real Babel (extraction with the README's own command, .po reading, in-memory
compiling) and real Jinja2 with the i18n extension; no mocks.
"""

from __future__ import annotations

import gettext
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined

from briefings import i18n
from briefings.i18n import (
    SUPPORTED,
    catalog_path,
    format_date,
    format_datetime,
    format_number,
    language_name,
    locale_tag,
    text_direction,
    translations,
)

PACKAGE = Path(i18n.__file__).parent
LOCALES = PACKAGE / "locales"
TEMPLATES = PACKAGE / "templates" / "site"
PAGES = ("root.html.j2", "index.html.j2", "briefing.html.j2")
# printf-style conversions, named or not; "%%" is a literal percent sign.
_CONVERSION = re.compile(r"%(?:\((\w+)\))?[#0 +-]*\d*(?:\.\d+)?([diouxXeEfFgGcrsa%])")


# -- catalogs -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """Every msgid the templates and feeds.py use, extracted as the README says."""
    out = tmp_path_factory.mktemp("pot") / "site.pot"
    CommandLineInterface().run(
        [
            "pybabel", "-q", "extract", "-F", str(LOCALES / "babel.cfg"), "--no-location",
            "-o", str(out), str(TEMPLATES), str(PACKAGE / "feeds.py"),
        ]
    )  # fmt: skip
    with out.open("rb") as pot:
        return {message.id: message for message in read_po(pot) if message.id}


def _catalog(lang: str):
    with (LOCALES / lang / "LC_MESSAGES" / "site.po").open("rb") as po:
        return read_po(po)


def _placeholders(text: str) -> set[str]:
    names = set()
    for match in _CONVERSION.finditer(text):
        if match.group(2) == "%":
            continue
        assert match.group(1), f"unnamed placeholder {match.group(0)!r} in {text!r}"
        names.add(match.group(1))
    return names


def test_extraction_finds_the_page_text(extracted):
    assert "Skip to content" in extracted
    assert ("%(num)s briefing", "%(num)s briefings") in extracted
    assert "Withdrawn: %(title)s" in extracted  # from feeds.py as well as the templates
    assert len(extracted) > 40


def test_the_committed_template_is_current(extracted):
    with (LOCALES / "site.pot").open("rb") as pot:
        committed = {message.id for message in read_po(pot) if message.id}
    assert committed == set(extracted), "run the extract command in briefings/locales/README.md"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_catalog_translates_every_msgid(lang, extracted):
    catalog = _catalog(lang)
    missing = [msgid for msgid in extracted if catalog.get(msgid) is None]
    assert not missing, f"{lang}: not in site.po (run pybabel update): {missing}"
    stale = [m.id for m in catalog if m.id and m.id not in extracted]
    assert not stale, f"{lang}: no longer used by any template: {stale}"
    for msgid in extracted:
        message = catalog.get(msgid)
        assert not message.fuzzy, f"{lang}: fuzzy (unused at run time): {msgid!r}"
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.pluralizable:
            assert len(forms) == catalog.num_plurals, f"{lang}: plural forms of {msgid!r}"
        assert all(form.strip() for form in forms), f"{lang}: empty translation of {msgid!r}"


@pytest.mark.parametrize("lang", SUPPORTED)
def test_placeholders_match(lang, extracted):
    catalog = _catalog(lang)
    for msgid in extracted:
        message = catalog.get(msgid)
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        wanted = set().union(*(_placeholders(text) for text in ids))
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            found = _placeholders(form)
            if message.pluralizable:
                # A form may name its number in words (Arabic 0, 1, 2) but not invent one.
                assert found <= wanted, f"{lang}: {form!r} has placeholders not in {msgid!r}"
            else:
                assert found == wanted, f"{lang}: {form!r} vs {msgid!r}"
            # Jinja2's newstyle gettext always formats: the text must survive it.
            form % {name: "x" for name in wanted | {"num"}}


@pytest.mark.parametrize("lang", SUPPORTED)
def test_translations_hold_no_markup(lang):
    # Translated text is output as trusted markup by newstyle gettext.
    for message in _catalog(lang):
        if not message.id:  # the header
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for form in forms:
            assert "<" not in form and "&" not in form, f"{lang}: {form!r}"


@pytest.mark.parametrize(
    ("lang", "nplurals"), [("en", 2), ("fr", 2), ("es", 2), ("ar", 6), ("ru", 3), ("zh", 1)]
)
def test_plural_forms_headers(lang, nplurals):
    assert _catalog(lang).num_plurals == nplurals


def test_russian_and_arabic_plurals_follow_their_rules():
    ru = translations("ru")
    forms = {
        n: ru.ngettext("%(num)s briefing", "%(num)s briefings", n)
        for n in (1, 2, 5, 11, 21, 22, 25, 112)
    }
    assert forms[1] == forms[21] == "%(num)s бюллетень"
    assert forms[2] == forms[22] == "%(num)s бюллетеня"
    assert forms[5] == forms[11] == forms[25] == forms[112] == "%(num)s бюллетеней"
    ar = translations("ar")
    forms = {
        n: ar.ngettext("%(num)s briefing", "%(num)s briefings", n)
        for n in (0, 1, 2, 3, 10, 11, 99, 100, 102)
    }
    assert forms[0] == "لا توجد أي نشرة"
    assert forms[1] == "نشرة واحدة"
    assert forms[2] == "نشرتان"
    assert forms[3] == forms[10] == "%(num)s نشرات"
    assert forms[11] == forms[99] == forms[100] == forms[102] == "%(num)s نشرة"
    fr = translations("fr")
    assert fr.ngettext("%(num)s briefing", "%(num)s briefings", 0) == "%(num)s bulletin"


# -- translations(), locales ---------------------------------------------------------


def test_translations_come_from_the_catalogs_and_are_cached():
    fr = translations("fr")
    assert isinstance(fr, gettext.GNUTranslations)
    assert fr.gettext("Skip to content") == "Aller au contenu"
    assert translations("ar").gettext("Languages") == "اللغات"
    assert translations("zh").gettext("Threats") == "威胁"
    assert translations("fr") is fr


@pytest.mark.parametrize("lang", ["xx", "de", ""])
def test_unknown_languages_get_english(lang):
    english = translations(lang)
    assert english.gettext("Skip to content") == "Skip to content"
    assert english.ngettext("%(num)s briefing", "%(num)s briefings", 2) == "%(num)s briefings"
    if lang:
        assert type(english) is gettext.NullTranslations


def test_catalogs_are_package_resources():
    assert catalog_path("fr").is_file()
    assert catalog_path("fr") == files("briefings") / "locales" / "fr" / "LC_MESSAGES" / "site.po"


@pytest.mark.parametrize(
    ("lang", "direction"),
    [
        ("ar", "rtl"),
        ("fa", "rtl"),
        ("he", "rtl"),
        ("ur", "rtl"),
        ("ar-EG", "rtl"),
        ("en", "ltr"),
        ("zh", "ltr"),
        ("ru", "ltr"),
    ],
)
def test_text_direction(lang, direction):
    assert text_direction(lang) == direction


def test_language_names_and_tags():
    names = {lang: language_name(lang) for lang in SUPPORTED}
    assert names == {
        "en": "English", "fr": "Français", "es": "Español", "ar": "العربية",
        "ru": "Русский", "zh": "中文",
    }  # fmt: skip
    assert locale_tag("zh") == "zh-Hans"
    assert locale_tag("fr") == "fr"
    assert locale_tag("pt_BR") == "pt-BR"


NOV_2 = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "November 2, 2026"),
        ("fr", "2 novembre 2026"),
        ("es", "2 de noviembre de 2026"),
        ("ar", "2 نوفمبر 2026"),
        ("ru", "2 ноября 2026\u202fг."),
        ("zh", "2026年11月2日"),
    ],
)
def test_dates_per_locale(lang, expected):
    assert format_date(NOV_2, lang) == expected


def test_dates_are_utc():
    late_in_new_york = datetime(2026, 11, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert format_date(late_in_new_york, "fr") == "2 novembre 2026"
    assert format_date(datetime(2026, 11, 2, 0, 0), "fr") == "2 novembre 2026"  # naive = UTC
    assert format_date(date(2026, 11, 2), "fr", "short") == "02/11/2026"
    assert format_datetime(late_in_new_york, "fr") == "2 novembre 2026, 04:30 UTC"
    assert format_datetime(NOV_2, "en") == "November 2, 2026, 2:30\u202fPM UTC"
    assert "نوفمبر" in format_datetime(NOV_2, "ar")


def test_numbers_per_locale():
    assert format_number(1234567.5, "en") == "1,234,567.5"
    assert format_number(1234567.5, "fr") == "1\u202f234\u202f567,5"
    assert format_number(1234567.5, "es") == "1.234.567,5"
    assert format_number(1234, "ar") == "1,234"


# -- templates ----------------------------------------------------------------------


@cache
def _environment(lang: str, trim: bool = True) -> Environment:
    """As briefings/site.py builds it (package loader, autoescape, i18n, newstyle gettext,
    StrictUndefined, trimmed blocks); ``trim=False`` for Jinja2's default whitespace."""
    env = Environment(
        loader=PackageLoader("briefings", "templates/site"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=trim,
        lstrip_blocks=trim,
    )
    env.install_gettext_translations(translations(lang), newstyle=True)
    return env


HOSTILE = '<script>alert("x")</script>'


def _site(lang: str) -> dict:
    languages = [
        {
            "lang": code,
            "name": language_name(code),
            "href": f"../{code}/",
            "locale_tag": locale_tag(code),
        }
        for code in SUPPORTED
    ]
    return {
        "title": "Coalition briefings",
        "lang": lang,
        "dir": text_direction(lang),
        "locale_tag": locale_tag(lang),
        "base": "../../",
        "languages": languages,
        "audience": "members",
        "tlp_max": "AMBER",
        "generated": format_date(NOV_2, lang),
        "public_key_href": "../../briefings.pub",
        "manifest_href": "../../SHA256SUMS",
        "feeds": {
            "atom": "../feed.atom",
            "rss": "../feed.rss",
            "json": "../feed.json",
            "opml": "../../feeds.opml",
        },
    }


ALTERNATES = [
    {"locale_tag": "fr", "href": "../../fr/b/x/"},
    {"locale_tag": "en", "href": "../../en/b/x/"},
]
CARD = {
    "id": "x", "href": "b/x/", "title": "Ransomware at " + HOSTILE, "kind": "alert",
    "date": "2 Nov 2026", "datetime": "2026-11-02T14:30:00Z", "summary": "Summary " + HOSTILE,
    "tlp": "AMBER", "sectors": [{"label": "Health", "href": "sectors/health/"}],
    "threats": [{"label": "Ransomware", "href": "threats/ransomware/"}],
    "machine_translated": True, "withdrawn": False,
}  # fmt: skip
CLAIM_REVIEW = json.dumps(
    {"@type": "ClaimReview", "claimReviewed": "</script><script>alert(1)</script><!-- & >"}
)
BRIEFING = {
    "kind": "briefing", "id": "x", "title": "Water utilities " + HOSTILE,
    "html": "<p>Body text with <code>198.51.100.7</code></p>", "date": "2 Nov 2026",
    "datetime": "2026-11-02T14:30:00Z", "updated": "3 Nov 2026", "updated_datetime": "2026-11-03T09:00:00Z",
    "tlp": "TLP:AMBER", "briefing_kind": "debunk",
    "sectors": [{"label": "Water", "href": "../../sectors/water/"}], "threats": [],
    "countries": ["France", "Mali"],
    "provenance": {
        "machine_translated": True, "package": "translate-en_fr 0.1", "original_href": "../../en/b/x/",
        "original_lang_name": "English", "reviewed_by": [],
    },
    "correction": {"corrects_href": "v1/", "changes": "Date of the advisory corrected."},
    "withdrawn": None, "claim_review_json": CLAIM_REVIEW, "markdown_href": "index.md",
    "alternates": ALTERNATES,
}  # fmt: skip


def _pages() -> dict[str, tuple[str, dict]]:
    index = {
        "kind": "index", "title": "Briefings", "briefings": [CARD, dict(CARD, withdrawn=True, id="y")],
        "pagination": {"page": 1, "pages": 1, "prev_href": None, "next_href": None},
        "alternates": ALTERNATES, "tlp": None,
    }  # fmt: skip
    sector = dict(
        index,
        kind="sector",
        heading="Health",
        feeds={"atom": "feed.atom", "rss": "feed.rss", "json": "feed.json"},
        pagination={"page": 2, "pages": 3, "prev_href": "../", "next_href": "../3/"},
    )
    return {
        "root": (
            "root.html.j2",
            {"kind": "root", "title": "Coalition briefings", "alternates": ALTERNATES},
        ),
        "index": ("index.html.j2", index),
        "empty-index": ("index.html.j2", dict(index, briefings=[], pagination=None)),
        "sector": ("index.html.j2", sector),
        "threat": ("index.html.j2", dict(sector, kind="threat", heading="Ransomware")),
        "briefing": ("briefing.html.j2", BRIEFING),
        "withdrawn": (
            "briefing.html.j2",
            dict(
                BRIEFING, withdrawn={"reason": "Attribution not confirmed.", "date": "4 Nov 2026"}
            ),
        ),
    }


def render(lang: str, which: str, trim: bool = True) -> str:
    template, page = _pages()[which]
    return _environment(lang, trim).get_template(template).render(site=_site(lang), page=page)


VOID = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _Structure(HTMLParser):
    """Checks that elements nest and close, and records what the page is made of."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = True
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def _parse(html: str) -> _Structure:
    parser = _Structure()
    parser.feed(html)
    parser.close()
    assert not parser.errors, parser.errors
    assert not parser.stack, f"unclosed: {parser.stack}"
    return parser


@pytest.mark.parametrize("trim", [True, False], ids=["trimmed", "default-whitespace"])
@pytest.mark.parametrize("which", list(_pages()))
@pytest.mark.parametrize("lang", SUPPORTED)
def test_every_template_renders(lang, which, trim):
    html = render(lang, which, trim)
    assert html.startswith("<!doctype html>\n")
    assert f'<html lang="{locale_tag(lang)}" dir="{text_direction(lang)}">' in html
    structure = _parse(html)
    tags = [tag for tag, _ in structure.tags]
    # The skip link comes first in the body; then the page is header, main, footer.
    body = tags.index("body")
    assert tags[body + 1] == "a" and structure.tags[body + 1][1]["href"] == "#content"
    assert ("main", {"id": "content", "tabindex": "-1"}) in structure.tags
    # Nothing from other hosts, nothing that runs, nothing external.
    assert not re.search(r"(?:https?:)?//", html.replace("<!doctype html>", ""))
    scripts = [attrs for tag, attrs in structure.tags if tag == "script"]
    if which == "briefing":
        assert scripts == [{"type": "application/ld+json"}]
    else:
        assert scripts == []
    assert not [tag for tag in tags if tag in {"iframe", "img", "object", "embed", "form", "style"}]
    assert not [
        attrs for _, attrs in structure.tags if any(name.startswith("on") for name in attrs)
    ]
    stylesheets = [
        attrs["href"]
        for tag, attrs in structure.tags
        if tag == "link" and attrs.get("rel") == "stylesheet"
    ]
    assert stylesheets == ["../../style.css", "../../print.css"]
    # Hostile values are text, never markup.
    assert HOSTILE not in html
    # Page text is in the page's language.
    assert translations(lang).gettext("Skip to content") in html


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_hreflang_alternates_and_language_switcher(lang):
    structure = _parse(render(lang, "briefing"))
    alternates = {
        a["hreflang"]: a["href"] for t, a in structure.tags if t == "link" and "hreflang" in a
    }
    assert alternates == {
        "fr": "../../fr/b/x/",
        "en": "../../en/b/x/",
        "x-default": "../../en/b/x/",
    }
    feeds = [
        a["type"]
        for t, a in structure.tags
        if t == "link" and a.get("rel") == "alternate" and "type" in a
    ]
    assert feeds == ["application/atom+xml", "application/rss+xml", "application/feed+json"]
    switcher = [a for t, a in structure.tags if t == "a" and "hreflang" in a]
    # This page where it exists in that language, else that language's home.
    assert {"href": "../../fr/b/x/", "hreflang": "fr", "lang": "fr", "dir": "auto"} in switcher
    assert {"href": "../es/", "hreflang": "es", "lang": "es", "dir": "auto"} in switcher
    assert not [a for a in switcher if a["hreflang"] == locale_tag(lang)]  # the current one


def test_root_offers_every_language_in_itself():
    html = render("en", "root")
    structure = _parse(html)
    links = [a for t, a in structure.tags if t == "a" and "hreflang" in a]
    assert [(a["hreflang"], a["lang"]) for a in links] == [
        (locale_tag(code), locale_tag(code)) for code in SUPPORTED
    ]
    assert ">العربية</a>" in html and ">中文</a>" in html and ">Русский</a>" in html
    assert '<link rel="alternate" hreflang="x-default" href="../../">' in html


def test_arabic_pages_are_right_to_left_and_translated():
    html = render("ar", "briefing")
    assert '<html lang="ar" dir="rtl">' in html
    assert "تُرجمت هذه الصفحة آليًا (translate-en_fr 0.1)" in html
    assert "<code>198.51.100.7</code>" in html


@pytest.mark.parametrize("trim", [True, False])
def test_briefing_page_notices(trim):
    html = render("en", "briefing", trim)
    assert (
        "This page was translated by machine (translate-en_fr 0.1) from the original in English;"
        ' the original is authoritative. <a href="../../en/b/x/" rel="alternate">Read the original</a>'
    ) in html
    assert 'This version corrects an earlier one. <a href="v1/">' in html
    assert "<p>Body text with <code>198.51.100.7</code></p>" in html  # sanitized upstream: as is
    assert '<a href="index.md" type="text/markdown">' in html
    reviewed = dict(
        BRIEFING,
        provenance=dict(
            BRIEFING["provenance"], machine_translated=False, reviewed_by=["A. Martin", "L. Chen"]
        ),
    )
    html = (
        _environment("en").get_template("briefing.html.j2").render(site=_site("en"), page=reviewed)
    )
    assert "Translation reviewed by A. Martin, L. Chen." in html
    assert "translated by machine" not in html


def test_claim_review_json_cannot_break_out_of_its_script():
    html = render("en", "briefing")
    structure = _parse(html)
    assert html.count("<script") == 1 and html.count("</script") == 1
    assert "<!--" not in html
    [data] = structure.scripts
    assert json.loads(data) == json.loads(CLAIM_REVIEW)


def test_withdrawn_briefing_shows_only_the_notice():
    html = render("fr", "withdrawn")
    assert "Retiré\u00a0: Water utilities" in html
    assert "Ce bulletin a été retiré." in html
    assert "Attribution not confirmed." in html and "4 Nov 2026" in html
    for former in ("Body text", "198.51.100.7", "ClaimReview", "index.md", "translate-en_fr"):
        assert former not in html


def test_tlp_banner_only_when_not_clear():
    html = render("en", "briefing")
    assert html.count('class="tlp-banner') == 2  # top and bottom, as TLP 2.0 asks
    assert '<span class="tlp tlp-amber">TLP:AMBER</span>' in html
    assert "within their organisation and its clients" in html
    clear = dict(BRIEFING, tlp="CLEAR")
    html = _environment("en").get_template("briefing.html.j2").render(site=_site("en"), page=clear)
    assert "tlp-banner" not in html and "TLP:CLEAR" not in html.split("<footer")[0]
    for label, css in (
        ("GREEN", "tlp-green"),
        ("RED", "tlp-red"),
        ("amber+strict", "tlp-amber-strict"),
    ):
        page = dict(BRIEFING, tlp=label)
        html = (
            _environment("en").get_template("briefing.html.j2").render(site=_site("en"), page=page)
        )
        assert f'class="tlp {css}">TLP:{label.upper()}</span>' in html


def test_index_lists_cards_counts_and_pages():
    html = render("en", "index")
    assert "2 briefings" in html
    assert '>TLP:AMBER</span> <span class="label-mt">Machine translation</span>' in html
    assert "Withdrawn: Ransomware at" in html and "This briefing has been withdrawn." in html
    assert html.count("Summary &lt;script&gt;") == 1  # the withdrawn card shows no summary
    assert 'aria-label="Pages"' not in html  # a single page
    html = render("ru", "sector")
    assert "Гражданский сектор" in html and "<h1>Health</h1>" in html
    assert '<a rel="prev" href="../">' in html and '<a rel="next" href="../3/">' in html
    assert "Страница 2 из 3" in html
    assert (
        '<link rel="alternate" type="application/atom+xml" title="Health (Atom)" href="feed.atom">'
        in html
    )
    assert "Здесь пока не опубликовано" in render("ru", "empty-index")


def test_only_the_json_ld_script_exists_in_the_templates():
    for path in TEMPLATES.glob("*.html.j2"):
        source = path.read_text("utf-8")
        scripts = re.findall(r"<script[^>]*>", source)
        assert scripts == (
            ['<script type="application/ld+json">'] if path.name == "briefing.html.j2" else []
        )
        assert not re.search(r"https?://", source), path.name


def test_stylesheets_are_local_logical_and_accessible():
    style = (TEMPLATES / "style.css").read_text("utf-8")
    printing = (TEMPLATES / "print.css").read_text("utf-8")
    for css in (style, printing):
        assert (
            "url(" not in css
            and "@import" not in css
            and "//" not in css.replace("/*", "").replace("*/", "")
        )
    # Logical properties only, so right-to-left pages need nothing of their own.
    assert not re.search(
        r"(?:margin|padding|border)-(?:left|right)|(?<![-\w])(?:left|right)\s*:|text-align:\s*(?:left|right)",
        style,
    )
    assert re.search(
        r"code,\s*kbd,\s*samp,\s*pre,\s*\.indicator\s*\{\s*direction: ltr;\s*unicode-bidi: isolate;",
        style,
    )
    assert ":focus-visible" in style
    for colour in ("#33ff00", "#ffc000", "#ff2b2b"):
        assert colour in style
    assert "attr(href)" in printing and re.search(r"nav\s*\{\s*display: none", printing)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_colours_have_enough_contrast():
    style = (TEMPLATES / "style.css").read_text("utf-8")
    light, dark = style.split("@media (prefers-color-scheme: dark)", 1)
    for block in (light, dark.split("\n}\n", 1)[0]):
        colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", block))
        for text in ("fg", "muted", "link", "link-visited"):
            for background in ("bg", "panel", "info-bg", "warn-bg", "stop-bg"):
                ratio = _contrast(colours[text], colours[background])
                assert ratio >= 4.5, f"--{text} on --{background}: {ratio:.2f}"
    for tlp_colour in ("#33ff00", "#ffc000", "#ff2b2b", "#ffffff"):
        assert _contrast(tlp_colour, "#000000") >= 4.5
