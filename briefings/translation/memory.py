"""The translation memory: a segment once translated is never sent to a model again.

Keyed by the SHA-256 of the protected source segment, the language pair, the
package id and version (for a pivot, the chain of both) and the glossary version.
The stored target is the model's output with placeholders, before glossary
enforcement: enforcing is deterministic for a glossary version, and keeping the
raw output lets a better enforcement rule apply to old segments.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from briefings.store import Store


def segment_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class MemoryKey:
    """Everything besides the segment that decides its translation."""

    source_lang: str
    target_lang: str
    package: str
    package_version: str
    glossary_version: str

    def as_tuple(self) -> tuple[str, str, str, str, str]:
        return (
            self.source_lang,
            self.target_lang,
            self.package,
            self.package_version,
            self.glossary_version,
        )


class TranslationMemory:
    """Looks segments up and keeps new ones, in the workspace's store."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime] | None = None):
        self.store = store
        self.clock = clock or (lambda: datetime.now(UTC))

    def lookup(self, key: MemoryKey, texts: list[str]) -> dict[str, str]:
        """The stored translation of each of ``texts`` that has one."""
        by_hash = {segment_hash(text): text for text in texts}
        found = self.store.memory_lookup(key.as_tuple(), list(by_hash))
        return {by_hash[digest]: target for digest, target in found.items()}

    def remember(self, key: MemoryKey, translations: dict[str, str]) -> None:
        rows = [(segment_hash(src), src, tgt) for src, tgt in translations.items()]
        if rows:
            self.store.memory_save(key.as_tuple(), rows, self.clock())
