"""Languages of the published site: page text from gettext catalogs, dates and numbers per locale.

The catalogs are the ``.po`` files in ``briefings/locales/<lang>/LC_MESSAGES/site.po``,
read with Babel and compiled in memory when first asked for, so there is no
``.mo`` build step and no compiled file to keep in step with its source. How to
extract and update them: ``briefings/locales/README.md``.

Every function takes a plain language code (``"fr"``) as the rest of the project
does; :func:`locale_tag` gives the BCP 47 tag for ``<html lang>``, hreflang and
feed metadata.
"""

from __future__ import annotations

import gettext
import io
import logging
from datetime import UTC, date, datetime
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable

from babel import Locale, UnknownLocaleError
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

SUPPORTED = ("en", "fr", "es", "ar", "ru", "zh")
"""Languages whose page text has a catalog. Content may exist in others; its pages
then get English page text."""
RTL = {"ar", "fa", "he", "ur"}
"""Languages written right to left."""
DEFAULT_LANG = "en"
DOMAIN = "site"

# BCP 47 tags where the bare code is ambiguous: the site's Chinese is Simplified.
_TAGS = {"zh": "zh-Hans"}
# Babel locale identifiers where the bare code would not pick the intended script.
_BABEL_LOCALES = {"zh": "zh_Hans"}


def _base(lang: str) -> str:
    """``"fr-CA"`` / ``"fr_CA"`` / ``"FR"`` -> ``"fr"``."""
    return lang.replace("_", "-").split("-", 1)[0].lower()


def text_direction(lang: str) -> str:
    """``"rtl"`` for right-to-left languages, else ``"ltr"``."""
    return "rtl" if _base(lang) in RTL else "ltr"


def catalog_path(lang: str) -> Traversable:
    """The ``site.po`` of ``lang`` as an importlib.resources Traversable (may not exist)."""
    return files("briefings") / "locales" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Page text of ``lang``, compiled from its ``.po`` catalog on first use and cached.

    Languages without a catalog get English (the msgids themselves).
    """
    code = _base(lang) if lang else DEFAULT_LANG
    if code not in SUPPORTED:
        return gettext.NullTranslations()
    source = catalog_path(code)
    if not source.is_file():
        log.warning("No page-text catalog for %s at %s; using English", code, source)
        return gettext.NullTranslations()
    with source.open("rb") as po:
        catalog = read_po(po, locale=_babel_id(code), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _babel_id(lang: str) -> str:
    code = _base(lang)
    return _BABEL_LOCALES.get(code, code)


@cache
def babel_locale(lang: str) -> Locale:
    """Babel's locale for ``lang``; English when Babel does not know it."""
    try:
        return Locale.parse(_babel_id(lang))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LANG)


def locale_tag(lang: str) -> str:
    """BCP 47 tag for ``<html lang>``, hreflang and feeds (``"zh"`` -> ``"zh-Hans"``)."""
    code = _base(lang)
    if code in _TAGS and lang.replace("_", "-").lower() == code:
        return _TAGS[code]
    return lang.replace("_", "-")


def language_name(lang: str) -> str:
    """The language's name in itself, capitalised where its script has case:
    ``"Français"``, ``"Русский"``, ``"العربية"``, ``"中文"``."""
    try:
        name = Locale.parse(_base(lang)).get_display_name(_base(lang))
    except (UnknownLocaleError, ValueError):
        name = None
    if not name:
        return lang
    return name[:1].upper() + name[1:]


def _utc(value: datetime | date) -> datetime | date:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def format_date(value: datetime | date, lang: str, format: str = "long") -> str:
    """The date of ``value`` in UTC, as ``lang`` writes it: fr "2 novembre 2026",
    ar "2 نوفمبر 2026". ``format`` is a Babel format ("short", "medium", "long",
    "full") or pattern. Naive datetimes are taken as UTC."""
    value = _utc(value)
    day = value.date() if isinstance(value, datetime) else value
    return babel_dates.format_date(day, format, locale=babel_locale(lang))


def format_datetime(value: datetime, lang: str) -> str:
    """Date and time in UTC, as ``lang`` writes them, with "UTC" after the time:
    en "November 2, 2026, 2:30 PM UTC", fr "2 novembre 2026, 14:30 UTC"."""
    locale = babel_locale(lang)
    value = _utc(value)
    day = format_date(value, lang, "long")
    time = babel_dates.format_time(value, "short", tzinfo=UTC, locale=locale) + " UTC"
    # The locale's way of joining a long date and a time, as Babel's own format_datetime.
    pattern = str(locale.datetime_formats["long"]).replace("'", "")
    return pattern.replace("{0}", time).replace("{1}", day)


def format_number(n: int | float, lang: str) -> str:
    """``n`` with ``lang``'s digit grouping and decimal sign (fr "1 234,5")."""
    return babel_numbers.format_decimal(n, locale=babel_locale(lang))
