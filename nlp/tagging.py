"""The tagging stage: items in, analyses (tags, indicators, countries, priority) out.

Items are grouped by language and run through ``nlp.pipe`` in batches, one
pipeline per language. A text that cannot be tagged (too long, a pipeline that
fails to build) is reported and the rest of the batch is still tagged.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from spacy.tokens import Doc

from briefings.models import Analysis, Entity, Indicator, Item, Tag
from nlp.entities import trained_model_identity
from nlp.glossary_matcher import cached_glossary
from nlp.pipeline import PipelineCache, max_chars

log = logging.getLogger(__name__)

# Bump when a component changes what it finds, so stored tags are redone.
TAGGER_CODE_VERSION = "1"


def tagger_version(
    glossary_paths: list[str] | None = None, trained_models: dict[str, str] | None = None
) -> str:
    """Identifies what produced a tag: this code, the glossary's content and the trained
    pipelines configured (name and installed version, or missing)."""
    glossary = cached_glossary(tuple(glossary_paths) if glossary_paths else None)
    version = f"tagger-{TAGGER_CODE_VERSION}+glossary-{glossary.version}"
    if trained_models:
        models = ",".join(
            f"{lang}={trained_model_identity(name)}"
            for lang, name in sorted(trained_models.items())
        )
        version += "+models-" + hashlib.sha256(models.encode("utf-8")).hexdigest()[:12]
    return version


def analysis_from_doc(doc: Doc, item_id: str, revision: int, tagger: str) -> Analysis:
    """The stored form of what the pipeline found in ``doc``."""
    tags = [
        Tag(span.kb_id_, span.label_, span.text, span.start_char, span.end_char)
        for span in doc.spans.get("concepts", [])
    ]
    indicators = [
        Indicator(span.label_, span.kb_id_, span.text, span.start_char, span.end_char)
        for span in doc.spans.get("indicators", [])
    ]
    countries = sorted({span.kb_id_ for span in doc.spans.get("countries", [])})
    if doc.has_extension("priority"):
        priority, reasons = doc._.priority, list(doc._.priority_reasons or [])
    else:
        priority, reasons = 0, []
    entities = [
        Entity(span.label_, span.text, span.start_char, span.end_char)
        for span in doc.spans.get("entities", [])
    ]
    return Analysis(
        item_id, revision, tagger, tags, indicators, countries, priority, reasons, entities
    )


@dataclass
class TagReport:
    """Counts of one tagging pass, per language, and what could not be tagged."""

    tagged: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.tagged.values())

    def to_json(self) -> dict:
        return {"tagged": self.total, "by_language": dict(self.tagged), "errors": list(self.errors)}


def tag_items(
    items: Iterable[Item],
    pipelines: PipelineCache,
    tagger: str,
    *,
    batch_size: int = 64,
    on_done: Callable[[int], None] | None = None,
) -> tuple[list[Analysis], TagReport]:
    """Tag ``items`` (any languages); returns their analyses and a report."""
    report = TagReport()
    analyses: list[Analysis] = []
    by_lang: dict[str | None, list[Item]] = defaultdict(list)
    for item in items:
        by_lang[item.lang].append(item)
    for lang, group in by_lang.items():
        key = lang or "unknown"
        try:
            nlp = pipelines.get(lang)
        except Exception as exc:
            report.errors.append(f"{len(group)} items in {key}: {exc}")
            continue
        texts = []
        for item in group:
            text = item.tagging_text
            limit = max_chars(lang)
            if len(text) > limit:
                # Tags of an enormous text are still useful; its tail is dropped.
                report.errors.append(
                    f"{item.id}: text of {len(text):,} characters tagged up to {limit:,}"
                )
                text = text[:limit]
            texts.append(text)
        done = 0
        for start in range(0, len(group), batch_size):
            chunk = list(
                zip(
                    group[start : start + batch_size],
                    texts[start : start + batch_size],
                    strict=True,
                )
            )
            for item, doc in _pipe_isolating_failures(nlp, chunk, report):
                analyses.append(analysis_from_doc(doc, item.id, item.revision, tagger))
                done += 1
            if on_done:
                on_done(len(chunk))
        report.tagged[key] = report.tagged.get(key, 0) + done
    return analyses, report


def _pipe_isolating_failures(nlp, chunk: list[tuple[Item, str]], report: TagReport):
    """Docs of a batch; if the batch fails, each text alone, so one bad text costs only itself."""
    try:
        docs = list(nlp.pipe([text for _, text in chunk]))
    except Exception:
        log.debug("a tagging batch failed; retrying its texts one by one", exc_info=True)
    else:
        yield from zip((item for item, _ in chunk), docs, strict=True)
        return
    for item, text in chunk:
        try:
            yield item, nlp(text)
        except Exception as exc:
            report.errors.append(f"{item.id}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
