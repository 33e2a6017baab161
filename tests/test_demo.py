"""`briefings demo`: the README's main command, end to end on the bundled example.

It runs what a user runs (ingest, tag, draft, the demonstration approvals, offline
translation with the bundled packages, publishing), in this process under a Prefect
test harness, then checks the outcome as a member state would: signed sites that
verify, the demonstration said on every page and in the audit log, nothing AMBER on
the public site, pages in every configured language.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
from briefings.audit import AuditLog
from briefings.cli import DEMO_NOTE, main
from briefings.store import Store
from briefings.verification import verify_site
from briefings.workspace import open_workspace

pytestmark = pytest.mark.flow


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, int]:
    from prefect.testing.utilities import prefect_test_harness

    target = tmp_path_factory.mktemp("demo") / "ws"
    with prefect_test_harness(server_startup_timeout=120):
        code = main(["demo", str(target)])
    return target, code


def test_the_demo_publishes_signed_sites_that_verify(demo, capsys):
    target, code = demo
    assert code == 0
    for audience in ("public", "members"):
        result = verify_site(target / "site" / audience)
        assert result.ok and result.checked > 50, result.problems


def test_every_page_and_the_audit_log_say_it_is_a_demonstration(demo):
    target, _ = demo
    workspace = open_workspace(target, environ={})
    store = Store.for_workspace(workspace)
    approvals = [e for e in store.audit_entries() if e.action == "approve"]
    assert approvals and all(DEMO_NOTE in str(e.details) for e in approvals)
    assert AuditLog(store).verify() == []
    pages = list((target / "site" / "public").resolve().rglob("*.html"))
    assert pages
    missing = [p for p in pages if 'class="demo-banner"' not in p.read_text("utf-8")]
    assert missing == []


def test_the_public_site_has_no_amber_briefing_and_every_language(demo):
    target, _ = demo
    workspace = open_workspace(target, environ={})
    store = Store.for_workspace(workspace)
    amber = [r.id for r in store.list_briefings() if r.tlp.value != "CLEAR"]
    assert amber, "the example has an AMBER advisory"
    public = (target / "site" / "public").resolve()
    members = (target / "site" / "members").resolve()
    text = "\n".join(p.read_text("utf-8", "replace") for p in public.rglob("*") if p.is_file())
    assert not [i for i in amber if i in text]
    assert any(i in p.read_text("utf-8", "replace") for i in amber for p in members.rglob("*.md"))
    for lang in workspace.config.workspace.languages:
        assert (public / lang / "index.html").is_file()


def test_translations_are_made_and_doubtful_ones_held_for_review(demo):
    """The bundled packages are small demonstration models: on the example's real text
    their output has findings, and such a translation waits for a linguist instead of
    reaching the site; one without findings would be published."""
    from briefings.documents import parse_document

    target, _ = demo
    workspace = open_workspace(target, environ={})
    public = (target / "site" / "public").resolve()
    for lang in workspace.config.workspace.languages[1:]:
        files = sorted((target / "content").glob(f"*.{lang}.md"))
        assert files, f"no {lang} translation was made"
        for path in files:
            meta = parse_document(path.read_bytes(), path).meta["translation"]
            slug = path.name.removesuffix(f".{lang}.md")
            page = public / lang / slug / "index.html"
            assert meta["state"] in ("needs-review", "machine"), path.name
            # Published exactly when it has no findings (the example allows machine text).
            assert page.exists() == (meta["state"] == "machine" and not meta["findings"])
