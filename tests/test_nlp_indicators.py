"""Indicators of compromise and CVE ids: ``find_indicators`` and the ``briefings_indicators``
component on real blank spaCy pipelines.

Each positive case lists every indicator the text holds, as (type, refanged value, text as
written); offsets are checked against the text, and, run through the component, the span
must cover exactly the written text. Each negative case must yield nothing.
"""

from __future__ import annotations

import pytest
import spacy

import nlp.indicators  # noqa: F401  (registers the factory)
from nlp.indicators import (
    _BAD_OCTET,
    _CHUNK,
    _CHUNK_REFERENCE,
    _SEED_PATTERN,
    _SEED_REFERENCE,
    _SEED_TO_CHUNK_END,
    DOMAIN_RE,
    TYPES,
    Indicator,
    _refang_domain,
    find_indicators,
    find_indicators_everywhere,
    is_defanged,
    load_tlds,
    refang,
)

MD5 = "d41d8cd98f00b204e9800998ecf8427e"
SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

# (language of the pipeline, text, expected [(type, value, text as written)])
POSITIVE = [
    # CVE ids
    ("en", "Patch CVE-2024-1480 now.", [("cve", "CVE-2024-1480", "CVE-2024-1480")]),
    ("en", "Log4Shell is cve-2021-44228 .", [("cve", "CVE-2021-44228", "cve-2021-44228")]),
    ("en", "See CVE\u20112023\u20114863 and CVE-2024-21412 .",
     [("cve", "CVE-2023-4863", "CVE\u20112023\u20114863"), ("cve", "CVE-2024-21412", "CVE-2024-21412")]),
    ("fr", "La faille CVE-2023-34362 (MOVEit) est exploitée.", [("cve", "CVE-2023-34362", "CVE-2023-34362")]),
    # IPv4, plain and defanged
    ("en", "Traffic from 203.0.113.45 was blocked.", [("ipv4", "203.0.113.45", "203.0.113.45")]),
    ("en", "C2 at 198.51.100[.]7 today.", [("ipv4", "198.51.100.7", "198.51.100[.]7")]),
    ("en", "C2 at 198[.]51[.]100[.]7 today.", [("ipv4", "198.51.100.7", "198[.]51[.]100[.]7")]),
    ("en", "C2 at 198.51.100(.)7 today.", [("ipv4", "198.51.100.7", "198.51.100(.)7")]),
    ("en", "C2 at 198.51.100{.}7 today.", [("ipv4", "198.51.100.7", "198.51.100{.}7")]),
    ("en", "C2 at 10[dot]0[dot]0[dot]1 today.", [("ipv4", "10.0.0.1", "10[dot]0[dot]0[dot]1")]),
    ("en", "The plain address 1.2.3.4 is an address.", [("ipv4", "1.2.3.4", "1.2.3.4")]),
    ("en", "Ranges 10.0.0.1 - 10.0.0.255 were scanned.",
     [("ipv4", "10.0.0.1", "10.0.0.1"), ("ipv4", "10.0.0.255", "10.0.0.255")]),
    # IPv6
    ("en", "Seen from 2001:db8::1 twice.", [("ipv6", "2001:db8::1", "2001:db8::1")]),
    ("en", "Full form 2001:0db8:0000:0000:0000:ff00:0042:8329 here.",
     [("ipv6", "2001:db8::ff00:42:8329", "2001:0db8:0000:0000:0000:ff00:0042:8329")]),
    ("en", "Link-local fe80::1ff:fe23:4567:890a seen.",
     [("ipv6", "fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a")]),
    ("en", "Upper case 2001:DB8:85A3::8A2E:370:7334 seen.",
     [("ipv6", "2001:db8:85a3::8a2e:370:7334", "2001:DB8:85A3::8A2E:370:7334")]),
    # Domains
    ("en", "Beacons to evil-update.com every hour.", [("domain", "evil-update.com", "evil-update.com")]),
    ("en", "Beacons to evil[.]com every hour.", [("domain", "evil.com", "evil[.]com")]),
    ("en", "Beacons to evil(.)com every hour.", [("domain", "evil.com", "evil(.)com")]),
    ("en", "Beacons to evil{.}com every hour.", [("domain", "evil.com", "evil{.}com")]),
    ("en", "Beacons to evil[dot]com every hour.", [("domain", "evil.com", "evil[dot]com")]),
    ("en", "Beacons to evil [.] com every hour.", [("domain", "evil.com", "evil [.] com")]),
    ("en", "Phishing from Login.Secure-Bank.co.uk today.",
     [("domain", "login.secure-bank.co.uk", "Login.Secure-Bank.co.uk")]),
    ("en", "Punycode xn--80ak6aa92e.com seen.", [("domain", "xn--80ak6aa92e.com", "xn--80ak6aa92e.com")]),
    ("en", "Lure invoice[.]zip delivered.", [("domain", "invoice.zip", "invoice[.]zip")]),
    ("en", "Fictional evil-updates[.]example and hxxps://fund[.]example/x in training material.",
     [("domain", "evil-updates.example", "evil-updates[.]example"), ("url", "https://fund.example/x", "hxxps://fund[.]example/x")]),
    ("en", "Defaced cert.gov.in and mil.ru sites.",
     [("domain", "cert.gov.in", "cert.gov.in"), ("domain", "mil.ru", "mil.ru")]),
    # URLs
    ("en", "Payload at https://evil.com/a/b.php?id=1 was removed.",
     [("url", "https://evil.com/a/b.php?id=1", "https://evil.com/a/b.php?id=1")]),
    ("en", "Payload at hxxps://evil[.]com/x was removed.", [("url", "https://evil.com/x", "hxxps://evil[.]com/x")]),
    ("en", "Payload at hXXp://bad(.)example{.}org/x was removed.",
     [("url", "http://bad.example.org/x", "hXXp://bad(.)example{.}org/x")]),
    ("en", "Payload at hxxps[://]evil[.]com/a was removed.",
     [("url", "https://evil.com/a", "hxxps[://]evil[.]com/a")]),
    ("en", "Payload at http[:]//evil[.]com/a was removed.", [("url", "http://evil.com/a", "http[:]//evil[.]com/a")]),
    ("en", "(see https://evil.com/a).", [("url", "https://evil.com/a", "https://evil.com/a")]),
    ("en", "Read https://en.wikipedia.org/wiki/Foo_(bar) first.",
     [("url", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)")]),
    ("en", "Panel at http://203.0.113.45:8080/admin now.",
     [("url", "http://203.0.113.45:8080/admin", "http://203.0.113.45:8080/admin")]),
    ("en", "Panel at http://[2001:db8::1]:8443/x now.",
     [("url", "http://[2001:db8::1]:8443/x", "http://[2001:db8::1]:8443/x")]),
    ("en", "Panel at HTTPS://Evil.COM/Path now.", [("url", "https://evil.com/Path", "HTTPS://Evil.COM/Path")]),
    ("en", "Quoted 'https://evil.com/q' here.", [("url", "https://evil.com/q", "https://evil.com/q")]),
    # Emails
    ("en", "Mail from admin@evil.com arrived.", [("email", "admin@evil.com", "admin@evil.com")]),
    ("en", "Mail from admin[at]evil[.]ru arrived.", [("email", "admin@evil.ru", "admin[at]evil[.]ru")]),
    ("en", "Mail from a.b+tag[@]Corp.CO.uk arrived.", [("email", "a.b+tag@corp.co.uk", "a.b+tag[@]Corp.CO.uk")]),
    ("en", "Mail from john [at] example [dot] com arrived.",
     [("email", "john@example.com", "john [at] example [dot] com")]),
    # Hashes
    ("en", f"Dropper md5 {MD5} seen.", [("md5", MD5, MD5)]),
    ("en", f"Dropper sha1 {SHA1} seen.", [("sha1", SHA1, SHA1)]),
    ("en", f"Dropper sha256 {SHA256.upper()} seen.", [("sha256", SHA256, SHA256.upper())]),
    # Arabic and Chinese text, no spaces assumed around the indicator
    ("ar", "تم استغلال الثغرة CVE-2024-1480 من العنوان 203.0.113[.]45",
     [("cve", "CVE-2024-1480", "CVE-2024-1480"), ("ipv4", "203.0.113.45", "203.0.113[.]45")]),
    ("ar", "الرابط hxxp://evil[.]com/a والبريد admin[at]evil[.]ru",
     [("url", "http://evil.com/a", "hxxp://evil[.]com/a"), ("email", "admin@evil.ru", "admin[at]evil[.]ru")]),
    ("zh", "攻击者利用CVE-2024-1480漏洞，从203.0.113.45发起攻击",
     [("cve", "CVE-2024-1480", "CVE-2024-1480"), ("ipv4", "203.0.113.45", "203.0.113.45")]),
    ("zh", "访问evil[.]com的用户，或http://evil.com/a发起请求",
     [("domain", "evil.com", "evil[.]com"), ("url", "http://evil.com/a", "http://evil.com/a")]),
    ("zh", f"哈希值为{SHA256}。地址2001:db8::7已封锁。",
     [("sha256", SHA256, SHA256), ("ipv6", "2001:db8::7", "2001:db8::7")]),
    ("ru", "Уязвимость CVE-2024-3400 эксплуатируется с адреса 192.0.2.10.",
     [("cve", "CVE-2024-3400", "CVE-2024-3400"), ("ipv4", "192.0.2.10", "192.0.2.10")]),
    ("es", "El dominio malicioso hxxps://phish[.]xyz/login imita al banco.",
     [("url", "https://phish.xyz/login", "hxxps://phish[.]xyz/login")]),
]  # fmt: skip

# Offsets only: the tokenizer glues these to their neighbours, so a span is wider.
OFFSETS_ONLY = [
    ("en", f"hash sha256:{SHA256}", [("sha256", SHA256, SHA256)]),
    ("en", "host 203.0.113.45:8080 open", [("ipv4", "203.0.113.45", "203.0.113.45")]),
    ("en", "Address 2001:db8::1: blocked.", [("ipv6", "2001:db8::1", "2001:db8::1")]),
    ("en", "[2001:db8::2]:443 listened", [("ipv6", "2001:db8::2", "2001:db8::2")]),
]

NEGATIVE = [
    "Upgrade to Version 1.2.3.4 today.",
    "Fixed in version 10.0.0.1 and release 2.3.4.5.",
    "Firmware v1.2.3.4 is affected.",
    "The OID 1.3.6.1.4.1 and build 1.2.3.4.5 differ.",
    "Chrome 124.0.6367.60 and Windows 10.0.19041.1 were patched.",
    "Published 2024.10.03 and updated 03.10.2024.",
    "It cost $1.200.000 and 1.200,50 € and 1.200.000.000 people.",
    "Budgets of $1.100.250.200 and 1.100.250.200 € and 1.100.250.200 USD.",
    "Pi is 3.14 and growth 2.5.",
    "Open report.pdf, setup.exe and invoice.zip, then run setup.py and install.sh.",
    "See README.md, main.rs and Makefile.in.",
    "Run unit.test and see for.example in docs.",
    "Abbreviations e.g. and i.e. and U.S.A. are not domains.",
    "The meeting is at 10:30:00 or 12:30:45.123.",
    "The MAC 00:1A:2B:3C:4D:5E and the loopback ::1 and std::vector and dead::beef.",
    "The hash function SHA-256 and MD5 are named.",
    "A 31-hex string d41d8cd98f00b204e9800998ecf8427 is too short.",
    "A 33-hex string d41d8cd98f00b204e9800998ecf8427ef is too long.",
    "A number 12345678901234567890123456789012 is not a hash.",
    "Frameworks ASP.NET, System.IO and Node.js, and logger.info(msg).",
    "Bad octets 999.1.1.1 and 256.0.0.1.",
    "Not ids: XCVE-2024-1234, CVE-24-1234, MYCVE-2023-4863.",
    "No TLD: user@localhost and http://localhost:8080/ and http://intranet/x.",
    "Spelled out: example dot com and example . com.",
    "Attackers won.Microsoft said so; the attack.Data leaked.",
    "الإصدار 1.2.3.4 متاح الآن",
    "版本1.2.3.4已发布",
    "версия 1.2.3.4 вышла",
    "Zero-padded 192.168.001.001 is written by no one.",
]


def _expected(text: str, expected: list[tuple[str, str, str]]) -> list[Indicator]:
    found, pos = [], 0
    for kind, value, written in expected:
        start = text.index(written, pos)
        found.append(Indicator(kind, value, written, start, start + len(written)))
        pos = start + len(written)
    return found


@pytest.fixture(scope="module")
def pipelines():
    cache: dict[str, spacy.Language] = {}

    def get(lang: str) -> spacy.Language:
        if lang not in cache:
            nlp = spacy.blank(lang)
            nlp.add_pipe("briefings_indicators")
            cache[lang] = nlp
        return cache[lang]

    return get


@pytest.mark.parametrize(("lang", "text", "expected"), POSITIVE + OFFSETS_ONLY)
def test_find_indicators_positive(lang, text, expected):
    assert find_indicators(text) == _expected(text, expected)


@pytest.mark.parametrize(("lang", "text", "expected"), POSITIVE)
def test_component_spans_cover_exactly_the_indicator(pipelines, lang, text, expected):
    doc = pipelines(lang)(text)
    spans = doc.spans["indicators"]
    assert [(s.label_, s.kb_id_, s.text) for s in spans] == expected
    for span, ind in zip(spans, _expected(text, expected), strict=True):
        assert (span.start_char, span.end_char) == (ind.start, ind.end)
        assert span._.indicator == ind


@pytest.mark.parametrize("text", NEGATIVE)
def test_find_indicators_negative(text):
    assert find_indicators(text) == []


# Spacing, brackets and edges that decide where find_indicators' chunks begin and end.
CHUNK_EDGES = [
    "evil [ . ] com and user [ at ] evil ( . ) org and x { dot } net",
    "mail user[at]evil[.]com or user [@] evil [.] org; 203.0.113 [.] 45 too",
    "(203.0.113.45) [hxxps://evil[.]com/a] {evil.net} <a@b.org>",
    "ends with evil.com",
    "evil.com starts",
    "2001:db8::1",
    "::1 and 1::",
    f"{MD5}{SHA1}",
    f"x{MD5} {MD5}x {MD5}-{SHA1} md5:{MD5}.",
    "CVE-2024-1480CVE-2024-1481 cve\u20132024\u20131482, 2024-1483",
    "a .b c. d e.f 1.2 .3 4. [ ] ( ) { } [.] (.) {.} @ // : ::",
    "hxxp[://]evil[.]com/x [:]// hxxps[:]//evil(.)com/path?q=1",
    "日本203.0.113.45中文evil[.]com发起CVE-2024-1480攻击",
    "تواصل مع user@evil.com عبر 203.0.113.45",
]


@pytest.mark.parametrize(
    "text",
    [text for _, text, _ in POSITIVE + OFFSETS_ONLY] + NEGATIVE + CHUNK_EDGES,
)
def test_the_fast_path_finds_what_a_whole_text_scan_finds(text):
    assert find_indicators(text) == find_indicators_everywhere(text)
    padded = f"  {text}\n\t{text} "
    assert find_indicators(padded) == find_indicators_everywhere(padded)


FRAGMENTS = [
    "evil", "com", "203", "0", "113", "45", ".", "[.]", "(.)", "{.}", "[dot]", "[", "]", "(",
    ")", "{", "}", "@", "[at]", ":", "::", "//", "hxxps", "https", "[://]", "CVE-2024-1480",
    "2024", "-", "db8", "x", MD5, SHA1[:20], "مستشفى", "攻击", " ", " ", " ", "  ", "\t",
    "\n", "\u00a0", "\u3000", "v", "version ", "$", "USD",
    # Written dots of every kind, top-level domains and octets: what the chunk's checks
    # (which finders may match in it) look for.
    "DOT", "[DOT]", "( dot )", "{Dot}", " . ", "xn--p1ai", "ORG", "1", "255", "256", "010",
    "hxxp", "HXXP", "10[dot]0", "[DOT]7", "(dot)1", "203.0", ".113", "1.2.3",
]  # fmt: skip


def _random_texts(count: int, seed: int) -> list[str]:
    import random

    rng = random.Random(seed)
    texts = []
    for _ in range(count):
        text = "".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 60)))
        if rng.random() < 0.1:
            text = "x" * rng.randint(60, 200) + text + "y" * rng.randint(60, 200)
        texts.append(text)
    return texts


def test_the_fast_path_on_random_text():
    """Indicators as a whole-text scan finds them, on 5,000 random texts made of the
    fragments indicators and their edges are made of (brackets and spaces of every kind
    beside them, long non-space runs)."""
    for text in _random_texts(5000, 11):
        assert find_indicators(text) == find_indicators_everywhere(text), text


SEED_FRAGMENTS = [
    *FRAGMENTS, "0", "7", "9", "a", "F", "deadbeef", "1234567", "12345678", "2024-", "-1480",
    "2024\u20131480", "1.", ". ", ".x", ":/", "@ ", "[ ", " ]", "( ", "{", "a1b2c3d4",
]  # fmt: skip


def test_the_seed_and_chunk_patterns_match_as_their_plain_forms():
    """The seed pattern with the digit's conditions gated and first, and the chunk taken a
    run of non-space at a time, match where and as far as their plain references do, in
    both directions (the chunk's start is found on the reversed text): on 5,000 random
    texts of digits, hex letters, CVE years, dots, colons, brackets and spaces."""
    import random
    import re

    seed, plain_seed = re.compile(_SEED_PATTERN), re.compile(_SEED_REFERENCE)
    scan, plain_scan = _SEED_TO_CHUNK_END, re.compile(_SEED_REFERENCE + _CHUNK_REFERENCE)
    plain_chunk = re.compile(_CHUNK_REFERENCE)
    rng = random.Random(13)
    seeds = 0
    for _ in range(5000):
        text = "".join(rng.choice(SEED_FRAGMENTS) for _ in range(rng.randint(0, 40)))
        found = [m.span() for m in seed.finditer(text)]
        assert found == [m.span() for m in plain_seed.finditer(text)], text
        assert [m.span() for m in scan.finditer(text)] == [
            m.span() for m in plain_scan.finditer(text)
        ], text
        for reverse in (text, text[::-1]):
            for at in range(len(reverse) + 1):
                assert _CHUNK.match(reverse, at).end() == plain_chunk.match(reverse, at).end()
        seeds += len(found)
    assert seeds > 20_000  # seeds of every kind were there to find


def test_domains_are_refanged_as_refang_does():
    """The domain finder's shortcut gives what refang and is_defanged give, on every
    domain-shaped run of the random texts (plain, defanged, "hxxp"-led)."""
    written = {m.group() for text in _random_texts(3000, 12) for m in DOMAIN_RE.finditer(text)}
    assert sum(is_defanged(w) for w in written) > 300  # the cases the shortcut handles
    assert any(w.lower().startswith("hxxp") and "." in w for w in written)
    for w in written:
        assert _refang_domain(w) == (refang(w), is_defanged(w)), w


def test_zero_padded_and_large_octets_are_refused_as_the_rule_says():
    """Every octet IPV4_RE can take (one to three digits), in each place of an address."""
    from itertools import product

    for width in (1, 2, 3):
        for digits in product("0123456789", repeat=width):
            octet = "".join(digits)
            bad = int(octet) > 255 or (len(octet) > 1 and octet[0] == "0")
            for address in (f"{octet}.1.2.3", f"1.{octet}.2.3", f"1.2.3.{octet}"):
                assert (_BAD_OCTET.search(address) is not None) == bad, address


def test_counts_of_cases():
    kinds = {kind for _, _, expected in POSITIVE for kind, _, _ in expected}
    assert kinds == set(TYPES)
    assert len(POSITIVE) >= 40
    assert len(NEGATIVE) >= 25


def test_wider_span_gives_back_the_exact_indicator(pipelines):
    doc = pipelines("en")("host 203.0.113.45:8080 open")
    (span,) = doc.spans["indicators"]
    assert span.text == "203.0.113.45:8080"  # the tokenizer keeps the port on
    assert span.kb_id_ == "203.0.113.45"
    assert span._.indicator == Indicator("ipv4", "203.0.113.45", "203.0.113.45", 5, 17)


def test_url_host_is_not_reported_again_as_a_domain():
    found = find_indicators("Get https://evil.com/x and mail a@evil.org from evil.net")
    assert [(i.type, i.value) for i in found] == [
        ("url", "https://evil.com/x"),
        ("email", "a@evil.org"),
        ("domain", "evil.net"),
    ]


def test_defanged_flag():
    plain, defanged = find_indicators("See https://cisa.gov/x and hxxps://evil[.]com/x")
    assert (plain.defanged, defanged.defanged) == (False, True)


def test_refang():
    assert refang("hxxps[://]evil[.]com") == "https://evil.com"
    assert refang("hXXp://a(.)b{.}c[dot]d") == "http://a.b.c.d"
    assert refang("x[at]y [dot] org") == "x@y.org"
    assert refang("plain.example.com") == "plain.example.com"


def test_tld_list_holds_cctlds_and_common_gtlds():
    tlds = load_tlds()
    assert {"com", "org", "net", "ru", "cn", "ir", "kp", "ua", "uk", "fr", "ma", "dz", "su"} <= tlds
    assert sum(len(t) == 2 for t in tlds) >= 240
    assert "pdf" not in tlds and "exe" not in tlds


def test_empty_and_whitespace_texts(pipelines):
    assert find_indicators("") == []
    for lang in ("en", "ar", "zh"):
        assert list(pipelines(lang)("").spans["indicators"]) == []
        assert list(pipelines(lang)("   \n ").spans["indicators"]) == []


def test_ten_megabytes(pipelines):
    para = (
        "Attackers exploited CVE-2024-1480 in version 1.2.3.4; traffic came from 203.0.113[.]45 "
        "and hxxps://evil[.]com/login.php with report.pdf (md5 " + MD5 + ") on 03.10.2024.\n"
    )
    copies = 10_000_000 // len(para) + 1
    nlp = spacy.blank("en")
    nlp.add_pipe("briefings_indicators")
    nlp.max_length = len(para) * copies + 1
    doc = nlp(para * copies)
    spans = doc.spans["indicators"]
    assert len(spans) == 4 * copies
    assert {s.kb_id_ for s in spans} == {
        "CVE-2024-1480",
        "203.0.113.45",
        "https://evil.com/login.php",
        MD5,
    }
