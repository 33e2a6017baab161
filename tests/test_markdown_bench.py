"""``bench/markdown_speed.py`` runs on a few texts and ends with its JSON line. Speed is
never asserted here (the benchmark measures it): the shape of the result, and that the
three converters gave the same HTML."""

from __future__ import annotations

from pathlib import Path

from bench_runs import run_bench

KEYS = {
    "bench", "texts", "words_per_text", "bare_s", "stock_reused_s", "fast_reused_s",
    "ratio", "ratio_to_stock_reused", "same_html", "ok", "machine",
}  # fmt: skip


def test_the_markdown_benchmark_runs_on_a_few_texts(tmp_path: Path) -> None:
    summary = run_bench(
        "markdown_speed.py", "--texts", "8", "--words", "200", "--rounds", "1", cwd=tmp_path
    )
    assert set(summary) == KEYS
    assert (summary["bench"], summary["texts"]) == ("markdown", 8)
    assert summary["same_html"] and summary["ok"]
    assert summary["bare_s"] > 0 and summary["fast_reused_s"] > 0
