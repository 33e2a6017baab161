"""``bench/translate.py`` runs end to end on a few sentences and ends with its JSON line.

Speed is never asserted here (STYLE: benchmarks measure it); what is checked is the
shape of the result and that a warm translation memory needs no model call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_runs import run_bench

ROOT = Path(__file__).resolve().parent.parent
HAS_PACKAGE = any((ROOT / "models").glob("translate-en_fr-*.argosmodel"))

KEYS = {
    "bench", "sentences", "paragraphs", "beam_size", "argos_sentences_per_s",
    "argos_1thread_sentences_per_s", "ratio_cold_vs_argos_1thread", "argos_1thread_s",
    "engine_cold_sentences_per_s", "engine_warm_sentences_per_s", "ratio_cold",
    "target_ratio", "meets_target", "cold_model_calls", "warm_model_calls",
    "target_warm_model_calls", "warm_from_memory", "same_output_paragraphs", "argos_s",
    "engine_cold_s", "engine_warm_s", "package", "compute_type", "threads", "inter_threads",
    "argos_threads",
    "max_batch_size", "seed", "checks", "ok", "ctranslate2", "python", "machine",
}  # fmt: skip


@pytest.mark.skipif(not HAS_PACKAGE, reason="no en-fr package in models/")
def test_the_benchmark_runs_and_a_warm_memory_makes_no_model_call(tmp_path):
    summary = run_bench("translate.py", "--sentences", "12", "--beam", "2", cwd=tmp_path)
    assert set(summary) == KEYS
    assert (summary["bench"], summary["sentences"], summary["beam_size"]) == ("translate", 12, 2)
    assert summary["cold_model_calls"] >= 1
    assert summary["warm_model_calls"] == 0 and summary["warm_from_memory"] == 12
    assert summary["ok"] and all(summary["checks"].values())
