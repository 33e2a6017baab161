"""Publishing: approved briefings and their publishable translations become each
audience's signed static site, switched in atomically.

Per audience: only briefings at or below its ``max_tlp``; after building, every
file is scanned for the ids and text of every excluded briefing, and the build
fails loudly if anything slipped through. Every file is listed with its SHA-256
in ``manifest.txt``, signed in minisign's format. The new site is written beside
the live one (``<output>`` is a symbolic link to a release folder) and switched
with one atomic rename; unchanged files are hard-linked from the previous
release, not rewritten. A crash at any point leaves the previous site whole.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from briefings.approval import Workflow
from briefings.config import AudienceConfig
from briefings.documents import parse_document, sha256_bytes
from briefings.errors import PublishError, WorkflowError
from briefings.labels import glossary_labels
from briefings.models import BriefingRecord
from briefings.rendering import MarkdownRenderer
from briefings.signing import SigningKey, load_or_create_key
from briefings.site import Publication, SiteBuilder
from briefings.store import Store
from briefings.tlp import TLP, strictest
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
MANIFEST = "manifest.txt"
SIGNATURE = "manifest.txt.minisig"
PUBLISHED_STATES = ["approved", "published", "withdrawn", "corrected"]
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


def _published_hash(store: Store, briefing_id: str) -> str | None:
    entries = [e for e in store.audit_entries(briefing_id) if e.action == "publish"]
    return entries[-1].content_hash if entries else None


def _approved_at(store: Store, briefing_id: str, lang: str, digest: str) -> datetime | None:
    times = [a.approved_at for a in store.approvals(briefing_id, lang) if a.sha256 == digest]
    return max(times) if times else None


def collect_publications(workflow: Workflow, report: PublishReport) -> list[Publication]:
    """Every briefing and translation that may be published now, with its exact bytes."""
    store = workflow.store
    publications = []
    for record in store.list_briefings(states=PUBLISHED_STATES):
        if record.state == "approved":
            raw = workflow.approved_bytes(record.id)
        else:  # published, withdrawn or corrected: what was published stays
            digest = _published_hash(store, record.id)
            raw = store.blob(digest) if digest else None
        if raw is None:
            if record.state != "withdrawn":
                report.skipped.append(f"{record.id}: no approved text to publish")
            continue
        digest = sha256_bytes(raw)
        document = parse_document(raw, workflow.path_of(record))
        try:
            # The stricter of the store's label and the one in the published bytes.
            record.tlp = strictest(record.tlp, TLP.parse(document.meta.get("tlp") or record.tlp))
        except ValueError:
            report.skipped.append(f"{record.id}: unreadable tlp in its front matter")
            continue
        when = _approved_at(store, record.id, record.lang, digest) or record.created_at or utcnow()
        withdrawn = None
        if record.state == "withdrawn":
            withdrawn = {"reason": record.state_reason or "", "at": record.updated_at or when}
        updated = withdrawn["at"] if withdrawn else when
        source = Publication(
            record, record.lang, document.meta, document.body, raw, when, updated, {}, withdrawn
        )
        publications.append(source)
        publications += _translations(workflow, record, digest, source, report)
    return publications


def _translations(
    workflow: Workflow,
    record: BriefingRecord,
    source_digest: str,
    source: Publication,
    report: PublishReport,
) -> list[Publication]:
    """Translations of this exact source text that the policy lets out."""
    out = []
    allow_machine = workflow.workspace.config.publishing.machine_translations
    for lang in workflow.workspace.config.workspace.languages:
        if lang == record.lang:
            continue
        path = workflow.path_of(record, lang)
        if not path.exists():
            continue
        try:
            document = parse_document(path.read_bytes(), path)
        except WorkflowError as exc:
            report.skipped.append(f"{record.id} ({lang}): {exc}")
            continue
        info = document.meta.get("translation") or {}
        if info.get("source_sha256") != source_digest:
            report.skipped.append(
                f"{record.id} ({lang}): translation is stale (its source changed)"
            )
            continue
        reviewed = workflow.approved_bytes(record.id, lang)
        if reviewed is not None:
            document = parse_document(reviewed, path)
            reviewers = sorted(
                {a.officer for a in workflow.store.approvals(record.id, lang) if not a.is_void}
            )
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
            raw = document.raw
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
                document.body,
                raw,
                source.published,
                source.updated,
                provenance,
                source.withdrawn,
            )
        )
    return out


# -- TLP leak scan --------------------------------------------------------------------


def leak_needles(
    publications: list[Publication],
    excluded_ids: set[str],
    restricted_items: dict[str, list[str]] | None = None,
    boilerplate: str = "",
) -> dict[str, list[str]]:
    """Strings that betray each excluded briefing: its id and title, the titles and
    summaries of its restricted source items, and its longer lines of text, except
    lines of template boilerplate (``boilerplate``) that every briefing shares."""
    needles: dict[str, list[str]] = {}
    for pub in publications:
        if pub.id not in excluded_ids:
            continue
        found = needles.setdefault(pub.id, [pub.id])
        if len(pub.title) >= 12:
            found.append(pub.title)
        found += [t for t in (restricted_items or {}).get(pub.id, []) if len(t) >= 12]
        for line in pub.body.splitlines():
            text = _plain_line(line)
            if len(text) >= 40 and text[:60] not in boilerplate:
                found.append(text[:120])
    return needles


def _plain_line(line: str) -> str:
    """A Markdown line without its markers, as the text readers see."""
    text = line.strip().lstrip("#-*> ").strip()
    text = text.replace("**", "").replace("`", "")
    return text.split(":", 1)[1].strip() if text.startswith("What to do:") else text


def _boilerplate() -> str:
    """Text the drafting templates put into every briefing (advice)."""
    from importlib import resources

    import yaml

    advice = yaml.safe_load(
        (resources.files("briefings") / "templates" / "advice.yaml").read_text("utf-8")
    )
    return "\n".join(" ".join(str(v).split()) for v in advice.values())


def restricted_item_texts(
    store: Store, briefing_ids: set[str], audience: AudienceConfig
) -> dict[str, list[str]]:
    """Per briefing, the titles and summaries of its items above the audience's TLP."""
    out: dict[str, list[str]] = {}
    for briefing_id in briefing_ids:
        items = store.list_items(ids=store.briefing_items(briefing_id))
        out[briefing_id] = [
            text
            for item in items
            if not audience.max_tlp.allows(item.tlp)
            for text in (item.title, item.summary[:120])
        ]
    return out


def scan_for_leaks(files: dict[str, bytes], needles: dict[str, list[str]]) -> list[str]:
    """Every (briefing, file) where an excluded briefing's text appears."""
    import html

    problems = []
    for path, data in files.items():
        if not path.endswith(TEXT_SUFFIXES):
            continue
        text = data.decode("utf-8", "replace")
        unescaped = html.unescape(text)
        for briefing_id, strings in needles.items():
            for needle in strings:
                if needle in text or needle in unescaped or html.escape(needle) in text:
                    problems.append(f"{briefing_id} appears in {path} ({needle[:60]!r})")
                    break
    return problems


# -- writing and switching ------------------------------------------------------------


def manifest_bytes(files: dict[str, bytes]) -> bytes:
    lines = [f"{hashlib.sha256(data).hexdigest()}  {path}" for path, data in sorted(files.items())]
    return ("\n".join(lines) + "\n").encode("utf-8")


def read_manifest(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        if line.strip():
            digest, _, path = line.partition("  ")
            entries[path] = digest
    return entries


class SiteWriter:
    """Releases of one audience's output folder, switched atomically."""

    def __init__(self, output: Path, keep: int):
        self.output = output
        self.releases = output.parent / ".releases" / output.name
        self.keep = keep

    def live_release(self) -> Path | None:
        if self.output.is_symlink():
            return self.output.resolve()
        if self.output.exists():
            raise PublishError(
                f"{self.output} is a folder that briefings did not make; move it away so the site can be "
                f"switched atomically"
            )
        return None

    def write(self, files: dict[str, bytes], release_name: str) -> tuple[Path, int, int]:
        """Write a new release (hard links for unchanged files), then switch to it."""
        live = self.live_release()
        previous = (
            read_manifest((live / MANIFEST).read_text())
            if live and (live / MANIFEST).exists()
            else {}
        )
        try:
            self.releases.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PublishError(f"cannot write to {self.releases.parent}: {exc.strerror}") from exc
        final = self.releases / release_name
        partial = self.releases / f".{release_name}.partial"
        if partial.exists():
            shutil.rmtree(partial)
        written = linked = 0
        try:
            for path, data in sorted(files.items()):
                target = partial / path
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256(data).hexdigest()
                if live and previous.get(path) == digest and path not in (MANIFEST, SIGNATURE):
                    try:
                        os.link(live / path, target)
                        linked += 1
                        continue
                    except OSError:
                        pass  # another file system or a missing file: write it
                target.write_bytes(data)
                written += 1
            os.replace(partial, final)
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise PublishError(
                f"cannot write the new site in {self.releases}: {exc.strerror}"
            ) from exc
        self.switch(final)
        self.prune(final)
        return final, written, linked

    def switch(self, release: Path) -> None:
        """Point ``output`` at ``release`` in one rename: readers see the old or the new site."""
        link = self.output.with_name(f".{self.output.name}.switch")
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(os.path.relpath(release, self.output.parent), link)
        os.replace(link, self.output)

    def prune(self, live: Path) -> None:
        releases = sorted(
            p for p in self.releases.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        for old in releases[: max(0, len(releases) - self.keep)]:
            if old.resolve() != live.resolve():
                shutil.rmtree(old, ignore_errors=True)
        for partial in self.releases.glob(".*.partial"):
            shutil.rmtree(partial, ignore_errors=True)


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
    workflow = Workflow(workspace, store, clock=clock)
    workflow.sync()
    report = PublishReport()
    publications = collect_publications(workflow, report)
    key = load_or_create_key(workspace.root / "keys")
    renderer = MarkdownRenderer(workspace.root / "state" / "render-cache")
    labels = labels or glossary_labels(workspace)
    config = workspace.config
    included: set[str] = set()
    chosen = [a for a in config.audiences if not audiences or a.name in audiences]
    for audience in chosen:
        allowed = [p for p in publications if audience.max_tlp.allows(p.record.tlp)]
        excluded_ids = {p.id for p in publications} - {p.id for p in allowed}
        builder = SiteBuilder(
            audience=audience, site_title=config.workspace.name, languages=config.workspace.languages,
            source_lang=config.workspace.source_lang, labels=labels, renderer=renderer,
            page_size=config.publishing.page_size, template_dirs=_template_dirs(workspace),
            demonstration=config.publishing.demonstration,
        )  # fmt: skip
        audience_report = _publish_audience(
            workspace, audience, builder, allowed, publications, excluded_ids, key, store
        )
        report.audiences.append(audience_report)
        included |= {p.id for p in allowed}
    for record in store.list_briefings(states=["approved"]):
        if record.id in included:
            raw = workflow.approved_bytes(record.id)
            if raw is not None:
                workflow.mark_published(record.id, PUBLISHER, sha256_bytes(raw))
                report.published.append(record.id)
        else:
            report.skipped.append(
                f"{record.id}: TLP:{record.tlp.value} is above every audience's limit"
            )
    return report


def _publish_audience(
    workspace: Workspace,
    audience: AudienceConfig,
    builder: SiteBuilder,
    allowed: list[Publication],
    publications: list[Publication],
    excluded_ids: set[str],
    key: SigningKey,
    store: Store,
) -> AudienceReport:
    output = workspace.resolve(audience.output)
    report = AudienceReport(
        audience.name, str(output), len({p.id for p in allowed}), len(excluded_ids)
    )
    files = builder.build(allowed)
    files["briefings.pub"] = key.public.minisign_text().encode()
    needles = leak_needles(
        publications,
        excluded_ids,
        restricted_item_texts(store, excluded_ids, audience),
        _boilerplate(),
    )
    leaks = scan_for_leaks(files, needles)
    if leaks:
        raise PublishError(
            f"TLP check failed for audience {audience.name} (max TLP:{audience.max_tlp.value}); "
            "nothing was published:\n  " + "\n  ".join(leaks[:20])
        )
    manifest = manifest_bytes(files)
    head = store.last_audit_entry()
    comment = (
        f"briefings audience={audience.name} files={len(files)} "
        f"audit={head.seq if head else 0}:{head.entry_hash[:16] if head else '-'}"
    )
    files[MANIFEST] = manifest
    files[SIGNATURE] = key.sign(manifest, comment).encode()
    report.files = len(files)
    writer = SiteWriter(output, workspace.config.publishing.keep_releases)
    live = writer.live_release()
    if live and (live / MANIFEST).exists() and (live / MANIFEST).read_bytes() == manifest:
        report.changed = False
        report.release = live.name
        return report
    release_name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{hashlib.sha256(manifest).hexdigest()[:8]}"
    final, report.written, report.linked = writer.write(files, release_name)
    report.release = final.name
    log.info(
        "audience %s: %d files (%d written, %d unchanged)",
        audience.name,
        len(files),
        report.written,
        report.linked,
    )
    return report


def _template_dirs(workspace: Workspace) -> list[Path]:
    folder = workspace.root / "templates" / "site"
    return [folder] if folder.is_dir() else []
