"""The ingest-sources flow and the ``briefings ingest`` command on real Prefect.

Flows run under ``prefect_test_harness`` (one temporary database for the
module: it takes 10-15 s to start). One test runs the installed command in a
subprocess against Prefect's own temporary server, as a user would, and checks
that nothing but our summary reaches the console.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings.cli import main
from briefings.store import Store
from briefings.workspace import open_workspace

pytestmark = pytest.mark.flow

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>T</title><link>https://cert.example/</link>
<language>en</language>
{items}
</channel></rss>"""
ITEM = """<item><title>{title}</title><link>https://cert.example/{feed}/{n}</link>
<guid>https://cert.example/{feed}/{n}</guid><pubDate>Mon, 0{n} Nov 2026 08:00:00 +0000</pubDate>
<description>&lt;p&gt;{title}: water utilities and hospitals should patch now and
watch for ransomware activity in the coming days.&lt;/p&gt;</description></item>"""


def rss(*titles: str, feed: str = "main") -> str:
    items = "".join(ITEM.format(title=t, n=i + 1, feed=feed) for i, t in enumerate(titles))
    return RSS.format(items=items)


class FlakyFeed(BaseHTTPRequestHandler):
    """503 for the first request, then a feed: a transient failure to retry."""

    hits = 0
    body = rss("Flaky feed advisory about drinking water plants", feed="flaky").encode()

    def do_GET(self):
        type(self).hits += 1
        if type(self).hits == 1:
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def flaky_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FlakyFeed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()


def make_workspace(root: Path, flaky_url: str) -> Path:
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "good.xml").write_text(
        rss("Ransomware hits a hospital group", "Wiper attack on an electricity grid operator")
    )
    (root / "feeds" / "broken.xml").write_text("<rss><channel><item><title>cut")
    (root / "briefings.toml").write_text(
        f"""
[workspace]
languages = ["en", "fr"]
[fetch]
retries = 0
[ingest]
task_retries = 1
task_retry_delay = 0
[[sources]]
id = "good"
url = "feeds/good.xml"
[[sources]]
id = "broken"
url = "feeds/broken.xml"
[[sources]]
id = "flaky"
url = "{flaky_url}"
tlp = "GREEN"
"""
    )
    return root


@pytest.fixture(scope="module")
def harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def test_flow_ingests_each_source_isolating_failures_and_retrying_transient_ones(
    harness, tmp_path, flaky_server
):
    from flows.ingest import run_ingest

    FlakyFeed.hits = 0
    workspace = open_workspace(make_workspace(tmp_path / "ws", flaky_server))
    summary = run_ingest(workspace)
    by_source = {r.source: r for r in summary.reports}

    assert by_source["good"].status == "ok" and by_source["good"].new == 2
    assert by_source["broken"].status == "error"
    assert "malformed" in by_source["broken"].error or "not a feed" in by_source["broken"].error
    # The 503 failed the first task attempt; Prefect retried it once.
    assert FlakyFeed.hits == 2
    assert by_source["flaky"].status == "ok" and by_source["flaky"].new == 1
    assert not summary.all_failed

    store = Store(workspace.database_path)
    assert store.count_items() == 3
    runs = store.list_runs()
    assert runs[0]["kind"] == "ingest" and runs[0]["status"] == "ok"
    assert runs[0]["summary"]["totals"]["new"] == 3

    again = {r.source: r for r in run_ingest(workspace).reports}
    assert again["good"].status == "not-modified"
    assert store.count_items() == 3


def test_cli_ingest_json_and_exit_codes(harness, tmp_path, capsys, flaky_server):
    FlakyFeed.hits = 0
    root = make_workspace(tmp_path / "ws", flaky_server)

    assert main(["-w", str(root), "ingest", "--json", "--source", "good"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["source"] for s in report["sources"]] == ["good"]
    first = report["sources"][0]
    assert {"source", "status", "new", "updated", "duplicates", "error"} <= set(first)
    assert first["status"] == "ok" and first["new"] == 2 and first["error"] is None

    # Every selected source failing is the one ingestion outcome that exits non-zero.
    assert main(["-w", str(root), "ingest", "--json", "--source", "broken"]) == 1
    assert json.loads(capsys.readouterr().out)["sources"][0]["status"] == "error"

    assert main(["-w", str(root), "items", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 2
    assert {"id", "source", "url", "title", "summary", "lang", "tlp", "published"} <= set(listed[0])
    assert listed[0]["published"].endswith("Z")


def test_cli_unknown_source_and_invalid_config_exit_2_changing_nothing(tmp_path, capsys):
    root = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/feed.xml")
    assert main(["-w", str(root), "ingest", "--source", "nope"]) == 2
    assert "No source 'nope'" in capsys.readouterr().err

    (root / "briefings.toml").write_text('[[sources]]\nid = "Bad Id"\ntlp = "PINK"\n')
    assert main(["-w", str(root), "ingest"]) == 2
    message = capsys.readouterr().err
    assert (
        "sources[0].id" in message and "sources[0].tlp" in message and "sources[0].url" in message
    )
    assert not (root / "state").exists(), "an invalid config must not create the store"


def test_installed_command_prints_a_clean_summary(tmp_path, flaky_server):
    """As a user runs it: the console script, Prefect's own temporary server, no harness."""
    FlakyFeed.hits = 0
    root = make_workspace(tmp_path / "ws", flaky_server)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["COLUMNS"] = "200"
    command = [sys.executable, "-m", "briefings", "-w", str(root), "ingest"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)

    assert result.returncode == 0, result.stderr
    assert "good" in result.stdout and "broken" in result.stdout
    assert "3 sources, 1 failed" in result.stdout
    # No library tracebacks, no "database is locked", nothing from Prefect.
    assert "Traceback" not in result.stderr + result.stdout
    assert "database is locked" not in result.stderr
    assert result.stderr.strip() == "" or "source broken failed" in result.stderr
