"""Briefing files parsed once: their front matter kept by content hash, and which bytes
each file held when it was last read, so that a rebuild need not read thousands of
unchanged files again."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import orjson

from briefings.documents import BriefingFile, parse_document, sha256_bytes
from briefings.errors import PublishError

log = logging.getLogger(__name__)

# A file changed less than this long before it was read may change again within the
# same tick of a coarse file-system clock without its stat changing (git's "racy"
# entries): its stat is not trusted, so it is read again next time.
SETTLED_NS = 3_000_000_000


def _date_json(value: object) -> dict:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    raise TypeError(f"{type(value).__name__} in front matter")


def _undate(value: dict) -> object:
    if len(value) == 1 and "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if len(value) == 1 and "$date" in value:
        return date.fromisoformat(value["$date"])
    return value


def _body_after(text: str, end: int) -> str:
    """The body of a briefing file whose front matter closes on line ``end`` (0-based),
    as :func:`parse_document` gives it, splitting off only the lines before it."""
    parts = text.split("\n", end + 1)
    return (parts[end + 1] if len(parts) > end + 1 else "").strip() + "\n"


def file_stat(st: os.stat_result) -> list[int]:
    """What changes whenever a file's bytes do: size, inode, mtime and ctime (the last
    cannot be set back by hand). The publishing stage knows live files by it too."""
    return [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns]


def _stat_text(st: os.stat_result) -> str:
    """:func:`file_stat` as this cache stores it (asked for 8,000 files a rebuild)."""
    return f"{st.st_size} {st.st_ino} {st.st_mtime_ns} {st.st_ctime_ns}"


class CachedFile:
    """A briefing file whose front matter came from :class:`DocumentCache`: its body is
    cut from the bytes only when asked for (:func:`body_of`), and when the file was
    known by its stat, its bytes are read only then too (:meth:`read`), and checked."""

    __slots__ = ("_raw", "end", "meta", "path", "sha256")

    def __init__(self, path: Path | str, meta: dict, raw: bytes | None, end: int, sha256: str):
        self.path, self.meta, self._raw, self.end, self.sha256 = path, meta, raw, end, sha256

    @property
    def digest(self) -> str:
        return self.sha256

    @property
    def raw(self) -> bytes:
        if self._raw is None:
            with open(self.path, "rb") as handle:
                data = handle.read()
            if sha256_bytes(data) != self.sha256:
                raise PublishError(
                    f"{self.path} changed while it was being published; publish again"
                )
            self._raw = data
        return self._raw

    def read(self) -> bytes:
        """The file's bytes (the ones its digest names): a built file's content."""
        return self.raw

    @property
    def body(self) -> str:
        return _body_after(self.raw.decode("utf-8"), self.end)


def body_of(document: BriefingFile | CachedFile) -> str | Callable[[], str]:
    """A publication's ``text``: the body, or how to make it when needed."""
    if isinstance(document, CachedFile):
        return lambda: document.body
    return document.body


def bytes_of(document: BriefingFile | CachedFile) -> bytes | CachedFile:
    """A publication's ``raw``: the bytes, or the cached file that reads them if needed."""
    if isinstance(document, CachedFile) and document._raw is None:
        return document
    return document.raw


class DocumentCache:
    """Parsed front matter of briefing files by their bytes' SHA-256, and the stat and
    SHA-256 of each file read through :meth:`read` or :meth:`digest_of` (files no run
    asks for go), kept in a SQLite file between runs
    (front matter as JSON, dates tagged): a rebuild reads thousands of unchanged files,
    and YAML is slow. Every row is read in one query on first use (one query per file
    cost more than parsing some of them); rows no run asked for lately are dropped when
    there are many. A cache only: any error means reading and parsing again."""

    def __init__(self, path: Path | None, clock_ns: Callable[[], int] = time.time_ns):
        self.path = path
        self.clock_ns = clock_ns
        self._db: sqlite3.Connection | None = None
        self._rows: dict[str, str] | None = None
        self._files: dict[str, tuple[str, str]] | None = None
        self._used: set[str] = set()
        self._pending: dict[str, str] = {}
        self._seen: dict[str, tuple[str, str]] = {}
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(path, timeout=10)
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS meta (digest TEXT PRIMARY KEY, data BLOB)"
                )
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, stat TEXT, digest TEXT)"
                )
            except (OSError, sqlite3.Error) as exc:
                log.warning("front matter cache unavailable at %s: %s", path, exc)
                self._db = None

    def _stored(self, digest: str) -> str | bytes | None:
        if self._rows is None:
            self._rows = {}
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._rows = dict(self._db.execute("SELECT digest, data FROM meta"))
        return self._rows.get(digest)

    def _known_files(self) -> dict[str, tuple[str, str]]:
        if self._files is None:
            self._files = {}
            if self._db is not None:
                with contextlib.suppress(sqlite3.Error):
                    rows = self._db.execute("SELECT path, stat, digest FROM files")
                    self._files = {path: (stat, digest) for path, stat, digest in rows}
        return self._files

    def _cached(self, digest: str, path: Path | str, raw: bytes | None) -> CachedFile | None:
        self._used.add(digest)
        row = self._stored(digest)
        if row is not None:
            with contextlib.suppress(Exception):  # a damaged entry: parse again
                # The hook is slow: only rows holding a date need it; orjson reads the
                # others in about half the time (8,000 rows a rebuild of a large site).
                meta, end = (
                    json.loads(row, object_hook=_undate) if "$date" in row else orjson.loads(row)
                )
                if isinstance(meta, dict) and isinstance(end, int):
                    return CachedFile(path, meta, raw, end, digest)
        return None

    def parse(self, raw: bytes, path: Path, digest: str | None = None) -> BriefingFile | CachedFile:
        """:func:`parse_document`, from the cache when these bytes were parsed before
        (``digest``: their SHA-256, when the caller has just worked it out)."""
        digest = digest or sha256_bytes(raw)
        found = self._cached(digest, path, raw)
        if found is not None:
            return found
        document = parse_document(raw, path)
        lines = raw.decode("utf-8").split("\n")
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == "---")
        with contextlib.suppress(TypeError, ValueError):  # a value JSON cannot hold
            self._pending[digest] = json.dumps([document.meta, end], default=_date_json)
        return document

    def _known_digest(self, name: str) -> str | None:
        """The recorded digest of the file at ``name`` if its stat is the recorded one (or
        was, earlier in this run: the sync and the collection both ask for a briefing's
        file, and its bytes are checked against the digest whenever they are read)."""
        seen = self._seen.get(name)
        if seen is not None:
            return seen[1]
        known = self._known_files().get(name)
        if known is not None and known[0] == _stat_text(os.stat(name)):
            self._seen[name] = known
            return known[1]
        return None

    def _read_and_note(self, name: str) -> tuple[bytes, str]:
        """The file's bytes and their digest; its stat is noted for the next run when it
        did not change while it was read and had settled (see :data:`SETTLED_NS`)."""
        with open(name, "rb") as handle:
            before = os.fstat(handle.fileno())
            raw = handle.read()
            after = os.fstat(handle.fileno())
        digest = sha256_bytes(raw)
        stat = _stat_text(after)
        changed_at = max(after.st_mtime_ns, after.st_ctime_ns)
        if stat == _stat_text(before) and self.clock_ns() - changed_at > SETTLED_NS:
            self._seen[name] = (stat, digest)
        return raw, digest

    def digest_of(self, path: Path | str) -> str:
        """The SHA-256 of the file's bytes (FileNotFoundError when there is none), read
        only when its stat is not the recorded one."""
        name = str(path)
        known = self._known_digest(name)
        return known if known is not None else self._read_and_note(name)[1]

    def read(self, path: Path | str) -> BriefingFile | CachedFile:
        """:meth:`parse` of the file at ``path`` (FileNotFoundError when there is none).
        When its stat is the one recorded when it was last read, and had settled then,
        the file is not read: its front matter comes from the cache and its bytes are
        read only if needed, checked against the recorded digest."""
        name = str(path)
        known = self._known_digest(name)
        if known is not None:
            found = self._cached(known, path, None)
            if found is not None:
                return found
        raw, digest = self._read_and_note(name)
        return self.parse(raw, Path(name), digest)

    def close(self) -> None:
        if self._db is None:
            return
        # Texts replaced since: once they outnumber the live ones, they go (a run reads
        # every published file, so what it did not ask for is an older version).
        stale = [d for d in self._rows or {} if d not in self._used]
        if len(stale) <= max(1000, len(self._used)):
            stale = []
        known = self._known_files()
        changed = [(p, s, d) for p, (s, d) in self._seen.items() if known.get(p) != (s, d)]
        gone = [p for p in known if p not in self._seen] if self._seen else []
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO meta (digest, data) VALUES (?, ?)",
                    self._pending.items(),
                )
                self._db.executemany("DELETE FROM meta WHERE digest = ?", ((d,) for d in stale))
                self._db.executemany(
                    "INSERT OR REPLACE INTO files (path, stat, digest) VALUES (?, ?, ?)", changed
                )
                self._db.executemany("DELETE FROM files WHERE path = ?", ((p,) for p in gone))
        except sqlite3.Error as exc:
            log.warning("cannot store parsed front matter in %s: %s", self.path, exc)
        self._db.close()
        self._db = None
