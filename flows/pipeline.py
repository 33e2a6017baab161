"""The ``run-pipeline`` flow: ingest -> tag -> draft -> translate -> publish, as subflows.

A stage with nothing to do is skipped; a stage that fails stops the stages that
depend on it, and the published site stays as it was. Nothing here approves:
approval is an officer's act (``briefings approve``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow

from briefings.store import Store
from briefings.workspace import Workspace, open_workspace
from flows.draft import draft_flow
from flows.ingest import ingest_sources
from flows.publish import publish_flow
from flows.tag import tag_new_items

log = logging.getLogger(__name__)


@dataclass
class PipelineReport:
    stages: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    failed: str | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {
            "stages": {
                k: (v.to_json() if hasattr(v, "to_json") else v) for k, v in self.stages.items()
            },
            "skipped": self.skipped,
            "failed": self.failed,
            "error": self.error,
        }


def _translation_stage():
    """The translate flow, when the translation engine is installed."""
    try:
        from flows.translate import translate_flow  # type: ignore[attr-defined]
    except ImportError:
        return None
    return translate_flow


@flow(name="run-pipeline")
def pipeline_flow(workspace_root: str, publish: bool = True) -> PipelineReport:
    workspace = open_workspace(Path(workspace_root))
    store = Store(workspace.database_path)
    report = PipelineReport()
    stage = "ingest"
    try:
        report.stages["ingest"] = ingest_sources(workspace_root)
        stage = "tag"
        report.stages["tag"] = tag_new_items(workspace_root)
        stage = "draft"
        if store.count_items() == 0:
            report.skipped.append("draft: no items")
        else:
            report.stages["draft"] = draft_flow(workspace_root)
        stage = "translate"
        translate = _translation_stage()
        approved = store.list_briefings(states=["approved", "published"])
        if translate is None:
            report.skipped.append("translate: translation engine not installed")
        elif not approved:
            report.skipped.append("translate: nothing approved")
        else:
            report.stages["translate"] = translate(workspace_root)
        stage = "publish"
        if not publish:
            report.skipped.append("publish: not asked")
        elif not store.list_briefings(states=["approved", "published", "withdrawn", "corrected"]):
            report.skipped.append("publish: nothing approved")
        else:
            report.stages["publish"] = publish_flow(workspace_root)
    except Exception as exc:
        # The stages after this one depend on it: stop here; the site is untouched.
        report.failed = stage
        report.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.error("stage %s failed: %s", stage, report.error)
    return report


def run_pipeline(workspace: Workspace, *, publish: bool = True) -> PipelineReport:
    return pipeline_flow(str(workspace.root), publish)
