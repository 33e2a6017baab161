"""spaCy-backed text tools for the translation stage, injected into ``briefings``.

- :func:`sentence_splitter`: spaCy's rule-based ``sentencizer`` on
  ``spacy.blank(lang)`` (no trained model, nothing downloaded; unknown languages
  use the multi-language tokenizer);
- :func:`concept_finder`: the ``briefings_glossary`` component, the same matcher
  tagging uses, returning concept spans of a text;
- :func:`indicator_finder`: indicators of compromise as written (refanged or
  defanged), from :func:`nlp.indicators.find_indicators`;
- :func:`text_tools`: the three bundled as :class:`briefings.translation.TextTools`.

Pipelines are built once per language and glossary per process (thread-safe).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from functools import lru_cache

import spacy
from spacy.language import Language

import nlp.glossary_matcher  # noqa: F401  (registers the briefings_glossary factory)
from briefings.translation.protection import TextSpan
from briefings.translation.stage import TextTools
from nlp.indicators import find_indicators
from nlp.pipeline import FALLBACK_LANGUAGE, MAX_CHARS

log = logging.getLogger(__name__)

_lock = threading.Lock()


def _blank(lang: str) -> Language:
    try:
        nlp = spacy.blank(lang)
    except (ImportError, KeyError, ValueError, OSError):
        log.warning("no spaCy language %r; using the multi-language tokenizer", lang)
        nlp = spacy.blank(FALLBACK_LANGUAGE)
    nlp.max_length = MAX_CHARS
    return nlp


@lru_cache(maxsize=32)
def _sentencizer(lang: str) -> Language:
    nlp = _blank(lang)
    nlp.add_pipe("sentencizer")
    return nlp


def sentence_splitter(lang: str) -> Callable[[str], list[str]]:
    """A function splitting a text of ``lang`` into sentences by rules."""
    with _lock:
        nlp = _sentencizer(lang)

    def split(text: str) -> list[str]:
        return [sentence.text for sentence in nlp(text).sents]

    return split


@lru_cache(maxsize=32)
def _glossary_pipeline(lang: str, glossary_paths: tuple[str, ...] | None) -> Language:
    nlp = _blank(lang)
    nlp.add_pipe(
        "briefings_glossary",
        config={"glossary_paths": list(glossary_paths) if glossary_paths else None},
    )
    return nlp


def concept_finder(
    lang: str, glossary_paths: tuple[str, ...] | None = None
) -> Callable[[str], list[TextSpan]]:
    """A function finding glossary concepts in a text of ``lang``
    (kind ``concept``, value = concept id)."""
    with _lock:
        nlp = _glossary_pipeline(lang, glossary_paths)

    def find(text: str) -> list[TextSpan]:
        doc = nlp(text)
        return [
            TextSpan(span.start_char, span.end_char, "concept", span.kb_id_)
            for span in doc.spans.get("concepts", [])
        ]

    return find


def indicator_finder() -> Callable[[str], list[TextSpan]]:
    """A function finding indicators of compromise (value = the refanged indicator)."""

    def find(text: str) -> list[TextSpan]:
        return [
            TextSpan(i.start, i.end, f"indicator:{i.type}", i.value) for i in find_indicators(text)
        ]

    return find


def text_tools(glossary_paths: list[str] | None = None) -> TextTools:
    """Sentences, concepts and indicators for the translation stage."""
    paths = tuple(glossary_paths) if glossary_paths else None
    return TextTools(
        sentences=sentence_splitter,
        concepts=lambda lang: concept_finder(lang, paths),
        indicators=indicator_finder(),
    )
