"""Markdown rendering ahead of a build in worker processes gives exactly what rendering
each page in the publishing process gives, renders nothing twice, and stays out of the
way of small builds."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.progress import listening
from briefings.publishing import load_or_create_key
from briefings.rendering import MIN_PARALLEL, MarkdownRenderer
from briefings.store import Store
from briefings.workspace import CONFIG_NAME, open_workspace

HOSTILE = [
    '<script>alert("x")</script> and <img src=x onerror=alert(1)>',
    "[a link](javascript:alert(1)) and <a href='https://ok.example'>ok</a>",
    "| a | b |\n|---|---|\n| 1 | <iframe src=x></iframe> |",
    "Text[^1].\n\n[^1]: A footnote with `code` and *emphasis*.",
    "## Heading {: #custom .klass }\n\n*[HTML]: Hyper Text",
]


def texts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    words = [
        "ransomware",
        "hospital",
        "water",
        "**urgent**",
        "`CVE-2026-1234`",
        "[advisory](https://x.example)",
    ]
    out = []
    for i in range(n):
        body = " ".join(rng.choice(words) for _ in range(rng.randint(5, 60)))
        out.append(f"# Briefing {i}\n\n{body}\n\n- one\n- two\n\n{HOSTILE[i % len(HOSTILE)]}\n")
    return out


def test_rendering_ahead_in_processes_gives_the_same_html(tmp_path: Path) -> None:
    batch = texts(MIN_PARALLEL + 36)
    ahead = MarkdownRenderer(tmp_path / "ahead")
    events: list[tuple[str, dict]] = []
    with listening(lambda event, data: events.append((event, data))):
        assert ahead.render_many(batch + batch[:10], processes=2) == len(batch)  # once each
    one_by_one = MarkdownRenderer(None)

    assert [ahead.render(t) for t in batch] == [one_by_one.render(t) for t in batch]
    assert ahead.rendered == len(batch)  # render() found them all
    assert events[0] == ("renders", {"total": len(batch), "processes": 2})
    assert sum(d["count"] for e, d in events if e == "renders-done") == len(batch)
    assert all("<script" not in ahead.render(t) for t in batch)
    ahead.close()
    reopened = MarkdownRenderer(tmp_path / "ahead")
    assert reopened.cached_count() == len(batch)
    assert reopened.render_many(batch, processes=2) == 0  # all in the cache file
    assert [reopened.render(t) for t in batch] == [one_by_one.render(t) for t in batch]
    assert reopened.rendered == 0
    reopened.close()


def test_few_texts_or_one_process_render_nothing_ahead(tmp_path: Path) -> None:
    renderer = MarkdownRenderer(tmp_path / "cache")
    assert renderer.render_many(texts(MIN_PARALLEL - 1), processes=4) == 0
    assert renderer.render_many(texts(MIN_PARALLEL + 5), processes=1) == 0
    assert renderer.rendered == 0
    renderer.close()


def test_a_first_build_rendered_in_processes_is_the_same_site(tmp_path: Path) -> None:
    """A first build of enough briefings renders their Markdown in worker processes
    (``render_processes = 2``); the site is byte for byte the one a build rendering in
    the publishing process only (``render_processes = 1``) makes."""
    env = pf.make_site_env(tmp_path / "two", languages=("en",))
    for i in range(MIN_PARALLEL + 2):
        briefing_id = pf.new_briefing(env, f"Incident {i:03d} at a water utility")
        pf.rewrite(env, briefing_id, f"# Incident {i:03d}\n\n{texts(1, seed=i)[0]}")
        pf.approved(env, briefing_id)
    load_or_create_key(env.root / "keys")  # one signing key for both copies
    env.close()
    shutil.copytree(tmp_path / "two", tmp_path / "one", symlinks=True)
    sites = {}
    for name, processes in (("two", 2), ("one", 1)):
        config = tmp_path / name / CONFIG_NAME
        config.write_text(config.read_text() + f"\n[publishing]\nrender_processes = {processes}\n")
        workspace = open_workspace(tmp_path / name, environ={})
        built = pf.bf.Env(workspace, Store(workspace.database_path), env.clock)
        events: list[str] = []
        with listening(lambda event, data, seen=events: seen.append(event)):
            pf.publish(built)
        assert ("renders" in events) is (processes == 2), name
        sites[name] = {
            audience: pf.site_files(pf.output(built, audience))
            for audience in ("public", "members")
        }
        built.close()
    assert sites["two"] == sites["one"]


def test_a_worker_that_cannot_start_leaves_rendering_to_the_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python-here"))
    renderer = MarkdownRenderer(None)
    batch = texts(MIN_PARALLEL + 1)

    assert renderer.render_many(batch, processes=2) == 0

    assert "cannot render Markdown in worker processes" in caplog.text
    assert renderer.render(batch[0]) == MarkdownRenderer(None).render(batch[0])


def test_workers_do_not_run_the_calling_script_again(tmp_path: Path) -> None:
    """A script without an ``if __name__ == "__main__"`` guard that renders ahead runs
    once: the workers are a program of their own, not copies of the caller."""
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from briefings.rendering import MIN_PARALLEL, MarkdownRenderer\n"
        "print('script ran', flush=True)\n"
        "texts = [f'# Text {i}\\n\\nBody *{i}*.' for i in range(MIN_PARALLEL + 8)]\n"
        "print('rendered', MarkdownRenderer(None).render_many(texts, processes=2))\n"
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("script ran") == 1
    assert f"rendered {MIN_PARALLEL + 8}" in done.stdout
