"""The ``publish-site`` flow: every audience's site built, checked, signed and switched.

Two publishes never overlap: the flow holds the workspace lock ``publish``
(:mod:`briefings.locking`). A second one waits for the first up to
``wait`` seconds (default :data:`PUBLISH_WAIT`), then fails with a message
naming the holder; the live site is untouched either way.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from briefings.errors import PublishError
from briefings.locking import LockHeld, lock_for
from briefings.publishing import PublishReport, publish_site
from briefings.store import Store
from briefings.workspace import Workspace, open_workspace
from flows.runners import library_logs_to_prefect, local_run

PUBLISH_LOCK = "publish"
PUBLISH_WAIT = 600.0  # seconds; a publish of a large site takes a minute or two


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(root: str) -> PublishReport:
    workspace = open_workspace(Path(root))
    return publish_site(workspace, Store.for_workspace(workspace))


@flow(name="publish-site")
def publish_flow(workspace_root: str, wait: float = PUBLISH_WAIT) -> PublishReport:
    """One task: audiences share the rendering cache and must switch together."""
    lock = lock_for(open_workspace(Path(workspace_root)), PUBLISH_LOCK)
    try:
        lock.acquire(wait)
    except LockHeld as busy:
        raise PublishError(
            f"{busy} and did not finish within {wait:g} s; nothing was published by this run "
            "(the live site is unchanged). Try again when it is done."
        ) from None
    try:
        with library_logs_to_prefect():
            return publish_task(workspace_root)
    finally:
        lock.release()


def run_publishing(workspace: Workspace, wait: float = PUBLISH_WAIT) -> PublishReport:
    with local_run():
        return publish_flow(str(workspace.root), wait)


if __name__ == "__main__":
    import sys

    print(run_publishing(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
