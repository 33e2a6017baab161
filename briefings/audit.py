"""The audit log: an append-only, hash-chained record of every workflow action.

Each entry's hash commits to the previous entry's hash and to its own fields
(including the briefing's content hash), so changing, inserting or deleting an
entry breaks the chain. The newest hash is also written to ``audit.head`` in the
store's state folder (beside a SQLite file; the workspace's ``state/`` for
PostgreSQL): deleting entries from the end is then detected too. (Someone who
can rewrite both the database and that file can rewrite history; publishing
the head hash in the signed site manifest anchors it outside their reach.)
"""

from __future__ import annotations

import fcntl
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from briefings.documents import write_atomically
from briefings.models import AuditEntry
from briefings.store import Connection, Store

GENESIS = "0" * 64


def entry_hash(
    seq: int,
    at: str,
    actor: str,
    action: str,
    briefing_id: str | None,
    lang: str | None,
    content_hash: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    payload = json.dumps(
        [seq, at, actor, action, briefing_id, lang, content_hash, details, prev_hash],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class AuditLog:
    """Appends to and verifies the chain kept in the store."""

    def __init__(self, store: Store):
        self.store = store
        self.head_path = store.state_dir / "audit.head"

    def append(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        briefing_id: str | None = None,
        lang: str | None = None,
        content_hash: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> AuditEntry:
        """Append inside the caller's transaction, so the action and its record commit together."""
        last = self.store.last_audit_entry(conn)
        seq = (last.seq + 1) if last else 1
        prev = last.entry_hash if last else GENESIS
        when = (
            (at or datetime.now(UTC))
            .astimezone(UTC)
            .isoformat(timespec="seconds")
            .replace("+00:00", "Z")
        )
        details = dict(details or {})
        digest = entry_hash(
            seq, when, actor, action, briefing_id, lang, content_hash, details, prev
        )
        entry = AuditEntry(
            seq, when, actor, action, briefing_id, lang, content_hash, details, prev, digest
        )
        self.store.insert_audit_entry(conn, entry)
        return entry

    def write_head(self) -> None:
        """Record the newest entry beside the database (after the transaction committed).

        Writers that committed at the same moment take turns on a file lock and each
        reads the newest entry inside it, so the head never goes back to an older one.
        """
        self.head_path.parent.mkdir(parents=True, exist_ok=True)
        with self.head_path.with_name("audit.head.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            last = self.store.last_audit_entry()
            if last is not None:
                write_atomically(self.head_path, f"{last.seq} {last.entry_hash}\n".encode())

    def verify(self) -> list[str]:
        """Every break in the chain, as messages; empty when the log is intact."""
        problems = []
        prev = GENESIS
        expected_seq = 1
        entries = self.store.audit_entries()
        for entry in entries:
            if entry.seq != expected_seq:
                problems.append(f"entry {expected_seq} is missing (next is {entry.seq})")
            if entry.prev_hash != prev:
                problems.append(
                    f"entry {entry.seq} does not follow the entry before it (inserted or reordered)"
                )
            recomputed = entry_hash(
                entry.seq, entry.at, entry.actor, entry.action, entry.briefing_id, entry.lang,
                entry.content_hash, entry.details, entry.prev_hash,
            )  # fmt: skip
            if recomputed != entry.entry_hash:
                problems.append(f"entry {entry.seq} was changed after it was written")
            prev = entry.entry_hash
            expected_seq = entry.seq + 1
        if self.head_path.exists():
            seq_text, _, head_hash = self.head_path.read_text().strip().partition(" ")
            last = entries[-1] if entries else None
            if last is None or str(last.seq) != seq_text or last.entry_hash != head_hash:
                problems.append(
                    f"the log ends at entry {last.seq if last else 0}, but {self.head_path.name} "
                    f"records entry {seq_text}: entries were removed or rewritten"
                )
        elif entries:
            problems.append(f"{self.head_path.name} is missing")
        return problems
