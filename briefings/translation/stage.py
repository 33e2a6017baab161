"""The translation stage: approved briefings in, translated files out, per language pair.

:func:`plan_translations` decides which briefings go into which language pairs;
:func:`translate_pair` does one pair: read each briefing's approved bytes, skip
those whose translation is current, segment and protect the rest, send all of
their segments through one :class:`~briefings.translation.engine.Engine` (memory,
then the model, batched), enforce glossary terms, check each segment, and write
the files. :func:`translate_briefings` runs every pair in turn (the Prefect flow
runs them as tasks instead). Problems with one briefing or one pair are reported
next to the results, and the rest goes on.

What needs spaCy (sentences, glossary concepts) and the indicator finder come in as
:class:`TextTools`; :func:`plain_tools` gives plain-Python stand-ins for tests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from briefings import progress
from briefings.approval import Workflow
from briefings.documents import parse_document, sha256_bytes
from briefings.errors import BriefingsError, TranslationError, WorkflowError
from briefings.language import LanguageDetector
from briefings.models import BriefingRecord
from briefings.store import Store
from briefings.translation.argos import ModelSettings
from briefings.translation.engine import Engine, EngineResult
from briefings.translation.files import (
    TranslationInfo,
    build_translation,
    is_current,
    save_translation,
)
from briefings.translation.markdown import Segmentation, segment_document
from briefings.translation.memory import TranslationMemory
from briefings.translation.packages import Route, find_route, list_packages
from briefings.translation.protection import SpanFinder
from briefings.translation.qa import (
    Detector,
    Finding,
    check_segment,
    glossary_findings,
    repair_placeholders,
)
from briefings.translation.segments import (
    PreparedUnit,
    SentenceSplitter,
    assemble_unit,
    prepare_unit,
    simple_sentences,
)
from briefings.translation.terms import dnt_finder, enforce_terms, plain_term_finder
from briefings.workspace import Workspace

if TYPE_CHECKING:
    from glossary import Glossary

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
TRANSLATABLE_STATES = ["approved", "published"]
_LANG_RE = re.compile(r"^[a-z]{2,3}$")


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- reports --------------------------------------------------------------------------


@dataclass
class LanguageReport:
    """What a run did for one target language."""

    lang: str
    segments: int = 0
    from_memory: int = 0
    translated: int = 0  # distinct segments sent to the model
    findings: int = 0
    written: list[str] = field(default_factory=list)
    needs_review: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # translation already current
    errors: list[str] = field(default_factory=list)
    routes: list[str] = field(default_factory=list)

    def merge(self, other: LanguageReport) -> None:
        for name in ("segments", "from_memory", "translated", "findings"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("written", "needs_review", "skipped", "errors", "routes"):
            getattr(self, name).extend(getattr(other, name))

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TranslationReport:
    """Per target language, and problems that belong to no language."""

    languages: dict[str, LanguageReport] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def language(self, lang: str) -> LanguageReport:
        return self.languages.setdefault(lang, LanguageReport(lang))

    @property
    def ok(self) -> bool:
        return not self.problems and not any(r.errors for r in self.languages.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "languages": {lang: r.to_json() for lang, r in sorted(self.languages.items())},
            "problems": self.problems,
        }


# -- what comes from outside the core -------------------------------------------------


@dataclass
class TextTools:
    """Text tools per language, injected: the flow builds them with spaCy in ``nlp``."""

    sentences: Callable[[str], SentenceSplitter]  # lang -> sentence splitter
    concepts: Callable[[str], SpanFinder]  # lang -> glossary concept finder
    indicators: SpanFinder | None = None  # indicators of compromise (as written)


def plain_tools(glossary: Glossary) -> TextTools:
    """Plain-Python stand-ins: sentences after ``.!?``, terms by regular expression,
    no indicator finder (URLs and CVE ids are still protected)."""
    finders: dict[str, SpanFinder] = {}

    def concepts(lang: str) -> SpanFinder:
        if lang not in finders:
            finders[lang] = plain_term_finder(glossary, lang)
        return finders[lang]

    return TextTools(sentences=lambda lang: simple_sentences, concepts=concepts)


def language_problem(lang: str) -> str | None:
    """Why ``lang`` is not a language code we can translate into, or None."""
    message = f"unknown language code {lang!r}: use an ISO 639-1 code such as 'fr'"
    if not _LANG_RE.match(lang):
        return message
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a dependency
        return None
    field_name = "alpha_2" if len(lang) == 2 else "alpha_3"
    return None if pycountry.languages.get(**{field_name: lang}) else message


def detector_for(workspace: Workspace, source_lang: str, target_lang: str) -> Detector | None:
    """A language detector that can recognise ``target_lang``, or None."""
    langs = [*workspace.config.workspace.languages, source_lang, target_lang]
    detector = LanguageDetector(langs)
    if target_lang in detector.unsupported or len(set(langs) - set(detector.unsupported)) < 2:
        return None
    return detector.detect


# -- planning -------------------------------------------------------------------------


@dataclass
class TranslationPlan:
    pairs: dict[tuple[str, str], list[str]]
    report: TranslationReport


def plan_translations(
    workflow: Workflow, briefing_id: str | None = None, langs: list[str] | None = None
) -> TranslationPlan:
    """Which approved briefings go into which (source, target) pairs."""
    report = TranslationReport()
    config = workflow.workspace.config
    targets = []
    for lang in dict.fromkeys(langs or config.workspace.languages):
        problem = language_problem(lang)
        if problem:
            report.language(lang).errors.append(problem)
        else:
            targets.append(lang)
    records: list[BriefingRecord] = []
    if briefing_id is not None:
        try:
            records = [workflow.record(briefing_id)]
        except WorkflowError as exc:
            report.problems.append(str(exc))
    else:
        records = workflow.store.list_briefings(states=TRANSLATABLE_STATES)
    pairs: dict[tuple[str, str], list[str]] = {}
    for record in records:
        if record.state not in TRANSLATABLE_STATES:
            report.problems.append(
                f"{record.id} is {record.state}; only approved briefings are translated"
            )
            continue
        for lang in targets:
            if lang != record.lang:
                pairs.setdefault((record.lang, lang), []).append(record.id)
                report.language(lang)
    return TranslationPlan(pairs, report)


# -- one pair ---------------------------------------------------------------------------


@dataclass
class _Job:
    record: BriefingRecord
    path: Path
    source_sha256: str
    segmentation: Segmentation
    units: list[PreparedUnit]


def _prepare(
    workflow: Workflow,
    briefing_id: str,
    target_lang: str,
    tools: TextTools,
    names: SpanFinder,
    force: bool,
) -> _Job | None:
    record = workflow.record(briefing_id)
    raw = workflow.approved_bytes(briefing_id)
    if raw is None:
        raise WorkflowError(f"{briefing_id} has no approved text; only approved text is translated")
    digest = sha256_bytes(raw)
    path = workflow.path_of(record, target_lang)
    if not force and is_current(path, digest):
        return None
    document = parse_document(raw, workflow.path_of(record))
    segmentation = segment_document(document.meta, document.body)
    split = tools.sentences(record.lang)
    units = [
        prepare_unit(unit, split, indicators=tools.indicators, names=names)
        for unit in segmentation.units
    ]
    return _Job(record, path, digest, segmentation, units)


def _finish(
    job: _Job,
    result: EngineResult,
    route: Route,
    glossary: Glossary,
    tools: TextTools,
    detect: Detector | None,
    settings: ModelSettings,
    now: datetime,
) -> tuple[bytes, TranslationInfo]:
    source_lang, target_lang = route.source_lang, route.target_lang
    find_source, find_target = tools.concepts(source_lang), tools.concepts(target_lang)
    findings: list[Finding] = []
    pieces = []
    for prepared in job.units:
        outputs = []
        many = len([s for s in prepared.segments if s.translatable]) > 1
        for number, segment in enumerate(prepared.segments, 1):
            if not segment.translatable:
                outputs.append(segment.text)
                continue
            where = prepared.unit.where + (f", sentence {number}" if many else "")
            terms = enforce_terms(
                segment.text, result.translations[segment.text], glossary=glossary,
                target_lang=target_lang, find_source=find_source, find_target=find_target,
            )  # fmt: skip
            target, problems = repair_placeholders(
                segment.text, terms.text, prepared.kinds_of(segment), where,
                prepared.tokens_of(segment),
            )  # fmt: skip
            findings += problems
            findings += glossary_findings(terms.missing, where)
            findings += check_segment(
                segment.text, target, where=where, source_lang=source_lang,
                target_lang=target_lang, detect=detect,
            )  # fmt: skip
            if segment.text in result.too_long:
                findings.append(
                    Finding(
                        "long-segment", where,
                        f"over {settings.max_source_tokens} tokens: cut into pieces for the model",
                    )
                )  # fmt: skip
            outputs.append(target)
        unit_pieces = assemble_unit(prepared, outputs)
        if "" in unit_pieces[1:]:
            findings.append(
                Finding("layout", prepared.unit.where, "the translation fills fewer lines")
            )
        pieces.append(unit_pieces)
    meta, body = job.segmentation.render(pieces)
    info = TranslationInfo(
        source_lang=source_lang,
        source_sha256=job.source_sha256,
        package=route.package,
        package_version=route.package_version,
        package_sha256="+".join(p.sha256[:12] for p in route.packages),
        glossary_version=glossary.version,
        translated_at=now,
        findings=[f.to_json() for f in findings],
    )
    return build_translation(meta, body, target_lang, info), info


def translate_pair(
    workspace: Workspace,
    store: Store,
    glossary: Glossary,
    source_lang: str,
    target_lang: str,
    briefing_ids: list[str],
    *,
    tools: TextTools | None = None,
    settings: ModelSettings | None = None,
    detect: Detector | bool | None = True,
    clock: Clock = utcnow,
    force: bool = False,
) -> LanguageReport:
    """Translate ``briefing_ids`` (written in ``source_lang``) into ``target_lang``.

    ``detect=True`` builds a language detector for the QA check (False: no check).
    ``settings`` default to the workspace's ``[translation]`` table.
    Never raises for a missing package or a bad briefing: those are report errors.
    """
    report = LanguageReport(target_lang)
    tools = tools or plain_tools(glossary)
    settings = settings or ModelSettings.from_config(workspace.config.translation)
    pair = f"{source_lang}->{target_lang}"
    workflow = Workflow(workspace, store, clock=clock)
    try:
        route = find_route(list_packages(workspace), source_lang, target_lang)
    except TranslationError as exc:
        report.errors.append(f"{', '.join(briefing_ids)}: {exc}")
        return report
    report.routes.append(f"{pair}: {route.package} {route.package_version}")
    names = dnt_finder(glossary, tools.concepts(source_lang))
    jobs = []
    for briefing_id in briefing_ids:
        try:
            job = _prepare(workflow, briefing_id, target_lang, tools, names, force)
        except BriefingsError as exc:
            report.errors.append(f"{briefing_id} ({target_lang}): {exc}")
            continue
        if job is None:
            report.skipped.append(briefing_id)
        else:
            jobs.append(job)
    texts = [s.text for job in jobs for unit in job.units for s in unit.segments if s.translatable]
    progress.notify("segments", total=len(texts), lang=target_lang)
    engine = Engine(
        route,
        memory=TranslationMemory(store, clock=clock),
        glossary_version=glossary.version,
        settings=settings,
    )
    try:
        result = engine.translate(
            texts, on_progress=lambda n: progress.notify("segments-translated", count=n)
        )
    except TranslationError as exc:
        report.errors.append(f"{pair}: {exc}")
        return report
    report.segments += result.segments
    report.from_memory += result.from_memory
    report.translated += result.translated
    if detect is True:
        detect = detector_for(workspace, source_lang, target_lang)
    detector = detect or None
    for job in jobs:
        try:
            data, info = _finish(job, result, route, glossary, tools, detector, settings, clock())
            save_translation(store, job.record, target_lang, job.path, data, info, clock=clock)
        except BriefingsError as exc:
            report.errors.append(f"{job.record.id} ({target_lang}): {exc}")
            continue
        report.written.append(job.record.id)
        report.findings += len(info.findings)
        if info.findings:
            report.needs_review.append(job.record.id)
    return report


def translate_briefings(
    workspace: Workspace,
    store: Store,
    glossary: Glossary,
    briefing_id: str | None = None,
    langs: list[str] | None = None,
    **options: Any,
) -> TranslationReport:
    """Every pair of the plan in turn, in this process (no Prefect); ``options`` go
    to :func:`translate_pair`."""
    workflow = Workflow(workspace, store, clock=options.get("clock", utcnow))
    plan = plan_translations(workflow, briefing_id, langs)
    for (source_lang, target_lang), ids in sorted(plan.pairs.items()):
        done = translate_pair(workspace, store, glossary, source_lang, target_lang, ids, **options)
        plan.report.language(target_lang).merge(done)
    return plan.report
