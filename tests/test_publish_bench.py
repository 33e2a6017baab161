"""``bench/publish.py`` runs end to end on a handful of briefings and ends with its JSON
line. Speed is never asserted here (benchmarks measure it); what is checked is the shape
of the result, that both builds verify, and that the rebuild after one edit rewrote only
files that edit affects."""

from __future__ import annotations

from pathlib import Path

from bench_runs import run_bench

KEYS = {
    "bench", "briefings", "languages", "briefing_pages", "html_pages", "files",
    "words_per_page", "setup_s", "full_build_s", "full_build_runs_s", "pages_per_s",
    "bare_markdown_s", "bare_markdown_runs_s",
    "bare_pages_per_s", "ratio", "target_ratio", "incremental_s", "incremental_share",
    "incremental_runs_s", "incremental_first_share", "processes", "full_build_processes_s", "excluded_edit_s", "excluded_edit_scanned",
    "new_excluded_s", "new_excluded_scanned",
    "ratio_processes", "target_incremental_share", "files_rewritten", "rewritten", "affected_only",
    "excluded_briefings", "meets_target_ratio", "meets_target_incremental", "profile_top",
    "ok", "seed", "machine",
}  # fmt: skip


def test_the_benchmark_runs_on_a_few_briefings(tmp_path: Path) -> None:
    summary = run_bench(
        "publish.py", "--briefings", "50", "--words", "120", "--processes", "2", cwd=tmp_path
    )
    assert set(summary) == KEYS
    assert (summary["bench"], summary["briefings"]) == ("publish", 50)  # one TLP:AMBER
    public = summary["briefings"] - summary["excluded_briefings"]
    assert summary["excluded_briefings"] > 0 and summary["briefing_pages"] == public * len(
        summary["languages"]
    )
    assert summary["ok"] and summary["affected_only"]
    # A new release, the full build's recycled, then five steady ones (--steady 5), each
    # published by a process of its own: the best of those is the figure.
    assert len(summary["incremental_runs_s"]) == 7
    assert summary["incremental_s"] == min(summary["incremental_runs_s"][2:])
    assert summary["processes"] == 2 and summary["full_build_processes_s"] > 0
    # Two full builds and two bare runs (--repeat 2, the default): the best of each counts.
    assert len(summary["full_build_runs_s"]) == len(summary["bare_markdown_runs_s"]) == 2
    assert summary["full_build_s"] == min(summary["full_build_runs_s"])
    assert summary["bare_markdown_s"] == min(summary["bare_markdown_runs_s"])
    # A new sentence in the excluded briefing: the unchanged files' clause sums say it is in
    # none of them.
    assert summary["excluded_edit_scanned"] < summary["files"] // 10
    # A new excluded briefing: its id's prefix and its sentences are in none of them either.
    assert summary["new_excluded_scanned"] < summary["files"] // 10
    assert 0 < summary["files_rewritten"] < summary["files"]
