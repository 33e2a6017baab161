"""``briefings serve``: the workspace's scheduled deployments, served by this process.

Every schedule of ``[schedules]`` in ``briefings.toml`` becomes one deployment
of the ``run-pipeline`` flow (:mod:`flows.pipeline`) running some of its
stages, so a scheduled run has what a ``briefings run`` has: the pipeline lock,
stages skipped with a reason, a run record, logs in Prefect::

    [schedules]
    timezone = "Europe/Brussels"
    ingest = "*/30 * * * *"     # ingest, then tag
    tag = ""                    # tagging on its own schedule (empty: after each ingest)
    draft = "0 * * * *"
    translate = "15 * * * *"
    publish = "30 * * * *"

An empty string turns a schedule off. :func:`serve_workspace` serves them with
``prefect.serve``: runs start as subprocesses of this process, at most
``limit`` at once.

Scheduled runs need a Prefect server whose scheduler service creates them:
Prefect's temporary server runs no scheduler. With ``PREFECT_API_URL`` set,
that server is used; without it, :func:`prefect_server` starts ``prefect
server start`` on 127.0.0.1 for as long as ``briefings serve`` runs, its
database and log in the workspace's ``state/prefect/`` and its UI on. For work
pools and workers, see ``prefect.yaml`` at the repository root: the same
deployments, to ``prefect deploy``.

Scheduled runs never overlap: a run finding another pipeline run of the
workspace in progress waits up to its ``wait`` (``ingest``: not at all, it is
skipped with a message; the others: :data:`WAIT` seconds).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from briefings.errors import BriefingsError, ConfigError
from briefings.workspace import Workspace

WAIT = 900.0  # seconds a scheduled draft, translate or publish waits for a running pipeline
SERVER_START_TIMEOUT = 120.0


@dataclass(frozen=True)
class ScheduledRun:
    """One deployment: its name, cron, and the pipeline stages it runs."""

    name: str
    cron: str
    stages: tuple[str, ...]
    wait: float

    def parameters(self, workspace_root: str) -> dict[str, Any]:
        return {"workspace_root": workspace_root, "stages": list(self.stages), "wait": self.wait}


def plan_schedules(schedules: Any) -> list[ScheduledRun]:
    """The deployments a ``[schedules]`` section asks for, in pipeline order (pure)."""
    plan = []
    if schedules.ingest:
        stages = ("ingest",) if schedules.tag else ("ingest", "tag")
        plan.append(ScheduledRun("ingest", schedules.ingest, stages, 0.0))
    if schedules.tag:
        plan.append(ScheduledRun("tag", schedules.tag, ("tag",), WAIT))
    for name in ("draft", "translate", "publish"):
        cron = getattr(schedules, name)
        if cron:
            plan.append(ScheduledRun(name, cron, (name,), WAIT))
    return plan


def build_deployments(workspace: Workspace) -> list[Any]:
    """Prefect deployments (``RunnerDeployment``) of the workspace's schedules.

    The entrypoint is the module path ``flows.pipeline.pipeline_flow``, so runs
    start from any working directory where the project is installed.
    """
    from prefect.schedules import Cron
    from prefect.types.entrypoint import EntrypointType

    from flows.pipeline import pipeline_flow

    settings = workspace.config.schedules
    root = str(workspace.root)
    return [
        pipeline_flow.to_deployment(
            name=run.name,
            schedule=Cron(run.cron, timezone=settings.timezone),
            parameters=run.parameters(root),
            description=f"briefings: {' then '.join(run.stages)} for the workspace {root}",
            tags=["briefings", *run.stages],
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for run in plan_schedules(settings)
    ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def prefect_server(
    workspace: Workspace, *, on_start: Callable[[str], None] | None = None
) -> Iterator[str]:
    """The API URL to serve against: ``PREFECT_API_URL``, or a server started here.

    The server started here (``prefect server start``, with its scheduler and UI)
    keeps its database and log in ``state/prefect/`` of the workspace and stops
    with the ``with`` block.
    """
    url = os.environ.get("PREFECT_API_URL")
    if url:
        yield url
        return
    home = workspace.root / "state" / "prefect"
    home.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "true",
        # A server that stays up keeps task history; its noise goes to its log file.
        "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "true",
        "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "true",
    }
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    with (home / "server.log").open("ab") as server_log:
        # Its own session: Ctrl-C reaches the runner, which stops first; then the server.
        server = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise BriefingsError(
                    f"the Prefect server did not start (see {home / 'server.log'}); "
                    "start one with 'prefect server start' and set PREFECT_API_URL"
                )
            time.sleep(0.5)
        if on_start:
            on_start(url)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serve_workspace(
    workspace: Workspace,
    *,
    limit: int | None = None,
    on_server: Callable[[str], None] | None = None,
) -> None:
    """Serve the deployments until interrupted (Ctrl-C pauses their schedules)."""
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    deployments = build_deployments(workspace)
    if not deployments:
        raise ConfigError(
            "[schedules] in briefings.toml turns every schedule off: nothing to serve"
        )
    with prefect_server(workspace, on_start=on_server) as url:
        os.environ["PREFECT_API_URL"] = url  # for the flow runs' subprocesses too
        with temporary_settings(updates={PREFECT_API_URL: url}):
            serve(*deployments, limit=limit)


if __name__ == "__main__":
    import sys
    from pathlib import Path

    from briefings.workspace import open_workspace

    serve_workspace(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
