"""The ``run-pipeline`` flow: ingest -> tag -> draft -> translate -> publish, as subflows.

Nothing here approves: approval is an officer's act (``briefings approve``).

- One pipeline run at a time per workspace: the run holds the workspace lock
  ``pipeline`` (:mod:`briefings.locking`); another run waits up to ``wait``
  seconds for it, then is skipped with a message naming the holder.
- A stage with nothing to do is skipped, with the reason. Each stage depends on
  the ones before it: once one fails, the later ones do not run, and since
  publishing switches a whole new release or nothing, the published site stays
  as it was.
- Each run is recorded in the store (kind ``pipeline``): per stage its status,
  start, duration, counts and problems. A run that died (SIGKILL, power cut)
  is marked ``interrupted`` by the next one; every stage is idempotent, so the
  next run completes the work without duplicating any.
- The library's log records go to the Prefect run logs, not to the console
  (:func:`flows.runners.library_logs_to_prefect`).
- Progress events for the CLI: ``stage-start`` (stage) and ``stage-done``
  (result), see :mod:`briefings.progress`.

Scheduled deployments (:mod:`flows.serve`) run this same flow with a subset of
``stages``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.states import Failed

from briefings import progress
from briefings.errors import BriefingsError, ConfigError
from briefings.locking import LockHeld, lock_for
from briefings.metrics import close_interrupted_runs
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace
from flows.draft import draft_flow
from flows.ingest import ingest_sources
from flows.publish import publish_flow
from flows.runners import library_logs_to_prefect, local_run, task_runner_for
from flows.tag import tag_new_items, workspace_tagger

STAGES = ("ingest", "tag", "draft", "translate", "publish")
PIPELINE_LOCK = "pipeline"
PUBLISHABLE_STATES = ["approved", "published", "withdrawn", "corrected"]
TRANSLATABLE_STATES = ["approved", "published"]
RUN_HISTORY = 500  # run records looked at to decide whether drafting has work


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _first_line(exc: BaseException) -> str:
    """Our errors' first line as written for people; others' with their type and file."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else ""
    if isinstance(exc, BriefingsError):
        return line or type(exc).__name__
    where = getattr(exc, "filename", None)
    if where:
        lineno = getattr(exc, "lineno", None)
        where = f" ({where}{f', line {lineno}' if lineno else ''})"
    return f"{type(exc).__name__}: {line}{where or ''}"


@dataclass
class StageResult:
    """What one stage of a run did; ``report`` is the stage flow's own report."""

    name: str
    status: str = "not-run"  # ok | partial | skipped | failed | not-run
    reason: str | None = None  # why it was skipped or did not run
    error: str | None = None  # why it failed
    started_at: str | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # reported by a stage that ran
    report: Any = None

    def to_json(self, with_report: bool = True) -> dict[str, Any]:
        data = {
            "status": self.status,
            "reason": self.reason,
            "error": self.error,
            "started_at": self.started_at,
            "seconds": round(self.seconds, 3),
            "counts": self.counts,
            "problems": self.problems[:50],
        }
        if with_report:
            data["report"] = self.report.to_json() if hasattr(self.report, "to_json") else None
        return data


@dataclass
class PipelineReport:
    """A whole run. ``stages``, ``skipped``, ``failed`` and ``error`` keep the shape the
    CLI has always printed; ``results`` has every stage's details."""

    requested: list[str] = field(default_factory=list)
    publish: bool = True
    results: list[StageResult] = field(default_factory=list)
    status: str = "running"  # ok | partial | failed | skipped
    run_id: int | None = None
    seconds: float = 0.0
    busy: str | None = None  # why the whole run was skipped

    @property
    def stages(self) -> dict[str, Any]:
        """The reports of the stages that ran, by stage."""
        return {r.name: r.report for r in self.results if r.status in ("ok", "partial")}

    @property
    def skipped(self) -> list[str]:
        notes = [f"run: {self.busy}"] if self.busy else []
        return notes + [f"{r.name}: {r.reason}" for r in self.results if r.status == "skipped"]

    @property
    def failed(self) -> str | None:
        return next((r.name for r in self.results if r.status == "failed"), None)

    @property
    def error(self) -> str | None:
        return next((r.error for r in self.results if r.status == "failed"), None)

    def result(self, name: str) -> StageResult | None:
        return next((r for r in self.results if r.name == name), None)

    def summary(self) -> dict[str, Any]:
        """What the run record keeps: no per-source or per-item detail beyond problems."""
        return {
            "status": self.status,
            "requested": self.requested,
            "seconds": round(self.seconds, 3),
            "stages": {r.name: r.to_json(with_report=False) for r in self.results},
            "failed": self.failed,
            "error": self.error,
            "skipped": self.busy,
        }

    def to_json(self) -> dict[str, Any]:
        data = self.summary()
        data["run"] = self.run_id
        data["stages"] = {r.name: r.to_json() for r in self.results}
        data["skipped"] = self.skipped
        return data


# -- what each stage has to do ------------------------------------------------------------


def _translation_flow():
    """The translate flow, when the translation engine is installed."""
    try:
        from flows.translate import translate_flow
    except ImportError:
        return None
    return translate_flow


def _ingest_reason(workspace: Workspace, store: Store, report: PipelineReport) -> str | None:
    if not any(source.enabled for source in workspace.config.sources):
        return "no enabled sources in briefings.toml"
    return None


def _tag_reason(workspace: Workspace, store: Store, report: PipelineReport) -> str | None:
    if store.count_items_to_tag(workspace_tagger(workspace)) == 0:
        return "no new or changed items"
    return None


def _draft_reason(workspace: Workspace, store: Store, report: PipelineReport) -> str | None:
    if store.count_items() == 0:
        return "no items"
    tag = report.result("tag")
    if tag is not None and tag.counts.get("tagged"):
        return None
    return "nothing tagged since the last draft" if _drafted_since_tagging(store) else None


def _drafted_since_tagging(store: Store) -> bool:
    """True when a pipeline run drafted after every tagging run that tagged something
    (or did not finish); in doubt False, so drafting, which is idempotent, runs."""
    runs = store.list_runs(limit=RUN_HISTORY)
    last_draft = None
    for run in runs:  # newest first
        stage = ((run.get("summary") or {}).get("stages") or {}).get("draft") or {}
        if run["kind"] == "pipeline" and stage.get("status") in ("ok", "partial"):
            last_draft = stage.get("started_at")
            break
    if last_draft is None:
        return False
    for run in runs:
        if run["kind"] != "tag":
            continue
        summary = run.get("summary") or {}
        tagged_nothing = run["status"] == "ok" and not summary.get("tagged")
        if tagged_nothing:
            continue
        if run["finished_at"] is None or run["finished_at"] > last_draft:
            return False
    return True


def _translate_reason(workspace: Workspace, store: Store, report: PipelineReport) -> str | None:
    if _translation_flow() is None:
        return "translation engine not installed"
    if len(workspace.config.workspace.languages) < 2:
        return "only one language in briefings.toml"
    if not store.list_briefings(states=TRANSLATABLE_STATES):
        return "nothing approved"
    from briefings.translation.packages import list_packages

    if not list_packages(workspace):
        return "no Argos packages installed (briefings models install FILE.argosmodel)"
    return None


def _publish_reason(workspace: Workspace, store: Store, report: PipelineReport) -> str | None:
    if not report.publish:
        return "not asked (--no-publish)"
    if not workspace.config.audiences:
        return "no [[audiences]] in briefings.toml"
    if not store.list_briefings(states=PUBLISHABLE_STATES):
        return "nothing approved"
    return None


def _run_ingest(workspace: Workspace) -> Any:
    runner = task_runner_for(workspace.config, "ingest")
    return ingest_sources.with_options(task_runner=runner)(str(workspace.root))


def _run_tag(workspace: Workspace) -> Any:
    runner = task_runner_for(workspace.config, "tag")
    return tag_new_items.with_options(task_runner=runner)(str(workspace.root))


def _run_draft(workspace: Workspace) -> Any:
    return draft_flow(str(workspace.root))


def _run_translate(workspace: Workspace) -> Any:
    return _translation_flow()(str(workspace.root))


def _run_publish(workspace: Workspace) -> Any:
    return publish_flow(str(workspace.root))


REASONS = {
    "ingest": _ingest_reason,
    "tag": _tag_reason,
    "draft": _draft_reason,
    "translate": _translate_reason,
    "publish": _publish_reason,
}
RUNNERS = {
    "ingest": _run_ingest,
    "tag": _run_tag,
    "draft": _run_draft,
    "translate": _run_translate,
    "publish": _run_publish,
}


# -- what a stage did -----------------------------------------------------------------------


def describe(result: StageResult) -> None:
    """Fill a finished stage's counts, problems and status from its report."""
    report = result.report
    data = report.to_json() if hasattr(report, "to_json") else {}
    name = result.name
    if name == "ingest":
        result.counts = dict(data.get("totals", {}))
        sources = data.get("sources", [])
        result.problems = [
            f"{s['source']}: {s['error']}" for s in sources if s["status"] == "error"
        ]
        if sources and all(s["status"] == "skipped" for s in sources):
            reasons = {s.get("error") for s in sources}
            only = reasons.pop() if len(reasons) == 1 else None
            result.status, result.reason = "skipped", only or "every source is disabled"
            return
    elif name == "tag":
        result.counts = {"tagged": data.get("tagged", 0)}
        result.problems = list(data.get("errors", []))
    elif name == "draft":
        result.counts = {
            key: len(data.get(key, [])) for key in ("created", "updated", "unchanged", "kept")
        }
        result.counts["untagged_items"] = data.get("untagged_items", 0)
    elif name == "translate":
        totals: dict[str, int] = {}
        for lang, lang_report in (data.get("languages") or {}).items():
            for key, value in lang_report.items():
                if isinstance(value, int) and not isinstance(value, bool):
                    totals[key] = totals.get(key, 0) + value
            result.problems += [f"{lang}: {e}" for e in lang_report.get("errors", [])]
        result.counts = totals
        result.problems = list(data.get("problems", [])) + result.problems
    elif name == "publish":
        audiences = data.get("audiences", [])
        result.counts = {
            "audiences": len(audiences),
            "published": len(data.get("published", [])),
            "files_written": sum(a["written"] for a in audiences if a.get("changed")),
        }
        result.problems = list(data.get("skipped", []))
    result.status = "partial" if result.problems and name != "publish" else "ok"


# -- the flow ---------------------------------------------------------------------------------


def requested_stages(stages: list[str] | None) -> list[str]:
    """The stages to run, in pipeline order; ConfigError naming any unknown one."""
    if stages is None:
        return list(STAGES)
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(STAGES)}")
    return [s for s in STAGES if s in stages]


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    stages = flow_run.parameters.get("stages")
    return f"pipeline-{'+'.join(stages)}" if stages else "pipeline"


@flow(name="run-pipeline", flow_run_name=_flow_run_name, log_prints=False)
def pipeline_flow(
    workspace_root: str,
    publish: bool = True,
    stages: list[str] | None = None,
    wait: float = 0.0,
):
    """Run ``stages`` (default all) in order; returns a PipelineReport.

    The flow run ends Failed (still carrying the report) when a stage failed.
    ``wait``: seconds to wait for another pipeline run of the workspace to end.
    """
    workspace = open_workspace(Path(workspace_root))
    with library_logs_to_prefect():
        report = run_stages(workspace, requested_stages(stages), publish=publish, wait=wait)
    if report.status == "failed":
        return Failed(message=f"stage {report.failed} failed: {report.error}", data=report)
    return report


def run_stages(
    workspace: Workspace, stages: list[str], *, publish: bool = True, wait: float = 0.0
) -> PipelineReport:
    """The body of the flow (inside a flow run: stages run as subflows)."""
    logger = get_run_logger()
    store = Store.for_workspace(workspace)
    report = PipelineReport(requested=list(stages), publish=publish)
    clock = time.monotonic()
    lock = lock_for(workspace, PIPELINE_LOCK)
    try:
        lock.acquire(wait)
    except LockHeld as busy:
        who = busy.holder.describe() if busy.holder else "pid unknown"
        waited = f" after waiting {wait:g} s" if wait else ""
        report.busy = f"another pipeline run is in progress ({who}); this one was skipped{waited}"
        report.status = "skipped"
        logger.warning(report.busy)
        report.run_id = store.start_run("pipeline", _now())
        store.finish_run(report.run_id, "skipped", report.summary(), _now())
        progress.notify("pipeline-skipped", reason=report.busy)
        return report
    try:
        report.run_id = store.start_run("pipeline", _now())
        closed = close_interrupted_runs(store, "pipeline", _now(), keep=report.run_id)
        if closed:
            logger.warning("runs %s had been interrupted; this run picks up their work", closed)
        progress.notify("stages", names=list(stages))
        failed: str | None = None
        for name in stages:
            result = StageResult(name)
            report.results.append(result)
            if failed:
                result.reason = f"{failed} failed"
                continue
            _run_stage(workspace, store, report, result, logger)
            if result.status == "failed":
                failed = name
        report.seconds = time.monotonic() - clock
        statuses = {r.status for r in report.results}
        report.status = (
            "failed" if "failed" in statuses else "partial" if "partial" in statuses else "ok"
        )
        store.finish_run(report.run_id, report.status, report.summary(), _now())
        return report
    finally:
        lock.release()


def _run_stage(
    workspace: Workspace, store: Store, report: PipelineReport, result: StageResult, logger
) -> None:
    progress.notify("stage-start", stage=result.name)
    result.started_at = _iso(_now())
    started = time.monotonic()
    try:
        reason = REASONS[result.name](workspace, store, report)
        if reason:
            result.status, result.reason = "skipped", reason
            logger.info("stage %s skipped: %s", result.name, reason)
        else:
            result.report = RUNNERS[result.name](workspace)
            describe(result)
    except Exception as exc:
        # The stages after this one depend on it: they do not run; the site is untouched.
        result.status, result.error = "failed", _first_line(exc)
        logger.error("stage %s failed: %s", result.name, result.error, exc_info=True)
    result.seconds = time.monotonic() - started
    progress.notify("stage-done", result=result)


def run_pipeline(
    workspace: Workspace,
    *,
    publish: bool = True,
    stages: list[str] | None = None,
    wait: float = 0.0,
) -> PipelineReport:
    """What the CLI calls: the flow in this process, its report even when a stage failed."""
    with local_run():
        state = pipeline_flow(str(workspace.root), publish, stages, wait, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, BaseException):  # the flow itself failed, before any stage
        raise result
    return result


if __name__ == "__main__":
    import json
    import sys

    result = run_pipeline(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
    print(json.dumps(result.to_json(), indent=2, ensure_ascii=False, default=str))
