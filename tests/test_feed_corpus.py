"""feedparser's own test corpus, run through real ingestion, file by file.

Every file of ``tests/data/feedparser`` becomes a feed source of one shared
workspace (one store, one ingestor for the module) and is ingested once. Each
file describes itself in a header comment, the way feedparser's tests read
them (``tests/helpers.py`` there): ``Description:``, ``Expect:`` (a Python
expression over feedparser's result, which starts with ``bozo`` or ``not bozo``)
and sometimes ``Header:`` (an HTTP header the case was written for). Adding a
case means adding a file.

What is checked, for every file: no exception escapes, the report is ``ok`` or
``error`` with a one-line reason, stored HTML is inert and no larger than the
document could honestly make it. For ``Expect: not bozo`` feeds with an entry
that has a title, link, summary or content (by the standard library's XML
parser, not ours), items were stored. For ``Expect: bozo`` documents, the problem is reported.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest

from briefings.config import SourceConfig
from briefings.errors import SourceError
from briefings.ingestion import Ingestor
from briefings.models import Item, SourceReport
from briefings.parsing import ParsedFeed, parse_feed
from briefings.store import Store
from briefings.workspace import CONFIG_NAME, open_workspace

CORPUS = Path(__file__).parent / "data" / "feedparser"
# Every file, LICENSE included: a plain-text file given as a feed must fail cleanly too.
FILES = sorted(p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file())
HEADER_FIELD = re.compile(
    r"\b(Description|Expect|Header|SkipUnless):[ \t]*(.*?)[ \t]*(?=\n|\b(?:Description|Expect|Header|SkipUnless):|$)"
)
SANITIZER_WORDS = re.compile(
    r"\bscript|sanitiz|javascript|vbscript|\bstyle|iframe|\bembed|\bobject|applet|crazy|"
    r"malicious|unsafe|\bon(?:abort|blur|change|click|dblclick|error|focus|key\w+|load|mouse\w+|"
    r"reset|resize|submit|unload)\b",
    re.IGNORECASE,
)


def _encoding_of(body: bytes) -> str:
    """The encoding an XML processor would pick (XML 1.0 appendix F), without HTTP."""
    for bom, name in (
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
    ):
        if body.startswith(bom):
            return name
    for prefix, name in (
        (b"\x00\x00\x00<", "utf-32-be"),
        (b"<\x00\x00\x00", "utf-32-le"),
        (b"\x00<\x00", "utf-16-be"),
        (b"<\x00", "utf-16-le"),
    ):
        if body.startswith(prefix):
            return name
    declared = re.match(rb"<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", body)
    return declared.group(1).decode("ascii") if declared else "utf-8"


@dataclass(frozen=True)
class Case:
    """One corpus file and what its header comment says about it."""

    rel: str

    @property
    def path(self) -> Path:
        return CORPUS / self.rel

    @cached_property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @cached_property
    def header(self) -> dict[str, list[str]]:
        try:
            text = self.body.decode(_encoding_of(self.body), errors="replace")
        except LookupError:
            text = self.body.decode("latin-1")
        head = text.split("-->", 1)[0] if "-->" in text else ""
        fields: dict[str, list[str]] = {}
        for name, value in HEADER_FIELD.findall(head):
            fields.setdefault(name, []).append(value)
        return fields

    @property
    def expect(self) -> str:
        return " ".join(self.header.get("Expect", []))

    @property
    def expects_bozo(self) -> bool:
        return self.expect.startswith("bozo")

    @property
    def expects_well_formed(self) -> bool:
        return self.expect.startswith("not bozo")

    @property
    def content_type(self) -> str | None:
        """The media type of a ``Header: Content-type: ...`` line, if any."""
        for header in self.header.get("Header", []):
            name, _, value = header.partition(":")
            if name.strip().lower() == "content-type":
                return value.strip()
        return None

    @property
    def is_sanitizer_case(self) -> bool:
        described = " ".join(self.header.get("Description", []))
        return self.rel.startswith("wellformed/sanitize/") or bool(
            SANITIZER_WORDS.search(described)
        )

    @cached_property
    def has_entry_with_content(self) -> bool | None:
        """Whether the document has an entry with a title, link, summary or content,
        by the standard library's parsers (None when they cannot read it: then
        nothing is claimed)."""
        if self.path.suffix == ".json":
            try:
                items = json.loads(self.body).get("items") or []
            except ValueError:
                return None
            return any(
                item.get("title") or item.get("url") or item.get("content_html") for item in items
            )
        try:
            text = self.body.decode(_encoding_of(self.body))
        except (LookupError, UnicodeDecodeError):
            return None
        text = re.sub(r"^\ufeff?\s*<\?xml[^>]*\?>", "", text)
        try:
            root = ET.fromstring(text)
        except ET.ParseError:
            return None
        return any(_has_content(el) for el in root.iter() if _local(el.tag) in ENTRY_TAGS)


ENTRY_TAGS = {"item", "entry"}
# RSS description, Atom summary and content, content:encoded, xhtml:body, fullitem.
TEXT_TAGS = {"title", "description", "summary", "content", "encoded", "body", "fullitem"}


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _has_content(entry: ET.Element) -> bool:
    for child in entry:
        name = _local(child.tag)
        if name in TEXT_TAGS and "".join(child.itertext()).strip():
            return True
        if (
            name == "link"
            and child.get("rel", "alternate") == "alternate"
            and ("".join(child.itertext()).strip() or child.get("href", "").strip())
        ):
            return True
    return False


CASES = [Case(rel) for rel in FILES]


@dataclass
class Outcome:
    report: SourceReport
    items: list[Item]


class CorpusRun:
    """One workspace, store and ingestor; each corpus file ingested once, on demand."""

    def __init__(self, ingestor: Ingestor, store: Store):
        self.ingestor = ingestor
        self.store = store
        self._done: dict[str, Outcome] = {}

    def source_id(self, rel: str) -> str:
        return "fp-" + hashlib.sha256(rel.encode()).hexdigest()[:16]

    def ingest(self, case: Case) -> Outcome:
        if case.rel not in self._done:
            source = SourceConfig(id=self.source_id(case.rel), url=str(case.path.resolve()))
            report = self.ingestor.ingest_source(source)
            self._done[case.rel] = Outcome(report, self.store.list_items(source=source.id))
        return self._done[case.rel]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CorpusRun]:
    # The workspace has no sources of its own: each case is a SourceConfig whose
    # url is the absolute path of the corpus file, read in place.
    root = tmp_path_factory.mktemp("corpus")
    (root / CONFIG_NAME).write_text('[workspace]\nlanguages = ["en", "fr", "es", "ar"]\n', "utf-8")
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    ingestor = Ingestor.for_workspace(workspace, store)
    yield CorpusRun(ingestor, store)
    ingestor.close()
    store.close()


def _stored_size(items: list[Item]) -> int:
    return sum(len(item.html) + len(item.text) + len(item.title) for item in items)


# -- every file ------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=FILES)
def test_file_yields_a_report_with_a_one_line_reason(corpus: CorpusRun, case: Case) -> None:
    outcome = corpus.ingest(case)
    report = outcome.report
    assert report.source == corpus.source_id(case.rel)
    assert report.status in {"ok", "error"}
    if report.status == "error":
        assert report.error and "\n" not in report.error
        # "unexpected ..." means an exception we did not translate: a bug to fix.
        assert not report.error.startswith("unexpected"), report.error
        assert outcome.items == []
    else:
        assert report.error is None
        # Entries of one file may be duplicates of each other or of earlier files.
        assert report.new <= len(outcome.items) <= report.new + report.duplicates
    assert all(warning and "\n" not in warning for warning in report.warnings)


@pytest.mark.parametrize("case", CASES, ids=FILES)
def test_stored_html_is_inert(
    corpus: CorpusRun, case: Case, find_active_content: Callable[[str], list[str]]
) -> None:
    for item in corpus.ingest(case).items:
        assert find_active_content(item.html) == [], item.html


@pytest.mark.parametrize("case", CASES, ids=FILES)
def test_stored_text_is_not_expanded(corpus: CorpusRun, case: Case) -> None:
    # Sanitizing may add rel="noopener noreferrer nofollow" to links and text is
    # drawn from HTML, but nothing honest makes the store much larger than the file.
    items = corpus.ingest(case).items
    assert _stored_size(items) <= 4 * len(case.body) + 2000


# -- what the header comments promise -----------------------------------------------------

WELL_FORMED_WITH_ENTRIES = [c for c in CASES if c.expects_well_formed and c.has_entry_with_content]
BOZO = [c for c in CASES if c.expects_bozo and not c.content_type]
WITH_CONTENT_TYPE = [c for c in CASES if c.content_type]
SANITIZER = [c for c in CASES if c.is_sanitizer_case]


def test_the_corpus_has_each_kind_of_case() -> None:
    assert len(WELL_FORMED_WITH_ENTRIES) >= 150
    assert len(BOZO) >= 15
    assert len(WITH_CONTENT_TYPE) >= 40
    assert len(SANITIZER) >= 130


@pytest.mark.parametrize(
    "case", WELL_FORMED_WITH_ENTRIES, ids=[c.rel for c in WELL_FORMED_WITH_ENTRIES]
)
def test_well_formed_feed_with_entries_is_stored(corpus: CorpusRun, case: Case) -> None:
    outcome = corpus.ingest(case)
    assert outcome.report.status == "ok", outcome.report.error
    assert outcome.items, f"{case.rel}: {case.expect}"


@pytest.mark.parametrize("case", BOZO, ids=[c.rel for c in BOZO])
def test_ill_formed_document_is_reported(corpus: CorpusRun, case: Case) -> None:
    # Problems in content are data: an error, or a warning next to what was kept.
    report = corpus.ingest(case).report
    assert report.status == "error" or any("malformed" in w for w in report.warnings)


@pytest.mark.parametrize("case", WITH_CONTENT_TYPE, ids=[c.rel for c in WITH_CONTENT_TYPE])
def test_parse_with_the_declared_content_type(case: Case) -> None:
    # Local files carry no HTTP headers: give parse_feed the one the case was written for.
    try:
        parsed = parse_feed(
            case.body, location="https://example.org/feed", content_type=case.content_type
        )
    except SourceError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert isinstance(parsed, ParsedFeed)


def test_sanitizer_cases_had_active_content_and_stored_none(
    corpus: CorpusRun, find_active_content: Callable[[str], list[str]]
) -> None:
    """The inert-HTML check above is not vacuous: most sanitizer cases carried
    active content in the entries as parsed, and stored items for them."""
    hostile = 0
    for case in SANITIZER:
        try:
            parsed = parse_feed(case.body, location=str(case.path), content_type="application/xml")
        except SourceError:
            continue
        raw = "".join(e.content_html + e.summary_html for e in parsed.entries)
        if find_active_content(raw):
            hostile += 1
            items = corpus.ingest(case).items
            assert items, case.rel
            assert all(find_active_content(item.html) == [] for item in items), case.rel
    assert hostile >= 80


# -- entities: named, nested, external -------------------------------------------------

LAUGHS = "\n".join(
    ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)]
)
BILLION_LAUGHS = f"""<?xml version="1.0"?>
<!DOCTYPE rss [
{LAUGHS}
]>
<rss version="2.0"><channel><title>Laughs</title><link>https://example.org/</link>
<item><title>Billion laughs &lol9;</title><link>https://example.org/laughs</link>
<description>&lol9;</description></item>
</channel></rss>
"""


def _ingest_with_hang_guard(corpus: CorpusRun, source: SourceConfig) -> SourceReport:
    # A hang guard, not a speed assertion: a bomb that expands must not stall the suite.
    result: list[SourceReport] = []
    worker = threading.Thread(
        target=lambda: result.append(corpus.ingestor.ingest_source(source)), daemon=True
    )
    worker.start()
    worker.join(timeout=60)
    assert result, f"ingesting {source.url} did not finish"
    return result[0]


def test_billion_laughs_is_not_expanded(corpus: CorpusRun, tmp_path: Path) -> None:
    feed = tmp_path / "laughs.xml"
    feed.write_text(BILLION_LAUGHS, "utf-8")
    source = SourceConfig(id="billion-laughs", url=str(feed))
    report = _ingest_with_hang_guard(corpus, source)
    assert report.status == "error" or report.warnings
    items = corpus.store.list_items(source=source.id)
    assert all("lollol" not in item.text + item.html + item.title for item in items)
    assert _stored_size(items) <= 2 * len(BILLION_LAUGHS)


def test_external_entity_is_not_read(corpus: CorpusRun, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT", "utf-8")
    feed = tmp_path / "xxe.xml"
    feed.write_text(
        f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>
<rss version="2.0"><channel><title>XXE</title>
<item><title>External &xxe;</title><link>https://example.org/xxe</link>
<description>before &xxe; after</description></item></channel></rss>
""",
        "utf-8",
    )
    source = SourceConfig(id="external-entity", url=str(feed))
    report = _ingest_with_hang_guard(corpus, source)
    assert report.status in {"ok", "error"}
    items = corpus.store.list_items(source=source.id)
    assert all("TOP-SECRET" not in item.text + item.html + item.title for item in items)


def test_quadratic_blowup_is_not_expanded(corpus: CorpusRun, tmp_path: Path) -> None:
    # No entity refers to another, so feedparser keeps the declaration as "safe";
    # 1,000 references to a 10,000-character entity make 10 MB of one description.
    document = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + "a" * 10_000 + '">\n]>\n'
        '<rss version="2.0"><channel><title>Quadratic</title><item><title>Blowup</title>'
        "<link>https://example.org/quadratic</link><description>"
        + "&a;" * 1_000
        + "</description></item></channel></rss>\n"
    )
    feed = tmp_path / "quadratic.xml"
    feed.write_text(document, "utf-8")
    source = SourceConfig(id="quadratic-blowup", url=str(feed))
    report = _ingest_with_hang_guard(corpus, source)
    items = corpus.store.list_items(source=source.id)
    assert report.status == "error" or _stored_size(items) <= 4 * len(document)


ENTITY_CASES = [c for c in CASES if c.rel.startswith("entities/")]


@pytest.mark.parametrize("case", ENTITY_CASES, ids=[c.rel for c in ENTITY_CASES])
def test_html_named_entity_is_reported_not_expanded(corpus: CorpusRun, case: Case) -> None:
    # &bull; and friends are undefined in XML: refused or kept as text, never a hang.
    outcome = corpus.ingest(case)
    assert outcome.report.status == "error" or outcome.report.warnings
    assert _stored_size(outcome.items) <= len(case.body)


# -- titles are text -------------------------------------------------------------------

HTML_TITLES = [
    "wellformed/sanitize/entry_title_script.xml",
    "wellformed/sanitize/entry_title_script_cdata.xml",
    "wellformed/sanitize/entry_title_script_inline.xml",
]


@pytest.mark.parametrize("rel", HTML_TITLES)
def test_html_title_is_stored_as_plain_text(corpus: CorpusRun, rel: str) -> None:
    (item,) = corpus.ingest(Case(rel)).items
    assert "<" not in item.title and "location.href" not in item.title, item.title
    assert item.title == "safe description"
