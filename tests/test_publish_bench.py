"""``bench/publish.py`` runs end to end on a handful of briefings and ends with its JSON
line. Speed is never asserted here (benchmarks measure it); what is checked is the shape
of the result, that both builds verify, and that the rebuild after one edit rewrote only
files that edit affects."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "publish.py"

KEYS = {
    "bench", "briefings", "languages", "briefing_pages", "html_pages", "files",
    "words_per_page", "setup_s", "full_build_s", "pages_per_s", "bare_markdown_s",
    "bare_pages_per_s", "ratio", "target_ratio", "incremental_s", "incremental_share",
    "target_incremental_share", "files_rewritten", "rewritten", "affected_only",
    "excluded_briefings", "meets_target_ratio", "meets_target_incremental", "profile_top",
    "ok", "seed", "machine",
}  # fmt: skip


def test_the_benchmark_runs_on_a_few_briefings(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH), "--briefings", "6", "--words", "200"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == KEYS
    assert all(not line.startswith("{") for line in lines[:-1])  # exactly one JSON line
    assert (summary["bench"], summary["briefings"]) == ("publish", 6)
    assert summary["briefing_pages"] == 6 * len(summary["languages"])
    assert summary["ok"] and summary["affected_only"]
    assert 0 < summary["files_rewritten"] < summary["files"]
