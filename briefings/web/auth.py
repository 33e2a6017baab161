"""Sign-in for the review web page: the workspace's secret key, server-side sessions and
the limit on failed sign-in attempts.

Sessions live in the server process, not in the cookie: the cookie carries only a
random session id, signed with the workspace's secret key (``state/web-secret.key``,
mode 0600). Signing out, or restarting the server, therefore really ends a session.
A session expires after ``idle`` seconds without a request and ``lifetime`` seconds
after sign-in, whichever comes first. Signing in always starts a new session (the
id a browser held before is dropped), so a planted id is worth nothing.

Failed sign-ins are counted per name and per client address. After ``threshold``
failures for a name (``client_threshold`` for an address) it is locked for
``base_delay`` seconds, doubled with every further failure up to ``max_delay``;
while locked, no password is even checked. Counts fade ``window`` seconds after the
last failure; a success clears the name's and the address's counts. The server
listens on 127.0.0.1 only, so every browser on that machine (or through an SSH
tunnel or a local proxy) has the same address: the per-address limit then acts as
a limit on the whole server, which is why it allows a few more failures than the
per-name one.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from itsdangerous import BadSignature, Signer

from briefings.errors import ConfigError

log = logging.getLogger(__name__)

SECRET_FILE = "web-secret.key"
COOKIE_NAME = "briefings_review"
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


# -- the workspace's secret key -------------------------------------------------------


def secret_key_path(root: Path) -> Path:
    return root / "state" / SECRET_FILE


def load_secret_key(root: Path) -> bytes:
    """The workspace's secret key, created (mode 0600) the first time it is needed."""
    path = secret_key_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        fd = None
    if fd is not None:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        log.info("created the review page's secret key %s", path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o); setting it to 0600", path, mode)
        os.chmod(path, 0o600)
    key = path.read_text("ascii").strip()
    if len(key) < 32:
        raise ConfigError(f"{path} is too short to be a secret key; delete it to make a new one")
    return key.encode("ascii")


# -- sessions ------------------------------------------------------------------------


@dataclass
class Session:
    """One browser's session; ``officer`` is None before sign-in."""

    id: str
    csrf_token: str
    created: float
    seen: float
    officer: str | None = None
    flashes: list[tuple[str, str]] = field(default_factory=list)

    def flash(self, kind: str, message: str) -> None:
        self.flashes.append((kind, message))

    def pop_flashes(self) -> list[tuple[str, str]]:
        flashes, self.flashes = self.flashes, []
        return flashes


class SessionStore:
    """Sessions by id, in memory, with idle and absolute expiry."""

    def __init__(
        self,
        secret_key: bytes,
        *,
        clock: Clock = utcnow,
        idle: float = 2 * 3600,
        lifetime: float = 12 * 3600,
        anonymous_idle: float = 30 * 60,
        max_sessions: int = 10_000,
    ):
        self.signer = Signer(secret_key, salt="briefings-review-session")
        self.clock = clock
        self.idle = idle
        self.lifetime = lifetime
        self.anonymous_idle = anonymous_idle
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return self.clock().timestamp()

    def new(self, officer: str | None = None) -> Session:
        now = self._now()
        session = Session(
            id=secrets.token_urlsafe(32),
            csrf_token=secrets.token_urlsafe(32),
            created=now,
            seen=now,
            officer=officer,
        )
        with self._lock:
            self._prune(now)
            self._sessions[session.id] = session
        return session

    def cookie_value(self, session: Session) -> str:
        return self.signer.sign(session.id.encode("ascii")).decode("ascii")

    def from_cookie(self, value: str | None) -> Session | None:
        """The live session a cookie names; None for a missing, forged or expired one."""
        if not value:
            return None
        try:
            session_id = self.signer.unsign(value.encode("ascii", "replace")).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None
        now = self._now()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if self._expired(session, now):
                del self._sessions[session_id]
                return None
            session.seen = now
            return session

    def end(self, session: Session) -> None:
        with self._lock:
            self._sessions.pop(session.id, None)

    def end_all(self, officer: str) -> int:
        """End every session of ``officer`` (e.g. when their password changed)."""
        with self._lock:
            ids = [s.id for s in self._sessions.values() if s.officer == officer]
            for session_id in ids:
                del self._sessions[session_id]
        return len(ids)

    def _expired(self, session: Session, now: float) -> bool:
        idle = self.idle if session.officer else self.anonymous_idle
        return now - session.seen > idle or now - session.created > self.lifetime

    def _prune(self, now: float) -> None:
        for session_id in [s.id for s in self._sessions.values() if self._expired(s, now)]:
            del self._sessions[session_id]
        if len(self._sessions) >= self.max_sessions:
            # Under a flood of anonymous sessions, drop the oldest anonymous ones first.
            victims = sorted(self._sessions.values(), key=lambda s: (s.officer is not None, s.seen))
            for session in victims[: len(self._sessions) - self.max_sessions + 1]:
                del self._sessions[session.id]


# -- failed sign-ins -------------------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class SignInLimiter:
    """Counts failed sign-ins per name and per client; locks both with growing delays."""

    def __init__(
        self,
        *,
        clock: Clock = utcnow,
        threshold: int = 5,
        client_threshold: int = 10,
        base_delay: float = 30.0,
        max_delay: float = 15 * 60.0,
        window: float = 3600.0,
        max_entries: int = 50_000,
    ):
        self.clock = clock
        self.threshold = threshold
        self.client_threshold = client_threshold
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.window = window
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(name: str, client: str) -> list[tuple[str, str]]:
        return [("name", name.strip().lower()[:64]), ("client", client)]

    def retry_after(self, name: str, client: str) -> float:
        """Seconds until ``name`` from ``client`` may try again (0 when allowed now)."""
        now = self.clock().timestamp()
        with self._lock:
            waits = [
                entry.locked_until - now
                for key in self._keys(name, client)
                if (entry := self._entries.get(key)) is not None
            ]
        return max([0.0, *waits])

    def failed(self, name: str, client: str) -> None:
        now = self.clock().timestamp()
        with self._lock:
            self._prune(now)
            for key in self._keys(name, client):
                entry = self._entries.setdefault(key, _Failures())
                if now - entry.last > self.window:
                    entry.count = 0
                entry.count += 1
                entry.last = now
                threshold = self.threshold if key[0] == "name" else self.client_threshold
                if entry.count >= threshold:
                    delay = self.base_delay * 2 ** (entry.count - threshold)
                    entry.locked_until = now + min(delay, self.max_delay)

    def succeeded(self, name: str, client: str) -> None:
        with self._lock:
            for key in self._keys(name, client):
                self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        if len(self._entries) < self.max_entries:
            return
        for key in [
            k
            for k, e in self._entries.items()
            if now - e.last > self.window and now >= e.locked_until
        ]:
            del self._entries[key]


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything else (other hosts, schemes) is '/'."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(ch) < 0x20 for ch in value):
        return "/"
    return value
