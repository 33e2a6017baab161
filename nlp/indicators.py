"""The ``briefings_indicators`` component: indicators of compromise and CVE ids.

:func:`find_indicators` scans the raw text with regular expressions compiled once
at import (one pass per type, cheaper than token Matcher rules) and returns
:class:`Indicator` records: the type, the refanged value, the text as written and
its character offsets. Types: ``cve``, ``ipv4``, ``ipv6``, ``domain``, ``url``,
``email``, ``md5``, ``sha1``, ``sha256``. Defanged forms are found and refanged
(``hxxp``, ``[.]``, ``(.)``, ``{.}``, ``[dot]``, ``[:]``, ``[://]``, ``[@]``, ``[at]``).

Precision comes before recall. Candidates are checked after matching (octets, TLDs,
lengths, context) and overlaps are resolved longest first, so a URL's host is not
reported again as a domain. Boundaries are lookarounds on ASCII classes, never
``\\b``: Arabic and Chinese letters count as word characters for ``\\b``, and
indicators are often written flush against them ("利用CVE-2024-1480漏洞").

The component puts one span per occurrence in ``doc.spans[spans_key]``: label = type,
``kb_id`` = refanged value. Spans are widened to token boundaries
(``alignment_mode="expand"``); ``span._.indicator`` gives the exact record back.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

from spacy.language import Language
from spacy.tokens import Doc, Span, SpanGroup

from nlp.doctext import doc_text

log = logging.getLogger(__name__)

TYPES = ("cve", "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256")
HASH_TYPES = {32: "md5", 40: "sha1", 64: "sha256"}


class Indicator(NamedTuple):
    """One indicator as found: ``value`` is refanged and canonical, ``text`` is as written,
    ``start``/``end`` are character offsets of ``text`` in the scanned string. A named
    tuple: made several times per document, it costs a third of a frozen dataclass."""

    type: str
    value: str
    text: str
    start: int
    end: int

    @property
    def defanged(self) -> bool:
        """Written defanged: a writer marked it as hostile (a plain URL may be a reference)."""
        return is_defanged(self.text)


# --- Top-level domains -----------------------------------------------------------------


@lru_cache(maxsize=1)
def load_tlds() -> frozenset[str]:
    """Every IANA top-level domain, lower case (``nlp/data/tlds.txt``)."""
    text = (resources.files("nlp") / "data" / "tlds.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Generic TLDs that real hostnames in advisories and news use. The IANA list also holds
# hundreds of brand and dictionary words (.data, .security, .office, .link, .post, .email,
# .name, .host, .target, .android...) that turn code ("self.data", "feed.link",
# "user.email", "event.target") and joined sentences into false domains: those count only
# when defanged or inside a URL or email.
COMMON_GTLDS = frozenset(
    {
        "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "mobi", "pro", "aero",
        "asia", "coop", "jobs", "museum", "tel", "travel", "xxx", "arpa", "cat", "xyz", "top",
        "online", "site", "club", "shop", "store", "icu", "vip", "work", "buzz", "fun", "space",
        "tech", "website", "click", "win", "bid", "loan", "webcam", "cricket", "accountant",
        "men", "gdn", "cyou", "rest", "monster", "quest", "cfd", "sbs", "bond", "autos",
        "beauty", "hair", "skin", "lol", "mom", "lat", "live", "dev", "blog", "news", "tokyo",
        "moscow", "ninja", "guru",
    }
)  # fmt: skip

# Real TLDs that are also common file extensions or source-file suffixes ("invoice.zip",
# "setup.py", "install.sh", "README.md", "main.rs", "Makefile.in"): accepted only when
# defanged, inside a URL or email, or after a registry's second-level label ("gov.in").
FILE_EXTENSION_TLDS = frozenset(
    {
        "zip", "mov", "py", "sh", "md", "rs", "pl", "pm", "so", "cc", "mk", "am", "ac", "in",
        "ps", "one", "pub", "cab", "java", "app", "do", "bz", "gs", "gd", "tf",
    }
)  # fmt: skip
# RFC 2606 names for documentation ("evil-updates[.]example"), as advisories, training
# material and this project's examples write fictional indicators: accepted when defanged
# or inside a URL or email, never as a bare "word.test".
DOCUMENTATION_TLDS = frozenset({"example", "test"})
REGISTRY_SLDS = frozenset(
    {"co", "com", "org", "net", "gov", "edu", "ac", "mil", "nic", "res", "gob", "gouv", "govt",
     "or", "ne", "go"}
)  # fmt: skip


def _is_common_tld(label: str) -> bool:
    return len(label) == 2 or label.startswith("xn--") or label in COMMON_GTLDS


# --- Defanging -------------------------------------------------------------------------

# A defanged dot: [.] (.) {.} [dot] (dot) {dot}, optionally padded by single spaces.
# A bare " dot " is not accepted: prose says "dot" too often.
_DEF_DOT = r"(?: ?(?:\[ ?(?:\.|(?i:dot)) ?\]|\( ?(?:\.|(?i:dot)) ?\)|\{ ?(?:\.|(?i:dot)) ?\}) ?)"
_DOT = rf"(?:\.|{_DEF_DOT})"
_DEF_AT = r"(?: ?(?:\[ ?(?:@|(?i:at)) ?\]|\( ?(?:@|(?i:at)) ?\)|\{ ?(?:@|(?i:at)) ?\}) ?)"
_AT = rf"(?:@|{_DEF_AT})"
_SCHEME_SEP = r"(?:(?::|\[:\])//|\[://\])"

_REFANG = re.compile(
    rf"(?P<sep>\[://\]|\[:\]//)|(?P<colon>\[:\])|(?P<dot>{_DEF_DOT})|(?P<at>{_DEF_AT})"
    r"|(?P<scheme>^(?i:hxxp)(?=(?i:s)?(?::|\[:\]|\[://\])))",
)
_DEFANG_MARK = re.compile(rf"{_DEF_DOT}|{_DEF_AT}|\[:\]|\[://\]|^hxxp", re.IGNORECASE)
_DEF_DOT_RE = re.compile(_DEF_DOT)
_REPLACEMENTS = {"sep": "://", "colon": ":", "dot": ".", "at": "@", "scheme": "http"}


def _may_be_defanged(text: str) -> bool:
    # Most candidates are plain: skip the substitution regex for them.
    return "[" in text or "(" in text or "{" in text or text[:4].lower() == "hxxp"


def refang(text: str) -> str:
    """``hxxps[://]evil[.]com`` -> ``https://evil.com``; ``a[at]b(.)org`` -> ``a@b.org``."""
    if not _may_be_defanged(text):
        return text
    return _REFANG.sub(lambda m: _REPLACEMENTS[m.lastgroup], text)


def is_defanged(text: str) -> bool:
    return _may_be_defanged(text) and _DEFANG_MARK.search(text) is not None


def _refang_domain(written: str) -> tuple[str, bool]:
    """``(refang(written), is_defanged(written))`` for a domain as DOMAIN_RE matches it
    (labels and dots, plain or defanged), at a fifth of their cost on defanged ones: of
    refang's marks only a defanged dot can be in it (the others hold ":" or "@"), so one
    substitution with a string does, and it counts the marks is_defanged looks for, but
    for a leading "hxxp" ("hxxpdomain.com")."""
    if not _may_be_defanged(written):
        return written, False
    value, dots = _DEF_DOT_RE.subn(".", written)
    return value, dots > 0 or written[:4].lower() == "hxxp"


# --- Patterns --------------------------------------------------------------------------
# Digits are [0-9], never \d, which also matches Arabic-Indic and other digits.

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# Hyphen-like characters that word processors put into CVE ids.
_DASH = "[-\u2010\u2011\u2012\u2013\u2014]"

CVE_RE = re.compile(
    rf"(?<![A-Za-z0-9_])(?i:cve){_DASH}([0-9]{{4}}){_DASH}([0-9]{{4,7}})(?![A-Za-z0-9_])"
)
# An atomic group takes the whole dotted run, so "1.2.3.4.5" is one (rejected) candidate
# rather than "1.2.3.4" plus a leftover.
IPV4_RE = re.compile(
    rf"(?<![A-Za-z0-9_.])(?>[0-9]{{1,3}}(?:{_DOT}[0-9]{{1,3}}){{3}})(?!{_DOT}?[0-9])(?![A-Za-z_])"
)
IPV6_RE = re.compile(
    r"(?<![0-9A-Za-z_:.\]])"
    r"(?:[0-9A-Fa-f]{0,4}(?::|\[:\])){2,8}"
    r"(?:[0-9A-Fa-f]{1,4}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f]{1,4})?"
    r"(?![0-9A-Za-z_])"
)
DOMAIN_RE = re.compile(
    rf"(?<![A-Za-z0-9_.@-])(?>{_LABEL}(?:{_DOT}{_LABEL})+)(?![A-Za-z0-9_-])(?!{_DEF_DOT}[A-Za-z0-9])"
)
EMAIL_RE = re.compile(
    rf"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{{0,63}}{_AT}(?>{_LABEL}(?:{_DOT}{_LABEL})+)"
    r"(?![A-Za-z0-9_-])"
)
# Scheme, separator, then RFC 3986 characters (plus {} for "{.}"); the run stops at
# spaces, quotes, angle brackets and any non-ASCII letter ("http://a.com/x发起攻击").
URL_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?i:h(?:tt|xx)ps?){_SCHEME_SEP}[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%{{}}]+"
)
HASH_RE = re.compile(r"(?<![0-9A-Za-z_])[0-9A-Fa-f]{32,128}(?![0-9A-Za-z_])")

# Words after which a dotted quad is a version, section or build number, in the six languages.
_VERSION_BEFORE = re.compile(
    r"(?:^|[^A-Za-z])(?:v|ver|version|versi[oó]n|vers[aã]o|build|release|rev|firmware|fw|section|§"
    r"|верси[яиюей]|вер|版本号?|الإصدار|إصدار|الاصدار|اصدار|النسخة|نسخة)\.?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_CURRENCY_BEFORE = re.compile(r"[$€£¥₽₹]\s?$|(?:USD|EUR|GBP|RUB|CNY)\s?$")
# Used with .match(text, pos), which anchors at pos (a "^" would not).
_CURRENCY_AFTER = re.compile(r"\s?(?:[$€£¥₽₹]|USD|EUR|GBP|RUB|CNY|руб|ريال|دولار|元)")
_TRAILING = ".,;:!?'\"*"
# The last character of each word _VERSION_BEFORE and _CURRENCY_BEFORE end with.
_VERSION_LAST = frozenset("vrnodew§яиюейр本号رة")
_CURRENCY_LAST = frozenset("$€£¥₽₹DRPBY")


def _may_be_version_or_price(before: str) -> bool:
    """False when neither _VERSION_BEFORE nor _CURRENCY_BEFORE can match ``before``: the
    text before an address, stripped of what may follow those words (spaces, one colon
    or "#", a period), must end with one of their last characters. Checking that costs
    a tenth of the two searches, which try every position of the text."""
    tail = before.rstrip()
    if tail[-1:] in _CURRENCY_LAST:
        return True
    if tail[-1:] in (":", "#"):
        tail = tail[:-1].rstrip()
    if tail[-1:] == ".":
        tail = tail[:-1]
    return tail[-1:].lower() in _VERSION_LAST


_CLOSERS = {")": "(", "]": "[", "}": "{"}


# --- Candidates per type ---------------------------------------------------------------
# Each finder scans text[pos:endpos] and reads the whole text around a match for context.

_END = 2**62


def _cves(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in CVE_RE.finditer(text, pos, endpos):
        year = int(m.group(1))
        if 1999 <= year <= 2099:
            found.append(
                Indicator("cve", f"CVE-{m.group(1)}-{m.group(2)}", m.group(), m.start(), m.end())
            )
    return found


# An octet (one to three digits, as IPV4_RE takes them) above 255, or zero-padded:
# "1.200.000.000" is a price or a count, not an address.
# One search instead of a generator over the octets (about 0.5 microseconds less).
_BAD_OCTET = re.compile(r"(?:^|\.)(?:0[0-9]|25[6-9]|2[6-9][0-9]|[3-9][0-9][0-9])")


def _ipv4s(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in IPV4_RE.finditer(text, pos, endpos):
        value = refang(m.group())
        if _BAD_OCTET.search(value) is not None:
            continue
        before = text[max(0, m.start() - 24) : m.start()]
        if _may_be_version_or_price(before) and (
            _VERSION_BEFORE.search(before) or _CURRENCY_BEFORE.search(before)
        ):
            continue
        if _CURRENCY_AFTER.match(text, m.end()):
            continue
        found.append(Indicator("ipv4", value, m.group(), m.start(), m.end()))
    return found


def _ipv6s(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in IPV6_RE.finditer(text, pos, endpos):
        raw, end = m.group(), m.end()
        # A colon ending a sentence ("... 2001:db8::1: blocked") is not part of it.
        if raw.endswith(":") and not raw.endswith("::"):
            raw, end = raw[:-1], end - 1
        value = refang(raw)
        try:
            address = ipaddress.IPv6Address(value)
        except ValueError:
            continue
        groups = [g for g in re.split(r"[:.]", value) if g]
        # "::1", "fe80::", verse-like "3::2" and C++/Rust paths ("dead::beef") are not
        # worth reporting: two groups, four hex digits and one decimal digit at least.
        if len(groups) < 2 or sum(map(len, groups)) < 4 or not any(ch.isdigit() for ch in value):
            continue
        found.append(Indicator("ipv6", address.compressed, raw, m.start(), end))
    return found


def _domain_ok(host: str, written: str, *, strict: bool) -> bool:
    """Whether ``host`` (refanged) is a plausible hostname; ``strict`` outside URLs and
    emails and for text that is not defanged."""
    labels = host.lower().split(".")
    tld = labels[-1]
    known = tld in load_tlds()
    if not (known or tld in DOCUMENTATION_TLDS) or all(map(str.isdigit, labels[:-1])):
        return False
    if not strict:
        return True
    if not known:
        return False
    written_tld = written.rpartition(".")[2]  # strict: written with plain dots
    if written_tld != written_tld.lower():
        return False  # "ASP.NET", "System.IO", "attack.Microsoft": code and joined sentences
    if tld in FILE_EXTENSION_TLDS:
        return len(labels) > 2 and labels[-2] in REGISTRY_SLDS
    return _is_common_tld(tld)


def _domains(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in DOMAIN_RE.finditer(text, pos, endpos):
        written = m.group()
        value, defanged = _refang_domain(written)
        value, strict = value.lower(), not defanged
        if strict and text.startswith("(", m.end()):
            continue  # a method call: "logger.info(", "window.open("
        if _domain_ok(value, written, strict=strict):
            found.append(Indicator("domain", value, written, m.start(), m.end()))
    return found


def _emails(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in EMAIL_RE.finditer(text, pos, endpos):
        local, _, host = refang(m.group()).rpartition("@")
        if _domain_ok(host, host, strict=False):
            found.append(
                Indicator("email", f"{local}@{host.lower()}", m.group(), m.start(), m.end())
            )
    return found


def _trim_url(raw: str) -> str:
    """Drop trailing punctuation that closes the sentence, not the URL; keep a closing
    bracket the URL opened ("https://en.wikipedia.org/wiki/Foo_(bar)")."""
    while raw:
        last = raw[-1]
        unbalanced = last in _CLOSERS and raw.count(_CLOSERS[last]) < raw.count(last)
        if last not in _TRAILING and not unbalanced:
            break
        raw = raw[:-1]
    return raw


_URL_PARTS = re.compile(r"^(?P<scheme>[A-Za-z]+)://(?P<auth>[^/?#]*)(?P<rest>.*)$", re.DOTALL)
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
_PORT = re.compile(r":[0-9]{1,5}$")


def _urls(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in URL_RE.finditer(text, pos, endpos):
        raw = _trim_url(m.group())
        parts = _URL_PARTS.match(refang(raw))
        if not parts:
            continue
        userinfo, at, hostport = parts["auth"].rpartition("@")
        if hostport.startswith("[") and "]" in hostport:
            host_ok = _valid_ipv6(hostport[1 : hostport.index("]")])
        else:
            host = _PORT.sub("", hostport).lower()
            host_ok = _valid_ipv4(host) or (
                _HOSTNAME.fullmatch(host) is not None and _domain_ok(host, host, strict=False)
            )
        if host_ok:
            value = f"{parts['scheme'].lower()}://{userinfo}{at}{hostport.lower()}{parts['rest']}"
            found.append(Indicator("url", value, raw, m.start(), m.start() + len(raw)))
    return found


def _valid_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _valid_ipv6(host: str) -> bool:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def _hashes(text: str, pos: int = 0, endpos: int = _END) -> list[Indicator]:
    found = []
    for m in HASH_RE.finditer(text, pos, endpos):
        written = m.group()
        kind = HASH_TYPES.get(len(written))
        # Digits only is a number; hex letters only is vanishingly rare in a real digest
        # of this length. A digest has both.
        if kind and not written.isdigit() and any(ch.isdigit() for ch in written):
            found.append(Indicator(kind, written.lower(), written, m.start(), m.end()))
    return found


# Order breaks ties between candidates of equal length covering the same text.
_FINDERS = (_urls, _emails, _cves, _hashes, _ipv4s, _ipv6s, _domains)
_RANK = {find: rank for rank, find in enumerate(_FINDERS)}

# --- Finding only where an indicator can be ------------------------------------------
# Running the seven patterns over the whole text cost about 1.3 microseconds per word,
# most of it trying them at positions where nothing can start. Every indicator holds a
# seed that ordinary prose rarely does: an opening bracket, a dot, colon, slash or "@"
# followed by more text, or a digit among at least seven more hex digits (a hash) or
# starting "2024-1234" (a CVE id). One pattern whose first item is the class of seed
# characters finds them (the regex engine skips other characters without trying a
# match; a pattern starting with an alternation or a lookbehind would be tried at
# every position, five times slower). Around a seed, the chunk is the run of text without whitespace, where a
# space touching a bracket does not break it ("evil [.] com"): the only spaces an
# indicator may contain. A match never crosses a chunk's edge, so the finders that the
# chunk's characters allow run over the chunk alone (lookbehinds and context checks
# still see the whole text), and the result is what a scan of the whole text gives
# (:func:`find_indicators_everywhere`, which the tests compare with).

# The seed: a digit with hex digits around it or a CVE id's year after it, a dot, colon,
# slash or "@" before more text, or an opening bracket. The digit's conditions come
# first and are tried only after a digit (prose has more digits and sentence-ending dots
# than anything else here): tried after a dot, they failed after three lookarounds, and
# they add nothing after the other seed characters (the hex and CVE lookaheads succeed
# only before a non-space, which those already pass on). The order of the alternatives
# does not change what matches, as each is of zero width. :data:`_SEED_REFERENCE` is
# the plain form the tests compare with. (Measured with callgrind on the bench texts: the
# scan 42.4 -> 38.2 thousand instructions per Arabic Doc, 55.3 -> 50.9 English, with the
# chunk's runs of non-space taken whole below.)
_SEED_PATTERN = (
    rf"[\[({{@.:/0-9](?:(?<=[0-9])(?:(?<=[0-9A-Fa-f]{{8}})|(?=[0-9A-Fa-f]{{7}})"
    rf"|(?=[0-9]{{3}}{_DASH}[0-9]{{4}}))|(?<=[@/.:])(?=\S)|(?<=[\[({{]))"
)
_SEED_REFERENCE = (
    r"[\[({@.:/0-9](?:(?<=[\[({])|(?<=[@/.:])(?=\S)"
    rf"|(?<=[0-9A-Fa-f]{{8}})|(?=[0-9A-Fa-f]{{7}})|(?=[0-9]{{3}}{_DASH}[0-9]{{4}}))"
)
# A chunk: runs of non-space, and spaces touching a bracket. A run is taken whole (the
# pattern ends with the repetition, so it ends where one character at a time ends);
# :data:`_CHUNK_REFERENCE` takes one character at a time.
_CHUNK_PATTERN = r"(?:\S+|(?<=[\[\](){}]) | (?=[\[\](){}]))*"
_CHUNK_REFERENCE = r"(?:\S|(?<=[\[\](){}]) | (?=[\[\](){}]))*"
_CHUNK = re.compile(_CHUNK_PATTERN)
# A seed and the rest of its chunk in one match: the scan goes on after the chunk, past
# the chunk's other seeds, without a second call to find where the chunk ends.
_SEED_TO_CHUNK_END = re.compile(_SEED_PATTERN + _CHUNK_PATTERN)
_DEF_AT_MARK = re.compile(r"[\[({] ?(?:@|(?i:at)) ?[\])}]")
# Every domain ends with a dot (plain or defanged: "[.]", "( dot )"...) and a top-level
# domain, whose first character is a letter in every IANA TLD and the documentation
# names: a chunk without such a dot before a letter holds no domain ("CVE-2024-1234.",
# "203.0.113.5"). A necessary condition only: the finder still checks everything.
_DOT_BEFORE_LETTER = re.compile(r"(?:\.|(?i:dot))(?: ?[\])}])? ?[A-Za-z]")
# Addresses are ASCII digits ([0-9] in IPV4_RE): a chunk without one has none to find.
_HAS_DIGIT = re.compile("[0-9]").search


def _finders_for(chunk: str) -> list:
    """The finders that can match in ``chunk``, in :data:`_FINDERS` order: each is left out
    when the chunk lacks what every match of its pattern holds. (One finder runs per
    chunk of the usual kinds, a CVE id, an address or a domain: a finder that runs and
    finds nothing costs 1-1.5 microseconds, the domain pattern's backtracking most.)"""
    lower = chunk.lower()
    finders = []
    if "//" in chunk:
        finders.append(_urls)
    if "@" in chunk or ("at" in lower and _DEF_AT_MARK.search(chunk) is not None):
        finders.append(_emails)
    if "cve" in lower:
        finders.append(_cves)
    if len(chunk) >= 32:
        finders.append(_hashes)
    # An IPv4 address has three dots, each "." or a defanged "[.]", "(dot)"...
    if chunk.count(".") + lower.count("dot") >= 3 and _HAS_DIGIT(chunk):
        finders.append(_ipv4s)
    if ":" in chunk:
        finders.append(_ipv6s)
    if _DOT_BEFORE_LETTER.search(chunk) is not None:
        finders.append(_domains)
    return finders


def find_indicators(text: str) -> list[Indicator]:
    """Every indicator in ``text``, in text order, without overlaps (the longest wins).

    Chunks do not overlap and come in text order, so only candidates of one chunk can
    overlap: each chunk is resolved on its own, and a chunk where one finder found
    something needs no resolving (a pattern's matches do not overlap)."""
    found: list[Indicator] = []
    size = len(text)
    reverse = None
    for seed in _SEED_TO_CHUNK_END.finditer(text):
        # The chunk's start, backwards from the seed on the text reversed (made once per
        # text and only when it has a seed).
        if reverse is None:
            reverse = text[::-1]
        at, end = seed.span()
        start = size - _CHUNK.match(reverse, size - at).end()
        first = candidates = None
        for find in _finders_for(text[start:end]):
            inds = find(text, start, end)
            if not inds:
                continue
            if first is None:
                first, first_rank = inds, _RANK[find]
                continue
            if candidates is None:
                candidates = [(ind.start, ind.start - ind.end, first_rank, ind) for ind in first]
            rank = _RANK[find]
            candidates += [(ind.start, ind.start - ind.end, rank, ind) for ind in inds]
        if candidates is not None:
            found += _resolve(candidates)
        elif first is not None:
            found += first
    return found


def find_indicators_everywhere(text: str) -> list[Indicator]:
    """:func:`find_indicators` without the seeds: every pattern over the whole text.
    Slower; the reference the tests hold the fast path to."""
    return _resolve(
        (ind.start, ind.start - ind.end, rank, ind)
        for rank, find in enumerate(_FINDERS)
        for ind in find(text)
    )


def _resolve(found: Iterable[tuple[int, int, int, Indicator]]) -> list[Indicator]:
    candidates = sorted(found, key=lambda c: c[:3])
    chosen: list[Indicator] = []
    cluster: list[tuple[int, int, int, Indicator]] = []
    cluster_end = -1
    # Overlaps are rare and local: resolve each run of overlapping candidates on its own.
    for candidate in candidates:
        if candidate[0] >= cluster_end:
            chosen.extend(_longest_first(cluster))
            cluster, cluster_end = [], -1
        cluster.append(candidate)
        cluster_end = max(cluster_end, candidate[3].end)
    chosen.extend(_longest_first(cluster))
    return chosen


def _longest_first(cluster: list[tuple[int, int, int, Indicator]]) -> list[Indicator]:
    if len(cluster) < 2:
        return [c[3] for c in cluster]
    kept: list[Indicator] = []
    for _, _, _, ind in sorted(cluster, key=lambda c: (c[1], c[2], c[0])):
        if all(ind.end <= k.start or ind.start >= k.end for k in kept):
            kept.append(ind)
    return sorted(kept, key=lambda ind: ind.start)


# --- The spaCy component ---------------------------------------------------------------


def _span_indicator(span: Span) -> Indicator | None:
    """The indicator behind an indicator span, with document offsets (the span itself
    may be wider, widened to token boundaries)."""
    for ind in find_indicators(span.text):
        if ind.type == span.label_ and ind.value == span.kb_id_:
            offset = span.start_char
            return Indicator(ind.type, ind.value, ind.text, ind.start + offset, ind.end + offset)
    return None


if not Span.has_extension("indicator"):
    Span.set_extension("indicator", getter=_span_indicator)


class IndicatorFinder:
    """Puts :func:`find_indicators` results into ``doc.spans[spans_key]``."""

    # It reads the text, no lexical attribute (:func:`nlp.pipeline.compute_only_what_is_read`).
    lexical_attributes = frozenset()

    def __init__(self, nlp: Language, name: str, spans_key: str):
        self.name = name
        self.spans_key = spans_key
        load_tlds()  # fail at pipeline build, not on the first document
        # The types' hashes, added once (hashing a string for the StringStore encodes it).
        self.type_ids = {kind: nlp.vocab.strings.add(kind) for kind in TYPES}

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        found = find_indicators(doc_text(doc))
        if found:
            add = doc.vocab.strings.add
            type_ids = self.type_ids
            for ind in found:
                span = doc.char_span(
                    ind.start, ind.end, type_ids[ind.type], kb_id=add(ind.value),
                    alignment_mode="expand",
                )  # fmt: skip
                if span is not None:
                    spans.append(span)
        # Into the SpanGroups' dict directly, as the glossary component does.
        doc.spans.data[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        return doc

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        for doc in docs:
            yield self(doc)


@Language.factory("briefings_indicators", default_config={"spans_key": "indicators"})
def make_indicator_finder(nlp: Language, name: str, spans_key: str) -> IndicatorFinder:
    """Factory: results go to ``doc.spans[spans_key]``."""
    return IndicatorFinder(nlp, name, spans_key)
