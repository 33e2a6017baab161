"""What every benchmark script shares: progress messages and the machine's description.

The scripts run as ``python bench/NAME.py``, so this folder is first on the path and
they import it as ``common``.
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path


def log(message: str) -> None:
    """A progress message on stderr: stdout holds only the table and the JSON line."""
    print(message, file=sys.stderr, flush=True)


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
