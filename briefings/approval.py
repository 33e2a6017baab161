"""The review workflow: edits, approvals bound to exact bytes, rejection, withdrawal, corrections.

States: ``draft`` (a flow may still extend it) -> ``in-review`` (approvals
under way, or voided by an edit) -> ``approved`` -> ``published``; and
``rejected``, ``withdrawn``, ``corrected`` (superseded by a published
correction). The state lives in the store, not in the file: approving must not
change the bytes it approves.

Rules that always hold here:
- an approval records officer, time, note and the SHA-256 of the file's exact
  bytes, and keeps those bytes; any later change to the file voids every
  approval of it and puts the briefing back in review;
- only :meth:`Workflow.approve` approves; flows never call it;
- every action is appended to the hash-chained audit log in the same
  transaction as the change it records.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from briefings.audit import AuditLog
from briefings.documents import (
    parse_document,
    read_document,
    render_document,
    sha256_bytes,
    write_atomically,
)
from briefings.errors import ConfigError, WorkflowError
from briefings.models import ApprovalRecord, BriefingRecord
from briefings.store import Connection, Store
from briefings.tlp import TLP
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
SYSTEM_DRAFTER = "system:draft"
UNKNOWN_EDITOR = "unknown"
APPROVABLE_STATES = ("draft", "in-review")


REQUIRED_KEYS = ("id", "kind", "title", "lang", "tlp")


def check_front_matter(meta: dict, path: Path) -> None:
    """Refuse front matter that publishing could misread: required keys and a valid TLP."""
    missing = [key for key in REQUIRED_KEYS if not meta.get(key)]
    if missing:
        raise WorkflowError(f"{path}: front matter lacks {', '.join(missing)}")
    try:
        TLP.parse(meta["tlp"])
    except ValueError as exc:
        raise WorkflowError(f"{path}: front matter tlp: {exc}") from None


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ReviewRow:
    """One line of the review queue."""

    id: str
    state: str
    kind: str
    title: str
    priority: int
    tlp: str
    languages: list[str]
    approvals: int
    approvals_required: int
    reason: str | None = None
    approved_by: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


class Workflow:
    """Officers' actions on briefings, with the policy of the workspace."""

    def __init__(self, workspace: Workspace, store: Store, *, clock: Clock = utcnow):
        self.workspace = workspace
        self.store = store
        self.audit = AuditLog(store)
        self.clock = clock
        self.policy = workspace.config.policy
        self._paths: dict[str, Path] = {}  # record.path -> absolute (asked thrice a run)

    # -- files and records ------------------------------------------------------------

    def path_of(self, record: BriefingRecord, lang: str | None = None) -> Path:
        path = self._paths.get(record.path)
        if path is None:
            path = self._paths[record.path] = self.workspace.resolve(record.path)
        if lang and lang != record.lang:
            return path.with_name(f"{path.stem}.{lang}{path.suffix}")
        return path

    def record(self, briefing_id: str) -> BriefingRecord:
        record = self.store.get_briefing(briefing_id)
        if record is None:
            raise WorkflowError(f"No briefing {briefing_id!r}. List them with: briefings review")
        return record

    def _officer(self, name: str):
        try:
            return self.workspace.config.officer(name)
        except ConfigError as exc:
            raise WorkflowError(str(exc)) from None

    # -- edits --------------------------------------------------------------------------

    def sync(
        self,
        briefing_id: str | None = None,
        digest_of: Callable[[Path], str] | None = None,
        records: list[BriefingRecord] | None = None,
    ) -> list[str]:
        """Notice files changed outside this program: void their approvals, back to review.

        Returns one message per briefing whose file changed or went missing (every change
        it makes to the store has one: none means the records are as they were).
        ``digest_of(path)``: the SHA-256 of a file's bytes, when the caller knows a
        cheaper way to it than reading them (a file known by its stat); any file whose
        digest differs is read. ``records``: every briefing record, when the caller has
        just read them.
        """
        if briefing_id:
            records = [self.record(briefing_id)]
        elif records is None:
            records = self.store.list_briefings()
        notes = []
        for record in records:
            path = self.path_of(record)
            try:
                digest = digest_of(path) if digest_of is not None else None
                raw = None
                if digest is None or digest != record.content_hash:  # changed or unknown: read
                    raw = path.read_bytes()
                    digest = sha256_bytes(raw)
            except FileNotFoundError:
                if (
                    record.state not in ("withdrawn", "corrected")
                    and record.state_reason != "file missing"
                ):
                    notes.append(self._file_missing(record))
                continue
            if raw is not None and digest != record.content_hash:
                notes.append(
                    self._record_edit(
                        record, raw, digest, UNKNOWN_EDITOR, "edited outside briefings"
                    )
                )
            elif record.state_reason == "file missing":
                notes.append(self._file_restored(record))
        return notes

    def _file_restored(self, record: BriefingRecord) -> str:
        now = self.clock()
        with self.store.transaction() as conn:
            record.state_reason = None
            self.store.save_briefing(conn, record)
            self.audit.append(
                conn, actor=UNKNOWN_EDITOR, action="file-restored", briefing_id=record.id,
                lang=record.lang, content_hash=record.content_hash, details={}, at=now,
            )  # fmt: skip
        self.audit.write_head()
        return f"{record.id}: its file is back"

    def edit(self, briefing_id: str, officer: str, new_bytes: bytes) -> bool:
        """Replace a briefing's file with ``new_bytes`` as ``officer``; False if nothing changed.

        Only officers and admins edit source briefings; linguists work on translations.
        """
        self._require_role(officer, "edit")
        self.sync(briefing_id)
        record = self.record(briefing_id)
        if record.state in ("withdrawn", "corrected", "published"):
            raise WorkflowError(
                f"{briefing_id} is {record.state}; to change it, make a correction: briefings correct {briefing_id}"
            )
        path = self.path_of(record)
        parse_document(new_bytes, path)  # refuse broken front matter before touching the file
        digest = sha256_bytes(new_bytes)
        if digest == record.content_hash:
            return False
        write_atomically(path, new_bytes)
        self._record_edit(record, new_bytes, digest, officer, "edited")
        return True

    def _record_edit(
        self, record: BriefingRecord, raw: bytes, digest: str, editor: str, action: str
    ) -> str:
        now = self.clock()
        try:
            meta = parse_document(raw, self.path_of(record)).meta
        except WorkflowError:
            meta = {}  # broken front matter: reported when someone acts on it
        title = str(meta.get("title") or record.title)
        # The file's label is what officers approve; a raised TLP must reach the
        # store at once (publishing also re-reads the approved bytes). An
        # unreadable label is refused at approval.
        with contextlib.suppress(ValueError):
            record.tlp = TLP.parse(meta["tlp"]) if meta.get("tlp") else record.tlp
        with self.store.transaction() as conn:
            voided = self.store.void_approvals(
                conn, record.id, record.lang, f"file changed after approval ({action})", now
            )
            old_hash = record.content_hash
            record.content_hash = digest
            record.last_editor = editor
            record.updated_at = now
            record.title = title
            reason = None
            if record.state_reason == "file missing":
                record.state_reason = None
            if voided or record.state == "approved":
                record.state = "in-review"
                reason = f"{action} after approval: {voided} approval(s) void"
                record.state_reason = reason
            self.store.save_briefing(conn, record)
            self.audit.append(
                conn, actor=editor, action="edit", briefing_id=record.id, lang=record.lang,
                content_hash=digest, details={"previous_hash": old_hash, "voided_approvals": voided},
                at=now,
            )  # fmt: skip
        self.audit.write_head()
        return f"{record.id}: {reason or action}"

    def _file_missing(self, record: BriefingRecord) -> str:
        now = self.clock()
        with self.store.transaction() as conn:
            voided = self.store.void_approvals(conn, record.id, record.lang, "file missing", now)
            if record.state in ("approved", "in-review") or voided:
                record.state = "in-review"
            record.state_reason = "file missing"
            self.store.save_briefing(conn, record)
            self.audit.append(
                conn, actor=UNKNOWN_EDITOR, action="file-missing", briefing_id=record.id,
                lang=record.lang, content_hash=None, details={"voided_approvals": voided}, at=now,
            )  # fmt: skip
        self.audit.write_head()
        return f"{record.id}: its file {record.path} is missing"

    # -- approvals ----------------------------------------------------------------------

    def valid_approvals(
        self, record: BriefingRecord, lang: str | None = None
    ) -> list[ApprovalRecord]:
        """Approvals that still hold: not void and of the file's current bytes."""
        lang = lang or record.lang
        current = record.content_hash if lang == record.lang else self._current_hash(record, lang)
        return [
            a
            for a in self.store.approvals(record.id, lang)
            if not a.is_void and a.sha256 == current
        ]

    def _current_hash(self, record: BriefingRecord, lang: str) -> str | None:
        path = self.path_of(record, lang)
        return sha256_bytes(path.read_bytes()) if path.exists() else None

    def approve(self, briefing_id: str, officer: str, note: str | None = None) -> BriefingRecord:
        """Approve the briefing's current bytes as ``officer``; the only way anything is approved."""
        person = self._officer(officer)
        self.sync(briefing_id)
        record = self.record(briefing_id)
        if record.state not in APPROVABLE_STATES:
            raise WorkflowError(
                f"{briefing_id} is {record.state}; only a draft or a briefing in review can be approved"
            )
        if not {"officer", "admin"} & set(person.roles):
            raise WorkflowError(
                f"{officer} is a linguist and cannot approve a source briefing; "
                f"linguists approve translations: briefings approve {briefing_id} --lang LANG"
            )
        if record.state_reason == "file missing":
            raise WorkflowError(
                f"{briefing_id}: its file {record.path} is missing; nothing to approve"
            )
        path = self.path_of(record)
        raw = path.read_bytes()
        check_front_matter(
            parse_document(raw, path).meta, path
        )  # never approve broken front matter
        digest = sha256_bytes(raw)
        if digest != record.content_hash:  # changed since sync: take it as an edit first
            self._record_edit(record, raw, digest, UNKNOWN_EDITOR, "edited outside briefings")
            record = self.record(briefing_id)
        if self.policy.four_eyes and record.last_editor == officer:
            raise WorkflowError(
                f"{officer} last edited {briefing_id}; four-eyes policy: another officer must approve"
            )
        valid = self.valid_approvals(record)
        if any(a.officer == officer for a in valid):
            raise WorkflowError(f"{officer} has already approved this version of {briefing_id}")
        now = self.clock()
        with self.store.transaction() as conn:
            # Decided again under the store's write lock: an approval or an edit that
            # committed since the checks above (another officer, at the same moment)
            # counts, so two approvals at once approve, and one officer counts once.
            record = self.record(briefing_id)
            if record.content_hash != digest or record.state not in APPROVABLE_STATES:
                raise WorkflowError(
                    f"{briefing_id} changed while it was being approved; review it and approve again"
                )
            valid = self.valid_approvals(record)
            if any(a.officer == officer for a in valid):
                raise WorkflowError(f"{officer} has already approved this version of {briefing_id}")
            self.store.keep_blob(conn, digest, raw)
            self.store.add_approval(conn, record.id, record.lang, officer, digest, note, now)
            self.audit.append(
                conn, actor=officer, action="approve", briefing_id=record.id, lang=record.lang,
                content_hash=digest, details={"note": note} if note else {}, at=now,
            )  # fmt: skip
            officers = {a.officer for a in valid} | {officer}
            new_state = (
                "approved" if len(officers) >= self.policy.approvals_required else "in-review"
            )
            if new_state != record.state:
                self.audit.append(
                    conn, actor=officer, action=f"state:{new_state}", briefing_id=record.id,
                    lang=record.lang, content_hash=digest,
                    details={"approvals": len(officers), "required": self.policy.approvals_required},
                    at=now,
                )  # fmt: skip
            record.state = new_state
            record.state_reason = None
            record.updated_at = now
            self.store.save_briefing(conn, record)
        self.audit.write_head()
        return record

    def approved_bytes(
        self,
        briefing_id: str,
        lang: str | None = None,
        *,
        record: BriefingRecord | None = None,
        approvals: list[ApprovalRecord] | None = None,
    ) -> bytes | None:
        """The exact bytes the required officers approved, or None: what publishing may use.
        ``record`` and ``approvals`` (all of this language's): when the caller has them."""
        record = record if record is not None else self.record(briefing_id)
        lang = lang or record.lang
        if approvals is None:
            approvals = self.store.approvals(record.id, lang)
        approvals = [a for a in approvals if not a.is_void]
        by_hash: dict[str, set[str]] = {}
        for approval in approvals:
            by_hash.setdefault(approval.sha256, set()).add(approval.officer)
        required = (
            self.policy.approvals_required
            if lang == record.lang
            else self.policy.translation_approvals_required
        )
        for digest, officers in by_hash.items():
            if len(officers) >= required:
                content = self.store.blob(digest)
                if content is not None and sha256_bytes(content) == digest:
                    return content
        return None

    # -- other transitions --------------------------------------------------------------

    def reject(self, briefing_id: str, officer: str, reason: str) -> BriefingRecord:
        self._require_role(officer, "reject")
        if not reason.strip():
            raise WorkflowError("a rejection needs a reason: --reason TEXT")
        self.sync(briefing_id)
        record = self.record(briefing_id)
        if record.state not in (*APPROVABLE_STATES, "approved"):
            raise WorkflowError(f"{briefing_id} is {record.state}; it cannot be rejected now")
        return self._transition(record, "rejected", officer, "reject", reason, void=True)

    def withdraw(self, briefing_id: str, officer: str, reason: str) -> BriefingRecord:
        self._require_role(officer, "withdraw")
        if not reason.strip():
            raise WorkflowError("a withdrawal needs a reason: --reason TEXT")
        record = self.record(briefing_id)
        if record.state not in ("approved", "published"):
            raise WorkflowError(
                f"{briefing_id} is {record.state}; only approved or published briefings are withdrawn "
                f"(reject a draft instead)"
            )
        return self._transition(record, "withdrawn", officer, "withdraw", reason, void=False)

    def mark_published(
        self, briefing_id: str, actor: str, content_hash: str, *, conn: Connection | None = None
    ) -> BriefingRecord:
        """Record that the approved bytes ``content_hash`` were published (the publish stage calls this).

        ``conn``: inside the caller's transaction (see :meth:`mark_published_many`)."""
        record = self.record(briefing_id)
        if record.state not in ("approved", "published"):
            raise WorkflowError(
                f"{briefing_id} is {record.state}; only approved briefings are published"
            )
        approved = self.approved_bytes(briefing_id)
        if approved is None or sha256_bytes(approved) != content_hash:
            raise WorkflowError(
                f"{briefing_id}: {content_hash[:12]}… is not the approved text; refusing to record it"
            )
        record = self._transition(
            record, "published", actor, "publish", None, void=False, content_hash=content_hash,
            conn=conn,
        )  # fmt: skip
        if record.corrects:
            original = self.store.get_briefing(record.corrects)
            if original is not None and original.state == "published":
                self._transition(
                    original,
                    "corrected",
                    actor,
                    "corrected",
                    f"superseded by {record.id}",
                    void=False,
                    conn=conn,
                )
        return record

    def mark_published_many(
        self, published: list[tuple[str, str]], actor: str
    ) -> list[BriefingRecord]:
        """:meth:`mark_published` for each ``(briefing id, content hash)``, all in one
        transaction (all recorded or none) and one write of the audit head: a site
        publishes thousands of briefings at once, and a commit each costs a sync each."""
        if not published:
            return []
        with self.store.transaction() as conn:
            records = [self.mark_published(i, actor, digest, conn=conn) for i, digest in published]
        self.audit.write_head()
        return records

    def record_shown(self, shown: list[tuple[str, str]], actor: str, reason: str) -> None:
        """A ``publish`` audit entry, with ``reason``, for each ``(briefing id, content
        hash)``: bytes a site went out with although the briefing is not (or not in these
        bytes) marked published, because it changed while the site was being built. Its
        state stays as it is; the hash must be one its officers approved (approvals since
        voided count), the log records nothing else as published. All in one transaction."""
        if not shown:
            return
        now = self.clock()
        with self.store.transaction() as conn:
            for briefing_id, content_hash in shown:
                record = self.record(briefing_id)
                approved = {a.sha256 for a in self.store.approvals(record.id, record.lang)}
                if content_hash not in approved:
                    raise WorkflowError(
                        f"{briefing_id}: {content_hash[:12]}… was never approved; refusing "
                        f"to record it as published"
                    )
                self.audit.append(
                    conn, actor=actor, action="publish", briefing_id=record.id,
                    lang=record.lang, content_hash=content_hash,
                    details={"reason": reason}, at=now,
                )  # fmt: skip
        self.audit.write_head()

    def correct(self, briefing_id: str, officer: str) -> BriefingRecord:
        """Start a correction of a published briefing: a new draft version that says what changed."""
        self._require_role(officer, "correct")
        record = self.record(briefing_id)
        if record.state != "published":
            raise WorkflowError(
                f"{briefing_id} is {record.state}; only published briefings are corrected"
            )
        approved = self.approved_bytes(briefing_id)
        if approved is None:
            raise WorkflowError(f"{briefing_id}: its approved text is not in the store")
        document = parse_document(approved, self.path_of(record))
        version = record.version + 1
        # Corrections of corrections keep the original id as their stem: x--v2, x--v3.
        new_id = f"{record.id.split('--v')[0]}--v{version}"
        meta = dict(document.meta)
        meta.update(
            {"id": new_id, "version": version, "corrects": record.id, "state": "draft",
             "changes": "Describe what this correction changes."}
        )  # fmt: skip
        raw = render_document(meta, document.body)
        path = self.path_of(record).with_name(f"{new_id}.md")
        if path.exists():
            raise WorkflowError(
                f"{path} already exists; a correction of {briefing_id} is under way"
            )
        now = self.clock()
        write_atomically(path, raw)
        new = BriefingRecord(
            id=new_id, kind=record.kind, lang=record.lang,
            path=str(path.relative_to(self.workspace.root)), state="draft", title=record.title,
            tlp=record.tlp, priority=record.priority, content_hash=sha256_bytes(raw), version=version,
            period=record.period, drafted_hash=None, last_editor=officer, corrects=record.id,
            created_at=now, updated_at=now,
        )  # fmt: skip
        with self.store.transaction() as conn:
            self.store.save_briefing(conn, new)
            self.store.set_briefing_items(conn, new_id, self.store.briefing_items(record.id))
            self.audit.append(
                conn, actor=officer, action="correct", briefing_id=new_id, lang=new.lang,
                content_hash=new.content_hash, details={"corrects": record.id}, at=now,
            )  # fmt: skip
        self.audit.write_head()
        return new

    def _require_role(self, officer: str, action: str) -> None:
        person = self._officer(officer)
        if not {"officer", "admin"} & set(person.roles):
            raise WorkflowError(f"{officer} is not an officer and cannot {action} briefings")

    def _transition(
        self,
        record: BriefingRecord,
        state: str,
        actor: str,
        action: str,
        reason: str | None,
        *,
        void: bool,
        content_hash: str | None = None,
        conn: Connection | None = None,
    ) -> BriefingRecord:
        """One state change and its audit entry, in one transaction: the caller's
        (``conn``; it writes the audit head after committing) or a new one."""
        now = self.clock()
        outer = conn
        with (
            contextlib.nullcontext(outer) if outer is not None else self.store.transaction() as conn
        ):
            if void:
                self.store.void_approvals(conn, record.id, record.lang, f"{action}: {reason}", now)
            record.state = state
            record.state_reason = reason
            record.updated_at = now
            self.store.save_briefing(conn, record)
            self.audit.append(
                conn, actor=actor, action=action, briefing_id=record.id, lang=record.lang,
                content_hash=content_hash or record.content_hash,
                details={"reason": reason} if reason else {}, at=now,
            )  # fmt: skip
        if outer is None:
            self.audit.write_head()
        return record

    # -- reading ------------------------------------------------------------------------

    def review_rows(self) -> list[ReviewRow]:
        rows = []
        for record in self.store.list_briefings():
            valid = self.valid_approvals(record)
            rows.append(
                ReviewRow(
                    id=record.id,
                    state=record.state,
                    kind=record.kind,
                    title=record.title,
                    priority=record.priority,
                    tlp=record.tlp.value,
                    languages=self.languages(record),
                    approvals=len({a.officer for a in valid}),
                    approvals_required=self.policy.approvals_required,
                    reason=record.state_reason,
                    approved_by=sorted({a.officer for a in valid}),
                )
            )
        return rows

    def languages(self, record: BriefingRecord) -> list[str]:
        """The source language, then every language a translation file exists for."""
        found = [record.lang]
        for lang in self.workspace.config.workspace.languages:
            if lang != record.lang and self.path_of(record, lang).exists():
                found.append(lang)
        return found

    def diff(self, briefing_id: str) -> str:
        """Unified diff of the file against its last approved version ('' when none differs)."""
        record = self.record(briefing_id)
        approvals = self.store.approvals(record.id, record.lang)
        path = self.path_of(record)
        current = path.read_bytes().decode("utf-8", "replace") if path.exists() else ""
        if not approvals:
            return f"{briefing_id} has never been approved; the whole file is new.\n"
        previous = self.store.blob(approvals[-1].sha256) or b""
        lines = difflib.unified_diff(
            previous.decode("utf-8", "replace").splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"{record.path} (approved {approvals[-1].approved_at:%Y-%m-%d %H:%M} by {approvals[-1].officer})",
            tofile=f"{record.path} (now)",
        )
        return "".join(lines)

    def document(self, briefing_id: str):
        return read_document(self.path_of(self.record(briefing_id)))
