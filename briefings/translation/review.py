"""A linguist's approval of a translation: the same byte-integrity rules as a source's.

``Workflow.approve`` approves source briefings only; this is its counterpart for
``content/<id>.<lang>.md``. The approver must be a linguist or an admin whose
``languages`` include ``lang``. The source must be approved and the translation
must be of exactly those approved bytes (not stale) and parse. The approval
records the SHA-256 of the translation file's exact bytes, keeps those bytes in
the store, and is appended to the audit log in the same transaction; any later
change to the file leaves it void (``Workflow.valid_approvals`` compares hashes).
``reviewed`` is never written into the file: approving must not change what it
approves. Once ``policy.translation_approvals_required`` linguists approved the
same bytes, ``Workflow.approved_bytes(id, lang)`` returns them to publishing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from briefings.approval import Workflow
from briefings.documents import parse_document, sha256_bytes
from briefings.errors import ConfigError, WorkflowError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TranslationApproval:
    """What an approval of a translation did."""

    briefing_id: str
    lang: str
    officer: str
    sha256: str
    approvals: int  # distinct linguists who approved these bytes, this one included
    required: int

    @property
    def reviewed(self) -> bool:
        return self.approvals >= self.required


def approve_translation(
    workflow: Workflow, briefing_id: str, lang: str, officer: str, note: str | None = None
) -> TranslationApproval:
    """Approve the current bytes of the ``lang`` translation of ``briefing_id``."""
    try:
        person = workflow.workspace.config.officer(officer)
    except ConfigError as exc:
        raise WorkflowError(str(exc)) from None
    if not {"linguist", "admin"} & set(person.roles):
        raise WorkflowError(
            f"{officer} is not a linguist; translations are approved by linguists "
            f"whose languages include {lang!r}"
        )
    if lang not in person.languages:
        have = ", ".join(person.languages) or "none"
        raise WorkflowError(
            f"{officer} may not approve {lang!r} translations (their languages: {have}); "
            f"add it to their 'languages' in briefings.toml"
        )
    record = workflow.record(briefing_id)
    if lang == record.lang:
        raise WorkflowError(
            f"{briefing_id} is written in {lang!r}: approve the source with "
            f"briefings approve {briefing_id}"
        )
    if record.state not in ("approved", "published"):
        raise WorkflowError(
            f"{briefing_id} is {record.state}; a translation is approved only once its source is"
        )
    source = workflow.approved_bytes(briefing_id)
    if source is None:
        raise WorkflowError(f"{briefing_id}: its approved text is not in the store")
    path = workflow.path_of(record, lang)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(
            f"{path} does not exist; translate first: briefings translate {briefing_id} --lang {lang}"
        ) from None
    document = parse_document(raw, path)  # broken front matter is never approved
    info = document.meta.get("translation")
    if not isinstance(info, dict) or info.get("source_sha256") != sha256_bytes(source):
        raise WorkflowError(
            f"{path.name} is stale: its source changed since it was translated; "
            f"translate again: briefings translate {briefing_id} --lang {lang}"
        )
    if document.meta.get("lang") != lang:
        raise WorkflowError(
            f"{path.name}: its front matter says lang {document.meta.get('lang')!r}"
        )
    digest = sha256_bytes(raw)
    valid = workflow.valid_approvals(record, lang)
    if any(a.officer == officer for a in valid):
        raise WorkflowError(
            f"{officer} has already approved this version of the {lang!r} translation"
        )
    now = workflow.clock()
    with workflow.store.transaction() as conn:
        workflow.store.keep_blob(conn, digest, raw)
        workflow.store.add_approval(conn, record.id, lang, officer, digest, note, now)
        workflow.audit.append(
            conn, actor=officer, action="approve", briefing_id=record.id, lang=lang,
            content_hash=digest,
            details={"translation": True, **({"note": note} if note else {})}, at=now,
        )  # fmt: skip
    workflow.audit.write_head()
    officers = {a.officer for a in valid} | {officer}
    required = workflow.policy.translation_approvals_required
    log.info("%s (%s) approved by %s: %d/%d", briefing_id, lang, officer, len(officers), required)
    return TranslationApproval(briefing_id, lang, officer, digest, len(officers), required)
