"""How the flows run: their task runner, their logs, and local-run settings.

Task runners, from ``[orchestration]`` in ``briefings.toml``:

- ``task_runner = "threads"`` (the default): Prefect's ThreadPoolTaskRunner in
  the flow's process; ingestion uses ``[ingest] concurrency`` threads, tagging
  two (spaCy holds the GIL most of the time; more threads do not help on two
  cores).
- ``task_runner = "dask"`` (needs ``pip install prefect-dask``):
  - with ``dask_address = ""``, a Dask LocalCluster started for the flow run
    with ``workers`` workers. Its workers are threads of the flow's process
    (``processes=False``) unless ``PREFECT_API_URL`` names a real Prefect
    server: process workers report their task runs to the API themselves, and
    against Prefect's temporary server (no ``PREFECT_API_URL``) they fail and
    leave orphan processes behind. So: ``prefect server start``, export
    ``PREFECT_API_URL``, and the local cluster uses one process per worker;
  - with ``dask_address = "tcp://host:8786"``, the flow connects to that
    scheduler. Its workers need this project installed, the workspace at the
    same path (a shared file system) and ``PREFECT_API_URL`` set.

Tasks receive plain values (a workspace path, a source id, item ids), so any
runner can ship them. Progress bars only see tasks that run in the CLI's own
process.

Logs: :func:`library_logs_to_prefect` sends the records of the library's
loggers (``briefings``, ``nlp``, ``glossary``, ``flows``) to the current flow
or task run in Prefect's API while a flow runs, without changing what reaches
the console.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any

LIBRARY_LOGGERS = ("briefings", "nlp", "glossary", "flows")
TAG_THREADS = 2

log = logging.getLogger(__name__)


# -- task runners ----------------------------------------------------------------------


def build_task_runner(
    kind: str = "threads",
    *,
    threads: int = 4,
    dask_address: str = "",
    workers: int = 2,
    processes: bool | None = None,
) -> Any:
    """A fresh Prefect task runner: threads, or Dask (a local cluster or a scheduler).

    ``processes`` (local Dask cluster only): None picks process workers exactly
    when ``PREFECT_API_URL`` names a real Prefect server.
    """
    if kind == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner(max_workers=threads)
    if kind != "dask":
        raise ValueError(f"unknown task runner {kind!r}; use threads or dask")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError:  # pragma: no cover - depends on the installation
        from briefings.errors import ConfigError

        raise ConfigError(
            '[orchestration] task_runner = "dask" needs prefect-dask: pip install prefect-dask'
        ) from None
    if dask_address:
        return DaskTaskRunner(address=dask_address)
    if processes is None:
        processes = bool(os.environ.get("PREFECT_API_URL"))
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": workers,
            "threads_per_worker": 1,
            "processes": processes,
            "dashboard_address": None,
        }
    )


def task_runner_for(config: Any, stage: str) -> Any:
    """The task runner ``[orchestration]`` asks for, sized for ``stage`` (ingest or tag)."""
    threads = config.ingest.concurrency if stage == "ingest" else TAG_THREADS
    settings = getattr(config, "orchestration", None)
    if settings is None:  # a configuration schema without [orchestration]: threads
        return build_task_runner("threads", threads=threads)
    return build_task_runner(
        settings.task_runner,
        threads=threads,
        dask_address=settings.dask_address,
        workers=settings.workers,
    )


# -- logs --------------------------------------------------------------------------------


class _Forward(logging.Handler):
    """Passes records on to the parent logger's handlers, as propagation would."""

    def __init__(self, parent: logging.Logger, level: int):
        super().__init__(level)
        self.parent = parent

    def emit(self, record: logging.LogRecord) -> None:
        self.parent.handle(record)


class _Routing:
    """The API handler attached to the library's loggers, shared by nested flows."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.saved: list[tuple[logging.Logger, int, bool, list[tuple[logging.Handler, int]]]] = []
        self.added: list[tuple[logging.Logger, logging.Handler]] = []

    def attach(self, level: int) -> None:
        from prefect.logging.handlers import APILogHandler

        with self.lock:
            self.depth += 1
            if self.depth > 1:
                return
            api = APILogHandler(level=level)
            for name in LIBRARY_LOGGERS:
                logger = logging.getLogger(name)
                shown = logger.getEffectiveLevel()
                self.saved.append(
                    (
                        logger,
                        logger.level,
                        logger.propagate,
                        [(h, h.level) for h in logger.handlers],
                    )
                )
                # What reached the console before still does, and nothing more: the
                # logger lets ``level`` through for the API, its other handlers and
                # the propagation to its parents keep the threshold they had.
                for handler in logger.handlers:
                    handler.setLevel(max(handler.level, shown))
                if logger.propagate and logger.parent is not None:
                    forward = _Forward(logger.parent, shown)
                    logger.addHandler(forward)
                    self.added.append((logger, forward))
                    logger.propagate = False
                logger.addHandler(api)
                self.added.append((logger, api))
                logger.setLevel(min(shown, level))

    def detach(self) -> None:
        with self.lock:
            self.depth -= 1
            if self.depth > 0:
                return
            for logger, handler in self.added:
                logger.removeHandler(handler)
            for logger, level, propagate, handlers in self.saved:
                logger.setLevel(level)
                logger.propagate = propagate
                for handler, handler_level in handlers:
                    handler.setLevel(handler_level)
            self.added.clear()
            self.saved.clear()


_routing = _Routing()


@contextlib.contextmanager
def library_logs_to_prefect(level: int = logging.INFO) -> Iterator[None]:
    """While a flow runs: the library's records at ``level`` and above go to its run logs.

    Records are attributed to the flow or task run of the thread that logs them
    (Prefect's run context); outside any run they are dropped
    (``PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore``). Nested flows share one
    handler, so a record is sent once.
    """
    _routing.attach(level)
    try:
        yield
    finally:
        _routing.detach()


# -- local runs --------------------------------------------------------------------------


@contextlib.contextmanager
def local_run() -> Iterator[None]:
    """Settings for a flow the CLI runs in its own process, then exits.

    No flow-run heartbeats: they tell a server that a run it cannot see is
    still alive (served and worker runs keep them), and every synchronous flow
    waits about a second for its heartbeat thread at its end.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield
