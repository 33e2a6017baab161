"""Translations as files: ``content/<id>.<lang>.md`` beside the original.

The front matter is the source's, with its prose fields (title, summary, claim)
translated, ``lang`` set to the target language, and a ``translation`` block::

    translation:
      source_lang: en
      source_sha256: <SHA-256 of the approved source bytes>
      package: translate-en_fr            # "a+b" when pivoting through English
      package_version: '1.0'
      package_sha256: <first 12 hex of each package's archive SHA-256, "+"-joined>
      glossary_version: <Glossary.version>
      translated_at: '2026-03-02T09:00:00Z'
      findings: [{check: numbers, where: body line 7, message: ...}]
      state: machine                      # or needs-review when there are findings

``reviewed`` is never written into the file: a linguist's approval lives in the
store, bound to the file's exact bytes (see :mod:`briefings.translation.review`).
A translation whose ``source_sha256`` is not the SHA-256 of the source's approved
bytes is stale: publishing skips it and the next run translates it again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from briefings.audit import AuditLog
from briefings.documents import parse_document, render_document, sha256_bytes, write_atomically
from briefings.errors import WorkflowError
from briefings.models import BriefingRecord
from briefings.store import Store

log = logging.getLogger(__name__)

TRANSLATOR = "system:translate"
MACHINE, NEEDS_REVIEW = "machine", "needs-review"

# Writing a file and recording it (audit entry, head file) happen together.
_write_lock = threading.Lock()


@dataclass
class TranslationInfo:
    """The ``translation`` block of a translated file's front matter."""

    source_lang: str
    source_sha256: str
    package: str
    package_version: str
    package_sha256: str
    glossary_version: str
    translated_at: datetime
    findings: list[dict[str, str]] = field(default_factory=list)

    @property
    def state(self) -> str:
        return NEEDS_REVIEW if self.findings else MACHINE

    def to_meta(self) -> dict[str, Any]:
        return {
            "source_lang": self.source_lang,
            "source_sha256": self.source_sha256,
            "package": self.package,
            "package_version": self.package_version,
            "package_sha256": self.package_sha256,
            "glossary_version": self.glossary_version,
            "translated_at": self.translated_at.astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z"),
            "findings": list(self.findings),
            "state": self.state,
        }


def read_translation_info(path: Path) -> dict[str, Any] | None:
    """The ``translation`` block of the file at ``path``; None if absent or unreadable."""
    try:
        document = parse_document(path.read_bytes(), path)
    except (OSError, WorkflowError):
        return None
    info = document.meta.get("translation")
    return info if isinstance(info, dict) else None


def is_current(path: Path, source_sha256: str) -> bool:
    """True when ``path`` is a translation of exactly the source bytes ``source_sha256``."""
    info = read_translation_info(path)
    return info is not None and info.get("source_sha256") == source_sha256


def build_translation(meta: dict[str, Any], body: str, lang: str, info: TranslationInfo) -> bytes:
    """The bytes of a translated file: ``meta`` (prose fields already translated)
    with ``lang`` and the ``translation`` block, then the body."""
    meta = dict(meta)
    meta["lang"] = lang
    meta.pop("translation", None)
    meta["translation"] = info.to_meta()
    return render_document(meta, body)


def save_translation(
    store: Store,
    record: BriefingRecord,
    lang: str,
    path: Path,
    data: bytes,
    info: TranslationInfo,
    *,
    clock: Callable[[], datetime],
) -> None:
    """Write the file atomically; void approvals of the translation it replaces; audit it."""
    audit = AuditLog(store)
    digest = sha256_bytes(data)
    with _write_lock:
        write_atomically(path, data)
        now = clock()
        with store.transaction() as conn:
            voided = store.void_approvals(
                conn, record.id, lang, "translation replaced by a new machine translation", now
            )
            audit.append(
                conn, actor=TRANSLATOR, action="translate", briefing_id=record.id, lang=lang,
                content_hash=digest,
                details={
                    "source_sha256": info.source_sha256, "package": info.package,
                    "package_version": info.package_version, "state": info.state,
                    "findings": len(info.findings), "voided_approvals": voided,
                },
                at=now,
            )  # fmt: skip
        audit.write_head()
    log.info("%s: %s translation written (%s)", record.id, lang, info.state)
