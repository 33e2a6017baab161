"""The run-pipeline flow: stages, skips, run records, locks, faults, Dask.

Flows run on real Prefect under one ``prefect_test_harness`` for the module;
the processes these tests start (``python -m briefings``, lock holders) talk to
the same temporary server through ``PREFECT_API_URL``, so none of them waits
for a server of its own. Faults are real: a lock held by another process, a
run killed with SIGKILL, a broken template, an invalid glossary file.

The workspace is the example one (examples/coalition) plus a generated feed of
:data:`EXTRA_ITEMS` English items, so tagging lasts long enough to be killed
in the middle.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings import progress
from briefings.approval import Workflow
from briefings.audit import AuditLog
from briefings.cli import main
from briefings.drafting import DraftingError
from briefings.errors import PublishError
from briefings.locking import LockHeld, WorkspaceLock
from briefings.store import Store
from briefings.workspace import glossary_paths, open_workspace
from nlp.tagging import tagger_version

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "coalition"
EXTRA_ITEMS = 400
OFFICERS = ("demo-officer-1", "demo-officer-2")

SUBJECTS = (
    ("Ransomware attack on a regional hospital group", "hospitals"),
    ("Phishing campaign against water utilities", "water utilities"),
    ("Wiper malware found at an electricity grid operator", "energy companies"),
    ("Credential theft targeting municipal governments", "local governments"),
    ("Denial of service against emergency call centres", "emergency services"),
)
ITEM = """<item><title>{title} #{n}</title>
<link>https://cert.example/extra/{n}</link><guid>https://cert.example/extra/{n}</guid>
<pubDate>{date}</pubDate>
<description>{body}</description></item>
"""


def extra_feed(count: int) -> str:
    start = datetime(2026, 10, 1, 6, 0, tzinfo=UTC)
    items = []
    for n in range(count):
        title, who = SUBJECTS[n % len(SUBJECTS)]
        body = (
            f"Advisory {n}: {title.lower()} affecting {who} in {3 + n % 7} countries. "
            f"Attackers exploit CVE-2026-{1000 + n} to gain access; operators should patch, "
            f"reset credentials and watch for ransomware activity. Indicator: 198.51.100.{n % 250}."
        )
        items.append(
            ITEM.format(
                title=escape(title),
                n=n,
                date=format_datetime(start + timedelta(hours=n)),
                body=escape(f"<p>{body}</p>"),
            )
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        "<title>Extra advisories</title><link>https://cert.example/</link><language>en</language>\n"
        + "".join(items)
        + "</channel></rss>\n"
    )


def copy_workspace(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def open_store(root: Path) -> Store:
    return Store(open_workspace(root, environ={}).database_path)


def approve(root: Path, count: int) -> list[str]:
    """Approve ``count`` more CLEAR drafts, as two officers."""
    workspace = open_workspace(root, environ={})
    workflow = Workflow(workspace, Store(workspace.database_path))
    chosen = [
        row.id
        for row in workflow.review_rows()
        if row.state in ("draft", "in-review") and row.tlp == "CLEAR"
    ][:count]
    for briefing_id in chosen:
        for officer in OFFICERS:
            workflow.approve(briefing_id, officer)
    return chosen


def live_release(root: Path, audience: str = "public") -> tuple[str, bytes]:
    link = root / "site" / audience
    return os.readlink(link), (link / "manifest.txt").read_bytes()


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def harness():
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The example workspace, never run, with a generated feed and small tagging chunks."""
    root = copy_workspace(EXAMPLE, tmp_path_factory.mktemp("pristine") / "ws")
    (root / "feeds" / "extra.xml").write_text(extra_feed(EXTRA_ITEMS), "utf-8")
    with (root / "briefings.toml").open("a", encoding="utf-8") as config:
        config.write(
            '\n[[sources]]\nid = "extra"\nurl = "feeds/extra.xml"\nlang = "en"\n'
            "\n[tagging]\nchunk_size = 25\n\n[ingest]\nmax_entries = 1000\n"
            # Digests only, a few dozen: drafting an alert per item would dominate the runs.
            "\n[drafting]\nalert_priority = 100\n"
        )
    return root


@pytest.fixture(scope="module")
def published(harness, pristine, tmp_path_factory) -> dict:
    """The workspace after three runs: a first, one with nothing new, one after approvals."""
    from flows.pipeline import run_pipeline

    root = copy_workspace(pristine, tmp_path_factory.mktemp("published") / "ws")
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    first = run_pipeline(workspace)
    counts = {"items": store.count_items(), "briefings": len(store.list_briefings())}
    second = run_pipeline(workspace)
    approved = approve(root, 2)
    third = run_pipeline(workspace)
    return {
        "root": root,
        "reports": [first, second, third],
        "counts": counts,
        "approved": approved,
    }


def subprocess_env(api_url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BRIEFINGS_"))}
    env.update(PREFECT_API_URL=api_url, PREFECT_HOME=str(home), COLUMNS="200")
    return env


HOLDER = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from briefings.locking import WorkspaceLock\n"
    "lock = WorkspaceLock(Path(sys.argv[1]), sys.argv[2]).acquire()\n"
    "print('held', flush=True)\n"
    "time.sleep(float(sys.argv[3]))\n"
)


@contextmanager
def lock_held_elsewhere(root: Path, name: str, seconds: float) -> Iterator[subprocess.Popen]:
    """Another process holding ``name`` for the block (entered once it holds it), killed
    with SIGKILL at the end of the block: the kernel releases the lock."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root), name, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def holder_pid(lock: WorkspaceLock) -> int | None:
    holder = lock.holder()
    return holder.pid if holder else None


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


# -- locks --------------------------------------------------------------------------------------


def test_a_lock_is_exclusive_across_processes_and_dies_with_its_holder(tmp_path):
    with lock_held_elsewhere(tmp_path, "publish", 60) as holder:
        lock = WorkspaceLock(tmp_path, "publish")
        assert lock.holder().pid == holder.pid
        started = time.monotonic()
        with pytest.raises(LockHeld) as caught:
            lock.acquire(wait=0.3)
        assert time.monotonic() - started >= 0.3
        assert f"another publish is running (pid {holder.pid}, since 20" in str(caught.value)
    # The kernel let it go with the process: no stale lock, no clean-up needed.
    assert lock.holder() is None
    with lock:
        assert lock.held
        assert WorkspaceLock(tmp_path, "publish").holder().pid == os.getpid()
    assert not lock.held and lock.holder() is None


def test_an_ingest_overlapping_another_is_skipped_with_a_message(harness, tmp_path):
    from flows.ingest import run_ingest

    root = copy_workspace(EXAMPLE, tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    with lock_held_elsewhere(root, "ingest", 60) as holder:
        summary = run_ingest(workspace)
    message = f"another ingest is running (pid {holder.pid}, since "
    assert summary.reports and all(r.status == "skipped" for r in summary.reports)
    assert all(message in r.error and r.error.endswith(", skipped") for r in summary.reports)
    assert not summary.all_failed
    store = Store(workspace.database_path)
    assert store.count_items() == 0
    (record,) = store.list_runs()
    assert record["kind"] == "ingest" and record["status"] == "skipped"
    assert message in record["summary"]["skipped"]

    assert run_ingest(workspace).totals()["new"] > 0  # the lock died with its holder


@pytest.mark.parametrize("stage", ["tag", "draft", "translate"])
def test_a_stage_waits_for_another_run_of_itself_then_fails_naming_it(
    harness, pristine, tmp_path, stage
):
    from flows.draft import run_drafting
    from flows.stage_runs import StageBusy
    from flows.tag import run_tagging
    from flows.translate import run_translation

    run = {"tag": run_tagging, "draft": run_drafting, "translate": run_translation}[stage]
    root = copy_workspace(pristine, tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    with lock_held_elsewhere(root, stage, 60) as holder:
        started = time.monotonic()
        with pytest.raises(StageBusy) as caught:
            run(workspace, wait=0.5)
        assert time.monotonic() - started >= 0.5
    message = str(caught.value)
    assert f"another {stage} run is in progress (pid {holder.pid}, since 20" in message
    assert "did not finish within 0.5 s; this one did nothing" in message
    assert open_store(root).list_runs() == []  # nothing done, nothing recorded
    run(workspace, wait=0.5)  # the lock died with its holder
    ((kind, status),) = [(r["kind"], r["status"]) for r in open_store(root).list_runs()]
    assert (kind, status) == (stage, "ok")


def test_stage_runs_close_what_a_killed_run_left_running_and_record_their_counts(
    harness, pristine, tmp_path
):
    from flows.draft import run_drafting
    from flows.ingest import run_ingest
    from flows.tag import run_tagging

    root = copy_workspace(pristine, tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    store = open_store(root)
    run_ingest(workspace)
    # What SIGKILL leaves behind: run records that never finished.
    killed = {kind: store.start_run(kind, datetime.now(UTC)) for kind in ("tag", "draft")}
    tagged = run_tagging(workspace)
    drafted = run_drafting(workspace)
    runs = {r["id"]: r for r in store.list_runs()}
    for run_id in killed.values():
        assert runs[run_id]["status"] == "interrupted"
        assert "stopped (killed or crashed)" in runs[run_id]["summary"]["error"]
    (tag_run,) = [r for r in runs.values() if r["kind"] == "tag" and r["id"] != killed["tag"]]
    assert tag_run["status"] == "ok"
    assert tag_run["summary"] == tagged.to_json() and sum(tagged.tagged.values()) > 0
    (draft_run,) = [r for r in runs.values() if r["kind"] == "draft" and r["id"] != killed["draft"]]
    assert draft_run["status"] == "ok" and draft_run["summary"]["created"] == drafted.created
    assert drafted.created


def test_a_failing_stage_is_recorded_failed_and_lets_its_lock_go(harness, pristine, tmp_path):
    from flows.draft import run_drafting
    from flows.ingest import run_ingest
    from flows.tag import run_tagging

    root = copy_workspace(pristine, tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    run_ingest(workspace)
    run_tagging(workspace)
    broken = root / "templates" / "drafts" / "digest.md.j2"
    broken.parent.mkdir(parents=True)
    broken.write_text("{% for x in %}\n", "utf-8")
    with pytest.raises(
        DraftingError, match=r"draft template .*digest.md.j2:1: TemplateSyntaxError"
    ):
        run_drafting(workspace)
    (record,) = [r for r in open_store(root).list_runs() if r["kind"] == "draft"]
    assert record["status"] == "failed" and record["summary"]["error"]
    assert WorkspaceLock(root, "draft").holder() is None
    assert open_store(root).list_briefings() == []  # nothing half-drafted
    broken.unlink()
    assert run_drafting(workspace, wait=0).created


def test_a_publish_waits_for_another_then_fails_clearly_leaving_the_site(published, tmp_path):
    from flows.publish import run_publishing

    root = copy_workspace(published["root"], tmp_path / "ws")
    workspace = open_workspace(root, environ={})
    approve(root, 1)
    before = live_release(root)
    with lock_held_elsewhere(root, "publish", 60) as holder:
        started = time.monotonic()
        with pytest.raises(PublishError) as caught:
            run_publishing(workspace, wait=1.0)
        assert time.monotonic() - started >= 1.0
    assert f"another publish is running (pid {holder.pid}" in str(caught.value)
    assert "did not finish within 1 s; nothing was published" in str(caught.value)
    assert live_release(root) == before


# -- whole runs -----------------------------------------------------------------------------------


def test_stages_are_recorded_and_those_with_nothing_to_do_are_skipped(published):
    first, second, third = published["reports"]
    status = {r.name: r.status for r in first.results}
    assert status == {
        "ingest": "partial",  # the example's broken feed, on purpose
        "tag": "ok",
        "draft": "ok",
        "translate": "skipped",
        "publish": "skipped",
    }
    ingest = first.result("ingest")
    assert ingest.counts["new"] == published["counts"]["items"] > EXTRA_ITEMS
    assert ingest.problems == [p for p in ingest.problems if p.startswith("partner-broken:")]
    assert first.result("tag").counts["tagged"] == published["counts"]["items"]
    assert first.result("draft").counts["created"] == published["counts"]["briefings"]
    assert first.result("publish").reason == "nothing approved"

    reasons = {r.name: r.reason for r in second.results if r.status == "skipped"}
    assert reasons == {
        "tag": "no new or changed items",
        "draft": "nothing tagged since the last draft",
        "translate": "nothing approved",
        "publish": "nothing approved",
    }
    assert {r.name: r.status for r in third.results}["publish"] == "ok"
    assert set(third.result("publish").report.published) == set(published["approved"])
    assert third.result("translate").status == "skipped"  # no Argos package in the example

    runs = Store(open_workspace(published["root"], environ={}).database_path).list_runs()
    pipeline_runs = [r for r in runs if r["kind"] == "pipeline"]
    assert [r["id"] for r in pipeline_runs[::-1]] == [r.run_id for r in published["reports"]]
    summary = pipeline_runs[-1]["summary"]  # the first run
    assert summary["status"] == "partial" and summary["seconds"] > 0
    assert list(summary["stages"]) == ["ingest", "tag", "draft", "translate", "publish"]
    tag = summary["stages"]["tag"]
    assert tag["status"] == "ok" and tag["seconds"] > 0 and tag["started_at"].endswith("Z")
    assert tag["counts"] == {"tagged": published["counts"]["items"]}
    assert summary["stages"]["ingest"]["problems"][0].startswith("partner-broken:")


def test_library_logs_reach_the_run_logs_not_the_console(published, capfd):
    """The pipeline's runs logged the library's INFO lines to Prefect; none reached stderr."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()
    with get_client(sync_client=True) as client:
        ids = [run.id for run in client.read_flow_runs(limit=200)]
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)), limit=200
        )
    library = [log for log in logs if log.name.startswith(("briefings.", "nlp.", "flows."))]
    assert any(
        log.name == "briefings.ingestion" and "partner-broken" in log.message for log in library
    )
    assert any(log.level == 20 and log.name == "briefings.publishing" for log in library)
    assert "audience public:" not in capfd.readouterr().err


def test_a_failed_publish_leaves_the_published_site_as_it_was(published, tmp_path, capsys):
    root = copy_workspace(published["root"], tmp_path / "ws")
    (newly,) = approve(root, 1)
    before = live_release(root)
    override = root / "templates" / "site"
    override.mkdir(parents=True)
    (override / "base.html.j2").write_text("{% if %}broken{% endif %}", "utf-8")

    assert main(["-w", str(root), "run"]) == 1
    captured = capsys.readouterr()
    assert "Stage publish failed" in captured.err
    assert "Traceback" not in captured.out + captured.err
    assert live_release(root) == before
    store = open_store(root)
    assert store.get_briefing(newly).state == "approved"  # not recorded as published
    last = next(r for r in store.list_runs() if r["kind"] == "pipeline")
    assert last["status"] == "failed" and last["summary"]["failed"] == "publish"
    error = last["summary"]["stages"]["publish"]["error"]
    assert str(override / "base.html.j2") in error and "line 1" in error  # names the file


def test_an_invalid_glossary_fails_tagging_and_stops_the_later_stages(published, tmp_path):
    from flows.pipeline import run_pipeline

    root = copy_workspace(published["root"], tmp_path / "ws")
    approve(root, 1)  # publishing would change the site, if it ran
    before = live_release(root)
    glossary = root / "glossary"
    shutil.copytree(ROOT / "glossary" / "data", glossary)
    names = sorted(p.name for p in glossary.glob("*.yaml"))
    (glossary / names[0]).write_text("concepts: [unclosed", "utf-8")
    config = root / "briefings.toml"
    listed = ", ".join(f'"glossary/{name}"' for name in names)
    config.write_text(
        config.read_text("utf-8").replace("[tagging]\n", f"[tagging]\nglossary = [{listed}]\n"),
        "utf-8",
    )

    report = run_pipeline(open_workspace(root, environ={}))

    assert report.status == "failed" and report.failed == "tag"
    assert names[0] in report.error or "glossary" in report.error.lower()
    assert {r.name: r.status for r in report.results} == {
        "ingest": "partial",
        "tag": "failed",
        "draft": "not-run",
        "translate": "not-run",
        "publish": "not-run",
    }
    assert report.result("publish").reason == "tag failed"
    assert live_release(root) == before


def test_killed_mid_stage_then_rerun_loses_and_duplicates_nothing(
    harness, pristine, published, tmp_path
):
    """SIGKILL in the middle of tagging, then a new run: it ends with the same items,
    analyses and briefings as an uninterrupted run, and an intact audit chain."""
    from flows.pipeline import run_pipeline
    from nlp.tagging import tagger_version

    root = copy_workspace(pristine, tmp_path / "ws")
    env = subprocess_env(harness, root.parent / "prefect-home")
    command = [sys.executable, "-m", "briefings", "-w", str(root), "run"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock = WorkspaceLock(root, "pipeline")
    try:
        store = Store(root / "state" / "briefings.sqlite3")
        tagger = tagger_version()

        def tagging_half_done() -> bool:
            running = [r for r in store.list_runs(limit=5) if r["kind"] == "tag"]
            if not running or running[0]["status"] != "running":
                return False
            left = store.count_items_to_tag(tagger)
            return 0 < left < store.count_items() - 50

        wait_for(tagging_half_done, 120, "tagging to be under way")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert store.count_items_to_tag(tagger) > 0  # it died in the middle
    assert lock.holder() is None

    report = run_pipeline(open_workspace(root, environ={}))

    assert report.status == "partial", report.to_json()  # the broken feed, nothing else
    runs = store.list_runs()
    killed = [r for r in runs if r["kind"] == "pipeline" and r["status"] == "interrupted"]
    assert len(killed) == 1 and killed[0]["id"] < report.run_id
    assert store.count_items() == published["counts"]["items"]
    assert store.count_items_to_tag(tagger) == 0
    briefings = store.list_briefings()
    assert len(briefings) == published["counts"]["briefings"]
    drafts = sorted(p.name for p in (root / "content").rglob("*.md"))
    assert len(drafts) == len(set(drafts)) == len(briefings)
    assert AuditLog(store).verify() == []
    actions = [e.action for e in store.audit_entries()]
    assert actions.count("draft") == len(briefings)  # each drafted once, none twice


def test_two_runs_at_once_the_second_is_skipped_with_a_clear_message(harness, published, tmp_path):
    """The first run waits in its publish stage for another publish (a lock holder), so
    it is surely still running when the second starts; then it finishes normally."""
    root = copy_workspace(published["root"], tmp_path / "ws")
    (newly,) = approve(root, 1)
    before = live_release(root)
    env = subprocess_env(harness, tmp_path / "prefect-home")
    command = [sys.executable, "-m", "briefings", "-w", str(root), "run"]
    # When the block ends, the other publish is over: the first run publishes.
    with lock_held_elsewhere(root, "publish", 120):
        first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lock = WorkspaceLock(root, "pipeline")
        wait_for(lambda: holder_pid(lock) == first.pid, 120, "the first run to hold the lock")
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    _, err = first.communicate(timeout=120)

    assert second.returncode == 0, second.stderr
    said = " ".join((second.stdout + second.stderr).lower().split())
    assert f"another pipeline run is in progress (pid {first.pid}, since 20" in said
    assert "skipped" in said and "traceback" not in said
    assert first.returncode == 0, err
    assert b"Traceback" not in err and b"database is locked" not in err
    assert live_release(root) != before
    store = open_store(root)
    assert store.get_briefing(newly).state == "published"
    statuses = [r["status"] for r in store.list_runs() if r["kind"] == "pipeline"][:2]
    assert statuses == ["skipped", "partial"]  # the second run's record, then the first's


# -- Dask ----------------------------------------------------------------------------------------


def test_task_runners_follow_the_orchestration_settings(make_workspace, monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.runners import task_runner_for

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    threads = task_runner_for(make_workspace("[ingest]\nconcurrency = 3\n").config, "ingest")
    assert isinstance(threads, ThreadPoolTaskRunner) and threads._max_workers == 3
    local = task_runner_for(
        make_workspace('[orchestration]\ntask_runner = "dask"\nworkers = 3\n').config, "tag"
    )
    assert isinstance(local, DaskTaskRunner) and local.address is None
    assert local.cluster_kwargs["n_workers"] == 3
    assert local.cluster_kwargs["processes"] is False  # no real Prefect server: threads
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with_server = task_runner_for(
        make_workspace('[orchestration]\ntask_runner = "dask"\n').config, "tag"
    )
    assert with_server.cluster_kwargs["processes"] is True
    remote = task_runner_for(
        make_workspace(
            '[orchestration]\ntask_runner = "dask"\ndask_address = "tcp://10.0.0.5:8786"\n'
        ).config,
        "ingest",
    )
    assert remote.address == "tcp://10.0.0.5:8786"


def test_the_pipeline_runs_on_a_dask_local_cluster(harness, tmp_path):
    """The whole run with ``task_runner = "dask"``: ingestion and tagging tasks run on
    the cluster's workers, the other stages as usual, and the outcome is the same."""
    from flows.pipeline import run_pipeline

    root = copy_workspace(EXAMPLE, tmp_path / "ws")
    with (root / "briefings.toml").open("a", encoding="utf-8") as config:
        config.write('\n[orchestration]\ntask_runner = "dask"\nworkers = 2\n')
    workspace = open_workspace(root, environ={})
    threads: dict[str, set[str]] = {"source-done": set(), "items-tagged": set()}

    def listener(event: str, data: dict) -> None:
        if event in threads:
            threads[event].add(threading.current_thread().name)

    with progress.listening(listener):
        report = run_pipeline(workspace)
    assert report.status == "partial", report.to_json()  # the example's broken feed only
    ingest = report.stages["ingest"]
    totals = ingest.totals()
    assert totals["sources"] == len(workspace.config.sources) and totals["errors"] == 1
    store = Store(workspace.database_path)
    assert totals["new"] == store.count_items() > 40
    assert store.count_items_to_tag(tagger_version(glossary_paths(workspace))) == 0
    assert report.result("draft").status == "ok" and store.list_briefings()
    for event, names in threads.items():
        assert names and all("Dask-Default-Threads" in name for name in names), (event, names)
    assert json.loads(json.dumps(ingest.to_json()))["totals"] == totals
