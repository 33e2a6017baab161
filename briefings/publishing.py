"""Publishing: approved briefings and their publishable translations become each
audience's signed static site, switched in atomically.

Per audience: only briefings at or below its ``max_tlp``; after building, every
file is scanned for the ids and text of every excluded briefing, and the build
fails loudly if anything slipped through. Every file is listed with its SHA-256
in ``manifest.txt``, signed in minisign's format. The new site is written beside
the live one (``<output>`` is a symbolic link to a release folder) and switched
with one atomic rename; unchanged files are hard-linked from the previous
release, not rewritten. A crash at any point leaves the previous site whole.

Rebuilds are incremental: ``state/publish/<audience>.json`` records, for the live
release, the key of every page's and feed's inputs (the same key: the live file is
reused, checked against the signed manifest, not rendered), and for briefing and list
pages also a cheaper "unit" key of what they are made of (the publications they show
and the labels they name: the same unit, the same page, without making its data); the
needles its files were scanned with (unchanged bytes are not scanned again) and the
needles themselves, with the key of each excluded briefing's inputs (a change works out
only the needles of the briefings it touches); and each live file's size, inode, mtime
and ctime right after it was written (a file whose stat is unchanged is neither read
nor hashed again, only hard-linked; any difference: read and hashed). Rendered
Markdown and parsed front matter are cached by content hash in ``state/``, and
translation files are known by their stat (:mod:`briefings.document_cache`). Once
``keep_releases`` releases exist, the oldest is recycled into the next one, its folders
listed from the release ledger when their ctime says they did not change
(:mod:`briefings.release_ledger`). Every cache is an optimisation: losing one costs time.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import logging
import os
import re
import shutil
import sqlite3
import zlib
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple
from xml.sax.saxutils import escape as xml_escape

import orjson

from briefings.approval import Workflow
from briefings.boilerplate import boilerplate_matcher, drafting_templates, label_list_matcher
from briefings.collection import no_collections
from briefings.config import AudienceConfig
from briefings.document_cache import CachedFile, DocumentCache, body_of, bytes_of, file_stat
from briefings.documents import BriefingFile, sha256_bytes
from briefings.errors import PublishError, WorkflowError
from briefings.id_search import IdFinder
from briefings.labels import glossary_labels
from briefings.metrics import (
    TIMED_ACTIONS,
    BriefingTimes,
    collect_briefing_times,
    latest_event,
    status_page,
    weekly_medians,
)
from briefings.models import ApprovalRecord, AuditEntry, BriefingRecord
from briefings.release_ledger import FolderListing, ReleaseLedger, finish_mark, scan_folder
from briefings.rendering import MarkdownRenderer
from briefings.signing import SigningKey, load_or_create_key
from briefings.site import (
    LiveFile,
    PageCache,
    Publication,
    SiteBuilder,
    build_fingerprint,
    content,
    forget_build_memos,
)
from briefings.store import Store
from briefings.tlp import TLP, strictest
from briefings.translated_boilerplate import (
    source_clause_test,
    template_fragments,
    translated_boilerplate,
)
from briefings.workspace import Workspace, glossary_paths

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MANIFEST = "manifest.txt"
SIGNATURE = "manifest.txt.minisig"
STATUS = "status.html"
PUBLISHED_STATES = ["approved", "published", "withdrawn", "corrected"]
# A published briefing whose file changed goes back to review (or draft); until the
# new text is approved, the site keeps what was published.
REVISED_STATES = ["in-review", "draft"]
TEXT_SUFFIXES = (".html", ".md", ".xml", ".atom", ".rss", ".json", ".opml", ".txt", ".css", ".pub")
PUBLISHER = "system:publish"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class AudienceReport:
    name: str
    output: str
    briefings: int = 0
    excluded: int = 0
    files: int = 0
    written: int = 0
    linked: int = 0
    release: str | None = None
    changed: bool = True
    scanned: int = 0  # files the leak scan read (the others passed it before, unchanged)
    # Folders of the recycled release read from disk (the others were as the release
    # ledger lists them); None when no release was recycled with a ledger entry.
    folders_read: int | None = None


@dataclass
class PublishReport:
    audiences: list[AudienceReport] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "audiences": [a.__dict__ for a in self.audiences],
            "published": self.published,
            "skipped": self.skipped,
        }


# -- what is published ---------------------------------------------------------------


def _published_hashes(
    store: Store, entries: list[AuditEntry] | None = None
) -> dict[str, tuple[str | None, str | None]]:
    """Per briefing, the first and the last text that were published (one pass over the
    audit log rather than one query per briefing). ``entries``: the log's entries of
    these actions and others, in log order, when the caller has just read them."""
    found: dict[str, tuple[str | None, str | None]] = {}
    if entries is None:
        entries = store.audit_entries(actions=["publish"])
    for entry in entries:
        if entry.briefing_id and entry.action == "publish":
            first = found.get(entry.briefing_id, (entry.content_hash, None))[0]
            found[entry.briefing_id] = (first, entry.content_hash)
    return found


def _approved_at(approvals: list[ApprovalRecord], digest: str) -> datetime | None:
    times = [a.approved_at for a in approvals if a.sha256 == digest]
    return max(times) if times else None


def collect_publications(
    workflow: Workflow,
    report: PublishReport,
    documents: DocumentCache | None = None,
    records: list[BriefingRecord] | None = None,
    audit: list[AuditEntry] | None = None,
) -> list[Publication]:
    """Every briefing and translation that may be published now, with its exact bytes.
    ``records``: every briefing record, ``audit``: the audit log's entries of (at least)
    its publications, when the caller has just read them."""
    store = workflow.store
    documents = documents or DocumentCache(None)
    parse = documents.parse
    published = _published_hashes(store, audit)
    every_approval = store.approvals_by_briefing()  # one query, not several per briefing
    publications = []
    wanted = PUBLISHED_STATES + REVISED_STATES
    if records is None:
        records = store.list_briefings(states=wanted)
    for record in (r for r in records if r.state in wanted):
        first_digest, digest = published.get(record.id, (None, None))
        approvals = every_approval.get((record.id, record.lang), [])
        document = None
        if record.state == "approved":
            raw = workflow.approved_bytes(record.id, record=record, approvals=approvals)
        else:  # published, withdrawn, corrected or revised since: what was published stays
            if digest is None and record.state in REVISED_STATES:
                continue  # never published: nothing to keep on the site
            document = _published_file(workflow, documents, record, digest)
            raw = bytes_of(document) if document else store.blob(digest) if digest else None
            if document is None and raw is not None and sha256_bytes(raw) != digest:
                log.error("%s: the stored published text does not match its checksum", record.id)
                report.skipped.append(
                    f"{record.id}: its published text in the store no longer matches the "
                    f"approved checksum {digest[:12]}… (changed in the database); not "
                    f"republished. Check the database, then approve the briefing again"
                )
                continue
        if raw is None:
            if record.state != "withdrawn":
                report.skipped.append(f"{record.id}: no approved text to publish")
            continue
        if document is None:
            if record.state == "approved":  # (a stored text was just checked against its digest)
                digest = sha256_bytes(raw)
            document = parse(raw, workflow.path_of(record), digest)
        try:
            # The stricter of the store's label and the one in the published bytes.
            record.tlp = strictest(record.tlp, TLP.parse(document.meta.get("tlp") or record.tlp))
        except ValueError:
            report.skipped.append(f"{record.id}: unreadable tlp in its front matter")
            continue
        approved_at = _approved_at(approvals, digest)
        first = _approved_at(approvals, first_digest) if first_digest else None
        # Published when its first text was; an approved new text is an update.
        when = first or approved_at or record.created_at or utcnow()
        revised = max(approved_at or when, when)
        withdrawn = None
        if record.state == "withdrawn":
            withdrawn = {"reason": record.state_reason or "", "at": record.updated_at or when}
        updated = withdrawn["at"] if withdrawn else revised
        source = Publication(
            record, record.lang, document.meta, body_of(document), raw, when, updated, {}, withdrawn
        )
        publications.append(source)
        publications += _translations(
            workflow, record, digest, source, report, documents, every_approval
        )
    return publications


def _published_file(
    workflow: Workflow, documents: DocumentCache, record: BriefingRecord, digest: str | None
) -> BriefingFile | CachedFile | None:
    """The briefing's file when it holds exactly the published text ``digest`` (the sync
    has just taken its digest as the record's), else None: known by its stat, its front
    matter comes from the cache and its bytes are read only if needed, checked against
    the digest then. The store's copy of the text is not read (2,000 of them a rebuild)."""
    if digest is None or digest != record.content_hash:
        return None
    try:
        document = documents.read(workflow.path_of(record))
    except (OSError, WorkflowError):
        return None
    return document if document.sha256 == digest else None


def _translations(
    workflow: Workflow,
    record: BriefingRecord,
    source_digest: str,
    source: Publication,
    report: PublishReport,
    documents: DocumentCache | None = None,
    every_approval: dict[tuple[str, str], list[ApprovalRecord]] | None = None,
) -> list[Publication]:
    """Translations of this exact source text that the policy lets out."""
    out = []
    documents = documents or DocumentCache(None)
    allow_machine = workflow.workspace.config.publishing.machine_translations
    # Workflow.path_of(record, lang) for each language, without making Path objects
    # (thousands per build): the source's name with ".<lang>" before its suffix.
    source_path = workflow.path_of(record)
    source_name = str(source_path)
    cut = len(source_name) - len(source_path.suffix)
    for lang in workflow.workspace.config.workspace.languages:
        if lang == record.lang:
            continue
        path = f"{source_name[:cut]}.{lang}{source_name[cut:]}"
        try:
            document = documents.read(path)  # an unchanged file is known by its stat
        except FileNotFoundError:
            continue  # not translated (yet)
        except WorkflowError as exc:
            report.skipped.append(f"{record.id} ({lang}): {exc}")
            continue
        info = document.meta.get("translation") or {}
        if info.get("source_sha256") != source_digest:
            report.skipped.append(
                f"{record.id} ({lang}): translation is stale (its source changed)"
            )
            continue
        approvals = (
            every_approval.get((record.id, lang), [])
            if every_approval is not None
            else workflow.store.approvals(record.id, lang)
        )
        reviewed = (  # (most translations have no approval at all: machine translations)
            workflow.approved_bytes(record.id, lang, record=record, approvals=approvals)
            if approvals
            else None
        )
        if reviewed is not None:
            document = documents.parse(reviewed, Path(path))
            reviewers = sorted({a.officer for a in approvals if not a.is_void})
            provenance = {
                "machine_translated": False,
                "reviewed_by": reviewers,
                "original_lang": record.lang,
            }
            raw = reviewed
        elif info.get("state") == "machine" and allow_machine and not info.get("findings"):
            package = " ".join(str(info.get(k, "")) for k in ("package", "package_version")).strip()
            provenance = {
                "machine_translated": True,
                "package": package or None,
                "original_lang": record.lang,
            }
            raw = bytes_of(document)  # read only if its Markdown copy is written
        else:
            report.skipped.append(
                f"{record.id} ({lang}): translation not publishable ({info.get('state', 'no state')})"
            )
            continue
        out.append(
            Publication(
                record,
                lang,
                document.meta,
                body_of(document),
                raw,
                source.published,
                source.updated,
                provenance,
                source.withdrawn,
            )
        )
    return out


# -- TLP leak scan --------------------------------------------------------------------


MIN_SENTENCE = 30  # shorter sentences ("A fix ships in May.") are too common to betray
MIN_TITLE = 12  # a clause of a title or a source item's text
# A sentence mark and the spaces after it, or a blank line (the mark goes: _EDGE trims
# it). Written as ``[.!?;:。！？؟]\s+|\n\s*\n`` with the first character of both
# alternatives in one leading class: the regex engine then skips to the next candidate
# character instead of trying both alternatives at every place (1.8 times faster on
# pages; tests/test_publishing_scan.py holds it to the plain form).
_CLAUSE_END = re.compile(r"[.!?;:。！？؟\n](?:(?<=\n)\s*\n|(?<!\n)\s+)")
_EDGE = " \t\r\n\"'“”‘’«»()[]{}*_#>|.,;:!?¿¡…-–—·`"
_TAG = re.compile(r"<[^>]*>")
# a abbr b bdi bdo cite code del dfn em i ins kbd mark q s samp small span strong sub sup
# time u var, as a tree of prefixes behind a look at the first letter: Python's regular
# expressions try alternatives one by one at every "<", and a page has hundreds of tags.
_INLINE_TAG = re.compile(
    r"<(?=/?[abcdeikmqstuv])/?(?:a(?:bbr)?|b(?:d[io])?|c(?:ite|ode)|d(?:el|fn)|em|i(?:ns)?|"
    r"kbd|mark|q|s(?:amp|mall|pan|trong|u[bp])?|time|u|var)\b[^>]*>",
    re.IGNORECASE,
)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
# The same matches where no "![" occurs (then "!?" only ever matches nothing), about twice
# as fast: a pattern that starts with a literal is searched for, not tried at every place.
_MD_LINK_NO_IMAGE = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# What starts a heading, list item or quote, with the newline before it: a pattern that
# starts with a literal is searched for, where ``(?m)^`` is tried at every character
# (three times slower on a briefing). The text gets a newline in front for its first line.
_MD_BLOCK_START = re.compile(r"\n[ \t]*(?:#{1,6}[ \t]+|[-*+][ \t]+|\d+[.)][ \t]+|>[ \t>]*)")


def _squash(text: str) -> str:
    return " ".join(text.split())


def markdown_reading(text: str) -> str:
    """Markdown as the text a reader sees, for :func:`clauses`: link text without its
    target, no emphasis or code markers; headings, list items, quotes and table cells
    start clauses of their own (the lines of a paragraph stay one text)."""
    text = (_MD_LINK if "![" in text else _MD_LINK_NO_IMAGE).sub(r"\1", text)
    text = _MD_BLOCK_START.sub("\n\n\n", "\n" + text)[1:]  # the newline stays, "\n\n" added
    # Emphasis and code marks go ("__" too; a single "_" stays: snake_case names).
    text = text.replace("*", "").replace("`", "").replace("__", "")
    return text.replace("|", "\n\n")


def html_reading(text: str) -> str:
    """HTML (entities already decoded or not) as the text a reader sees: inline tags
    dropped, every other tag the end of a clause, entities decoded."""
    reading = _TAG.sub("\n\n", _INLINE_TAG.sub("", text))
    return html.unescape(reading) if "&" in reading else reading


def clauses(text: str, minimum: int = 1) -> list[str]:
    """The clauses of plain text: split at sentence ends, at ": " and at blank lines,
    whitespace normalised, quotes and punctuation trimmed from both ends. A sentence
    copied into another one after a colon ("We also heard: ...") is a clause of its own."""
    marked = " ".join(_CLAUSE_END.sub("\x00", text).split())
    return [c for piece in marked.split("\x00") if len(c := piece.strip(_EDGE)) >= minimum]


def leak_needles(
    publications: list[Publication],
    excluded_ids: set[str],
    restricted_items: dict[str, list[str]] | None = None,
    boilerplate: str = "",
    is_template_text: Callable[[str], bool] | None = None,
    visible_items: Iterable[str] = (),
    known: Mapping[str, list[str]] | None = None,
) -> dict[str, list[str]]:
    """What betrays each excluded briefing: its id; the clauses of its title and of the
    titles and summaries of its restricted source items; every longer clause (sentence)
    of its text, as readers see it (links as their text, no Markdown markers), except
    those of template boilerplate that every briefing shares: the advice texts
    (``boilerplate``) and the clauses the drafting templates write
    (``is_template_text``, see :mod:`briefings.boilerplate`); in a translation, also
    its sentences that translate a wholly boilerplate sentence of its source
    (:mod:`briefings.translated_boilerplate`).

    Text of the excluded briefings' source items that the audience may see
    (``visible_items``: a CLEAR report in an event whose alert is AMBER, listed in the
    AMBER digest too) is cut out first: it betrays nothing, and the audience's own pages
    show it.

    :class:`LeakScanner` looks for the id among a file's words and for each clause among
    the file's clauses, normalised the same way.

    ``known``: needles made before for some of the briefings, from the same inputs (the
    same texts of theirs and the same boilerplate, templates and visible items: see
    :class:`NeedlesKeys`); they are taken as they are. A briefing's needles depend on
    nothing else, so only the others are worked out."""
    known = known or {}
    shared = _squash(boilerplate)
    template_text = is_template_text or (lambda clause: False)
    cut = visible_cutter(visible_items)

    def secret(clause: str) -> bool:
        return clause not in shared and not template_text(clause)

    boilerplate_clause = source_clause_test(shared, template_text, MIN_SENTENCE)

    def public_clause(clause: str) -> bool:
        """Boilerplate, or nothing longer than a source's name left once the visible
        items' text is cut out ("<CLEAR report title> (cert-a")."""
        if boilerplate_clause(clause):
            return True
        rest = cut(clause)
        return rest != clause and all(
            len(c) < MIN_TITLE or boilerplate_clause(c) for c in clauses(rest)
        )

    translated = translated_boilerplate(
        (p for p in publications if p.id in excluded_ids and p.id not in known),
        public_clause,
        lambda text: clauses(markdown_reading(text)),
    )
    needles: dict[str, list[str]] = {}
    for pub in publications:
        if pub.id not in excluded_ids:
            continue
        if pub.id in known:
            needles[pub.id] = list(known[pub.id])
            continue
        found = needles.setdefault(pub.id, [pub.id])
        title = cut(pub.title)
        found += clauses(title, MIN_TITLE)  # "Alert: Dialysis pump firmware flaw"
        # The whole title too, unless visible text was cut from it; restricted items whole.
        wholes = [title] if title == pub.title else []
        restricted = (restricted_items or {}).get(pub.id, [])
        for text in [*wholes, *restricted]:
            if len(whole := _squash(text).strip(_EDGE)) >= MIN_TITLE:
                found.append(whole)
        for text in [title, *restricted]:
            found += filter(secret, clauses(text, MIN_SENTENCE))
        shared_here = translated.get((pub.id, pub.lang), set())
        found += (
            clause
            for clause in clauses(cut(markdown_reading(pub.body)), MIN_SENTENCE)
            if clause not in shared_here and secret(clause)
        )
        needles[pub.id] = list(dict.fromkeys(found))
    return needles


NEEDLES_VERSION = "3"  # bump when leak_needles or what it is given changes
# Bump when what the scan compares in a file, or records of it, changes: the verdicts of
# earlier scans (files known clean) and their sums no longer hold then, and every file is
# read again (3: the sums of id prefixes recorded too).
SCAN_VERSION = "3"
MAX_COMMAS = 8  # runs between commas looked at in one clause: at most 44


class NeedlesKeys(NamedTuple):
    """Digests of what :func:`leak_needles` reads: ``common`` of what every briefing's
    needles depend on (the boilerplate, the drafting templates, the glossary's files, the
    visible items), ``briefings`` per excluded briefing of its own inputs (its
    publications' bytes, languages and titles, its restricted items), and ``whole`` of
    both. The same ``whole``: the same needles; the same ``common`` and the same key of a
    briefing: the same needles for that briefing."""

    whole: str
    common: str
    briefings: dict[str, str]


def _needles_keys(
    workspace: Workspace,
    publications: list[Publication],
    excluded_ids: set[str],
    restricted: dict[str, list[str]],
    boilerplate: str,
    visible: Iterable[str] = (),
) -> NeedlesKeys:
    """The :class:`NeedlesKeys` of these inputs of :func:`leak_needles` (a translation is
    paired with its source's text, so a briefing's languages go together)."""
    from importlib import resources

    common = hashlib.sha256(f"needles {NEEDLES_VERSION}\n{boilerplate}\n".encode())
    common.update(json.dumps(sorted(visible)).encode())
    for text in drafting_templates(workspace.root):
        common.update(text.encode())
    paths = glossary_paths(workspace)
    files = (
        [Path(p) for p in paths]
        if paths
        else sorted(Path(str(resources.files("glossary") / "data")).glob("*"))
    )
    for path in files:
        for one in sorted(path.rglob("*")) if path.is_dir() else [path]:
            with contextlib.suppress(OSError):
                common.update(one.name.encode() + one.read_bytes())
    texts: dict[str, list[str]] = {}
    for pub in sorted(publications, key=lambda p: (p.id, p.lang)):
        if pub.id in excluded_ids:
            texts.setdefault(pub.id, []).append(
                f"{pub.id} {pub.lang} {pub.record.lang} {pub.title} {pub.digest}"
            )
    briefings = {
        briefing_id: hashlib.sha256(
            json.dumps([lines, restricted.get(briefing_id, [])]).encode()
        ).hexdigest()
        for briefing_id, lines in texts.items()
    }
    shared = common.hexdigest()
    whole = hashlib.sha256(json.dumps([shared, sorted(briefings.items())]).encode()).hexdigest()
    return NeedlesKeys(whole, shared, briefings)


def _lazy_template_text(workspace: Workspace) -> Callable[[str], bool]:
    """:func:`_template_text`, built on the first question only (loading the glossary
    takes seconds; a run with nothing excluded never asks) and then kept for the run."""
    built: list[Callable[[str], bool]] = []

    def is_template_text(clause: str) -> bool:
        if not built:
            built.append(_template_text(workspace))
        return built[0](clause)

    return is_template_text


def _template_text(workspace: Workspace) -> Callable[[str], bool]:
    """Clauses the drafting templates write (see :mod:`briefings.boilerplate`), their
    fixed words however short (they matter in a translated source's sentences, see
    :func:`~briefings.translated_boilerplate.template_fragments`), glossary label lists."""
    from glossary import load_glossary

    templates = drafting_templates(workspace.root)
    from_templates = boilerplate_matcher(templates, lambda text: clauses(markdown_reading(text)))
    fragments = template_fragments(templates, lambda text: clauses(markdown_reading(text)))
    glossary = load_glossary(glossary_paths(workspace))
    labels = label_list_matcher(t.text for c in glossary.concepts for t in c.terms)
    return lambda clause: clause in fragments or from_templates(clause) or labels(clause)


def _boilerplate() -> str:
    """Text the drafting templates put into every briefing (advice)."""
    from importlib import resources

    import yaml

    advice = yaml.safe_load(
        (resources.files("briefings") / "templates" / "advice.yaml").read_text("utf-8")
    )
    return "\n".join(" ".join(str(v).split()) for v in advice.values())


def visible_cutter(texts: Iterable[str]) -> Callable[[str], str]:
    """A function cutting ``texts`` out of a text (each replaced by a blank line, so
    what stood before and after are clauses of their own), as written, squashed, and
    as drafting writes them into Markdown and the scan reads that back; longest first.
    Texts shorter than ``MIN_TITLE`` are left: they are in any text."""
    from briefings.drafting import markdown_escape

    forms: set[str] = set()
    for text in texts:
        squashed = _squash(text)
        forms.update((text, squashed, markdown_reading(markdown_escape(squashed))))
    ordered = sorted((f for f in forms if len(f) >= MIN_TITLE), key=len, reverse=True)

    def cut(text: str) -> str:
        for form in ordered:
            if form in text:
                text = text.replace(form, "\n\n")
        return text

    return cut


def item_texts(
    store: Store, briefing_ids: set[str], audience: AudienceConfig
) -> tuple[dict[str, list[str]], list[str]]:
    """The texts of these briefings' items, read once: per briefing, the titles and
    summaries of its items above the audience's TLP (restricted); and, sorted, those of
    the items the audience may see (visible, see :func:`leak_needles`)."""
    restricted: dict[str, list[str]] = {}
    visible: set[str] = set()
    for briefing_id in briefing_ids:
        restricted[briefing_id] = []
        for item in store.list_items(ids=store.briefing_items(briefing_id)):
            if audience.max_tlp.allows(item.tlp):
                visible.update(t for t in (item.title, item.summary) if t)
            else:
                restricted[briefing_id] += [item.title, item.summary[:120]]
    return restricted, sorted(visible)


def readable_clauses(
    path: str, data: bytes | str, cut: Callable[[str], str] | None = None
) -> tuple[set[str], str]:
    """A file's clauses as a reader could see them, and its text with entities decoded.

    Clauses come from the text with tags removed (pages, and the escaped HTML inside
    feeds: block elements end a clause, inline ones do not; the text of scripts such as
    JSON-LD stays) and entities decoded, from the decoded strings of JSON, and for
    Markdown from its front matter lines as they are and its text as readers see it.
    ``cut`` removes embedded fragments read on their own (see :meth:`LeakScanner.scan`)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if path.endswith(".json"):
        with contextlib.suppress(ValueError):
            text = "\n\n".join(_json_strings(json.loads(text)))
    if cut is not None:
        text = cut(text)
    decoded = html.unescape(text) if "&" in text else text
    if cut is not None and decoded is not text:
        decoded = cut(decoded)
    if path.endswith((".md", ".txt")):
        front, fence, body = decoded.partition("\n---\n")
        if not fence or not decoded.startswith("---"):
            front, body = "", decoded
        found = set(clauses(front.replace("\n", "\n\n")))  # every line on its own
        found.update(clauses(markdown_reading(body)))
    elif "<" in decoded:
        found = set(clauses(html_reading(decoded)))
    else:
        found = set(clauses(decoded))
    return found | comma_pieces(found), decoded


def comma_pieces(found: Iterable[str]) -> set[str]:
    """Sentences copied into a clause next to commas ("As reported, <sentence>",
    "<sentence>, officials said", "Yesterday, <sentence>, they added"): every run of the
    clause's comma-separated parts but the whole, trimmed as clauses are; none shorter
    than a title (no needle is). A clause with more than ``MAX_COMMAS`` commas gives
    only its runs from its start or to its end."""
    pieces: set[str] = set()
    for clause in found:
        if ", " not in clause:
            continue
        parts = clause.split(", ")
        count = len(parts)
        if count > MAX_COMMAS + 1:
            for i in range(1, count):
                pieces.add(", ".join(parts[i:]).strip(_EDGE))
                pieces.add(", ".join(parts[:i]).strip(_EDGE))
            continue
        for start in range(count):
            for end in range(start + 1, count + 1):
                if end - start < count:
                    pieces.add(", ".join(parts[start:end]).strip(_EDGE))
    return {piece for piece in pieces if len(piece) >= MIN_TITLE}


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (str(k), *_json_strings(v))]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


class LeakScanner:
    """Finds what betrays excluded briefings in files: an id anywhere in a file, a
    clause (a sentence, a title) among its clauses or the runs of their comma-separated
    parts (:func:`comma_pieces`). Set lookups, so a whole site with many excluded
    briefings is scanned in about the time it takes to read it."""

    def __init__(self, needles: dict[str, list[str]], digest: str | None = None):
        """``digest``: :attr:`digest` of these needles, when known (it takes a moment)."""
        self.needles = needles
        self.ids: dict[str, str] = {}
        self.by_clause: dict[str, str] = {}
        for briefing_id, strings in needles.items():
            for needle in strings:
                if needle == briefing_id:
                    self.ids[needle] = briefing_id
                else:
                    self.by_clause.setdefault(needle, briefing_id)
        self.digest = (
            digest
            or hashlib.sha256(
                f"scan {SCAN_VERSION}\n".encode()
                + json.dumps(needles, sort_keys=True, ensure_ascii=False).encode()
            ).hexdigest()
        )
        self._fragments: dict[str, tuple[list[tuple[str, str]], set[int]]] = {}
        self._id_finder = IdFinder(self.ids)

    def _hits(self, found: set[str], text: str) -> list[tuple[str, str]]:
        hits = [(self.ids[i], i) for i in sorted(self._id_finder.find(text))]
        return hits + [(self.by_clause[c], c) for c in sorted(found & self.by_clause.keys())]

    def know_clean(self, fragment: str, sums: Iterable[int]) -> None:
        """Take ``fragment`` as holding no needle, with (at most) these clause sums: it
        is the body of a page that passed the scan with these needles."""
        self._fragments.setdefault(fragment, ([], set(sums)))

    def scan(self, path: str, data: bytes, embedded: Iterable[str] = ()) -> list[str]:
        """Problems found in one file. ``embedded``: HTML fragments (rendered Markdown)
        the file carries as they are or escaped once (pages, feeds): each is read once
        per scanner, then cut out of every file that carries it."""
        return self.scan_with_sums(path, data, embedded)[0]

    def scan_with_sums(
        self, path: str, data: bytes, embedded: Iterable[str] = ()
    ) -> tuple[list[str], set[int]]:
        """:meth:`scan`, and the checksums of every clause it compared with the needles
        (:func:`sums_of`) and of the id prefixes of the text it looked for ids in
        (:func:`id_prefix_sums`): what a later build needs to know that the file holds
        none of its new needles without reading it again (see :func:`_clean_by_sums`)."""
        if not self.needles or not path.endswith(TEXT_SUFFIXES):
            return [], set()
        hits: list[tuple[str, str]] = []
        sums: set[int] = set()
        fragments = [f for f in embedded if f]
        for fragment in fragments:
            if fragment not in self._fragments:
                found, text = readable_clauses("x.html", fragment)
                self._fragments[fragment] = (
                    self._hits(found, text),
                    sums_of(found) | id_prefix_sums(text),
                )
            fragment_hits, fragment_sums = self._fragments[fragment]
            hits += fragment_hits
            sums |= fragment_sums

        escaped = [xml_escape(f) for f in fragments]

        def cut(text: str) -> str:
            # As they are in pages and JSON strings, escaped once in Atom and RSS: the
            # first fragment tells which (any fragment left in is read with the rest).
            if fragments[0] in text:
                return cut_out(text, fragments)
            if escaped[0] in text:
                return cut_out(text, escaped)
            return cut_out(text, [*fragments, *escaped])

        found, text = readable_clauses(path, data, cut if fragments else None)
        hits += self._hits(found, text)
        sums |= sums_of(found)
        sums |= id_prefix_sums(text)  # of the text the ids were looked for in
        problems: list[str] = []
        seen: set[str] = set()
        for briefing_id, needle in hits:
            if briefing_id not in seen:
                seen.add(briefing_id)
                problems.append(f"{briefing_id} appears in {path} ({needle[:60]!r})")
        return problems, sums


def cut_out(text: str, forms: Iterable[str]) -> str:
    """``text`` with one occurrence of each of ``forms`` replaced by a blank line (what
    stood before and after are clauses of their own): the first after the occurrence of
    the form before it, else the first. Where two overlap, the earlier is cut and the
    other stays. What is not cut is scanned with the rest of the file, so this may leave
    text in, never take more out. Forms usually follow one another in the text (a feed's
    entries), so each search starts where the last one ended: a feed of tens of fragments
    is read about once, not once per fragment."""
    spans = []
    after = 0
    for form in forms:
        if not form:
            continue
        start = _find(text, form, after, len(text))
        if start < 0 and after:  # one that starts before: it may end past ``after``
            start = _find(text, form, 0, after)
        if start >= 0:
            spans.append((start, start + len(form)))
            after = start + len(form)
    if not spans:
        return text
    spans.sort()
    pieces, kept_from = [], 0
    for start, end in spans:
        if start >= kept_from:
            pieces.append(text[kept_from:start])
            kept_from = end
    pieces.append(text[kept_from:])
    return "\n\n".join(pieces)


def _find(text: str, form: str, begin: int, before: int) -> int:
    """Where ``form`` first starts in ``text`` at ``begin`` or later and before
    ``before``, or -1. Its first characters are searched for, then the rest compared:
    ``str.find`` prepares a long needle first, which took longer than the search."""
    head = form[:64]
    start = text.find(head, begin, before + len(head) - 1)
    while start >= 0 and not text.startswith(form, start):
        start = text.find(head, start + 1, before + len(head) - 1)
    return start


def sums_of(clauses: Iterable[str]) -> set[int]:
    """A short checksum of each clause (CRC-32). Equal clauses have equal sums; two
    clauses that share one only cost a file a second reading, never a missed leak."""
    crc32 = zlib.crc32  # (a comprehension, no call per clause: a full build sums millions)
    return {crc32(clause.encode("utf-8")) for clause in clauses}


# Ids are looked for anywhere in a file's text, not among its clauses. What lets a later
# build rule a new id out of a file without reading it: the sums of the text's "id
# prefixes". Drafted ids hold a date ("alert-2026-03-14-ransomware-at-..."); from every
# "-" that starts one ("-2026-03-14-", an anchor), each stretch of the text that ends
# right before a later "-" within ``ID_REACH`` characters is summed. An id is checked by
# one such stretch of its own: from its first anchor to the last "-" within reach
# (:func:`id_prefix_sum`). Where the id occurs in a text, that stretch is in the text at
# an anchor and followed by a "-" there too, so its sum is among the text's: whatever
# the characters around or after the id. The anchors are found by a lookahead, so
# overlapping dates are all found. Ids that differ only after their last "-" ("...-a1",
# "...-a1--2") share the stretch: a file holding one is read again for the other.
_ID_ANCHOR = re.compile(r"-(?=[0-9]{4}-[0-9]{2}-[0-9]{2}-)")
DATE_END = 11  # the "-" that ends an anchor's date: "-2026-03-14-"[11]
ID_REACH = 96
_PREFIX_MARK = b"id "  # id prefix sums apart from clause sums (a clash costs one reading)


def id_prefix_sums(text: str) -> set[int]:
    """The sums of the id prefixes of ``text`` (see :data:`ID_REACH`)."""
    crc32 = zlib.crc32
    sums: set[int] = set()
    seen: set[str] = set()  # a page names its own id many times
    for anchor in _ID_ANCHOR.finditer(text):
        start = anchor.start()
        reach = text[start : start + ID_REACH + 1]
        if reach in seen:
            continue
        seen.add(reach)
        dash = reach.find("-", DATE_END)
        while dash > 0:
            sums.add(crc32(_PREFIX_MARK + reach[:dash].encode("utf-8")))
            dash = reach.find("-", dash + 1)
    return sums


def id_prefix_sum(briefing_id: str) -> int | None:
    """The sum of the stretch of ``briefing_id`` from its first anchor to its last "-"
    within reach, which every text holding the id has among :func:`id_prefix_sums`;
    None for an id without a date (its presence cannot be ruled out by sums)."""
    anchor = _ID_ANCHOR.search(briefing_id)
    if anchor is None:
        return None
    reach = briefing_id[anchor.start() : anchor.start() + ID_REACH + 1]
    stretch = reach[: reach.rfind("-")]  # the date's own end at the least
    return zlib.crc32(_PREFIX_MARK + stretch.encode("utf-8"))


class ClauseSums:
    """Per file digest, the sums of the clauses the leak scan compared (see
    :meth:`LeakScanner.scan_with_sums`), in a SQLite file beside the build record.
    A cache: any error means reading the files again."""

    def __init__(self, path: Path):
        self.path = path
        self.table = f"sums_v{SCAN_VERSION}"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=10)
        db.execute("DROP TABLE IF EXISTS sums")  # the sums of scan version 1
        db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (digest TEXT PRIMARY KEY, sums BLOB)")
        return db

    def load(self, digests: set[str]) -> dict[str, array]:
        """The sums recorded for these digests (those it has), each file's as an array
        (a test of a few new sums against it needs no set of its thousands)."""
        wanted = sorted(digests)
        try:
            db = self._connect()
            try:
                if len(wanted) > 2000:  # most of the table: one pass over it
                    rows = db.execute(f"SELECT digest, sums FROM {self.table}").fetchall()
                else:
                    rows = []
                    for start in range(0, len(wanted), 500):
                        chunk = wanted[start : start + 500]
                        marks = ",".join("?" * len(chunk))
                        rows += db.execute(
                            f"SELECT digest, sums FROM {self.table} WHERE digest IN ({marks})",
                            chunk,
                        ).fetchall()
            finally:
                db.close()
        except (OSError, sqlite3.Error):
            return {}
        return {digest: array("I", blob) for digest, blob in rows if digest in digests}

    def save(self, new: dict[str, set[int]], keep: set[str], previous: Iterable[str] = ()) -> None:
        """Record ``new``, and forget the digests no longer in ``keep`` (the release):
        those of ``previous`` (the release before it) at once, and any other (a release
        that never went live, an older scan) once there are more rows than ``keep`` has
        digests, by one pass over the table (a rebuild that changes a few files then
        reads none of its 17,000 rows)."""
        try:
            db = self._connect()

            def forget(digests: Iterable[str]) -> None:
                stale = [(d,) for d in digests if d not in keep]
                db.executemany(f"DELETE FROM {self.table} WHERE digest = ?", stale)

            try:
                with db:
                    db.executemany(
                        f"INSERT OR REPLACE INTO {self.table} (digest, sums) VALUES (?, ?)",
                        ((d, array("I", sorted(v)).tobytes()) for d, v in new.items()),
                    )
                    forget(set(previous))
                    (rows,) = db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()
                    if rows > len(keep):
                        forget([d for (d,) in db.execute(f"SELECT digest FROM {self.table}")])
            finally:
                db.close()
        except (OSError, sqlite3.Error) as exc:
            log.warning("cannot record clause sums in %s: %s", self.path, exc)


def _clean_by_sums(
    before: tuple[dict[str, list[str]], set[str]] | None,
    needles: dict[str, list[str]],
    sums: ClauseSums,
    digests: set[str],
) -> set[str]:
    """The digests among ``digests`` that passed the last build's scan (``before``: its
    needles and the digests it passed) and hold none of the clauses that are new
    needles now, by their recorded sums: they need no second reading when an excluded
    briefing's text changed or a new one is left out. A new id is ruled out by the
    sum of its id prefix (:func:`id_prefix_sum`); nothing is clean this way when a new
    id has no date."""
    if before is None:
        return set()
    old, passed = before

    def split(found: dict[str, list[str]]) -> tuple[set[str], set[str]]:
        ids = {n for key, strings in found.items() for n in strings if n == key}
        texts = {n for key, strings in found.items() for n in strings if n != key}
        return ids, texts

    old_ids, old_clauses = split(old)
    new_ids, new_clauses = split(needles)
    added = sums_of(new_clauses - old_clauses)
    for briefing_id in new_ids - old_ids:
        prefix = id_prefix_sum(briefing_id)
        if prefix is None:
            return set()
        added.add(prefix)
    candidates = passed & digests
    if not added:
        return candidates
    recorded = sums.load(candidates)
    return {d for d, found in recorded.items() if added.isdisjoint(found)}


def _clean_fragments(
    builder: SiteBuilder,
    files: dict,
    to_scan: list[str],
    digests: dict[str, str],
    known_clean: set[str],
    sums: ClauseSums,
) -> dict[str, array]:
    """The fragments the files to scan embed (a feed's entries) that are the bodies of
    briefing pages known clean, with those pages' recorded clause sums: each such page
    was scanned with its body in it, so the body holds no needle, and the page's sums
    hold the body's (a superset: at worst a later scan reads the feed again). A page
    must still hold the fragment as it is, and its sums must be on record."""
    pages: dict[str, str] = {}
    for path in to_scan:
        for fragment in builder.embedded.get(path, ()):
            page = builder.embedded_pages.get(fragment)
            if page is not None and page in files and digests.get(page) in known_clean:
                pages[fragment] = page
    if not pages:
        return {}
    recorded = sums.load({digests[page] for page in pages.values()})
    clean: dict[str, array] = {}
    for fragment, page in pages.items():
        found = recorded.get(digests[page])
        if found is not None and fragment in content(files[page]).decode("utf-8", "replace"):
            clean[fragment] = found
    return clean


def scan_for_leaks(
    files: dict[str, bytes],
    needles: dict[str, list[str]],
    *,
    clean: Callable[[str], bool] | None = None,
) -> list[str]:
    """Every (briefing, file) where an excluded briefing's text appears. ``clean(path)``
    may say a file is known clean (the same bytes passed the same needles before)."""
    scanner = LeakScanner(needles)
    problems = []
    for path, data in files.items():
        if clean is None or not clean(path):
            problems += scanner.scan(path, data)
    return problems


# -- writing and switching ------------------------------------------------------------


def file_digests(files: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def manifest_bytes(files: dict[str, bytes], digests: dict[str, str] | None = None) -> bytes:
    digests = digests if digests is not None else file_digests(files)
    lines = [f"{digests[path]}  {path}" for path in sorted(files)]
    return ("\n".join(lines) + "\n").encode("utf-8")


@lru_cache(maxsize=4)
def manifest_entries(data: bytes) -> Mapping[str, str]:
    """:func:`read_manifest` of a manifest's bytes, read-only and parsed once per build
    (a build asks for the live one four times, and it lists every file)."""
    return MappingProxyType(read_manifest(data.decode("utf-8", "replace")))


def read_manifest(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, _, path = line.partition("  ")
            entries[path] = digest
    return entries


class SiteWriter:
    """Releases of one audience's output folder, switched atomically."""

    def __init__(self, output: Path, keep: int, ledger: ReleaseLedger | None = None):
        self.output = output
        self.releases = output.parent / ".releases" / output.name
        self.keep = keep
        self.ledger = ledger  # what each release held when finished: recycling reads less
        self.folders_read: int | None = None  # by the last recycling, when it had a ledger
        self.kept_stats: dict[str, list[int]] = {}  # see write()

    def live_release(self) -> Path | None:
        if self.output.is_symlink():
            return self.output.resolve()
        if self.output.exists():
            raise PublishError(
                f"{self.output} is a folder that briefings did not make; move it away so the site can be "
                f"switched atomically"
            )
        return None

    def live_manifest(self) -> tuple[Path | None, bytes | None]:
        """The live release and its manifest's bytes (None where there is none)."""
        live = self.live_release()
        try:
            return live, (live / MANIFEST).read_bytes() if live else None
        except OSError:
            return live, None

    def write(
        self,
        files: dict[str, bytes | LiveFile],
        release_name: str,
        digests: dict[str, str] | None = None,
        verified: set[str] = frozenset(),
        intact: Callable[[str], list[int] | None] | None = None,
    ) -> tuple[Path, int, int]:
        """Write a new release, then switch to it. A file whose bytes the live release
        already has, unchanged on disk, is hard-linked from it instead of written
        (``verified``: files just read from the live release and checked; ``intact(path)``:
        the stat of a live file known to be as it was written, else None, see
        :func:`_intact_checker`). The stats of the files a recycled release already held
        as the live ones are left in :attr:`kept_stats`, when nothing since can have
        changed them (no release was pruned).

        When there are as many releases as are kept, the oldest one (which pruning would
        remove) is recycled instead of a new tree being made: it becomes the partial
        release and only what differs is changed in it (see :meth:`_recycle`)."""
        digests = digests if digests is not None else file_digests(files)
        live, manifest = self.live_manifest()
        previous = manifest_entries(manifest) if manifest else {}
        self._check_writable()
        try:
            self.releases.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(f"cannot write to {self.releases.parent}: {exc.strerror}") from exc
        final = self.releases / release_name
        partial = self.releases / f".{release_name}.partial"
        if partial.exists():
            shutil.rmtree(partial)
        written = linked = 0
        kept: dict[str, list[int]] = {}
        self.kept_stats = {}
        # Plain strings, not Path objects: a release has tens of thousands of files.
        base, source = str(partial), str(live) if live else ""
        try:
            present = self._recycle(live, partial, files)
            folders = {f"{base}/{path}" for path, kind in present.items() if kind < 0}
            if present or os.path.isdir(base):  # recycled
                folders.add(base)
            fixed = (MANIFEST, SIGNATURE)  # new in every release
            rest = files
            if present and live and intact is not None:
                # Most files of a recycled release are already the live file itself (the
                # same inode, unchanged since it was recorded): nothing to do for them.
                rest = {}
                for path, data in files.items():
                    there = present.get(path)  # the recycled tree's inode at this path
                    if there is not None and previous.get(path) == digests[path]:
                        stat = intact(path) if path not in fixed else None
                        if stat is not None and stat[1] == there:
                            linked += 1
                            kept[path] = stat
                            continue
                    rest[path] = data
            for path, data in sorted(rest.items()):
                target = f"{base}/{path}"
                folder = target.rpartition("/")[0]
                if folder not in folders:
                    _make_folder(folder)
                    folders.add(folder)
                there = present.get(path)
                unchanged = previous.get(path) == digests[path] and path not in fixed
                if live and unchanged:
                    old = f"{source}/{path}"
                    stat = intact(path) if intact is not None else None
                    inode = stat[1] if stat is not None else None
                    if (
                        inode is not None
                        or path in verified
                        or _same_bytes(Path(old), content(data))
                    ):
                        if there is not None:
                            os.unlink(target)
                            there = None
                        try:
                            os.link(old, target)
                            linked += 1
                            continue
                        except OSError:
                            pass  # another file system: write it
                # Never write into a recycled file: it may be a hard link of a live one.
                if there is not None:
                    os.unlink(target)
                Path(target).write_bytes(content(data))
                written += 1
            os.replace(partial, final)
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise PublishError(
                f"cannot write the new site in {self.releases}: {exc.strerror}"
            ) from exc
        try:
            self.switch(final)
        except OSError as exc:
            shutil.rmtree(final, ignore_errors=True)
            raise PublishError(
                f"cannot switch {self.output} to the new site: {self.output.parent} is not "
                f"writable ({exc.strerror}). The live site is unchanged; make the folder "
                f"writable for this user and publish again"
            ) from exc
        if not self.prune(final):
            self.kept_stats = kept  # linked nowhere else since: their ctime still holds
        return final, written, linked

    def kept_releases(self) -> list[Path]:
        """The complete releases there are."""
        return self._releases() if self.releases.is_dir() else []

    def _releases(self) -> list[Path]:
        """The complete releases, oldest name first."""
        return sorted(
            p for p in self.releases.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def _recycle(self, live: Path | None, partial: Path, files: dict) -> dict[str, int]:
        """Turn the oldest release into ``partial`` when pruning would remove it after
        this release, and empty it of everything the new release does not have.

        Returns what stays in ``partial``: each regular file's inode by path, and each
        folder (as its path with ``-1``). Anything else (a symbolic link, a file
        where a folder is now needed) is removed. A file that stays is kept as it is
        only when it is the very inode of an intact live file with the same bytes; any
        other is removed before it is written (see :meth:`write`), never written into,
        since it may be a hard link of a file in another release."""
        releases = self._releases()
        if len(releases) < self.keep:
            return {}
        oldest = [r for r in releases if live is None or r.resolve() != live.resolve()]
        if not oldest:
            return {}
        os.replace(oldest[0], partial)
        needed = {path.rpartition("/")[0] for path in files}
        for path in list(needed):  # and every folder above them
            while "/" in path:
                path = path.rpartition("/")[0]
                if path in needed:
                    break
                needed.add(path)
        present: dict[str, int] = {}
        listing = self.ledger.listing(oldest[0].name, str(partial)) if self.ledger else None
        _sweep(str(partial), "", files, needed, present, listing)
        self.folders_read = listing.read_from_disk if listing is not None else None
        return present

    def _check_writable(self) -> None:
        """Fail before writing a whole release that could never be switched in."""
        parent = self.output.parent
        if parent.is_dir() and not os.access(parent, os.W_OK | os.X_OK):
            raise PublishError(
                f"cannot publish to {self.output}: {parent} is not writable. The live site is "
                f"unchanged; make the folder writable for this user and publish again"
            )

    def switch(self, release: Path) -> None:
        """Point ``output`` at ``release`` in one rename: readers see the old or the new site."""
        link = self.output.with_name(f".{self.output.name}.switch")
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.relpath(release, self.output.parent), link)
        try:
            os.replace(link, self.output)
        except OSError:
            with contextlib.suppress(OSError):
                link.unlink()
            raise

    def prune(self, live: Path) -> int:
        """Remove old releases (never the live one), and what killed runs left; returns
        how many folders went (each may have held hard links of live files)."""
        if not self.releases.is_dir():
            return 0
        releases = self._releases()
        removed = 0
        for old in releases[: max(0, len(releases) - self.keep)]:
            if old.resolve() != live.resolve():
                shutil.rmtree(old, ignore_errors=True)
                removed += 1
        for partial in self.releases.glob(".*.partial"):
            shutil.rmtree(partial, ignore_errors=True)
            removed += 1
        link = self.output.with_name(f".{self.output.name}.switch")
        if link.is_symlink():
            with contextlib.suppress(OSError):
                link.unlink()
        return removed


def _make_folder(folder: str) -> None:
    """``os.makedirs(folder, exist_ok=True)`` in one system call when the parent exists
    (files go in sorted order, so it nearly always does)."""
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(folder, exist_ok=True)


def _sweep(
    base: str,
    folder: str,
    files: dict,
    needed: set[str],
    present: dict[str, int],
    listing: FolderListing | None = None,
) -> None:
    """Walk ``base/folder`` (no links followed; folders listed by ``listing`` when given,
    see :mod:`briefings.release_ledger`): record the regular files ``files`` has and the
    folders ``needed`` has in ``present``, remove the rest, deepest first."""
    full = f"{base}/{folder}" if folder else base
    entries = listing.entries(folder) if listing is not None else scan_folder(full)
    for name, is_folder, inode in entries:
        path = f"{folder}/{name}" if folder else name
        if is_folder:
            if path in needed:
                present[path] = -1
                _sweep(base, path, files, needed, present, listing)
            else:
                shutil.rmtree(f"{full}/{name}")
        elif inode >= 0 and path in files:
            present[path] = inode
        else:
            os.unlink(f"{full}/{name}")


def _same_bytes(path: Path, data: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``data`` (a live file may have been
    changed in place since its manifest was signed: then it must not be reused)."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


# -- the stage ------------------------------------------------------------------------


def publish_site(
    workspace: Workspace,
    store: Store,
    *,
    clock: Clock = utcnow,
    labels: Callable[[str, str], str] | None = None,
    audiences: list[str] | None = None,
) -> PublishReport:
    """Build, check, sign and switch every audience's site; then record what was published."""
    with no_collections():
        try:
            return _publish_site(workspace, store, clock, labels, audiences)
        finally:
            # A build's memos end with it (see :func:`briefings.site.forget_build_memos`);
            # the parsed manifests too: each holds two strings per file of a release.
            forget_build_memos()
            manifest_entries.cache_clear()


def _publish_site(
    workspace: Workspace,
    store: Store,
    clock: Clock,
    labels: Callable[[str, str], str] | None,
    audiences: list[str] | None,
) -> PublishReport:
    now = clock()  # one moment per run: what it records, and what its status page shows
    workflow = Workflow(workspace, store, clock=lambda: now)
    report = PublishReport()
    documents = DocumentCache(workspace.root / "state" / "publish" / "documents.sqlite")
    try:
        # Unchanged files are known by their stat. The records, as the sync left them, are
        # read once for what follows, as are the audit entries of publications and of the
        # response times.
        records = store.list_briefings()
        if workflow.sync(digest_of=documents.digest_of, records=records):
            records = store.list_briefings()  # changed by the sync
        audit = store.audit_entries(actions={*TIMED_ACTIONS, "publish"})
        publications = collect_publications(workflow, report, documents, records, audit)
    finally:
        documents.close()
    times = {
        t.briefing_id: t
        for t in collect_briefing_times(
            store,
            {p.id for p in publications},
            pending={r.id: now for r in records if r.state == "approved"},
            records=records,
            audit=audit,
        )
    }
    key = load_or_create_key(workspace.root / "keys")
    renderer = MarkdownRenderer(workspace.root / "state" / "render-cache")
    labels = labels or glossary_labels(workspace)
    config = workspace.config
    included: set[str] = set()
    chosen = [a for a in config.audiences if not audiences or a.name in audiences]
    template_text = _lazy_template_text(workspace)  # one glossary load per run, if needed
    try:
        for audience in chosen:
            allowed = [p for p in publications if audience.max_tlp.allows(p.record.tlp)]
            excluded_ids = {p.id for p in publications} - {p.id for p in allowed}
            builder = SiteBuilder(
                audience=audience, site_title=config.workspace.name, languages=config.workspace.languages,
                source_lang=config.workspace.source_lang, labels=labels, renderer=renderer,
                page_size=config.publishing.page_size, template_dirs=_template_dirs(workspace),
                demonstration=config.publishing.demonstration, status_page=True,
                template_cache=workspace.root / "state" / "template-cache",
                render_processes=config.publishing.render_processes,
            )  # fmt: skip
            status = _status_page(
                builder, [times[i] for i in {p.id for p in allowed} if i in times]
            )
            audience_report = _publish_audience(
                workspace, audience, builder, allowed, publications, excluded_ids, key, store, status,
                now, template_text,
            )  # fmt: skip
            report.audiences.append(audience_report)
            included |= {p.id for p in allowed}
    finally:
        renderer.close()  # keeps what was rendered for the next build
    # What each briefing's pages were built from: a text approved while the build ran is
    # not on the site yet, so it is not recorded as published (the next run publishes it).
    built = {p.id: p.digest for p in publications if p.lang == p.record.lang}
    done: list[tuple[str, str]] = []
    for record in store.list_briefings(states=["approved"]):
        if record.id in included:
            raw = workflow.approved_bytes(record.id)
            if raw is None:
                continue
            digest = sha256_bytes(raw)
            if digest != built.get(record.id):
                report.skipped.append(
                    f"{record.id}: approved again while the site was being built; the site "
                    f"has the text approved before, and the next publish brings the new one"
                )
                continue
            done.append((record.id, digest))
            report.published.append(record.id)
        else:
            report.skipped.append(
                f"{record.id}: TLP:{record.tlp.value} is above every audience's limit"
            )
    workflow.mark_published_many(done, PUBLISHER)  # one transaction, one audit head write
    shown = _shown_unrecorded(records, included, built, done, audit)
    mentioned = {line.partition(":")[0] for line in report.skipped}
    report.skipped += [f"{i}: {SHOWN_UNPUBLISHED}" for i, _ in shown if i not in mentioned]
    workflow.record_shown(shown, PUBLISHER, SHOWN_UNPUBLISHED)
    return report


# Why a site shows an approved text its briefing is not marked published in: the publish
# report's line and the audit entry's reason.
SHOWN_UNPUBLISHED = (
    "changed while the site was being built (approved again, edited, rejected or "
    "withdrawn); the site shows the text approved before until the next publish"
)


def _shown_unrecorded(
    records: list[BriefingRecord],
    included: set[str],
    built: dict[str, str],
    done: list[tuple[str, str]],
    audit: list[AuditEntry],
) -> list[tuple[str, str]]:
    """The texts the sites now show that the audit log would not record as published:
    of briefings approved when the build began (``records``) that were approved again,
    edited, rejected or withdrawn while it ran, the approved text it was built from,
    unless the log's last publication of the briefing is that text. ``(briefing id,
    content hash)`` for :meth:`Workflow.record_shown`."""
    last_published = {e.briefing_id: e.content_hash for e in audit if e.action == "publish"}
    marked = {briefing_id for briefing_id, _ in done}
    shown = []
    for record in records:
        digest = built.get(record.id)
        if (
            record.state != "approved"
            or record.id not in included
            or record.id in marked
            or digest is None
            or last_published.get(record.id) == digest
        ):
            continue
        shown.append((record.id, digest))
    return shown


def _publish_audience(
    workspace: Workspace,
    audience: AudienceConfig,
    builder: SiteBuilder,
    allowed: list[Publication],
    publications: list[Publication],
    excluded_ids: set[str],
    key: SigningKey,
    store: Store,
    status: bytes | None = None,
    built_at: datetime | None = None,
    template_text: Callable[[str], bool] | None = None,
) -> AudienceReport:
    output = workspace.resolve(audience.output)
    report = AudienceReport(
        audience.name, str(output), len({p.id for p in allowed}), len(excluded_ids)
    )
    record = _BuildRecord(workspace.root / "state" / "publish" / f"{audience.name}.json")
    ledger = ReleaseLedger(record.path.with_suffix(".releases"))
    writer = SiteWriter(output, workspace.config.publishing.keep_releases, ledger)
    live, live_manifest = writer.live_manifest()
    verified: dict[str, str] = {}  # files taken from the live release, bytes checked
    found_intact: set[str] = set()  # live files whose stat this build found as recorded
    builder.pages = PageCache(
        build_fingerprint(_template_dirs(workspace), builder.settings()),
        record.page_keys(live_manifest),
        _live_reader(live, live_manifest, verified, record.stats(live_manifest), found_intact),
        record.units(live_manifest),
    )
    files = builder.build(allowed)
    files["briefings.pub"] = key.public.minisign_text().encode()
    if status is not None:
        files[STATUS] = status
    known = {**builder.digests, **verified}
    digests = {
        path: known.get(path) or hashlib.sha256(data).hexdigest() for path, data in files.items()
    }
    restricted, visible = item_texts(store, excluded_ids, audience)
    boilerplate = _boilerplate()
    keys = _needles_keys(workspace, publications, excluded_ids, restricted, boilerplate, visible)
    needles_key = keys.whole
    needles = record.needles(needles_key)
    if needles is None:
        needles = leak_needles(
            publications, excluded_ids, restricted, boilerplate, template_text, visible,
            known=record.reusable_needles(keys),
        )  # fmt: skip
    scanner = LeakScanner(needles, record.needles_digest(needles_key))
    clause_sums = ClauseSums(record.path.with_suffix(".clauses.sqlite"))
    known_clean = record.clean_digests(live_manifest, scanner.digest) or _clean_by_sums(
        record.previous_scan(live_manifest), needles, clause_sums, set(digests.values())
    )
    to_scan = [path for path in files if digests[path] not in known_clean]
    clean = _clean_fragments(builder, files, to_scan, digests, known_clean, clause_sums)
    for fragment, sums in clean.items():
        scanner.know_clean(fragment, sums)
    leaks: list[str] = []
    new_sums: dict[str, set[int]] = {}
    for path in to_scan:
        data = files[path]
        problems, sums = scanner.scan_with_sums(path, content(data), builder.embedded.get(path, ()))
        leaks += problems
        new_sums[digests[path]] = sums
    report.scanned = len(new_sums)
    if not needles:
        new_sums = {}  # nothing was compared: no sums to keep
    if leaks:
        raise PublishError(
            f"TLP check failed for audience {audience.name} (max TLP:{audience.max_tlp.value}); "
            "nothing was published:\n  " + "\n  ".join(leaks[:20])
        )
    manifest = manifest_bytes(files, digests)
    head = store.last_audit_entry()
    # The build's time lives here, in the signed comment, and on no page.
    built = f" built={built_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}" if built_at else ""
    comment = (
        f"briefings audience={audience.name} files={len(files)} "
        f"audit={head.seq if head else 0}:{head.entry_hash[:16] if head else '-'}{built}"
    )
    clause_sums.save(
        new_sums,
        set(digests.values()),
        manifest_entries(live_manifest).values() if live_manifest else (),
    )
    files[MANIFEST] = manifest
    files[SIGNATURE] = key.sign(manifest, comment).encode()
    digests[MANIFEST] = hashlib.sha256(manifest).hexdigest()
    digests[SIGNATURE] = hashlib.sha256(files[SIGNATURE]).hexdigest()
    report.files = len(files)
    if live and live_manifest == manifest:
        report.changed = False
        report.release = live.name
        writer.prune(live)  # what a killed run left behind
        record.save(
            manifest, scanner.digest, builder.pages.keys, keys, needles,
            _release_stats(live, files), builder.pages.units,
        )  # fmt: skip
        return report
    release_name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{digests[MANIFEST][:8]}"
    intact = _intact_checker(live, record.stats(live_manifest), found_intact)
    final, report.written, report.linked = writer.write(
        files, release_name, digests, set(verified), intact
    )
    report.folders_read = writer.folders_read
    finished_ns = finish_mark(writer.releases)  # nothing in the release changes after this
    stats = _release_stats(final, files, writer.kept_stats)
    if finished_ns is not None:
        ledger.record(final.name, finished_ns, {path: st[1] for path, st in stats.items()})
    ledger.forget_all_but(r.name for r in writer.kept_releases())
    record.save(
        manifest, scanner.digest, builder.pages.keys, keys, needles, stats,
        builder.pages.units,
    )  # fmt: skip
    report.release = final.name
    log.info(
        "audience %s: %d files (%d written, %d unchanged)",
        audience.name,
        len(files),
        report.written,
        report.linked,
    )
    return report


def _file_stat(path: str) -> list[int] | None:
    """:func:`file_stat` of the file at ``path``; None when there is none."""
    try:
        return file_stat(os.stat(path))
    except OSError:
        return None


def _intact_checker(
    live: Path | None, stats: dict[str, list[int]], found: set[str] = frozenset()
) -> Callable[[str], list[int] | None] | None:
    """The stat (size, inode, mtime, ctime) of a file of the live release when it is as
    it was written (the same as recorded right after: then it still holds the bytes its
    manifest lists, and need not be read to be hard-linked into the next release or kept
    in a recycled one), else None. ``found``: files this build already found so (while
    reusing pages): not looked at again. The live site is served as it is meanwhile; a
    file changed since shows in its stat at the next build, which then reads it."""
    if live is None or not stats:
        return None
    base = str(live)

    def intact(path: str) -> list[int] | None:
        recorded = stats.get(path)
        if recorded is not None and (path in found or _file_stat(f"{base}/{path}") == recorded):
            return recorded
        return None

    return intact


def _release_stats(
    release: Path, files: Iterable[str], known: dict[str, list[int]] | None = None
) -> dict[str, list[int]]:
    """The files' stats in ``release``, just written and switched in (after pruning,
    which changes the ctime of files linked into older releases); ``known``: stats taken
    during the write that nothing can have changed since (a stale one would only cost
    reading the file next time: a file is trusted when its stat is the recorded one)."""
    base = str(release)
    known = known or {}
    stats = {path: known.get(path) or _file_stat(f"{base}/{path}") for path in files}
    return {path: st for path, st in stats.items() if st is not None}


def _live_reader(
    live: Path | None,
    live_manifest: bytes | None,
    verified: dict[str, str],
    stats: dict[str, list[int]] | None = None,
    found_intact: set[str] | None = None,
) -> Callable[[str], bytes | LiveFile | None]:
    """Reads a file of the live release if its bytes are still the ones its signed
    manifest lists (recording their digest in ``verified``); None otherwise. A file
    whose size, inode, mtime and ctime are still those ``stats`` recorded right after
    the release was written is neither read nor hashed (a :class:`LiveFile` stands in
    for it, and its path goes in ``found_intact``); any difference means reading and
    hashing it."""
    listed = manifest_entries(live_manifest) if live_manifest else {}
    stats = stats or {}
    base = str(live) if live else ""

    def fetch(path: str) -> bytes | None:
        expected = listed.get(path)
        if live is None or expected is None:
            return None
        full = f"{base}/{path}"
        recorded = stats.get(path)
        if recorded and _file_stat(full) == recorded:
            verified[path] = expected
            if found_intact is not None:
                found_intact.add(path)
            return LiveFile(full, expected)  # its bytes are read only if needed
        try:
            with open(full, "rb") as handle:
                data = handle.read()
        except OSError:
            return None
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            return None  # damaged in place: build it again
        verified[path] = digest
        return data

    return fetch


class _BuildRecord:
    """What the build that made the live release knew, for the next one: the needles its
    files were scanned with (those bytes need no second scan while the needles stay the
    same) and the key of the inputs of each page and feed (the same key: the live bytes
    are reused, not rendered again). Only valid for the release whose manifest it names.

    The needles themselves (most of the record's bytes) are in a file of their own,
    ``<audience>.needles.json``, rewritten only when they change; the record names the
    key of the needles it was scanned with, and a needles file with another key is not
    the live release's."""

    def __init__(self, path: Path):
        self.path = path
        self.needles_path = path.with_suffix(".needles.json")
        self._record: dict | None = None
        self._hashed: bytes | None = None  # the manifest whose digest is _manifest_digest
        self._manifest_digest = ""
        self._needles: dict | None = None

    @staticmethod
    def _read(path: Path) -> dict:
        try:
            data = path.read_bytes()
        except OSError:
            return {}
        try:
            # orjson: the record of a 2,000-briefing site is 5 MB, read on every rebuild.
            found = orjson.loads(data)
        except ValueError:  # (orjson.JSONDecodeError is one)
            try:  # what only the standard library reads (a lone surrogate), or damage
                found = json.loads(data)
            except ValueError:
                return {}
        return found if isinstance(found, dict) else {}

    def _load(self, live_manifest: bytes | None) -> dict:
        if live_manifest is None:
            return {}
        if self._record is None:
            self._record = self._read(self.path)
        if live_manifest is not self._hashed:  # once per manifest (1.4 MB; asked 5 times)
            self._hashed = live_manifest
            self._manifest_digest = hashlib.sha256(live_manifest).hexdigest()
        if self._record.get("manifest") != self._manifest_digest:
            return {}
        return self._record

    def _needle_file(self) -> dict:
        if self._needles is None:
            self._needles = self._read(self.needles_path)
        return self._needles

    def clean_digests(self, live_manifest: bytes | None, needles_digest: str) -> set[str]:
        record = self._load(live_manifest)
        if record.get("needles") != needles_digest or live_manifest is None:
            return set()
        return set(manifest_entries(live_manifest).values())

    def previous_scan(
        self, live_manifest: bytes | None
    ) -> tuple[dict[str, list[str]], set[str]] | None:
        """The needles the live release was scanned with, and its files' digests (all
        passed that scan); None when the record is not the live release's."""
        record = self._load(live_manifest)
        if live_manifest is None or not record.get("needles_key"):
            return None
        if record.get("scan") != SCAN_VERSION:
            return None  # passed a scan that compared less
        needles = self.needles(record["needles_key"])
        if needles is None:
            return None
        return needles, set(manifest_entries(live_manifest).values())

    def page_keys(self, live_manifest: bytes | None) -> dict[str, str]:
        keys = self._load(live_manifest).get("pages")
        return keys if isinstance(keys, dict) else {}

    def units(self, live_manifest: bytes | None) -> dict[str, list[str]]:
        """Per page, the unit key it was built from and its page key (see
        :meth:`PageCache.page_key_of`)."""
        found = self._load(live_manifest).get("units")
        return found if isinstance(found, dict) else {}

    def stats(self, live_manifest: bytes | None) -> dict[str, list[int]]:
        """Size, inode, mtime and ctime of each file of the live release, taken right
        after it was written (see :func:`_live_reader`)."""
        found = self._load(live_manifest).get("stats")
        return found if isinstance(found, dict) else {}

    def needles(self, key: str) -> dict[str, list[str]] | None:
        """The needles a build made from the inputs ``key`` names (``NeedlesKeys.whole``)."""
        stored = self._needle_file()
        if stored.get("needles_key") != key:
            return None
        found = stored.get("needle_list")
        return found if isinstance(found, dict) else None

    def reusable_needles(self, keys: NeedlesKeys) -> dict[str, list[str]]:
        """The needles of the last build (the one recorded, live or not) for each briefing
        whose inputs are the same now, when what all briefings' needles depend on is the
        same too (see :class:`NeedlesKeys`); empty otherwise."""
        stored = self._needle_file()
        needles, before = stored.get("needle_list"), stored.get("briefing_keys")
        if stored.get("common_key") != keys.common or not (
            isinstance(needles, dict) and isinstance(before, dict)
        ):
            return {}
        return {
            briefing_id: found
            for briefing_id, key in keys.briefings.items()
            if before.get(briefing_id) == key
            and isinstance(found := needles.get(briefing_id), list)
            and found[:1] == [briefing_id]  # its id first, as leak_needles makes them
            and all(isinstance(needle, str) for needle in found)
        }

    def needles_digest(self, key: str) -> str | None:
        """The :attr:`LeakScanner.digest` of :meth:`needles`, if recorded with them."""
        stored = self._needle_file()
        if stored.get("needles_key") != key or stored.get("scan") != SCAN_VERSION:
            return None
        found = stored.get("digest")
        return found if isinstance(found, str) else None

    def save(
        self,
        manifest: bytes,
        needles_digest: str,
        pages: dict[str, str],
        keys: NeedlesKeys | None = None,
        needles: dict[str, list[str]] | None = None,
        stats: dict[str, list[int]] | None = None,
        units: dict[str, list[str]] | None = None,
    ) -> None:
        """Record the build; ``keys``: the keys of ``needles`` (the whole, and per briefing
        for :meth:`reusable_needles`)."""
        needles_key = keys.whole if keys is not None and needles is not None else None
        record = {
            "units": units or {},
            "stats": stats or {},
            "manifest": hashlib.sha256(manifest).hexdigest(),
            "needles": needles_digest,
            "pages": pages,
            "needles_key": needles_key,
            "scan": SCAN_VERSION,
        }
        try:
            # The needles first: a record never names needles that are not on disk.
            known = self._needle_file()
            if needles_key is not None and (known.get("needles_key"), known.get("scan")) != (
                needles_key,
                SCAN_VERSION,
            ):
                stored = {
                    "needles_key": needles_key,
                    "common_key": keys.common,
                    "briefing_keys": keys.briefings,
                    "scan": SCAN_VERSION,
                    "digest": needles_digest,
                    "needle_list": needles,
                }
                _write_json(self.needles_path, stored)
                self._needles = stored
            _write_json(self.path, record)
        except OSError as exc:  # only an optimisation: the next run builds everything
            log.warning("cannot record the build in %s: %s", self.path, exc)


def _write_json(path: Path, value: object) -> None:
    """``value`` as JSON in ``path``, replaced at once (read by this code only: no sorting).
    Written by orjson (several times faster on the 5 MB record of a large site), or by
    the standard library when orjson refuses a value (a lone surrogate in a string)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = orjson.dumps(value)
    except TypeError:  # (orjson.JSONEncodeError is a TypeError)
        data = json.dumps(value, check_circular=False).encode("ascii")
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


DEMO_BANNER = (
    "Demonstration: these briefings were approved automatically by the demo, "
    "not by communications officers."
)


def _status_page(builder: SiteBuilder, times: list[BriefingTimes]) -> bytes:
    """The audience's response times: only its own briefings count (an excluded one
    must not show, not even as a number in a weekly median)."""
    page = status_page(
        weekly_medians(times),
        title=builder.site_title,
        generated=latest_event(times),
        languages=builder.languages,
        home=f"{builder.source_lang}/",
        banner=DEMO_BANNER if builder.demonstration else None,
    )
    return page.encode("utf-8")


def _template_dirs(workspace: Workspace) -> list[Path]:
    folder = workspace.root / "templates" / "site"
    return [folder] if folder.is_dir() else []
