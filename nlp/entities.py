"""The ``briefings_entities`` component: a trained spaCy pipeline's named entities.

When the user names an installed trained pipeline for a language
(``[tagging] trained_models``), it runs beside the rule-based components on each
Doc's text, in its own vocabulary: its lexical features (NORM, SHAPE, PREFIX...)
stay as it was trained with, while the tagging pipeline folds NORM and leaves the
rest unset (:mod:`nlp.normalization`, :func:`nlp.pipeline.compute_only_what_is_read`).
Its entities are copied by character offsets into ``doc.spans[spans_key]``, the
entity label as the span's label. Nothing else depends on them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc, SpanGroup
from spacy.util import minibatch

from nlp.doctext import doc_text

log = logging.getLogger(__name__)

# Components of trained pipelines that never feed the entity recognizer: not loaded.
NOT_FOR_ENTITIES = (
    "tagger", "morphologizer", "parser", "attribute_ruler", "lemmatizer", "senter",
    "textcat", "textcat_multilabel", "trainable_lemmatizer",
)  # fmt: skip


def load_trained(name: str) -> Language:
    """The installed pipeline ``name`` (a package or a folder), without the components
    that do not feed its entities. Raises OSError (or ImportError) when it is missing."""
    return spacy.load(name, exclude=list(NOT_FOR_ENTITIES))


def trained_model_identity(name: str) -> str:
    """``name@version`` of an installed pipeline (package or folder), ``name@missing``
    when it is not installed: part of the tagger version, so items are tagged again
    when a model is installed, removed or upgraded."""
    meta_file = Path(name) / "meta.json"
    try:
        if meta_file.is_file():
            meta = json.loads(meta_file.read_text("utf-8"))
            return f"{meta.get('lang', '')}_{meta.get('name', '')}@{meta.get('version', '?')}"
        return f"{name}@{metadata.version(name)}"
    except (OSError, ValueError, metadata.PackageNotFoundError):
        return f"{name}@missing"


class EntityCopier:
    """Runs a trained pipeline on each Doc's text and keeps its entities as spans."""

    # It reads the text, no lexical attribute (:func:`nlp.pipeline.compute_only_what_is_read`).
    lexical_attributes = frozenset()

    def __init__(self, nlp: Language, name: str, model: str, spans_key: str):
        self.name = name
        self.spans_key = spans_key
        self.model_name = model
        self.model = load_trained(model)

    def __call__(self, doc: Doc) -> Doc:
        try:
            trained = self.model(self._text(doc))
        except Exception as exc:  # the rules' tags do not depend on it: keep them
            log.warning(
                "the trained spaCy pipeline %r failed on a text (%s: %s); "
                "it is tagged without its entities",
                self.model_name, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
            )  # fmt: skip
            trained = None
        return self._copy(doc, trained)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 64) -> Iterator[Doc]:
        for batch in minibatch(docs, batch_size):
            try:
                found = list(self.model.pipe([self._text(doc) for doc in batch]))
            except Exception:
                yield from map(self, batch)  # each text alone: one bad text costs only itself
                continue
            for doc, trained in zip(batch, found, strict=True):
                yield self._copy(doc, trained)

    def _text(self, doc: Doc) -> str:
        # A trained pipeline refuses texts over its max_length (1,000,000 characters by
        # default), which the tagging pipeline accepts: entities come from the head.
        return doc_text(doc)[: self.model.max_length]

    def _copy(self, doc: Doc, trained: Doc | None) -> Doc:
        spans = []
        for ent in trained.ents if trained is not None else ():
            span = doc.char_span(
                ent.start_char, ent.end_char, ent.label_, alignment_mode="expand"
            )  # the two tokenizers may split differently: the span covers whole tokens
            if span is not None:
                spans.append(span)
        doc.spans.data[self.spans_key] = SpanGroup(doc, name=self.spans_key, spans=spans)
        return doc


@Language.factory("briefings_entities", default_config={"spans_key": "entities"})
def make_entity_copier(nlp: Language, name: str, model: str, spans_key: str) -> EntityCopier:
    """Factory: ``model`` is an installed pipeline's package name or folder."""
    return EntityCopier(nlp, name, model, spans_key)
