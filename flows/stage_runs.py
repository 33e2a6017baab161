"""One stage run's bookkeeping: its workspace lock and its run record.

Every stage flow that changes the store (tag, draft, translate) runs its body
inside :func:`stage_run`, which

- takes the workspace lock named after the stage (:mod:`briefings.locking`),
  waiting up to ``wait`` seconds for another run of the same stage, then fails
  with a message naming the holder (:class:`StageBusy`);
- records the run in the store (``briefings runs``) and marks the records of
  earlier runs of the stage that a kill or crash left ``running`` as
  interrupted: only the lock holder may do that, since no other run of the
  stage can be alive then;
- records a failure with its first line when the body raises, and re-raises;
- sends the library's logs to the flow's run logs.

Ingestion keeps its own handling (an overlapping ingest is skipped, not
delayed: the next scheduled one picks up what it missed), and so does
publishing (:mod:`flows.publish`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from briefings.errors import BriefingsError
from briefings.locking import LockHeld, lock_for
from briefings.metrics import close_interrupted_runs
from briefings.store import Store
from briefings.workspace import Workspace
from flows.runners import library_logs_to_prefect

STAGE_WAIT = 600.0  # seconds a stage waits for another run of itself before failing

log = logging.getLogger(__name__)


class StageBusy(BriefingsError):
    """Another run of the same stage held the workspace lock for longer than we waited."""


@dataclass
class StageRun:
    """The run record of one stage run; :meth:`finish` sets its outcome."""

    store: Store
    kind: str
    run_id: int
    interrupted: list[int] = field(default_factory=list)
    finished: bool = False

    def finish(self, status: str, summary: dict[str, Any]) -> None:
        self.store.finish_run(self.run_id, status, summary, _now())
        self.finished = True


@contextlib.contextmanager
def stage_run(workspace: Workspace, kind: str, *, wait: float = STAGE_WAIT) -> Iterator[StageRun]:
    """Hold the ``kind`` lock and a run record while the ``with`` body runs.

    Raises StageBusy (nothing done, nothing recorded) when another run of the
    stage keeps the lock for ``wait`` seconds. A body that returns without
    calling ``finish`` is recorded ``ok`` with an empty summary.
    """
    lock = lock_for(workspace, kind)
    try:
        lock.acquire(wait)
    except LockHeld as busy:
        who = busy.holder.describe() if busy.holder else "pid unknown"
        raise StageBusy(
            f"another {kind} run is in progress ({who}) and did not finish within {wait:g} s; "
            "this one did nothing. Try again when it is done."
        ) from None
    try:
        store = Store.for_workspace(workspace)
        run = StageRun(store, kind, store.start_run(kind, _now()))
        run.interrupted = close_interrupted_runs(store, kind, _now(), keep=run.run_id)
        if run.interrupted:
            log.warning(
                "%s runs %s had been interrupted; this run picks up their work",
                kind,
                ", ".join(map(str, run.interrupted)),
            )
        with library_logs_to_prefect():
            try:
                yield run
            except BaseException as exc:
                if not run.finished:
                    run.finish("failed", {"error": _first_line(exc)})
                raise
        if not run.finished:
            run.finish("ok", {})
    finally:
        lock.release()


def _now() -> datetime:
    return datetime.now(UTC)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
