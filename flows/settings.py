"""Prefect defaults for a quiet, reliable local run.

The temporary (ephemeral) server Prefect starts when no ``PREFECT_API_URL`` is
set prints "database is locked" and ``CancelledError`` tracebacks from its
background services fighting over SQLite, and its 20 s start-up timeout is too
tight on a loaded 2-core machine. These defaults (measured in NOTES.md to give
an empty stderr) apply only to what the user has not set; against a real
Prefect server the server-side ones have no effect and task history is kept.
"""

from __future__ import annotations

import logging
import os

EPHEMERAL_SERVER_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
    # The task-run recorder and event persister are what fight over SQLite;
    # with coarse tasks (one per source or language pair) little is lost.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
}
CLIENT_DEFAULTS = {
    # Prefect's own usage analytics (Amplitude events from the SDK, a device id under
    # PREFECT_HOME) stay off whatever server it talks to: the common opt-out it reads.
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW": "ignore",
    "PREFECT_UI_ENABLED": "false",
}


def apply_prefect_defaults() -> None:
    """Set our defaults in the environment unless the user set them."""
    defaults = dict(CLIENT_DEFAULTS)
    if not os.environ.get("PREFECT_API_URL"):
        defaults.update(EPHEMERAL_SERVER_DEFAULTS)
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def quiet_prefect_console(verbose: bool = False) -> None:
    """Keep Prefect's console handlers below CRITICAL unless ``verbose``.

    Run logs still reach the Prefect API (and its UI); only the terminal is
    spared, since the CLI prints its own summary of every failure.
    """
    level = logging.INFO if verbose else logging.CRITICAL
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    for logger in [logging.getLogger(), *loggers]:
        for handler in getattr(logger, "handlers", []):
            if type(handler).__name__ == "PrefectConsoleHandler":
                handler.setLevel(level)
