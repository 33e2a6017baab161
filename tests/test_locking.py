"""Workspace locks kept in PostgreSQL: one run of a stage at a time across machines.

The lock holders are other processes (as another machine's run would be), the
database is the test server's, and the faults are real: a holder killed with
SIGKILL, a stage run finding its lock taken. File locks are tested with the
pipeline (tests/test_pipeline.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from briefings.errors import BriefingsError
from briefings.locking import DatabaseLock, LockHeld, WorkspaceLock, lock_for
from briefings.workspace import open_workspace

HOLDER = (
    "import sys, time\n"
    "from briefings.locking import DatabaseLock\n"
    "lock = DatabaseLock(sys.argv[1], sys.argv[2]).acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(float(sys.argv[3]))\n"
)


def hold(url: str, name: str, seconds: float = 60) -> subprocess.Popen:
    """Another process holding ``name`` in the database; returns once it does."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, name, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def wait_until_free(lock: DatabaseLock, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while lock.holder() is not None:
        assert time.monotonic() < deadline, "the server never dropped the dead holder's lock"
        time.sleep(0.05)


def test_a_database_lock_names_its_holder_and_dies_with_it(postgres_database):
    holder = hold(postgres_database, "publish")
    lock = DatabaseLock(postgres_database, "publish")
    try:
        found = lock.holder()
        assert (found.pid, found.host) == (holder.pid, socket.gethostname())
        with pytest.raises(LockHeld) as caught:
            lock.acquire(wait=0.3)
        message = str(caught.value)
        host = socket.gethostname()
        assert message.startswith(
            f"another publish is running (pid {holder.pid} on {host}, since 20"
        )
        assert not lock.held
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    wait_until_free(lock)  # no stale lock: the server ended the dead holder's session
    with lock:
        assert lock.held and lock.holder().pid == os.getpid()
        with pytest.raises(LockHeld):
            DatabaseLock(postgres_database, "publish").acquire()
    assert lock.holder() is None


@pytest.fixture
def second_schema(postgres_url) -> str:
    """Another fresh schema of the same database (another workspace sharing the server)."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{postgres_url}{'&' if '?' in postgres_url else '?'}options=-csearch_path%3D{schema}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_locks_are_per_name_and_per_schema(postgres_database, second_schema):
    other_schema = second_schema
    with DatabaseLock(postgres_database, "publish"):
        with DatabaseLock(postgres_database, "ingest"), DatabaseLock(other_schema, "publish"):
            pass  # neither waits
        with pytest.raises(LockHeld):
            DatabaseLock(postgres_database, "publish").acquire(wait=0.1)


def test_an_unreachable_database_is_a_clear_error_with_the_password_hidden():
    port = _closed_port()
    lock = DatabaseLock(f"postgresql://me:secret@127.0.0.1:{port}/db", "publish")
    with pytest.raises(BriefingsError) as caught:
        lock.acquire()
    message = str(caught.value)
    assert message.startswith("cannot take the publish lock in postgresql://me:***@127.0.0.1")
    assert "secret" not in message


def test_the_workspace_picks_its_lock_from_where_its_state_is(tmp_path, postgres_database):
    (tmp_path / "briefings.toml").write_text('[workspace]\nsource_lang = "en"\n', "utf-8")
    on_file = open_workspace(tmp_path, environ={})
    assert isinstance(lock_for(on_file, "tag"), WorkspaceLock)
    in_database = open_workspace(
        tmp_path, environ={}, overrides={"workspace.database": postgres_database}
    )
    lock = lock_for(in_database, "tag")
    assert isinstance(lock, DatabaseLock) and lock.url == postgres_database


def test_a_stage_run_waits_for_a_holder_on_another_machine(tmp_path: Path, postgres_database):
    """What a run on another machine holds (the file lock here is free) stops this one."""
    from flows.stage_runs import StageBusy, stage_run

    (tmp_path / "briefings.toml").write_text('[workspace]\nsource_lang = "en"\n', "utf-8")
    workspace = open_workspace(
        tmp_path, environ={}, overrides={"workspace.database": postgres_database}
    )
    holder = hold(postgres_database, "draft")
    try:
        with (
            pytest.raises(StageBusy, match=f"another draft run is in progress \\(pid {holder.pid}"),
            stage_run(workspace, "draft", wait=0.3),
        ):
            pytest.fail("the body ran while another process held the lock")
        assert WorkspaceLock(tmp_path, "draft").holder() is None
    finally:
        holder.kill()
        holder.wait()
    wait_until_free(DatabaseLock(postgres_database, "draft"))
    with stage_run(workspace, "draft", wait=0) as run:
        run.finish("ok", {"created": []})
    from briefings.store import Store

    (record,) = Store.for_workspace(workspace).list_runs()
    assert (record["kind"], record["status"]) == ("draft", "ok")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
