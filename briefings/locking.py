"""Workspace locks: operating-system file locks on ``state/<name>.lock``.

A lock is ``fcntl.flock`` on a file in the workspace's ``state/`` folder,
taken without blocking (polled when the caller agrees to wait). The kernel
releases it when its holder closes the file or dies, even by SIGKILL, so a
crashed run never leaves a stale lock behind; a row in the store would need a
lease and a clock to get the same. The holder writes its pid and start time
into the file, so whoever finds the lock taken can say who holds it.

Locks are per workspace and per machine: processes on other machines (a Dask
cluster with its state in PostgreSQL) need a lock in the database instead.

Names in use: ``pipeline`` (a whole ``briefings run``), ``ingest``, ``tag``,
``draft``, ``translate`` and ``publish`` (one stage at a time).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from briefings.errors import BriefingsError

LOCK_FOLDER = "state"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as its holder wrote it into the lock file."""

    pid: int | None
    since: str | None

    def describe(self) -> str:
        pid = f"pid {self.pid}" if self.pid else "pid unknown"
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


@contextlib.contextmanager
def workspace_lock(root: Path, name: str, *, wait: float = 0.0) -> Iterator[WorkspaceLock]:
    """Hold ``name`` for the duration of a ``with`` block; LockHeld if it stays taken."""
    lock = WorkspaceLock(root, name).acquire(wait)
    try:
        yield lock
    finally:
        lock.release()
