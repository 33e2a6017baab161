"""The ``draft-briefings`` flow: tagged items become briefing drafts (never approvals).

One drafting at a time per workspace (the ``draft`` lock, :mod:`flows.stage_runs`):
two at once would plan the same new briefing twice.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from briefings.drafting import DraftReport, draft_briefings
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace
from flows.runners import local_run
from flows.stage_runs import STAGE_WAIT, stage_run


@task(name="draft", cache_policy=NO_CACHE)
def draft_task(root: str) -> DraftReport:
    workspace = open_workspace(Path(root))
    return draft_briefings(workspace, Store.for_workspace(workspace))


@flow(name="draft-briefings")
def draft_flow(workspace_root: str, wait: float = STAGE_WAIT) -> DraftReport:
    """Draft digests, alerts and debunks; one task, since drafting is one short pass.

    Waits up to ``wait`` seconds for another drafting of the workspace, then
    fails with StageBusy having done nothing.
    """
    workspace = open_workspace(Path(workspace_root))
    with stage_run(workspace, "draft", wait=wait) as run:
        report = draft_task(workspace_root)
        run.finish("ok", report.to_json())
        return report


def run_drafting(workspace: Workspace, wait: float = STAGE_WAIT) -> DraftReport:
    with local_run():
        return draft_flow(str(workspace.root), wait)


if __name__ == "__main__":
    import sys

    print(run_drafting(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
