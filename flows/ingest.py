"""The ``ingest-sources`` flow: one task per source, run concurrently.

One ingestion at a time per workspace: the flow holds the workspace lock
``ingest`` (:mod:`briefings.locking`). An ingestion that would overlap another
one is skipped at once, with a message naming the other's pid: the next
scheduled one picks up whatever it missed. Its task runner comes from
``[orchestration]`` (:func:`flows.runners.task_runner_for`).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import task_run

from briefings import progress
from briefings.errors import TransientSourceError
from briefings.ingestion import Ingestor, IngestSummary, select_sources
from briefings.locking import LockHeld, lock_for
from briefings.metrics import close_interrupted_runs
from briefings.models import SourceReport
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace
from flows.runners import library_logs_to_prefect, local_run, task_runner_for

INGEST_LOCK = "ingest"
log = logging.getLogger(__name__)

# Tasks receive plain values (a workspace path, a source id) so a distributed
# runner can ship them; each process keeps one Ingestor per workspace.
_ingestors: dict[str, Ingestor] = {}
_ingestors_lock = threading.Lock()


def _ingestor(root: str) -> Ingestor:
    with _ingestors_lock:
        if root not in _ingestors:
            workspace = open_workspace(Path(root))
            _ingestors[root] = Ingestor.for_workspace(workspace, Store.for_workspace(workspace))
        return _ingestors[root]


def _release(root: str) -> None:
    with _ingestors_lock:
        ingestor = _ingestors.pop(root, None)
    if ingestor is not None:
        ingestor.close()


def _is_transient(task, task_run_, state) -> bool:
    try:
        state.result()
    except TransientSourceError:
        return True
    except Exception:
        return False
    return False


@task(
    name="ingest-source",
    task_run_name="ingest-{source_id}",
    retry_condition_fn=_is_transient,
    cache_policy=NO_CACHE,
)
def ingest_source_task(root: str, source_id: str, retries: int = 0) -> SourceReport:
    ingestor = _ingestor(root)
    report = ingestor.ingest_source(ingestor.workspace.config.source(source_id))
    # Transient failures are retried by Prefect, later; the last attempt
    # returns the report so the run goes on with the other sources.
    if report.transient and task_run.run_count <= retries:
        raise TransientSourceError(report.error or "transient failure", source_id)
    progress.notify("source-done", report=report)
    return report


@flow(name="ingest-sources", log_prints=False)
def ingest_sources(workspace_root: str, source_ids: list[str] | None = None) -> IngestSummary:
    """Ingest the workspace's enabled sources (or those named), concurrently.

    Skipped, every source reported ``skipped`` with the reason, when another
    ingestion of the workspace is running.
    """
    workspace = open_workspace(Path(workspace_root))
    sources = select_sources(workspace, source_ids)
    with library_logs_to_prefect():
        lock = lock_for(workspace, INGEST_LOCK)
        try:
            lock.acquire()
        except LockHeld as busy:
            return _skipped(workspace, sources, f"{busy}, skipped")
        try:
            return _ingest(workspace, sources)
        finally:
            lock.release()


def _skipped(workspace: Workspace, sources, message: str) -> IngestSummary:
    log.warning("%s", message)  # to the console and, routed, to the run logs
    store = Store.for_workspace(workspace)
    run_id = store.start_run("ingest", datetime.now(UTC))
    store.finish_run(run_id, "skipped", {"skipped": message}, datetime.now(UTC))
    reports = [SourceReport(source=s.id, status="skipped", error=message) for s in sources]
    progress.notify("sources", total=len(reports))
    return IngestSummary(reports, run_id)


def _ingest(workspace: Workspace, sources) -> IngestSummary:
    root = str(workspace.root)
    ingestor = _ingestor(root)
    run_id = ingestor.store.start_run("ingest", ingestor.clock())
    close_interrupted_runs(ingestor.store, "ingest", ingestor.clock(), keep=run_id)
    progress.notify("sources", total=len(sources))
    settings = workspace.config.ingest
    task = ingest_source_task.with_options(
        retries=settings.task_retries, retry_delay_seconds=settings.task_retry_delay
    )
    try:
        futures = [task.submit(root, source.id, settings.task_retries) for source in sources]
        reports = [future.result() for future in futures]
        summary = IngestSummary(reports, run_id)
        status = "failed" if summary.all_failed else "ok"
        ingestor.store.finish_run(run_id, status, summary.to_json(), ingestor.clock())
        return summary
    finally:
        _release(root)


def run_ingest(workspace: Workspace, source_ids: list[str] | None = None) -> IngestSummary:
    """Run the flow with the task runner of ``[orchestration]`` (threads: ``[ingest] concurrency``)."""
    runner = task_runner_for(workspace.config, "ingest")
    with local_run():
        return ingest_sources.with_options(task_runner=runner)(str(workspace.root), source_ids)


if __name__ == "__main__":
    import sys

    print(run_ingest(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
