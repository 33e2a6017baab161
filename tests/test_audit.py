"""The hash-chained audit log: every workflow action is recorded, and any change,
insertion, deletion or reordering made behind the program's back (plain SQL on the
real database) is found by ``verify`` and by ``briefings audit verify``."""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import briefing_fixtures as bf
import pytest

from briefings.audit import GENESIS, AuditLog, entry_hash
from briefings.cli import main
from briefings.documents import sha256_bytes


@pytest.fixture
def env(tmp_path: Path, database):
    """A workspace with its state on each backend (SQLite, PostgreSQL)."""
    env = bf.make_env(tmp_path / "ws", database=database)
    yield env
    env.close()


@pytest.fixture
def history(env) -> str:
    """A briefing with a full life: drafted, edited, approved, published, corrected."""
    digest = bf.one_digest(env)
    workflow = env.workflow()
    workflow.edit(digest, "carla", env.read(digest) + b"\nChecked with the hospital.\n")
    env.clock.advance(minutes=5)
    workflow.approve(digest, "ana", note="fine")
    workflow.approve(digest, "ben")
    workflow.mark_published(digest, "system:publish", sha256_bytes(env.read(digest)))
    workflow.correct(digest, "ana")
    return digest


def audit(env) -> AuditLog:
    return AuditLog(env.store)


def actions(env, briefing_id: str | None = None) -> list[str]:
    return [e.action for e in env.store.audit_entries(briefing_id)]


def verify_cli(env, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["-w", str(env.root), "audit", "verify"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# -- what is recorded -------------------------------------------------------------------


def test_entries_can_be_read_for_some_actions_only(env, history) -> None:
    every = env.store.audit_entries()
    for wanted in (["publish"], ["state:approved", "publish"], ["no such action"], []):
        found = env.store.audit_entries(actions=wanted)
        assert found == [e for e in every if e.action in wanted], wanted
    assert env.store.audit_entries(actions=["publish"])  # the history has one
    mine = env.store.audit_entries(history, actions=["approve"])
    assert mine and mine == [e for e in every if e.briefing_id == history and e.action == "approve"]


def test_every_action_appends_an_entry(env, history) -> None:
    digest = history
    assert actions(env, digest) == [
        "draft", "edit", "approve", "state:in-review", "approve", "state:approved", "publish",
    ]  # fmt: skip
    assert actions(env, f"{digest}--v2") == ["correct"]
    entries = env.store.audit_entries(digest)
    assert [e.actor for e in entries] == [
        "system:draft", "carla", "ana", "ana", "ben", "ben", "system:publish",
    ]  # fmt: skip
    assert entries[2].details == {"note": "fine"}
    assert entries[2].at == "2026-03-02T09:05:00Z"
    assert entries[1].details["previous_hash"] == entries[0].content_hash
    assert entries[2].content_hash == sha256_bytes(env.read(digest))


def test_rejections_withdrawals_outside_edits_and_missing_files_are_recorded(env) -> None:
    env.add_item("Water plant", threats=["threat.ddos"], sectors=["sector.drinking-water"])
    env.add_item(
        "Poll sites",
        threats=["threat.ddos"],
        sectors=["sector.elections"],
        published=bf.T0.replace(day=3),
    )
    env.draft()
    first, second = "digest-2026-03-02", "digest-2026-03-03"
    workflow = env.workflow()
    workflow.reject(first, "ana", "not our remit")
    bf.approve_fully(env, second)
    workflow.withdraw(second, "carla", "retracted by the source")
    env.write(first, env.read(first) + b" ")
    workflow.sync()
    env.path(first).unlink()
    workflow.sync()

    assert actions(env, first) == ["draft", "reject", "edit", "file-missing"]
    assert actions(env, second)[-1] == "withdraw"
    reject = env.store.audit_entries(first)[1]
    assert reject.details == {"reason": "not our remit"}
    assert env.store.audit_entries(first)[2].actor == "unknown"
    assert audit(env).verify() == []


def test_a_refused_action_appends_nothing(env, history) -> None:
    before = env.store.audit_entries()
    with pytest.raises(Exception, match="is published"):
        env.workflow().approve(history, "carla")
    assert env.store.audit_entries() == before


def test_the_chain_links_every_entry_to_the_one_before(env, history) -> None:
    entries = env.store.audit_entries()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.entry_hash
    head = (env.store.state_dir / "audit.head").read_text()
    assert head == f"{entries[-1].seq} {entries[-1].entry_hash}\n"


def test_an_intact_log_verifies(env, history, capsys) -> None:
    assert audit(env).verify() == []
    code, out, _ = verify_cli(env, capsys)
    assert code == 0
    assert "Audit log intact" in out
    assert f"{len(env.store.audit_entries())} entries" in out


def test_an_empty_log_verifies(env, capsys) -> None:
    assert audit(env).verify() == []
    assert verify_cli(env, capsys)[0] == 0


# -- tampering ---------------------------------------------------------------------------


def _assert_broken(env, capsys, *expected: str) -> list[str]:
    problems = audit(env).verify()
    assert problems, "tampering went unnoticed"
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    code, out, err = verify_cli(env, capsys)
    assert code == 1
    assert "broken:" in err
    assert "intact" not in out
    return problems


def test_a_changed_detail_is_found(env, history, capsys) -> None:
    env.sql(
        "UPDATE audit_log SET details = ? WHERE seq = 3",
        (json.dumps({"note": "never read it"}),),
    )
    _assert_broken(env, capsys, "entry 3 was changed after it was written")


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("actor", "carla"),
        ("action", "reject"),
        ("at", "2026-03-01T00:00:00Z"),
        ("content_hash", "0" * 64),
        ("briefing_id", "digest-2026-03-01"),
        ("lang", "fr"),
    ],
)
def test_a_changed_field_is_found(env, history, capsys, column: str, value: str) -> None:
    env.sql(f"UPDATE audit_log SET {column} = ? WHERE seq = 3", (value,))
    _assert_broken(env, capsys, "entry 3 was changed")


def test_a_changed_entry_with_a_recomputed_hash_still_breaks_the_chain(
    env, history, capsys
) -> None:
    # A careful forger recomputes the entry's own hash: the next entry no longer follows.
    entry = env.store.audit_entries()[2]
    forged = entry_hash(
        entry.seq, entry.at, "carla", entry.action, entry.briefing_id, entry.lang,
        entry.content_hash, entry.details, entry.prev_hash,
    )  # fmt: skip
    env.sql("UPDATE audit_log SET actor = 'carla', entry_hash = ? WHERE seq = 3", (forged,))
    _assert_broken(env, capsys, "entry 4 does not follow")


def _forge(env, seq: int, prev_hash: str, *, action: str = "approve") -> None:
    details = {"note": "forged"}
    at = "2026-03-02T09:30:00Z"
    digest = entry_hash(
        seq, at, "carla", action, "digest-2026-03-02", "en", None, details, prev_hash
    )
    env.sql(
        "INSERT INTO audit_log (seq, at, actor, action, briefing_id, lang, content_hash,"
        " details, prev_hash, entry_hash) VALUES (?, ?, 'carla', ?, 'digest-2026-03-02', 'en',"
        " NULL, ?, ?, ?)",
        (seq, at, action, json.dumps(details), prev_hash, digest),
    )


def test_an_inserted_entry_with_a_wrong_prev_is_found(env, history, capsys) -> None:
    last = env.store.audit_entries()[-1]
    _forge(env, last.seq + 1, "f" * 64)  # its own hash is right, its link is not
    _assert_broken(env, capsys, f"entry {last.seq + 1} does not follow", "audit.head")


def test_an_inserted_entry_in_the_middle_is_found(env, history, capsys) -> None:
    entries = env.store.audit_entries()
    # Make room after entry 3, then slip a well-formed entry in that follows entry 3.
    env.sql("UPDATE audit_log SET seq = seq + 1000 WHERE seq > 3")
    env.sql("UPDATE audit_log SET seq = seq - 999 WHERE seq > 1000")
    _forge(env, 4, entries[2].entry_hash)
    problems = _assert_broken(env, capsys, "entry 5 does not follow")
    assert not any("entry 4 " in p for p in problems), "the forged entry itself is well formed"


def test_an_entry_appended_at_the_end_with_a_correct_link_is_found_by_the_head(
    env, history, capsys
) -> None:
    last = env.store.audit_entries()[-1]
    _forge(env, last.seq + 1, last.entry_hash)
    _assert_broken(env, capsys, "audit.head records entry")


def test_a_deleted_entry_in_the_middle_is_found(env, history, capsys) -> None:
    env.sql("DELETE FROM audit_log WHERE seq = 4")
    _assert_broken(env, capsys, "entry 4 is missing", "entry 5 does not follow")


def test_a_deleted_first_entry_is_found(env, history, capsys) -> None:
    env.sql("DELETE FROM audit_log WHERE seq = 1")
    _assert_broken(env, capsys, "entry 1 is missing")


def test_a_deleted_last_entry_is_found_through_the_head(env, history, capsys) -> None:
    last = env.store.audit_entries()[-1]
    env.sql("DELETE FROM audit_log WHERE seq = ?", (last.seq,))
    problems = _assert_broken(env, capsys, "audit.head", f"records entry {last.seq}")
    assert len(problems) == 1, "the rest of the chain is intact"


def test_a_deleted_head_file_is_found(env, history, capsys) -> None:
    (env.store.state_dir / "audit.head").unlink()
    _assert_broken(env, capsys, "audit.head is missing")


def test_an_emptied_log_is_found(env, history, capsys) -> None:
    env.sql("DELETE FROM audit_log")
    _assert_broken(env, capsys, "the log ends at entry 0")


def test_a_reordered_pair_is_found(env, history, capsys) -> None:
    # Swap entries 3 and 4: each keeps its own fields, only their places change.
    env.sql("UPDATE audit_log SET seq = 1003 WHERE seq = 3")
    env.sql("UPDATE audit_log SET seq = 3 WHERE seq = 4")
    env.sql("UPDATE audit_log SET seq = 4 WHERE seq = 1003")
    _assert_broken(env, capsys, "does not follow")


def test_a_reordered_pair_with_swapped_contents_is_found(env, history, capsys) -> None:
    rows = {e.seq: e for e in env.store.audit_entries()}
    for seq, other in ((3, rows[5]), (5, rows[3])):
        env.sql(
            "UPDATE audit_log SET at = ?, actor = ?, action = ?, details = ? WHERE seq = ?",
            (other.at, other.actor, other.action, json.dumps(other.details), seq),
        )
    _assert_broken(env, capsys, "entry 3 was changed", "entry 5 was changed")


# -- the history of one briefing ---------------------------------------------------------


def test_audit_show_lists_one_briefings_history_in_order(env, history, capsys) -> None:
    capsys.readouterr()
    assert main(["-w", str(env.root), "audit", "show", history, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["action"] for e in shown] == [
        "draft", "edit", "approve", "state:in-review", "approve", "state:approved", "publish",
    ]  # fmt: skip
    assert [e["seq"] for e in shown] == sorted(e["seq"] for e in shown)
    assert {e["briefing_id"] for e in shown} == {history}
    assert shown[2]["actor"] == "ana"

    assert main(["-w", str(env.root), "audit", "show", history]) == 0
    table = capsys.readouterr().out
    assert table.index("draft") < table.index("edit") < table.index("publish")


def test_audit_show_of_an_unknown_briefing_is_an_error(env, history, capsys) -> None:
    capsys.readouterr()
    assert main(["-w", str(env.root), "audit", "show", "nope"]) == 1
    assert "Error:" in capsys.readouterr().err


# -- concurrency -------------------------------------------------------------------------


def test_writers_in_threads_keep_one_chain(env) -> None:
    """Threads appending at once (one connection each, truly parallel on PostgreSQL)
    never fork the chain: each entry follows the one committed before it."""
    writers, per_writer = 4, 15
    errors: list[BaseException] = []
    start = threading.Barrier(writers)
    log = audit(env)

    def append(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with env.store.transaction() as conn:
                    log.append(conn, actor=f"writer-{n}", action="test", details={"i": i})
        except BaseException as exc:  # collected and asserted in the main thread
            errors.append(exc)
        finally:
            env.store.close()

    threads = [threading.Thread(target=append, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    log.write_head()
    entries = env.store.audit_entries()
    assert [e.seq for e in entries] == list(range(1, writers * per_writer + 1))
    assert log.verify() == []
