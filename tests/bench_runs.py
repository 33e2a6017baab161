"""Running a script of ``bench/`` as a user does, for the tests that check its output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(script: str, *args: str, cwd: Path) -> dict:
    """Run ``bench/<script>`` with ``args`` from ``cwd``; assert it exits 0, that it
    left nothing in its temporary folder (``TMPDIR``, a fresh one) and that its stdout
    ends with exactly one JSON line, and return that line's figures."""
    with tempfile.TemporaryDirectory(prefix="bench-tmp-") as scratch:
        result = subprocess.run(
            [sys.executable, str(BENCH / script), *args],
            capture_output=True, text=True, cwd=cwd, timeout=600,
            env={**os.environ, "TMPDIR": scratch},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
        assert sorted(p.name for p in Path(scratch).iterdir()) == []
    lines = result.stdout.strip().splitlines()
    assert all(not line.startswith("{") for line in lines[:-1])  # exactly one JSON line
    return json.loads(lines[-1])
