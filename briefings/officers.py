"""Officers' passwords for the review web page: Argon2id hashes in ``state/officers.json``.

Names and roles stay in ``briefings.toml``; secrets never go there. The file is
written atomically with mode 0600 and holds, per officer, the hash as argon2-cffi
encodes it (algorithm, parameters and salt included) and when it was set::

    {"version": 1, "officers": {"ana": {"hash": "$argon2id$v=19$...", "set_at": "..."}}}

:meth:`PasswordFile.verify` spends the same Argon2 work whether or not the name
has a password, so a sign-in page cannot be used to learn which names exist.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from briefings.errors import ConfigError
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

FILE_NAME = "officers.json"
MIN_LENGTH = 12
MAX_LENGTH = 1024  # Argon2 takes any length; a bound keeps one request cheap to refuse
_DUMMY_PASSWORD = "not a password of anyone"


def passwords_path(workspace: Workspace) -> Path:
    """``state/officers.json`` in the workspace."""
    return workspace.root / "state" / FILE_NAME


def check_password_quality(name: str, password: str) -> None:
    """Refuse passwords too short, too long, or equal to the name (ConfigError says which)."""
    if len(password) < MIN_LENGTH:
        raise ConfigError(f"The password of {name} must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ConfigError(f"The password of {name} must have at most {MAX_LENGTH} characters")
    if password.strip().lower() == name.lower():
        raise ConfigError(f"The password of {name} must not be the name itself")


class PasswordFile:
    """Read, set and check officers' password hashes in one JSON file."""

    def __init__(
        self,
        path: Path,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.path = path
        self.hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self.clock = clock
        self._lock = threading.Lock()
        self._dummy_hash: str | None = None

    # -- the file -----------------------------------------------------------------------

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            officers = data["officers"]
            if not isinstance(officers, dict):
                raise TypeError("officers is not a mapping")
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{self.path} is damaged ({exc}); set the passwords again: "
                "briefings officers passwd NAME"
            ) from None
        return officers

    def _write(self, officers: dict[str, dict[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": 1, "officers": officers}, indent=2, sort_keys=True)
        # mkstemp creates the file with mode 0600 before anything is written to it.
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(data + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- setting and checking ------------------------------------------------------------

    def names(self) -> list[str]:
        """Officers who have a password."""
        return sorted(self._read())

    def changed_at(self, name: str) -> datetime | None:
        """When ``name``'s password was last set (None without one): older sessions end."""
        entry = self._read().get(name)
        when = entry.get("set_at") if isinstance(entry, dict) else None
        try:
            return datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            return None

    def set(self, name: str, password: str) -> None:
        """Store the Argon2 hash of ``password`` for ``name`` (replacing any earlier one)."""
        check_password_quality(name, password)
        encoded = self.hasher.hash(password)
        with self._lock:
            officers = self._read()
            officers[name] = {"hash": encoded, "set_at": _iso(self.clock())}
            self._write(officers)
        log.info("password of %s set in %s", name, self.path)

    def remove(self, name: str) -> bool:
        with self._lock:
            officers = self._read()
            if officers.pop(name, None) is None:
                return False
            self._write(officers)
        return True

    def verify(self, name: str, password: str) -> bool:
        """True when ``password`` is ``name``'s; same cost for names without a password."""
        if len(password) > MAX_LENGTH:
            return False
        entry = self._read().get(name)
        encoded = entry.get("hash") if isinstance(entry, dict) else None
        if not encoded:
            self._burn(password)
            return False
        try:
            self.hasher.verify(encoded, password)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            log.warning("the password hash of %s in %s is unreadable", name, self.path)
            return False
        if self.hasher.check_needs_rehash(encoded):
            # Parameters were raised since it was set: store a hash with today's.
            # An old password below today's rules still signs in; passwd replaces it.
            with contextlib.suppress(ConfigError):
                self.set(name, password)
        return True

    def _burn(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)
        with contextlib.suppress(VerificationError):
            self.hasher.verify(self._dummy_hash, password)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
