"""What every benchmark script shares: progress messages, the machine's description and
the JSON line that ends stdout, with the exit status.

The scripts run as ``python bench/NAME.py``, so this folder is first on the path and
they import it as ``common``.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
from pathlib import Path


def log(message: str) -> None:
    """A progress message on stderr: stdout holds only the table and the JSON line."""
    print(message, file=sys.stderr, flush=True)


def clean_up_when_stopped() -> None:
    """Make SIGTERM (``kill``, a CI job's timeout) and SIGHUP end the script as Ctrl-C
    does, by an exception: its ``finally`` blocks and ``with`` statements then remove
    the temporary folders a run made (a 2,000-briefing publish run leaves almost a
    gigabyte otherwise). Call it first thing in ``main``."""

    def stop(signum: int, frame) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)


def machine() -> str:
    """OS and architecture, CPU model and count, e.g. 'Linux x86_64, AMD EPYC, 2 CPUs'."""
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    parts = [f"{platform.system()} {platform.machine()}", model, f"{os.cpu_count()} CPUs"]
    return ", ".join(p for p in parts if p)


def finish(figures: dict, *, ok: bool, ratio: float, fail_under: float | None) -> int:
    """Print ``figures`` as the one JSON line that ends stdout; return the exit status:
    1 when a check failed, 2 when ``ratio`` is below ``fail_under`` (if given), else 0."""
    print(json.dumps(figures, ensure_ascii=False, separators=(", ", ": ")))
    if not ok:
        return 1
    if fail_under is not None and ratio < fail_under:
        return 2
    return 0
