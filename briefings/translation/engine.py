"""The engine: every segment of a run for one route, memory first, then the model.

Segments are deduplicated, looked up in the translation memory, and what is left
goes to the route's model(s) in one batched pass per package (longest first, in
chunks that report progress); through English, the first package's output is the
second one's input. New translations are kept in the memory at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from briefings.translation import argos
from briefings.translation.memory import MemoryKey, TranslationMemory
from briefings.translation.packages import Route

log = logging.getLogger(__name__)

ModelLoader = Callable[[Path, argos.ModelSettings], argos.Ct2Model]


@dataclass
class EngineResult:
    """Translations by segment text, and how they were obtained."""

    translations: dict[str, str]
    segments: int = 0  # occurrences asked for
    translated: int = 0  # distinct segments sent to the model
    model_calls: int = 0  # CTranslate2 translate_batch calls, over every hop of the route
    too_long: set[str] = field(default_factory=set)  # cut into pieces for the model

    @property
    def from_memory(self) -> int:
        """Occurrences served without the model: from the memory, or a repeat in this run."""
        return self.segments - self.translated


class Engine:
    """Translates segments along one route; one loaded model per package, reused."""

    def __init__(
        self,
        route: Route,
        *,
        memory: TranslationMemory | None,
        glossary_version: str,
        settings: argos.ModelSettings | None = None,
        load_model: ModelLoader = argos.load_model,
    ):
        self.route = route
        self.memory = memory
        self.settings = settings or argos.ModelSettings()
        self.load_model = load_model
        self.key = MemoryKey(
            route.source_lang,
            route.target_lang,
            route.package_id,
            route.package_version,
            glossary_version,
        )

    def _model(self, hop: int) -> argos.Ct2Model:
        return self.load_model(self.route.packages[hop].path, self.settings)

    def translate(
        self, texts: list[str], on_progress: Callable[[int], None] | None = None
    ) -> EngineResult:
        """Translations of ``texts`` (segments with local placeholders)."""
        unique = list(dict.fromkeys(texts))
        known = self.memory.lookup(self.key, unique) if self.memory is not None else {}
        todo = [text for text in unique if text not in known]
        result = EngineResult(dict(known), segments=len(texts), translated=len(todo))
        if on_progress is not None and len(texts) > len(todo):
            on_progress(len(texts) - len(todo))
        first = self._model(0) if unique else None
        if first is not None:
            result.too_long = {text for text in unique if first.is_too_long(text)}
        if todo:
            current = todo
            last = len(self.route.packages) - 1
            for hop in range(len(self.route.packages)):
                model = first if hop == 0 else self._model(hop)
                assert model is not None
                output = model.translate(current, on_progress if hop == last else None)
                current = output.texts
                result.model_calls += output.calls
            new = dict(zip(todo, current, strict=True))
            if self.memory is not None:
                self.memory.remember(self.key, new)
            result.translations.update(new)
            log.info(
                "%s->%s: %d segment(s) translated with %s",
                self.route.source_lang, self.route.target_lang, len(todo), self.route.package,
            )  # fmt: skip
        return result
