"""A benchmark stopped by SIGTERM (``kill``, a CI job's timeout) removes the temporary
folder it made, as it does when it ends normally: ``bench/publish.py`` at its default
size leaves almost a gigabyte otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def test_a_terminated_publish_benchmark_removes_its_folder(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(BENCH / "publish.py"), "--briefings", "300", "--words", "100",
         "--processes", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        env={**os.environ, "TMPDIR": str(scratch)},
    )  # fmt: skip
    try:
        seen = []
        for line in process.stderr:  # progress messages; the setup takes many seconds
            seen.append(line)
            if "briefings written, approved and translated" in line:
                break
        made = list(scratch.glob("bench-publish-*"))
        assert len(made) == 1 and (made[0] / "ws").is_dir(), "".join(seen)
        process.send_signal(signal.SIGTERM)
        process.stderr.read()
        assert process.wait(timeout=120) == 128 + signal.SIGTERM
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert list(scratch.iterdir()) == []
