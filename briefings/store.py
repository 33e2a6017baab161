"""The state store: every SQL statement of the project lives in this module.

Two backends behind one set of statements: SQLite in WAL mode (the default, a file
in the workspace) and PostgreSQL (a ``postgresql://`` URL, when several machines
share the state). One connection per thread (Prefect runs tasks in thread pools),
versioned migrations applied on open. Statements are written once, in SQLite's
dialect with qmark parameters; a small dialect layer (:class:`Connection`)
translates them for PostgreSQL.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from briefings.errors import StoreError
from briefings.models import (
    Analysis,
    ApprovalRecord,
    AuditEntry,
    BriefingRecord,
    Entity,
    Indicator,
    Item,
    Tag,
)
from briefings.tlp import TLP

if TYPE_CHECKING:
    from briefings.workspace import Workspace

log = logging.getLogger(__name__)

# Each migration is applied once, in order, inside one transaction. Written in SQLite's
# types; ``postgres_ddl`` maps them for PostgreSQL.
MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "sources, fetch state, items with revisions, sightings, runs",
        """
        CREATE TABLE fetch_state (
            source_id TEXT NOT NULL,
            location TEXT NOT NULL,
            etag TEXT,
            last_modified TEXT,
            fetched_at TEXT NOT NULL,
            PRIMARY KEY (source_id, location)
        );
        CREATE TABLE source_status (
            source_id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            error TEXT,
            checked_at TEXT NOT NULL,
            last_ok_at TEXT
        );
        CREATE TABLE items (
            id TEXT PRIMARY KEY,
            global_key TEXT,
            first_source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            current_revision INTEGER NOT NULL
        );
        CREATE INDEX items_global_key ON items (global_key);
        CREATE TABLE item_revisions (
            item_id TEXT NOT NULL REFERENCES items (id),
            revision INTEGER NOT NULL,
            source_id TEXT NOT NULL,
            url TEXT,
            title TEXT NOT NULL,
            summary TEXT NOT NULL,
            html TEXT NOT NULL,
            text TEXT NOT NULL,
            published TEXT,
            updated TEXT,
            lang TEXT,
            lang_declared TEXT,
            lang_confidence REAL,
            tlp TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            extra TEXT NOT NULL,
            stored_at TEXT NOT NULL,
            PRIMARY KEY (item_id, revision)
        );
        CREATE INDEX item_revisions_hash ON item_revisions (content_hash);
        CREATE TABLE sightings (
            source_id TEXT NOT NULL,
            entry_key TEXT NOT NULL,
            item_id TEXT NOT NULL REFERENCES items (id),
            content_hash TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (source_id, entry_key)
        );
        CREATE INDEX sightings_item ON sightings (item_id);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL,
            summary TEXT
        );
        """,
    ),
    (
        2,
        "tags, indicators, countries and priority per item revision",
        """
        CREATE TABLE item_analysis (
            item_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            tagger TEXT NOT NULL,
            tagged_at TEXT NOT NULL,
            priority INTEGER NOT NULL,
            reasons TEXT NOT NULL,
            countries TEXT NOT NULL,
            PRIMARY KEY (item_id, revision),
            FOREIGN KEY (item_id, revision) REFERENCES item_revisions (item_id, revision)
        );
        CREATE INDEX item_analysis_priority ON item_analysis (priority);
        CREATE TABLE item_tags (
            item_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            concept TEXT NOT NULL,
            category TEXT NOT NULL,
            text TEXT NOT NULL,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL
        );
        CREATE INDEX item_tags_item ON item_tags (item_id, revision);
        CREATE INDEX item_tags_concept ON item_tags (concept);
        CREATE TABLE item_indicators (
            item_id TEXT NOT NULL,
            revision INTEGER NOT NULL,
            type TEXT NOT NULL,
            value TEXT NOT NULL,
            text TEXT NOT NULL,
            start_char INTEGER NOT NULL,
            end_char INTEGER NOT NULL
        );
        CREATE INDEX item_indicators_item ON item_indicators (item_id, revision);
        CREATE INDEX item_indicators_value ON item_indicators (value);
        """,
    ),
    (
        3,
        "briefings, their items, approvals and the hash-chained audit log",
        """
        CREATE TABLE briefings (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            lang TEXT NOT NULL,
            path TEXT NOT NULL,
            state TEXT NOT NULL,
            title TEXT NOT NULL,
            tlp TEXT NOT NULL,
            priority INTEGER NOT NULL,
            period TEXT,
            content_hash TEXT NOT NULL,
            drafted_hash TEXT,
            last_editor TEXT,
            version INTEGER NOT NULL,
            corrects TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            state_reason TEXT
        );
        CREATE INDEX briefings_period ON briefings (kind, period);
        CREATE TABLE briefing_items (
            briefing_id TEXT NOT NULL REFERENCES briefings (id),
            item_id TEXT NOT NULL,
            PRIMARY KEY (briefing_id, item_id)
        );
        CREATE TABLE approvals (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            briefing_id TEXT NOT NULL REFERENCES briefings (id),
            lang TEXT NOT NULL,
            officer TEXT NOT NULL,
            approved_at TEXT NOT NULL,
            note TEXT,
            sha256 TEXT NOT NULL,
            voided_at TEXT,
            void_reason TEXT
        );
        CREATE INDEX approvals_briefing ON approvals (briefing_id, lang);
        CREATE TABLE audit_log (
            seq INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            briefing_id TEXT,
            lang TEXT,
            content_hash TEXT,
            details TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            entry_hash TEXT NOT NULL
        );
        CREATE INDEX audit_log_briefing ON audit_log (briefing_id);
        CREATE TABLE content_blobs (
            sha256 TEXT PRIMARY KEY,
            content BLOB NOT NULL
        );
        """,
    ),
    (
        4,
        "translation memory: protected source segment -> model output, per package and glossary",
        """
        CREATE TABLE translation_memory (
            source_hash TEXT NOT NULL,
            source_lang TEXT NOT NULL,
            target_lang TEXT NOT NULL,
            package TEXT NOT NULL,
            package_version TEXT NOT NULL,
            glossary_version TEXT NOT NULL,
            source_text TEXT NOT NULL,
            target_text TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (source_hash, source_lang, target_lang, package, package_version,
                glossary_version)
        );
        """,
    ),
    (
        5,
        "named entities of a trained spaCy pipeline per item revision",
        """
        ALTER TABLE item_analysis ADD COLUMN entities TEXT NOT NULL DEFAULT '[]';
        """,
    ),
]

Outcome = Literal["new", "updated", "duplicate"]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_MIGRATIONS_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
)


def is_postgres_url(location: str | Path) -> bool:
    """True when ``location`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# -- the dialect layer ------------------------------------------------------------------
#
# Every statement below is written once, in SQLite's dialect with qmark parameters.
# On PostgreSQL each statement is translated once (and cached): ``?`` becomes ``%s``,
# ``IS ?`` (a null-safe comparison) becomes ``IS NOT DISTINCT FROM %s``; migrations get
# PostgreSQL's types. New ids come back through ``Connection.insert_id``.

_POSTGRES_TYPES = [
    (
        re.compile(r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b"),
        "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    ),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),  # SQLite integers are 64-bit
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),  # PostgreSQL's REAL is 32-bit
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    # Byte order, as SQLite compares text: ORDER BY gives the same rows on both.
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
]
_NULL_SAFE_EQUALS = re.compile(r"\bIS \?")


def postgres_ddl(script: str) -> str:
    """A migration script with SQLite's column types replaced by PostgreSQL's."""
    for pattern, replacement in _POSTGRES_TYPES:
        script = pattern.sub(replacement, script)
    return script


@functools.lru_cache(maxsize=4096)
def postgres_sql(sql: str) -> str:
    """One qmark statement in psycopg's ``%s`` style (``%`` doubled, quoted text kept)."""
    sql = _NULL_SAFE_EQUALS.sub("IS NOT DISTINCT FROM ?", sql)
    out: list[str] = []
    quote = ""
    for char in sql:
        if char == "%":
            out.append("%%")
        elif quote:
            out.append(char)
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            out.append(char)
        else:
            out.append("%s" if char == "?" else char)
    return "".join(out)


class Connection:
    """One thread's connection to either backend, as the store's methods use it.

    ``execute`` and ``executemany`` take qmark SQL and return the driver's cursor
    (rows are addressed by column name on both). On SQLite they are the driver's own
    methods, so nothing is added to its speed.
    """

    def __init__(self, raw: Any, *, postgres: bool, lock_key: int = 0):
        self.raw = raw
        self.postgres = postgres
        self.lock_key = lock_key
        if not postgres:
            self.execute = raw.execute
            self.executemany = raw.executemany

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(postgres_sql(sql), params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Any:
        cursor = self.raw.cursor()
        cursor.executemany(postgres_sql(sql), list(rows))
        return cursor

    def insert_id(self, sql: str, params: Sequence[Any]) -> int:
        """Run an INSERT into a table with an ``id`` identity column; the new row's id."""
        if self.postgres:
            return int(self.execute(sql + " RETURNING id", params).fetchone()["id"])
        return int(self.raw.execute(sql, params).lastrowid)

    def begin(self) -> None:
        """Start a write transaction; writers queue, one at a time, as on SQLite.

        SQLite's BEGIN IMMEDIATE takes the database's write lock up front. On PostgreSQL
        a transaction-scoped advisory lock per schema does the same: the store's rules
        (dedupe by lookup then insert, the audit chain's read-last-then-append, a
        briefing's state re-read before it changes) hold because every write transaction
        starts after the one before it committed, and in READ COMMITTED each statement
        sees what that one wrote.
        """
        if self.postgres:
            self.raw.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
        else:
            self.raw.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.raw.execute("COMMIT")

    def rollback(self) -> None:
        self.raw.execute("ROLLBACK")

    def table_exists(self, name: str) -> bool:
        sql = (
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = ?"
            if self.postgres
            else "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        )
        return self.execute(sql, (name,)).fetchone() is not None

    def script(self, script: str) -> None:
        """Run a migration script, statement by statement, in this dialect."""
        if self.postgres:
            script = postgres_ddl(script)
        for statement in filter(str.strip, script.split(";")):
            self.raw.execute(statement)

    def close(self) -> None:
        self.raw.close()


def _driver_errors(postgres: bool) -> tuple[type[Exception], ...]:
    """The exceptions of the backend's driver (psycopg is imported only when used)."""
    if not postgres:
        return (sqlite3.Error,)
    import psycopg

    return (psycopg.Error,)


@functools.cache
def _nul_free_str_dumper() -> type:
    """psycopg's text dumper, dropping NUL characters: PostgreSQL text cannot hold them
    (SQLite can), and a hostile feed must not fail a whole source for one."""
    from psycopg.types.string import StrDumperUnknown

    class NulFreeStrDumper(StrDumperUnknown):
        def dump(self, obj: str) -> bytes:
            return super().dump(obj.replace("\x00", "") if "\x00" in obj else obj)

    return NulFreeStrDumper


SQLITE_TIMEOUT = 30.0  # seconds a statement waits for another connection's lock


def _enable_wal(raw: sqlite3.Connection) -> None:
    """Switch a connection's database to WAL. On a new file, several processes opening it
    at once race for that switch, and SQLite answers "database is locked" at once
    instead of waiting (the busy timeout does not cover it): try again until the timeout."""
    deadline = time.monotonic() + SQLITE_TIMEOUT
    delay = 0.01
    while True:
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)


def _lock_key(schema: str) -> int:
    """The advisory lock of one store: stores in other schemas of the database never wait."""
    digest = hashlib.sha256(f"briefings-store:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def utcnow() -> datetime:

    return datetime.now(UTC)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def item_id_for(identity: str) -> str:
    """The stable id of the item whose identity key is ``identity``."""
    return "it-" + hashlib.sha256(identity.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class StoredFetchState:
    etag: str | None
    last_modified: str | None


class Store:
    """The workspace's state database. Safe to share between threads.

    ``location`` is a SQLite file (a path) or a PostgreSQL URL
    (``postgresql://user@host/dbname``; libpq's ``PG*`` variables fill in the rest).
    ``state_dir`` is where files kept beside the database live (the audit head):
    the SQLite file's folder unless given; a PostgreSQL store needs it.
    """

    def __init__(self, location: Path | str, *, state_dir: Path | None = None):
        self.postgres = is_postgres_url(location)
        self._local = threading.local()
        self._lock = threading.Lock()
        if self.postgres:
            self.url: str | None = str(location)
            self.path: Path | None = None
            self.location = redact_url(self.url)
            if state_dir is None:
                raise StoreError(
                    f"The PostgreSQL store {self.location} needs a state folder for its audit head"
                )
            self.state_dir = state_dir
        else:
            path = Path(location)
            self.url = None
            self.path = path
            self.location = str(path)
            self.state_dir = state_dir or path.parent
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Cannot create the folder of {path}: {exc.strerror}") from exc
        self._errors = _driver_errors(self.postgres)
        self.migrate()

    @classmethod
    def for_workspace(cls, workspace: Workspace) -> Store:
        """The store a workspace's ``[workspace] database`` names."""
        return cls(workspace.database, state_dir=workspace.state_dir)

    # -- connections and transactions -------------------------------------------------

    def _connect(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and not (self.postgres and conn.raw.closed):
            return conn
        try:
            conn = self._open_postgres() if self.postgres else self._open_sqlite()
        except self._errors as exc:
            raise StoreError(f"Cannot open the state database {self.location}: {exc}") from exc
        self._local.conn = conn
        return conn

    def _open_sqlite(self) -> Connection:
        raw = sqlite3.connect(self.path, timeout=SQLITE_TIMEOUT, isolation_level=None)
        raw.row_factory = sqlite3.Row
        _enable_wal(raw)
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute("PRAGMA synchronous=NORMAL")
        return Connection(raw, postgres=False)

    def _open_postgres(self) -> Connection:
        import psycopg
        from psycopg.rows import dict_row

        # Autocommit, as SQLite runs here: a read is its own statement, a write
        # transaction is opened explicitly by ``transaction``.
        raw = psycopg.connect(
            self.url,
            autocommit=True,
            row_factory=dict_row,
            connect_timeout=30,
            application_name="briefings",
        )
        raw.adapters.register_dumper(str, _nul_free_str_dumper())
        schema = raw.execute("SELECT current_schema() AS name").fetchone()["name"]
        if schema is None:
            raw.close()
            raise StoreError(
                f"{self.location} has no schema to create tables in; "
                "check the search_path of the database or its user"
            )
        return Connection(raw, postgres=True, lock_key=_lock_key(schema))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: all of it is stored, or none of it."""
        conn = self._connect()
        # Writers queue up front (SQLite's write lock, an advisory lock on PostgreSQL)
        # instead of deadlocking on a read-to-write upgrade.
        conn.begin()
        try:
            yield conn
        except BaseException:
            if not (self.postgres and conn.raw.closed):
                conn.rollback()
            raise
        else:
            conn.commit()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- schema -----------------------------------------------------------------------

    def schema_version(self) -> int:
        return self._version(self._connect())

    @staticmethod
    def _version(conn: Connection) -> int:
        if not conn.table_exists("schema_migrations"):
            return 0
        row = conn.execute("SELECT MAX(version) AS version FROM schema_migrations").fetchone()
        return row["version"] or 0

    def migrate(self) -> int:
        """Apply pending migrations; returns the schema version now in force.

        Pending migrations are applied in order in one write transaction, after the
        version was read again under the write lock: two processes opening a new
        database at once migrate it once.
        """
        latest = MIGRATIONS[-1][0]
        with self._lock:
            try:
                current = self.schema_version()
                if current < latest:
                    with self.transaction() as conn:
                        conn.script(_MIGRATIONS_TABLE)
                        current = self._version(conn)
                        for version, description, script in MIGRATIONS:
                            if version <= current:
                                continue
                            conn.script(script)
                            conn.execute(
                                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                                (version, description, _iso(utcnow())),
                            )
                            log.info("store %s migrated to version %s", self.location, version)
                if current > latest:
                    raise StoreError(
                        f"{self.location} has schema version {current}, newer than this "
                        f"program's {latest}. Upgrade briefings."
                    )
                return latest
            except self._errors as exc:
                raise StoreError(
                    f"Cannot migrate the state database {self.location}: {exc}"
                ) from exc

    # -- fetch state ----------------------------------------------------------------

    def fetch_state(self, source_id: str, location: str) -> StoredFetchState:
        row = (
            self._connect()
            .execute(
                "SELECT etag, last_modified FROM fetch_state WHERE source_id = ? AND location = ?",
                (source_id, location),
            )
            .fetchone()
        )
        return (
            StoredFetchState(row["etag"], row["last_modified"])
            if row
            else StoredFetchState(None, None)
        )

    def save_fetch_state(
        self,
        conn: Connection,
        source_id: str,
        location: str,
        etag: str | None,
        last_modified: str | None,
    ) -> None:
        conn.execute(
            "INSERT INTO fetch_state (source_id, location, etag, last_modified, fetched_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id, location) DO UPDATE SET"
            " etag = excluded.etag, last_modified = excluded.last_modified,"
            " fetched_at = excluded.fetched_at",
            (source_id, location, etag, last_modified, _iso(utcnow())),
        )

    def record_source_status(
        self, source_id: str, status: str, error: str | None, at: datetime
    ) -> None:
        ok_at = _iso(at) if status in {"ok", "not-modified"} else None
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO source_status (source_id, status, error, checked_at, last_ok_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET"
                " status = excluded.status, error = excluded.error,"
                " checked_at = excluded.checked_at,"
                " last_ok_at = COALESCE(excluded.last_ok_at, source_status.last_ok_at)",
                (source_id, status, error, _iso(at), ok_at),
            )

    def source_statuses(self) -> dict[str, dict[str, Any]]:
        rows = self._connect().execute("SELECT * FROM source_status").fetchall()
        return {row["source_id"]: dict(row) for row in rows}

    # -- items ------------------------------------------------------------------------

    def record_item(
        self,
        conn: Connection,
        item: Item,
        *,
        entry_key: str,
        global_key: str | None,
        seen_at: datetime,
    ) -> tuple[Outcome, str]:
        """Store one normalized entry of ``item.source_id``; returns (outcome, item id).

        Rules: an entry this source has shown before is the same item, and a
        new revision only when its content hash changed since this source last
        showed it (so two sources with different wording never flip-flop
        revisions). An entry new to this source joins an existing item with the
        same global key (canonical link, CSAF tracking id) or the same content,
        as a duplicate; otherwise it is a new item.
        """
        now = _iso(seen_at)
        source_id = item.source_id
        row = conn.execute(
            "SELECT item_id, content_hash FROM sightings WHERE source_id = ? AND entry_key = ?",
            (source_id, entry_key),
        ).fetchone()
        if row is not None:
            item_id = row["item_id"]
            conn.execute(
                "UPDATE sightings SET last_seen = ?, content_hash = ? WHERE source_id = ? AND entry_key = ?",
                (now, item.content_hash, source_id, entry_key),
            )
            if row["content_hash"] == item.content_hash:
                return "duplicate", item_id
            self._add_revision(conn, item_id, item, now)
            return "updated", item_id

        item_id = self._find_existing(conn, global_key, item.content_hash)
        outcome: Outcome = "duplicate"
        if item_id is None:
            item_id = item_id_for(global_key or f"{source_id}\n{entry_key}")
            exists = conn.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone()
            if exists is None:
                conn.execute(
                    "INSERT INTO items (id, global_key, first_source, created_at, current_revision)"
                    " VALUES (?, ?, ?, ?, 0)",
                    (item_id, global_key, source_id, now),
                )
                self._add_revision(conn, item_id, item, now)
                outcome = "new"
        conn.execute(
            "INSERT INTO sightings (source_id, entry_key, item_id, content_hash, first_seen, last_seen)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (source_id, entry_key, item_id, item.content_hash, now, now),
        )
        return outcome, item_id

    def _find_existing(
        self, conn: Connection, global_key: str | None, content_hash: str
    ) -> str | None:
        if global_key:
            row = conn.execute(
                "SELECT id FROM items WHERE global_key = ?", (global_key,)
            ).fetchone()
            if row:
                return row["id"]
        row = conn.execute(
            "SELECT item_id FROM item_revisions WHERE content_hash = ? LIMIT 1", (content_hash,)
        ).fetchone()
        return row["item_id"] if row else None

    def _add_revision(self, conn: Connection, item_id: str, item: Item, now: str | None) -> int:
        row = conn.execute("SELECT current_revision FROM items WHERE id = ?", (item_id,)).fetchone()
        revision = row["current_revision"] + 1
        conn.execute(
            "INSERT INTO item_revisions (item_id, revision, source_id, url, title, summary, html,"
            " text, published, updated, lang, lang_declared, lang_confidence, tlp, content_hash,"
            " extra, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                item_id,
                revision,
                item.source_id,
                item.url,
                item.title,
                item.summary,
                item.html,
                item.text,
                _iso(item.published),
                _iso(item.updated),
                item.lang,
                item.lang_declared,
                item.lang_confidence,
                item.tlp.value,
                item.content_hash,
                json.dumps(item.extra, ensure_ascii=False, sort_keys=True, default=str),
                now,
            ),
        )
        conn.execute("UPDATE items SET current_revision = ? WHERE id = ?", (revision, item_id))
        return revision

    def list_items(
        self,
        *,
        source: str | None = None,
        lang: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
        concept: str | None = None,
        category: str | None = None,
        min_priority: int | None = None,
        ids: list[str] | None = None,
    ) -> list[Item]:
        """Current revisions, newest first, with their analysis when tagged.

        ``source`` matches any source that reported the item; ``concept``,
        ``category`` and ``min_priority`` filter on the current revision's tags.
        """
        sql = (
            "SELECT r.*, i.id AS id FROM items i JOIN item_revisions r"
            " ON r.item_id = i.id AND r.revision = i.current_revision WHERE 1 = 1"
        )
        params: list[Any] = []
        if ids is not None:
            if not ids:
                return []
            sql += f" AND i.id IN ({', '.join('?' for _ in ids)})"
            params += list(ids)
        if concept or category:
            sql += (
                " AND EXISTS (SELECT 1 FROM item_tags t WHERE t.item_id = i.id"
                " AND t.revision = i.current_revision"
            )
            if concept:
                sql += " AND t.concept = ?"
                params.append(concept)
            if category:
                sql += " AND t.category = ?"
                params.append(category)
            sql += ")"
        if min_priority is not None:
            sql += (
                " AND EXISTS (SELECT 1 FROM item_analysis a WHERE a.item_id = i.id"
                " AND a.revision = i.current_revision AND a.priority >= ?)"
            )
            params.append(min_priority)
        if source:
            sql += " AND i.id IN (SELECT item_id FROM sightings WHERE source_id = ?)"
            params.append(source)
        if lang:
            sql += " AND r.lang = ?"
            params.append(lang)
        if since:
            sql += " AND COALESCE(r.published, r.stored_at) >= ?"
            params.append(_iso(since))
        sql += " ORDER BY COALESCE(r.published, r.stored_at) DESC, i.id"
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        conn = self._connect()
        rows = conn.execute(sql, params).fetchall()
        sources = self._sources_of(conn, [row["id"] for row in rows])
        items = [self._item_from_row(row, sources.get(row["id"], [])) for row in rows]
        self._attach_analyses(conn, items)
        return items

    def get_item(self, item_id: str) -> Item | None:
        conn = self._connect()
        row = conn.execute(
            "SELECT r.*, i.id AS id FROM items i JOIN item_revisions r"
            " ON r.item_id = i.id AND r.revision = i.current_revision WHERE i.id = ?",
            (item_id,),
        ).fetchone()
        if row is None:
            return None
        item = self._item_from_row(row, self._sources_of(conn, [item_id]).get(item_id, []))
        self._attach_analyses(conn, [item])
        return item

    def item_revisions(self, item_id: str) -> list[Item]:
        conn = self._connect()
        rows = conn.execute(
            "SELECT *, item_id AS id FROM item_revisions WHERE item_id = ? ORDER BY revision",
            (item_id,),
        ).fetchall()
        return [self._item_from_row(row, []) for row in rows]

    # -- tagging ----------------------------------------------------------------------

    def items_to_tag(self, tagger: str, *, limit: int | None = None) -> list[Item]:
        """Current revisions with no analysis by ``tagger`` (new, changed, or tagged by
        an older glossary or tagger), oldest first."""
        sql = (
            "SELECT r.*, i.id AS id FROM items i JOIN item_revisions r"
            " ON r.item_id = i.id AND r.revision = i.current_revision"
            " LEFT JOIN item_analysis a ON a.item_id = i.id AND a.revision = i.current_revision"
            " WHERE a.tagger IS NULL OR a.tagger <> ? ORDER BY r.stored_at, i.id"
        )
        params: list[Any] = [tagger]
        if limit:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._connect().execute(sql, params).fetchall()
        return [self._item_from_row(row, []) for row in rows]

    def count_items_to_tag(self, tagger: str) -> int:
        return (
            self._connect()
            .execute(
                "SELECT COUNT(*) AS n FROM items i LEFT JOIN item_analysis a ON a.item_id = i.id"
                " AND a.revision = i.current_revision WHERE a.tagger IS NULL OR a.tagger <> ?",
                (tagger,),
            )
            .fetchone()["n"]
        )

    def save_analyses(self, analyses: list[Analysis], at: datetime) -> None:
        """Store analyses, replacing any earlier one of the same revisions, in one transaction."""
        now = _iso(at)
        with self.transaction() as conn:
            for a in analyses:
                key = (a.item_id, a.revision)
                for table in ("item_tags", "item_indicators", "item_analysis"):
                    conn.execute(f"DELETE FROM {table} WHERE item_id = ? AND revision = ?", key)
                conn.execute(
                    "INSERT INTO item_analysis (item_id, revision, tagger, tagged_at, priority,"
                    " reasons, countries, entities) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        *key,
                        a.tagger,
                        now,
                        a.priority,
                        json.dumps(a.reasons),
                        json.dumps(a.countries),
                        json.dumps([asdict(e) for e in a.entities]),
                    ),
                )
                conn.executemany(
                    "INSERT INTO item_tags (item_id, revision, concept, category, text, start_char,"
                    " end_char) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*key, t.concept, t.category, t.text, t.start, t.end) for t in a.tags],
                )
                conn.executemany(
                    "INSERT INTO item_indicators (item_id, revision, type, value, text, start_char,"
                    " end_char) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(*key, i.type, i.value, i.text, i.start, i.end) for i in a.indicators],
                )

    def _attach_analyses(self, conn: Connection, items: list[Item]) -> None:
        by_key = {(item.id, item.revision): item for item in items}
        keys = list(by_key)
        for start in range(0, len(keys), 400):
            chunk = keys[start : start + 400]
            where = " OR ".join("(item_id = ? AND revision = ?)" for _ in chunk)
            flat = [value for key in chunk for value in key]
            for row in conn.execute(f"SELECT * FROM item_analysis WHERE {where}", flat):
                by_key[(row["item_id"], row["revision"])].analysis = Analysis(
                    item_id=row["item_id"],
                    revision=row["revision"],
                    tagger=row["tagger"],
                    countries=json.loads(row["countries"]),
                    priority=row["priority"],
                    reasons=json.loads(row["reasons"]),
                    entities=[Entity(**e) for e in json.loads(row["entities"])],
                )
            for row in conn.execute(
                f"SELECT * FROM item_tags WHERE {where} ORDER BY start_char", flat
            ):
                analysis = by_key[(row["item_id"], row["revision"])].analysis
                if analysis is not None:
                    analysis.tags.append(
                        Tag(
                            row["concept"],
                            row["category"],
                            row["text"],
                            row["start_char"],
                            row["end_char"],
                        )
                    )
            for row in conn.execute(
                f"SELECT * FROM item_indicators WHERE {where} ORDER BY start_char", flat
            ):
                analysis = by_key[(row["item_id"], row["revision"])].analysis
                if analysis is not None:
                    analysis.indicators.append(
                        Indicator(
                            row["type"],
                            row["value"],
                            row["text"],
                            row["start_char"],
                            row["end_char"],
                        )
                    )

    def count_items(self) -> int:
        return self._connect().execute("SELECT COUNT(*) AS n FROM items").fetchone()["n"]

    def _sources_of(self, conn: Connection, item_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        # Chunked so the statement stays under SQLite's parameter limit.
        for start in range(0, len(item_ids), 500):
            chunk = item_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in conn.execute(
                f"SELECT item_id, source_id FROM sightings WHERE item_id IN ({marks})"
                " ORDER BY first_seen, source_id",
                chunk,
            ):
                sources = out.setdefault(row["item_id"], [])
                if row["source_id"] not in sources:
                    sources.append(row["source_id"])
        return out

    @staticmethod
    def _item_from_row(row: Any, sources: list[str]) -> Item:
        return Item(
            id=row["id"],
            source_id=row["source_id"],
            url=row["url"],
            title=row["title"],
            summary=row["summary"],
            html=row["html"],
            text=row["text"],
            published=_from_iso(row["published"]),
            updated=_from_iso(row["updated"]),
            lang=row["lang"],
            lang_declared=row["lang_declared"],
            lang_confidence=row["lang_confidence"],
            tlp=TLP(row["tlp"]),
            content_hash=row["content_hash"],
            revision=row["revision"],
            extra=json.loads(row["extra"]),
            sources=sources,
        )

    # -- briefings ---------------------------------------------------------------------

    _BRIEFING_COLUMNS = (
        "id", "kind", "lang", "path", "state", "title", "tlp", "priority", "period",
        "content_hash", "drafted_hash", "last_editor", "version", "corrects",
        "created_at", "updated_at", "state_reason",
    )  # fmt: skip

    def save_briefing(self, conn: Connection, record: BriefingRecord) -> None:
        values = {name: getattr(record, name) for name in self._BRIEFING_COLUMNS}
        values["tlp"] = record.tlp.value
        values["created_at"] = _iso(record.created_at)
        values["updated_at"] = _iso(record.updated_at)
        names = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        updates = ", ".join(f"{n} = excluded.{n}" for n in values if n != "id")
        conn.execute(
            f"INSERT INTO briefings ({names}) VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}",
            list(values.values()),
        )

    def get_briefing(self, briefing_id: str) -> BriefingRecord | None:
        row = (
            self._connect()
            .execute("SELECT * FROM briefings WHERE id = ?", (briefing_id,))
            .fetchone()
        )
        return self._briefing_from_row(row) if row else None

    def list_briefings(self, *, states: list[str] | None = None) -> list[BriefingRecord]:
        sql = "SELECT * FROM briefings"
        params: list[Any] = []
        if states:
            sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
            params += states
        sql += " ORDER BY priority DESC, created_at DESC, id"
        return [self._briefing_from_row(r) for r in self._connect().execute(sql, params)]

    def open_draft(
        self, kind: str, period: str | None, key_item: str | None = None
    ) -> BriefingRecord | None:
        """The briefing of ``kind`` for ``period`` (digests) that a flow may still extend."""
        row = (
            self._connect()
            .execute(
                "SELECT * FROM briefings WHERE kind = ? AND period IS ? ORDER BY version DESC LIMIT 1",
                (kind, period),
            )
            .fetchone()
        )
        return self._briefing_from_row(row) if row else None

    def set_briefing_items(self, conn: Connection, briefing_id: str, item_ids: list[str]) -> None:
        conn.execute("DELETE FROM briefing_items WHERE briefing_id = ?", (briefing_id,))
        conn.executemany(
            "INSERT INTO briefing_items (briefing_id, item_id) VALUES (?, ?)",
            [(briefing_id, item_id) for item_id in sorted(set(item_ids))],
        )

    def briefing_items(self, briefing_id: str) -> list[str]:
        rows = self._connect().execute(
            "SELECT item_id FROM briefing_items WHERE briefing_id = ? ORDER BY item_id",
            (briefing_id,),
        )
        return [row["item_id"] for row in rows]

    def briefings_holding(self, kind: str, item_ids: list[str]) -> list[BriefingRecord]:
        """Briefings of ``kind`` holding any of ``item_ids``, in the order they were made:
        by their first audit entry (a total order, unlike clock seconds), then creation
        time and id (the same on both backends for a briefing without audit entries)."""
        if not item_ids:
            return []
        marks = ", ".join("?" for _ in item_ids)
        rows = self._connect().execute(
            "SELECT * FROM briefings b WHERE b.kind = ? AND b.id IN"
            f" (SELECT bi.briefing_id FROM briefing_items bi WHERE bi.item_id IN ({marks}))"
            " ORDER BY COALESCE((SELECT MIN(a.seq) FROM audit_log a WHERE a.briefing_id = b.id),"
            " 0), b.created_at, b.id",
            [kind, *item_ids],
        )
        return [self._briefing_from_row(r) for r in rows]

    @staticmethod
    def _briefing_from_row(row: Any) -> BriefingRecord:
        data = dict(row)
        data["tlp"] = TLP(data["tlp"])
        data["created_at"] = _from_iso(data["created_at"])
        data["updated_at"] = _from_iso(data["updated_at"])
        return BriefingRecord(**data)

    # -- approvals ----------------------------------------------------------------------

    def add_approval(
        self,
        conn: Connection,
        briefing_id: str,
        lang: str,
        officer: str,
        sha256: str,
        note: str | None,
        at: datetime,
    ) -> int:
        return conn.insert_id(
            "INSERT INTO approvals (briefing_id, lang, officer, approved_at, note, sha256)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (briefing_id, lang, officer, _iso(at), note, sha256),
        )

    def approvals(self, briefing_id: str, lang: str | None = None) -> list[ApprovalRecord]:
        sql = "SELECT * FROM approvals WHERE briefing_id = ?"
        params: list[Any] = [briefing_id]
        if lang:
            sql += " AND lang = ?"
            params.append(lang)
        rows = self._connect().execute(sql + " ORDER BY id", params).fetchall()
        return [_approval_record(r) for r in rows]

    def approvals_by_briefing(self) -> dict[tuple[str, str], list[ApprovalRecord]]:
        """Every approval, by (briefing, language), each list in :meth:`approvals`'
        order: one query where a build would make several per briefing."""
        found: dict[tuple[str, str], list[ApprovalRecord]] = {}
        for r in self._connect().execute("SELECT * FROM approvals ORDER BY id").fetchall():
            found.setdefault((r["briefing_id"], r["lang"]), []).append(_approval_record(r))
        return found

    def void_approvals(
        self, conn: Connection, briefing_id: str, lang: str, reason: str, at: datetime
    ) -> int:
        cur = conn.execute(
            "UPDATE approvals SET voided_at = ?, void_reason = ?"
            " WHERE briefing_id = ? AND lang = ? AND voided_at IS NULL",
            (_iso(at), reason, briefing_id, lang),
        )
        return cur.rowcount

    def keep_blob(self, conn: Connection, sha256: str, content: bytes) -> None:
        """Keep exact bytes by their hash (approved versions outlive later edits of the file)."""
        conn.execute(
            "INSERT INTO content_blobs (sha256, content) VALUES (?, ?) ON CONFLICT (sha256) DO NOTHING",
            (sha256, content),
        )

    def blob(self, sha256: str) -> bytes | None:
        row = (
            self._connect()
            .execute("SELECT content FROM content_blobs WHERE sha256 = ?", (sha256,))
            .fetchone()
        )
        return bytes(row["content"]) if row else None

    # -- audit log --------------------------------------------------------------------

    def last_audit_entry(self, conn: Connection | None = None) -> AuditEntry | None:
        conn = conn or self._connect()
        row = conn.execute("SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        return self._audit_from_row(row) if row else None

    def insert_audit_entry(self, conn: Connection, entry: AuditEntry) -> None:
        conn.execute(
            "INSERT INTO audit_log (seq, at, actor, action, briefing_id, lang, content_hash, details,"
            " prev_hash, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.seq, entry.at, entry.actor, entry.action, entry.briefing_id, entry.lang,
                entry.content_hash, json.dumps(entry.details, sort_keys=True, ensure_ascii=False),
                entry.prev_hash, entry.entry_hash,
            ),
        )  # fmt: skip

    def audit_entries(
        self, briefing_id: str | None = None, *, actions: Iterable[str] | None = None
    ) -> list[AuditEntry]:
        """Entries in log order: all, or a briefing's, or only those of ``actions``."""
        sql = "SELECT * FROM audit_log"
        where: list[str] = []
        params: list[Any] = []
        if briefing_id:
            where.append("briefing_id = ?")
            params.append(briefing_id)
        if actions is not None:
            wanted = list(actions)
            where.append(f"action IN ({', '.join('?' for _ in wanted) or 'NULL'})")
            params += wanted
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            self._audit_from_row(r) for r in self._connect().execute(sql + " ORDER BY seq", params)
        ]

    @staticmethod
    def _audit_from_row(row: Any) -> AuditEntry:
        data = dict(row)
        data["details"] = json.loads(data["details"])
        return AuditEntry(**data)

    # -- runs -------------------------------------------------------------------------

    def start_run(self, kind: str, at: datetime) -> int:
        with self.transaction() as conn:
            return conn.insert_id(
                "INSERT INTO runs (kind, started_at, status) VALUES (?, ?, 'running')",
                (kind, _iso(at)),
            )

    def finish_run(self, run_id: int, status: str, summary: dict[str, Any], at: datetime) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (_iso(at), status, json.dumps(summary, ensure_ascii=False, default=str), run_id),
            )

    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = (
            self._connect()
            .execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
            .fetchall()
        )
        return [
            {**dict(row), "summary": json.loads(row["summary"]) if row["summary"] else None}
            for row in rows
        ]

    # -- response times -----------------------------------------------------------------

    def briefing_item_times(
        self, briefing_ids: list[str]
    ) -> dict[str, tuple[datetime | None, datetime | None]]:
        """Per briefing: the earliest source publication of its items and when the first of
        them was stored, as ``(first_published, first_ingested)``."""
        out: dict[str, tuple[datetime | None, datetime | None]] = {}
        conn = self._connect()
        for start in range(0, len(briefing_ids), 500):
            chunk = briefing_ids[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                "SELECT bi.briefing_id AS briefing_id, MIN(r.published) AS first_published,"
                " MIN(i.created_at) AS first_ingested FROM briefing_items bi"
                " JOIN items i ON i.id = bi.item_id JOIN item_revisions r ON r.item_id = i.id"
                f" WHERE bi.briefing_id IN ({marks}) GROUP BY bi.briefing_id",
                chunk,
            )
            for row in rows:
                out[row["briefing_id"]] = (
                    _from_iso(row["first_published"]),
                    _from_iso(row["first_ingested"]),
                )
        return out

    # -- translation memory -------------------------------------------------------------

    def memory_lookup(
        self, key: tuple[str, str, str, str, str], hashes: list[str]
    ) -> dict[str, str]:
        """Stored translations of the segments whose hashes are given, under ``key``
        (source_lang, target_lang, package, package_version, glossary_version)."""
        found: dict[str, str] = {}
        conn = self._connect()
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = conn.execute(
                "SELECT source_hash, target_text FROM translation_memory WHERE source_lang = ?"
                " AND target_lang = ? AND package = ? AND package_version = ?"
                f" AND glossary_version = ? AND source_hash IN ({marks})",
                [*key, *chunk],
            )
            found.update((row["source_hash"], row["target_text"]) for row in rows)
        return found

    def memory_save(
        self,
        key: tuple[str, str, str, str, str],
        rows: list[tuple[str, str, str]],
        at: datetime,
    ) -> None:
        """Keep ``(source_hash, source_text, target_text)`` rows under ``key``."""
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO translation_memory (source_hash, source_lang, target_lang, package,"
                " package_version, glossary_version, source_text, target_text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(h, *key, source, target, _iso(at)) for h, source, target in rows],
            )

    def memory_size(self) -> int:
        return (
            self._connect().execute("SELECT COUNT(*) AS n FROM translation_memory").fetchone()["n"]
        )


def _approval_record(r: Any) -> ApprovalRecord:
    return ApprovalRecord(
        id=r["id"],
        briefing_id=r["briefing_id"],
        lang=r["lang"],
        officer=r["officer"],
        approved_at=_from_iso(r["approved_at"]),
        note=r["note"],
        sha256=r["sha256"],
        voided_at=_from_iso(r["voided_at"]),
        void_reason=r["void_reason"],
    )
