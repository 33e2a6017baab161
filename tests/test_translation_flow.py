"""The ``translate-briefings`` flow on real Prefect, with a real small Argos package.

One temporary Prefect database for the module (``prefect_test_harness``, 10-15 s).
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings import progress
from briefings.approval import Workflow
from briefings.documents import parse_document, render_document, sha256_bytes
from briefings.models import BriefingRecord
from briefings.store import Store
from briefings.tlp import TLP
from briefings.translation import install_package
from briefings.workspace import CONFIG_NAME, open_workspace

pytestmark = pytest.mark.flow

MODEL = next(iter(sorted((Path(__file__).resolve().parent.parent / "models").glob(
    "translate-en_fr-*.argosmodel"))), None)  # fmt: skip

CONFIG = """[workspace]
source_lang = "en"
languages = ["en", "fr", "ar"]

[policy]
approvals_required = 1
four_eyes = false

[[officers]]
name = "ana"
roles = ["officer"]
"""


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def make_workspace(tmp_path: Path):
    """A workspace with the en-fr package installed and one approved briefing."""
    root = tmp_path / "workspace"
    root.mkdir()
    (root / CONFIG_NAME).write_text(CONFIG, "utf-8")
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    copy = tmp_path / MODEL.name
    shutil.copyfile(MODEL, copy)
    install_package(workspace, copy)
    meta = {"id": "alert-1", "kind": "alert", "title": "What to do", "lang": "en", "tlp": "CLEAR"}
    raw = render_document(
        meta, "## What to do\n\n- Keep offline backups.\n- Do not pay the ransom.\n"
    )
    (root / "content").mkdir(exist_ok=True)
    (root / "content" / "alert-1.md").write_bytes(raw)
    record = BriefingRecord(
        id="alert-1", kind="alert", lang="en", path="content/alert-1.md", state="draft",
        title="What to do", tlp=TLP.CLEAR, priority=50, content_hash=sha256_bytes(raw),
        created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
    )  # fmt: skip
    with store.transaction() as conn:
        store.save_briefing(conn, record)
    Workflow(workspace, store).approve("alert-1", "ana")
    return workspace, store


@pytest.mark.skipif(MODEL is None, reason="no en-fr package in models/ yet")
def test_the_flow_translates_per_language_pair_and_reports_progress(harness, tmp_path):
    from flows.translate import run_translation

    workspace, store = make_workspace(tmp_path)
    root = workspace.root
    events = []
    with progress.listening(lambda event, data: events.append((event, data))):
        report = run_translation(workspace)
    fr, ar = report.languages["fr"], report.languages["ar"]
    # The title and the heading are the same segment: sent to the model once.
    assert (fr.segments, fr.from_memory, fr.translated) == (4, 1, 3)
    assert fr.written == ["alert-1"] and (root / "content" / "alert-1.fr.md").exists()
    assert ar.written == [] and "No Argos package for en->ar" in ar.errors[0]
    assert ("segments", {"total": 4, "lang": "fr"}) in events
    assert sum(d["count"] for e, d in events if e == "segments-translated") == 4
    assert store.list_runs()[0]["kind"] == "translate"

    again = run_translation(workspace, "alert-1", ["fr"]).languages["fr"]
    assert again.skipped == ["alert-1"] and again.translated == 0


def test_the_translate_command_shows_a_bar_per_language_in_segments(harness, tmp_path):
    from briefings.cli import _segment_progress
    from flows.translate import run_translation

    workspace, _ = make_workspace(tmp_path)
    bars = _segment_progress(disable=True)  # the same bar, not drawn
    with bars as listener, progress.listening(listener):
        run_translation(workspace, langs=["fr"])
    assert [(t.description, t.completed, t.total) for t in bars.bar.tasks] == [
        ("Translating into fr", 4, 4)
    ]


@pytest.mark.skipif(MODEL is None, reason="no en-fr package in models/ yet")
def test_the_translate_command_reports_each_language_as_json(harness, tmp_path, capsys):
    from briefings.cli import main

    workspace, _ = make_workspace(tmp_path)
    capsys.readouterr()
    code = main(["-w", str(workspace.root), "translate", "--json", "--lang", "fr", "--lang", "ar"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and set(data) == {"languages", "problems"}
    counts = ("segments", "from_memory", "translated", "findings")
    fr, ar = data["languages"]["fr"], data["languages"]["ar"]
    assert all(isinstance(fr[key], int) and isinstance(ar[key], int) for key in counts)
    assert (fr["segments"], fr["from_memory"], fr["translated"]) == (4, 1, 3)
    path = workspace.root / "content" / "alert-1.fr.md"
    written = parse_document(path.read_bytes(), path).meta["translation"]["findings"]
    assert fr["findings"] == len(written)
    assert [ar[key] for key in counts] == [0, 0, 0, 0] and "briefings models install" in ar[
        "errors"
    ][0]
