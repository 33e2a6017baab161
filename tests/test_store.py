"""The state store on both backends, real SQLite files and a real PostgreSQL server:
migrations, item rules, threads; WAL and file errors on SQLite; the dialect layer."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from briefings.errors import StoreError
from briefings.models import Analysis, Entity, Indicator, Item, Tag
from briefings.store import MIGRATIONS, Store, item_id_for
from briefings.tlp import TLP

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def make_item(
    source: str = "cert-a", *, title: str = "Patch the router", body: str = "now", **kw
) -> Item:
    html = f"<p>{body}</p>"
    fields = {
        "id": "",
        "source_id": source,
        "url": "https://cert.example/1",
        "title": title,
        "summary": body,
        "html": html,
        "text": body,
        "published": T0,
        "updated": None,
        "lang": "en",
        "lang_declared": "en",
        "lang_confidence": None,
        "tlp": TLP.CLEAR,
        "content_hash": f"hash:{title}:{body}",
        "extra": {"tags": ["x"]},
    }
    fields.update(kw)
    return Item(**fields)


def open_store(database: Path | str, tmp_path: Path) -> Store:
    return Store(database, state_dir=tmp_path / "state")


@pytest.fixture
def store(database: Path | str, tmp_path: Path):
    """An empty store on each backend (the ``database`` fixture of conftest.py)."""
    store = open_store(database, tmp_path)
    yield store
    store.close()


def record(store: Store, item: Item, key: str, global_key: str | None, at: datetime = T0):
    with store.transaction() as conn:
        return store.record_item(conn, item, entry_key=key, global_key=global_key, seen_at=at)


# -- schema ---------------------------------------------------------------------------


def test_fresh_database_is_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "db.sqlite3"
    store = Store(path)
    assert path.exists()
    assert store.schema_version() == MIGRATIONS[-1][0]
    store.close()


def test_every_table_exists_on_both_backends(store: Store) -> None:
    assert store.schema_version() == MIGRATIONS[-1][0]
    conn = store._connect()
    for table in ("items", "item_revisions", "sightings", "fetch_state", "source_status", "runs"):
        assert conn.table_exists(table), table
        assert conn.execute(f"SELECT COUNT(*) AS n FROM {table}").fetchone()["n"] == 0


def test_reopening_is_idempotent(database: Path | str, tmp_path: Path) -> None:
    first = open_store(database, tmp_path)
    record(first, make_item(), "k1", "https://cert.example/1")
    first.close()
    for _ in range(3):
        again = open_store(database, tmp_path)
        assert again.migrate() == MIGRATIONS[-1][0]
        assert again.count_items() == 1
        count = "SELECT COUNT(*) AS n FROM schema_migrations"
        assert again._connect().execute(count).fetchone()["n"] == len(MIGRATIONS)
        again.close()


def test_newer_schema_is_refused(database: Path | str, tmp_path: Path) -> None:
    store = open_store(database, tmp_path)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01T00:00:00Z')",
            (MIGRATIONS[-1][0] + 1,),
        )
    store.close()
    with pytest.raises(StoreError, match=r"newer than this program's .* Upgrade briefings"):
        open_store(database, tmp_path)


def test_stores_opened_at_once_migrate_once(database: Path | str, tmp_path: Path) -> None:
    """Processes starting together on a new database: one migrates, the others wait."""
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_one() -> None:
        try:
            start.wait()
            open_store(database, tmp_path).close()
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    store = open_store(database, tmp_path)
    count = "SELECT COUNT(*) AS n FROM schema_migrations"
    assert store._connect().execute(count).fetchone()["n"] == len(MIGRATIONS)
    store.close()


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not SQLite, " * 100)
    with pytest.raises(StoreError, match=str(path)):
        Store(path)


def test_wal_mode_is_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "state" / "briefings.sqlite3")
    assert store._connect().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # A second, independent connection sees WAL too: it is a property of the file.
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
    store.close()


# -- record_item rules -------------------------------------------------------------------


def test_new_then_same_entry_unchanged_is_a_duplicate(store: Store) -> None:
    outcome, item_id = record(store, make_item(), "k1", "https://cert.example/1")
    assert outcome == "new"
    assert item_id == item_id_for("https://cert.example/1")
    again = record(store, make_item(), "k1", "https://cert.example/1", T0 + timedelta(hours=1))
    assert again == ("duplicate", item_id)
    assert store.count_items() == 1
    assert [r.revision for r in store.item_revisions(item_id)] == [1]


def test_changed_content_is_a_new_revision_keeping_the_old(store: Store) -> None:
    _, item_id = record(store, make_item(body="first"), "k1", "https://cert.example/1")
    outcome, same_id = record(
        store, make_item(body="second"), "k1", "https://cert.example/1", T0 + timedelta(hours=1)
    )
    assert (outcome, same_id) == ("updated", item_id)
    current = store.get_item(item_id)
    assert current.revision == 2 and current.text == "second"
    assert [(r.revision, r.text) for r in store.item_revisions(item_id)] == [
        (1, "first"),
        (2, "second"),
    ]
    # Back to the first wording: that is a change too, so a third revision.
    outcome, _ = record(store, make_item(body="first"), "k1", "https://cert.example/1")
    assert outcome == "updated"
    assert store.get_item(item_id).revision == 3


def test_same_global_key_from_another_source_is_a_duplicate(store: Store) -> None:
    _, item_id = record(store, make_item("cert-a"), "a-guid", "https://cert.example/1")
    outcome, other_id = record(
        store, make_item("cert-b", body="other wording"), "b-guid", "https://cert.example/1"
    )
    assert (outcome, other_id) == ("duplicate", item_id)
    item = store.get_item(item_id)
    assert item.sources == ["cert-a", "cert-b"]
    assert item.text == "now", "a duplicate does not replace the stored wording"
    assert store.list_items(source="cert-b")[0].id == item_id


def test_other_wording_from_a_second_source_never_flip_flops(store: Store) -> None:
    _, item_id = record(store, make_item("cert-a", body="a"), "a1", "https://cert.example/1")
    record(store, make_item("cert-b", body="b"), "b1", "https://cert.example/1")
    for _ in range(3):
        assert record(store, make_item("cert-a", body="a"), "a1", "https://cert.example/1")[0] == (
            "duplicate"
        )
        assert record(store, make_item("cert-b", body="b"), "b1", "https://cert.example/1")[0] == (
            "duplicate"
        )
    assert store.get_item(item_id).revision == 1


def test_same_content_without_global_key_is_a_duplicate(store: Store) -> None:
    _, item_id = record(store, make_item("cert-a", url=None), "a1", None)
    outcome, other = record(store, make_item("cert-b", url=None), "b1", None)
    assert (outcome, other) == ("duplicate", item_id)


def test_different_entries_are_different_items(store: Store) -> None:
    first = record(store, make_item(title="one"), "k1", "https://cert.example/1")
    second = record(store, make_item(title="two"), "k2", "https://cert.example/2")
    unkeyed = record(store, make_item(title="three", url=None), "k3", None)
    assert [first[0], second[0], unkeyed[0]] == ["new", "new", "new"]
    assert unkeyed[1] == item_id_for("cert-a\nk3")
    assert store.count_items() == 3


def test_items_round_trip(store: Store) -> None:
    item = make_item(
        updated=T0 + timedelta(days=1),
        tlp=TLP.AMBER_STRICT,
        lang="fr",
        lang_confidence=0.97,
        extra={"csaf": {"cves": ["CVE-2024-1"]}, "tags": []},
    )
    _, item_id = record(store, item, "k1", "https://cert.example/1")
    (stored,) = store.list_items()
    assert stored.id == item_id
    assert stored.tlp is TLP.AMBER_STRICT
    assert stored.published == T0 and stored.updated == T0 + timedelta(days=1)
    assert stored.extra == item.extra
    assert (stored.lang, stored.lang_confidence) == ("fr", 0.97)
    assert store.list_items(lang="en") == []
    assert store.list_items(since=T0 + timedelta(seconds=1)) == []


def test_analyses_round_trip_with_their_entities(store: Store) -> None:
    _, item_id = record(store, make_item(), "k1", None)
    analysis = Analysis(
        item_id, 1, "tagger-x",
        tags=[Tag("threat.ransomware", "threat", "ransomware", 10, 20)],
        indicators=[Indicator("ipv4", "203.0.113.9", "203.0.113[.]9", 30, 43)],
        countries=["NL"], priority=70, reasons=[{"factor": "threat", "points": 30}],
        entities=[Entity("ORG", "Zorblat Industries", 0, 18), Entity("GPE", "Vexmoor", 50, 57)],
    )  # fmt: skip
    store.save_analyses([analysis], T0)
    (stored,) = store.list_items()
    assert stored.analysis == analysis
    assert stored.to_json()["entities"] == [
        {"label": "ORG", "text": "Zorblat Industries", "start": 0, "end": 18},
        {"label": "GPE", "text": "Vexmoor", "start": 50, "end": 57},
    ]


def test_analyses_stored_before_entities_existed_read_with_none(
    database: Path | str, tmp_path: Path
) -> None:
    store = open_store(database, tmp_path)
    _, item_id = record(store, make_item(), "k1", None)
    store.save_analyses([Analysis(item_id, 1, "tagger-x", countries=["FR"])], T0)
    with store.transaction() as conn:  # back to the schema of version 4
        conn.execute("ALTER TABLE item_analysis DROP COLUMN entities")
        conn.execute("DELETE FROM schema_migrations WHERE version = 5")
    store.close()
    store = open_store(database, tmp_path)
    assert store.schema_version() == MIGRATIONS[-1][0] == 5
    (stored,) = store.list_items()
    assert (stored.analysis.countries, stored.analysis.entities) == (["FR"], [])
    store.close()


def test_a_failed_transaction_stores_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError), store.transaction() as conn:
        store.record_item(conn, make_item(), entry_key="k1", global_key=None, seen_at=T0)
        raise RuntimeError("crash before commit")
    assert store.count_items() == 0


def test_source_status_keeps_the_last_good_time(store: Store) -> None:
    store.record_source_status("cert-a", "ok", None, T0)
    store.record_source_status("cert-a", "error", "HTTP 500", T0 + timedelta(hours=1))
    status = store.source_statuses()["cert-a"]
    assert status["status"] == "error" and status["error"] == "HTTP 500"
    assert status["last_ok_at"] == "2026-03-01T12:00:00Z"


# -- threads -------------------------------------------------------------------------------


def test_concurrent_writers_from_threads(store: Store) -> None:
    writers, per_writer = 8, 25
    errors: list[BaseException] = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                item = make_item(
                    f"src-{n}", title=f"item {n}-{i}", url=f"https://cert.example/{n}/{i}"
                )
                record(store, item, f"k{i}", item.url)
                # Everyone also reports one shared advisory: exactly one wins "new".
                shared = make_item(f"src-{n}", title="shared", url="https://cert.example/shared")
                record(store, shared, "shared", shared.url)
                store.record_source_status(f"src-{n}", "ok", None, T0)
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert store.count_items() == writers * per_writer + 1
    shared = store.get_item(item_id_for("https://cert.example/shared"))
    assert sorted(shared.sources) == sorted(f"src-{n}" for n in range(writers))
    assert len(store.source_statuses()) == writers


def test_runs_are_recorded(store: Store) -> None:
    run_id = store.start_run("ingest", T0)
    store.finish_run(run_id, "ok", {"new": 3}, T0 + timedelta(minutes=1))
    (run,) = store.list_runs()
    assert run["id"] == run_id and run["status"] == "ok" and run["summary"] == {"new": 3}


# -- PostgreSQL end to end -------------------------------------------------------------------

FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>CERT</title><link>https://cert.example/</link>
<description>Advisories</description>
<item><title>Ransomware hits hospital networks</title><link>https://cert.example/a1</link>
<guid>https://cert.example/a1</guid><pubDate>Sun, 01 Mar 2026 10:00:00 GMT</pubDate>
<description>Patch the VPN appliances; 50% of the sites were exposed.</description></item>
<item><title>Water utility phishing wave</title><link>https://cert.example/a2</link>
<guid>https://cert.example/a2</guid><pubDate>Sun, 01 Mar 2026 11:00:00 GMT</pubDate>
<description>Operators received fake invoices.</description></item>
</channel></rss>
"""


def test_cli_ingests_into_postgresql_and_lists_items(postgres_database: str, tmp_path: Path):
    """As a user runs it: the console script with the state in PostgreSQL, named by the
    environment (BRIEFINGS_WORKSPACE__DATABASE), and no SQLite file anywhere."""
    root = tmp_path / "ws"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "cert.xml").write_text(FEED, "utf-8")
    (root / "briefings.toml").write_text(
        '[workspace]\nsource_lang = "en"\nlanguages = ["en"]\n\n'
        "[ingest]\ndetect_language = false\n\n"
        '[[sources]]\nid = "cert"\nurl = "feeds/cert.xml"\nkind = "feed"\ntlp = "CLEAR"\n',
        "utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BRIEFINGS_"))}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "BRIEFINGS_WORKSPACE__DATABASE": postgres_database,
    }

    def briefings(*args: str) -> str:
        command = [sys.executable, "-m", "briefings", "-w", str(root), *args]
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout

    report = json.loads(briefings("ingest", "--json"))
    assert [(s["source"], s["status"], s["new"]) for s in report["sources"]] == [("cert", "ok", 2)]
    listed = json.loads(briefings("items", "--json"))
    assert sorted(i["title"] for i in listed) == [
        "Ransomware hits hospital networks",
        "Water utility phishing wave",
    ]
    assert {i["source"] for i in listed} == {"cert"} and listed[0]["published"].endswith("Z")

    assert not list(root.rglob("*.sqlite3")), "the state is in PostgreSQL, not in a file"
    store = Store(postgres_database, state_dir=root / "state")
    assert store.count_items() == 2
    assert store.list_runs()[0]["kind"] == "ingest"
    store.close()


def test_nul_characters_from_a_hostile_feed_do_not_fail_the_source(store: Store) -> None:
    """PostgreSQL text cannot hold NUL: it is dropped there, kept on SQLite."""
    item = make_item(title="Patch\x00 now", body="a\x00b", url="https://cert.example/\x00")
    outcome, item_id = record(store, item, "k\x001", "https://cert.example/\x00")
    assert outcome == "new"
    stored = store.get_item(item_id)
    nul = "" if store.postgres else "\x00"
    assert (stored.title, stored.text) == (f"Patch{nul} now", f"a{nul}b")
