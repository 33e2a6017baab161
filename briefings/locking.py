"""Workspace locks: operating-system file locks on ``state/<name>.lock``.

A lock is ``fcntl.flock`` on a file in the workspace's ``state/`` folder,
taken without blocking (polled when the caller agrees to wait). The kernel
releases it when its holder closes the file or dies, even by SIGKILL, so a
crashed run never leaves a stale lock behind; a row in the store would need a
lease and a clock to get the same. The holder writes its pid and start time
into the file, so whoever finds the lock taken can say who holds it.

File locks are per machine. A workspace whose state is in PostgreSQL takes its
locks in the database instead (:class:`DatabaseLock`, an advisory lock that the
server drops with its holder's connection), so runs on every machine sharing
the database exclude each other; :func:`lock_for` picks the right one.

Names in use: ``pipeline`` (a whole ``briefings run``), ``ingest``, ``tag``,
``draft``, ``translate`` and ``publish`` (one stage at a time).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from briefings.errors import BriefingsError

LOCK_FOLDER = "state"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as its holder recorded it (the host only for database locks)."""

    pid: int | None
    since: str | None
    host: str | None = None

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
        if self.host:
            pid = f"{pid} on {self.host}"
        return f"{pid}, since {self.since}" if self.since else pid


class LockHeld(BriefingsError):
    """Another process holds a workspace lock (another run of the same stage)."""

    def __init__(self, name: str, holder: LockHolder | None, message: str | None = None):
        self.name = name
        self.holder = holder
        who = holder.describe() if holder else "pid unknown"
        super().__init__(message or f"another {name} is running ({who})")


class WorkspaceLock:
    """One named lock of a workspace; a context manager once acquired.

    Not re-entrant: a second ``acquire`` of the same name, even in the same
    process, finds it held (each acquisition opens the file anew).
    """

    def __init__(self, root: Path, name: str):
        self.name = name
        self.path = Path(root) / LOCK_FOLDER / f"{name}.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self, wait: float = 0.0, poll: float = 0.1) -> WorkspaceLock:
        """Take the lock, waiting up to ``wait`` seconds; LockHeld if it stays taken."""
        if self._fd is not None:
            raise RuntimeError(f"lock {self.name} is already held by this object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + max(wait, 0.0)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LockHeld(self.name, _read_holder(fd)) from None
                    time.sleep(min(poll, max(deadline - time.monotonic(), 0.0)))
            stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {stamp}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        """Let the lock go (closing the file releases it; the file stays for next time)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the only descriptor drops the flock

    def holder(self) -> LockHolder | None:
        """Who holds the lock now, or None when it is free."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                return None
            return _read_holder(fd)
        finally:
            os.close(fd)

    def __enter__(self) -> WorkspaceLock:
        if self._fd is None:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_holder(fd: int) -> LockHolder:
    # The holder writes its line just after locking: give it a moment.
    text = ""
    for _ in range(10):
        text = os.pread(fd, 200, 0).decode("ascii", "replace").strip()
        if text:
            break
        time.sleep(0.02)
    pid_text, _, since = text.partition(" ")
    return LockHolder(int(pid_text) if pid_text.isdigit() else None, since or None)


class DatabaseLock:
    """One named lock of a workspace whose state is in PostgreSQL: a session-level
    advisory lock, so processes on every machine that share the database see it.

    The lock lives on a connection of its own, and the server drops it when that
    connection ends, even when its process is killed. The holder is named by the
    connection's ``application_name`` (pid, host, start time), which the server
    shows to whoever finds the lock taken. Same interface as WorkspaceLock.
    """

    def __init__(self, url: str, name: str):
        self.name = name
        self.url = url
        self._conn: Any = None
        self._held_key = 0

    @property
    def held(self) -> bool:
        return self._conn is not None

    def _connect(self, label: str) -> Any:
        import psycopg

        from briefings.store import redact_url

        try:
            return psycopg.connect(
                self.url, autocommit=True, connect_timeout=30, application_name=label[:63]
            )
        except psycopg.Error as exc:
            raise BriefingsError(
                f"cannot take the {self.name} lock in {redact_url(self.url)}: {exc}"
            ) from None

    def _key(self, conn: Any) -> int:
        # Per schema: workspaces sharing a database in different schemas never wait.
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        digest = hashlib.sha256(f"briefings-lock:{schema}:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    def acquire(self, wait: float = 0.0, poll: float = 0.1) -> DatabaseLock:
        """Take the lock, waiting up to ``wait`` seconds; LockHeld if it stays taken."""
        if self._conn is not None:
            raise RuntimeError(f"lock {self.name} is already held by this object")
        stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        conn = self._connect(f"briefings {os.getpid()} {socket.gethostname()} {stamp}")
        try:
            key = self._key(conn)
            deadline = time.monotonic() + max(wait, 0.0)
            while not conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                if time.monotonic() >= deadline:
                    raise LockHeld(self.name, self._holder(conn, key))
                time.sleep(min(poll, max(deadline - time.monotonic(), 0.0)))
        except BaseException:
            conn.close()
            raise
        self._conn, self._held_key = conn, key
        return self

    def release(self) -> None:
        """Let the lock go: unlocked first, then its connection closed. (The server ends
        a closed session a moment later, and until then the lock still shows as held:
        a test that looked at once saw it, now and then.)"""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.execute("SELECT pg_advisory_unlock(%s)", (self._held_key,))
            with contextlib.suppress(Exception):
                conn.close()

    def holder(self) -> LockHolder | None:
        """Who holds the lock now, or None when it is free."""
        conn = self._connect("briefings lock check")
        try:
            return self._holder(conn, self._key(conn))
        finally:
            conn.close()

    @staticmethod
    def _holder(conn: Any, key: int) -> LockHolder | None:
        unsigned = key & 0xFFFFFFFFFFFFFFFF  # pg_locks shows a bigint key as two oids
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s AND l.objid = %s"
            " AND l.objsubid = 1",
            (unsigned >> 32, unsigned & 0xFFFFFFFF),
        ).fetchone()
        if row is None:
            return None
        parts = (row[0] or "").split(" ")
        if len(parts) == 4 and parts[0] == "briefings" and parts[1].isdigit():
            return LockHolder(int(parts[1]), parts[3], parts[2])
        return LockHolder(None, None)

    def __enter__(self) -> DatabaseLock:
        if self._conn is None:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_for(workspace: Any, name: str) -> WorkspaceLock | DatabaseLock:
    """The workspace's lock ``name``: in PostgreSQL when its state is there (every
    machine sharing the database sees it), else a file lock in ``state/``."""
    database = workspace.database
    if isinstance(database, str):
        return DatabaseLock(database, name)
    return WorkspaceLock(workspace.root, name)
