"""Ingesting one source: fetch, parse, sanitize, detect language, dedupe, store.

:func:`ingest_source` never raises for a bad source: whatever fails is reported
in its :class:`~briefings.models.SourceReport` with a one-line reason, and
nothing stored before is touched (a source's items and its fetch state are
written in one transaction, after everything was read).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from briefings.config import SourceConfig
from briefings.errors import SourceError, TransientSourceError
from briefings.fetching import Fetcher, FetchLimits, FetchResult, FetchState
from briefings.language import LanguageDetector
from briefings.models import Entry, Item, SourceReport
from briefings.parsing import parse_csaf, parse_feed, parse_rolie
from briefings.sanitizing import html_to_text, sanitize_html
from briefings.store import Store
from briefings.tlp import strictest
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

SUMMARY_CHARS = 400
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Ingestor:
    """Everything ingestion needs, passed in so tests swap real parts, not mocks."""

    workspace: Workspace
    store: Store
    fetcher: Fetcher
    detector: LanguageDetector | None = None
    clock: Clock = utcnow

    @classmethod
    def for_workspace(
        cls, workspace: Workspace, store: Store, *, clock: Clock = utcnow
    ) -> Ingestor:
        config = workspace.config
        fetch = config.fetch
        limits = FetchLimits(
            connect_timeout=fetch.connect_timeout,
            read_timeout=fetch.read_timeout,
            total_timeout=fetch.total_timeout,
            max_bytes=fetch.max_bytes,
            max_redirects=fetch.max_redirects,
            retries=fetch.retries,
            max_retry_after=fetch.max_retry_after,
            **({"user_agent": fetch.user_agent} if fetch.user_agent else {}),
        )
        detector = (
            LanguageDetector(config.detection_languages) if config.ingest.detect_language else None
        )
        return cls(workspace, store, Fetcher(limits, base_dir=workspace.root), detector, clock)

    def close(self) -> None:
        self.fetcher.close()

    def ingest_source(self, source: SourceConfig) -> SourceReport:
        """Ingest one source; problems end up in the report, never as exceptions."""
        report = SourceReport(source=source.id)
        try:
            if not source.enabled:
                report.status = "skipped"
                return report
            pending = _Pending()
            entries = self._read(source, report, pending)
            if entries is None:
                report.status = "not-modified"
            self._store(source, entries or [], pending, report)
        except SourceError as exc:
            report.status = "error"
            report.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            report.transient = isinstance(exc, TransientSourceError)
        except Exception as exc:  # a bug or a hostile input we did not foresee
            log.debug("unexpected failure ingesting %s", source.id, exc_info=True)
            report.status = "error"
            report.error = f"unexpected {type(exc).__name__}: {exc}".splitlines()[0]
        finally:
            self.store.record_source_status(source.id, report.status, report.error, self.clock())
        if report.error:
            log.warning("source %s failed: %s", source.id, report.error)
        else:
            log.info(
                "source %s: %s, %d new, %d updated, %d duplicates",
                source.id, report.status, report.new, report.updated, report.duplicates,
            )  # fmt: skip
        return report

    # -- reading ----------------------------------------------------------------------

    def _fetch(self, source: SourceConfig, location: str, pending: _Pending) -> FetchResult:
        stored = self.store.fetch_state(source.id, location)
        state = FetchState(etag=stored.etag, last_modified=stored.last_modified)
        result = self.fetcher.fetch(location, state, source_id=source.id)
        pending.fetch_states.append((location, result.state))
        return result

    def _read(
        self, source: SourceConfig, report: SourceReport, pending: _Pending
    ) -> list[Entry] | None:
        """Entries of the source, or None when it has not changed since last time."""
        result = self._fetch(source, source.url, pending)
        if result.status == "not-modified":
            return None
        limit = self.workspace.config.ingest.max_entries
        if source.kind == "feed":
            parsed = parse_feed(
                result.body, location=result.location, content_type=result.content_type
            )
            report.warnings += parsed.warnings
            return _newest(parsed.entries, limit)
        if source.kind == "csaf":
            return [parse_csaf(result.body, location=result.location)]
        return self._read_rolie(source, result, report, pending, limit)

    def _read_rolie(
        self,
        source: SourceConfig,
        index: FetchResult,
        report: SourceReport,
        pending: _Pending,
        limit: int,
    ) -> list[Entry]:
        # One bad advisory is a warning on the source, not a failed source.
        entries = []
        failed = False
        for ref in parse_rolie(index.body, location=index.location)[:limit]:
            try:
                result = self._fetch(source, ref.url, pending)
                if result.status == "ok":
                    entries.append(parse_csaf(result.body, location=result.location))
            except SourceError as exc:
                failed = True
                report.warnings.append(f"{ref.id}: {str(exc).splitlines()[0]}")
        if failed:
            # Forget the index's validators so the next run reads it again and
            # retries the failed advisories (the others answer not-modified).
            pending.fetch_states = [
                (loc, st) for loc, st in pending.fetch_states if loc != source.url
            ]
        return entries

    # -- normalizing and storing ------------------------------------------------------

    def normalize(self, source: SourceConfig, entry: Entry) -> Item:
        """An entry made safe and uniform: sanitized HTML, text, language, TLP, hash."""
        base = entry.url or (source.url if "://" in source.url else None)
        html = sanitize_html(entry.content_html or entry.summary_html, base)
        text = html_to_text(html, sanitized=True)
        # Most RSS entries have only a summary, which is then the body itself.
        summary = (
            html_to_text(entry.summary_html) if entry.content_html and entry.summary_html else ""
        )
        summary = _shorten(summary or text, SUMMARY_CHARS)
        title = entry.title.strip() or _shorten(text, 80) or "(untitled)"
        declared = source.lang or entry.lang
        if self.detector is not None:
            decision = self.detector.decide(
                f"{title}\n{text}",
                declared,
                override_confidence=self.workspace.config.ingest.language_override_confidence,
            )
            lang, confidence = decision.lang, decision.confidence
            declared = decision.declared
        else:
            lang = declared.split("-")[0].lower() if declared else None
            confidence = None
        tlp = strictest(source.tlp, entry.tlp) if entry.tlp else source.tlp
        content_hash = _content_hash(title, entry.url or "", html, tlp.value)
        return Item(
            id="",
            source_id=source.id,
            url=entry.url,
            title=title,
            summary=summary,
            html=html,
            text=text,
            published=entry.published or entry.updated,
            updated=entry.updated,
            lang=lang,
            lang_declared=declared,
            lang_confidence=confidence,
            tlp=tlp,
            content_hash=content_hash,
            extra=entry.extra,
        )

    def _store(
        self,
        source: SourceConfig,
        entries: Iterable[Entry],
        pending: _Pending,
        report: SourceReport,
    ) -> None:
        items = [(entry, self.normalize(source, entry)) for entry in entries]
        now = self.clock()
        with self.store.transaction() as conn:
            for entry, item in items:
                outcome, _ = self.store.record_item(
                    conn, item, entry_key=entry.key, global_key=entry.global_key, seen_at=now
                )
                if outcome == "new":
                    report.new += 1
                elif outcome == "updated":
                    report.updated += 1
                else:
                    report.duplicates += 1
            # Validators are saved with the items: a crash before this commit
            # means the next run fetches again instead of missing content.
            for location, state in pending.fetch_states:
                self.store.save_fetch_state(
                    conn, source.id, location, state.etag, state.last_modified
                )


@dataclass
class _Pending:
    fetch_states: list[tuple[str, FetchState]] = field(default_factory=list)


def _newest(entries: list[Entry], limit: int) -> list[Entry]:
    if len(entries) <= limit:
        return entries
    epoch = datetime.min.replace(tzinfo=UTC)
    return sorted(entries, key=lambda e: e.updated or e.published or epoch, reverse=True)[:limit]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def _content_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


@dataclass
class IngestSummary:
    """All sources' reports of one ingestion run."""

    reports: list[SourceReport]
    run_id: int | None = None

    @property
    def all_failed(self) -> bool:
        active = [r for r in self.reports if r.status != "skipped"]
        return bool(active) and all(r.status == "error" for r in active)

    def totals(self) -> dict[str, int]:
        return {
            "sources": len(self.reports),
            "errors": sum(r.status == "error" for r in self.reports),
            "new": sum(r.new for r in self.reports),
            "updated": sum(r.updated for r in self.reports),
            "duplicates": sum(r.duplicates for r in self.reports),
        }

    def to_json(self) -> dict:
        return {
            "run": self.run_id,
            "totals": self.totals(),
            "sources": [r.to_json() for r in self.reports],
        }


def select_sources(workspace: Workspace, source_ids: Iterable[str] | None) -> list[SourceConfig]:
    """The configured sources to ingest: all enabled ones, or those named (ConfigError if unknown)."""
    config = workspace.config
    if source_ids:
        return [config.source(source_id) for source_id in source_ids]
    return [s for s in config.sources if s.enabled]
