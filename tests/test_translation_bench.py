"""``bench/translate.py`` runs end to end on a few sentences and ends with its JSON line.

Speed is never asserted here (STYLE: benchmarks measure it); what is checked is the
shape of the result and that a warm translation memory needs no model call.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "translate.py"
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
    result = subprocess.run(
        [sys.executable, str(BENCH), "--sentences", "12", "--beam", "2"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:] + result.stdout[-2000:]
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert set(summary) == KEYS
    assert all(not line.startswith("{") for line in lines[:-1])  # exactly one JSON line
    assert (summary["bench"], summary["sentences"], summary["beam_size"]) == ("translate", 12, 2)
    assert summary["cold_model_calls"] >= 1
    assert summary["warm_model_calls"] == 0 and summary["warm_from_memory"] == 12
    assert summary["ok"] and all(summary["checks"].values())
