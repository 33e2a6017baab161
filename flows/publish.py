"""The ``publish-site`` flow: every audience's site built, checked, signed and switched."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from briefings.publishing import PublishReport, publish_site
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace

PUBLISH_LOCK = "briefings-publish"


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(root: str) -> PublishReport:
    workspace = open_workspace(Path(root))
    return publish_site(workspace, Store(workspace.database_path))


@flow(name="publish-site")
def publish_flow(workspace_root: str) -> PublishReport:
    """One task: audiences share the rendering cache and must switch together."""
    return publish_task(workspace_root)


def run_publishing(workspace: Workspace) -> PublishReport:
    return publish_flow(str(workspace.root))


if __name__ == "__main__":
    import sys

    print(run_publishing(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
