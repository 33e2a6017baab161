"""The ``draft-briefings`` flow: tagged items become briefing drafts (never approvals)."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from briefings.drafting import DraftReport, draft_briefings
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace


@task(name="draft", cache_policy=NO_CACHE)
def draft_task(root: str) -> DraftReport:
    workspace = open_workspace(Path(root))
    return draft_briefings(workspace, Store.for_workspace(workspace))


@flow(name="draft-briefings")
def draft_flow(workspace_root: str) -> DraftReport:
    """Draft digests, alerts and debunks; one task, since drafting is one short pass."""
    return draft_task(workspace_root)


def run_drafting(workspace: Workspace) -> DraftReport:
    return draft_flow(str(workspace.root))


if __name__ == "__main__":
    import sys

    print(run_drafting(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
