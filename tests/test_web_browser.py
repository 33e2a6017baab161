"""The review web page in a real browser: Debian's Chromium driven by Playwright against
uvicorn on 127.0.0.1, over a real workspace and store. Sign-in, approving, rejecting, an
edit voiding an approval, a tampered CSRF token, a linguist's limits, and hostile item
text that never runs. Screenshots go to ``test-artifacts/`` (ignored by git).

Skipped when /usr/bin/chromium is absent, unless the CI variable is set: then it fails.
Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import briefing_fixtures as bf
import pytest
from argon2 import PasswordHasher, profiles

from briefings.documents import parse_document, sha256_bytes
from briefings.officers import PasswordFile, passwords_path
from briefings.store import Store
from briefings.tlp import TLP
from briefings.web import create_app
from briefings.workspace import CONFIG_NAME, open_workspace

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing; CI must run the browser tests", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)

playwright_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")


DIGEST = f"digest-{bf.PERIOD}"
AMBER_DIGEST = f"digest-{bf.PERIOD}-amber"
PASSWORD = "correct horse battery staple"
# Each payload sets a flag and opens a dialog if it ever runs.
XSS = (
    '<script>window.__xss=1;alert("script")</script>'
    "<img src=x onerror=\"window.__xss=2;alert('img')\">"
)
EXTRA_OFFICERS = """
[[officers]]
name = "rami"
roles = ["linguist"]
languages = ["ar"]
"""


# -- a server and a browser -------------------------------------------------------------


class Server:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a thread."""

    def __init__(self, app):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def env(tmp_path: Path):
    root = tmp_path / "ws"
    root.mkdir()
    text = bf.config_text(extra=EXTRA_OFFICERS).replace(
        'languages = ["en", "fr"]', 'languages = ["en", "fr", "ar"]'
    )
    (root / CONFIG_NAME).write_text(text, "utf-8")
    workspace = open_workspace(root, environ={})
    env = bf.Env(workspace, Store(workspace.database_path), bf.Clock())
    env.add_item(
        f"{XSS} Ransomware shuts hospital wards", f"{XSS} Wards closed after ransomware.",
        threats=["threat.ransomware"], sectors=["sector.hospitals"], priority=75,
        url="https://cert.example/advisories/1",
    )  # fmt: skip
    env.add_item(
        "Phishing wave at water utilities", source="cert-b", tlp=TLP.AMBER,
        threats=["threat.phishing"], sectors=["sector.water"],
    )  # fmt: skip
    env.draft()
    passwords = PasswordFile(
        passwords_path(workspace), hasher=PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    for name in ("ana", "ben", "carla", "lin", "rami"):
        passwords.set(name, PASSWORD)
    env.passwords = passwords
    yield env
    env.close()


@pytest.fixture
def server(env):
    # The real clock: sessions and sign-in counters see time pass as the browser does.
    server = Server(create_app(env.workspace, store=env.store, passwords=env.passwords))
    yield server
    server.stop()


@pytest.fixture
def open_as(browser, server):
    """A signed-in page for an officer, in a browser context of its own (own cookies)."""
    contexts = []

    def open_page(name: str, **context_options):
        context = browser.new_context(viewport={"width": 1200, "height": 900}, **context_options)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(server.url + "/")
        assert "/signin" in page.url  # sent to sign in first
        page.fill("#name", name)
        page.fill("#password", PASSWORD)
        page.click("button:text('Sign in')")
        page.wait_for_selector(f"text=Signed in as {name}")
        return page

    yield open_page
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def state(env, briefing_id: str) -> str:
    return env.store.get_briefing(briefing_id).state


def approve_in_page(page, server, briefing_id: str, note: str = "") -> None:
    page.goto(f"{server.url}/briefings/{briefing_id}")
    if note:
        page.fill("#note", note)
    page.click("button:text-is('Approve')")
    page.wait_for_selector(f"text=You approved {briefing_id}")


# -- the tests -------------------------------------------------------------------------------


def test_sign_in_approve_by_two_officers_and_reject(open_as, server, env):
    ana = open_as("ana")
    assert ana.locator("table.queue").is_visible()
    assert ana.locator(".tlp-banner").first.inner_text().startswith("TLP:AMBER")
    shot(ana, "review-queue")
    approve_in_page(ana, server, DIGEST, note="Sources checked")
    assert state(env, DIGEST) == "in-review"
    ben = open_as("ben")
    approve_in_page(ben, server, DIGEST)
    assert ben.locator(".facts .state").inner_text() == "approved"
    assert state(env, DIGEST) == "approved"
    assert [e.actor for e in env.store.audit_entries(DIGEST) if e.action == "approve"] == [
        "ana", "ben"
    ]  # fmt: skip
    shot(ben, "review-briefing-approved")

    alert = next(r.id for r in env.store.list_briefings() if r.kind == "alert")
    carla = open_as("carla")
    carla.goto(f"{server.url}/briefings/{alert}")
    carla.click("button:text('Reject')")  # without a reason the browser itself refuses
    assert state(env, alert) == "draft"
    carla.fill("#reject-reason", "Not confirmed by a second source")
    carla.click("button:text('Reject')")
    carla.wait_for_selector(f"text=You rejected {alert}")
    assert state(env, alert) == "rejected"
    entry = env.store.audit_entries(alert)[-1]
    assert (entry.actor, entry.action, entry.details["reason"]) == (
        "carla", "reject", "Not confirmed by a second source"
    )  # fmt: skip


def test_an_edit_voids_an_approval_and_its_editor_cannot_approve(open_as, server, env):
    ana = open_as("ana")
    approve_in_page(ana, server, DIGEST)
    ben = open_as("ben")
    ben.goto(f"{server.url}/briefings/{DIGEST}")
    ben.click("text=Edit the Markdown")
    text = ben.input_value("#text")
    assert text.encode() == env.read(DIGEST)  # the textarea holds the file exactly
    ben.fill("#text", text.replace("most urgent first", "most urgent first (revised)"))
    ben.click("button:text('Preview')")
    ben.wait_for_selector("text=Preview (not saved)")
    assert ben.locator(".preview").inner_text().count("(revised)") == 1
    assert env.store.approvals(DIGEST)[0].is_void is False  # a preview changes nothing
    shot(ben, "review-edit-preview")
    ben.click("button:text('Save')")
    ben.wait_for_selector(f"text=You edited {DIGEST}")
    assert b"(revised)" in env.read(DIGEST) and b"\r" not in env.read(DIGEST)
    assert env.store.approvals(DIGEST)[0].is_void
    assert state(env, DIGEST) == "in-review"
    assert "under the four-eyes rule" in ben.inner_text("main")
    assert ben.locator("button:text-is('Approve')").count() == 0
    assert ben.locator(".approvals .void").count() == 1
    shot(ben, "review-edit-voided")


def test_a_tampered_csrf_token_is_refused(open_as, server, env):
    ana = open_as("ana")
    ana.goto(f"{server.url}/briefings/{DIGEST}")
    ana.locator("form[action$='/approve'] input[name=csrf_token]").evaluate(
        "input => { input.value = input.value.slice(0, -4) + 'AAAA'; }"
    )
    ana.click("button:text-is('Approve')")
    ana.wait_for_selector("text=Form refused")
    assert "CSRF check failed" in ana.inner_text("main")
    assert env.store.approvals(DIGEST) == [] and state(env, DIGEST) == "draft"
    shot(ana, "review-csrf-refused")
    # The untouched form still works.
    approve_in_page(ana, server, DIGEST)
    assert [a.officer for a in env.store.approvals(DIGEST)] == ["ana"]


def test_a_linguists_limits(open_as, server, env):
    lin = open_as("lin")
    assert AMBER_DIGEST not in lin.content()  # GREEN at most: the AMBER digest is not listed
    response = lin.goto(f"{server.url}/briefings/{AMBER_DIGEST}")
    assert response.status == 404 and "Phishing" not in lin.content()
    lin.goto(f"{server.url}/briefings/{DIGEST}")
    assert "Linguists approve translations, not source briefings." in lin.inner_text("main")
    assert lin.locator("button:text-is('Approve')").count() == 0
    assert lin.locator("button:text('Reject')").count() == 0
    shot(lin, "review-linguist")
    # Even a hand-made approval of the source is refused by the core, nothing changed.
    lin.locator("form[action='/signout']").evaluate(
        f"form => {{ form.action = '/briefings/{DIGEST}/approve'; form.submit(); }}"
    )
    lin.wait_for_selector("text=Not done:")
    assert "lin is a linguist and cannot approve a source briefing" in lin.inner_text("main")
    assert env.store.approvals(DIGEST) == []


def test_an_arabic_translation_reads_right_to_left_and_its_linguist_approves_it(
    open_as, server, env
):
    from briefings.translation.files import TranslationInfo, build_translation, save_translation

    workflow = env.workflow()
    for officer in ("ana", "ben"):
        workflow.approve(DIGEST, officer)
    record = env.store.get_briefing(DIGEST)
    source = workflow.approved_bytes(DIGEST)
    meta = dict(parse_document(source, env.path(DIGEST)).meta, title="موجز يومي")
    info = TranslationInfo(
        source_lang="en", source_sha256=sha256_bytes(source), package="translate-en_ar",
        package_version="1.0", package_sha256="0" * 12, glossary_version="test",
        translated_at=env.clock(),
        findings=[{"check": "numbers", "where": "body line 3", "message": "missing: 75"}],
    )  # fmt: skip
    data = build_translation(meta, "# موجز يومي\n\nأغلقت المستشفيات ٧٥.\n", "ar", info)
    path = workflow.path_of(record, "ar")
    save_translation(env.store, record, "ar", path, data, info, clock=env.clock)

    rami = open_as("rami")
    rami.goto(f"{server.url}/briefings/{DIGEST}/translations/ar")
    column = rami.locator("article[lang=ar]")
    assert column.get_attribute("dir") == "rtl"
    assert column.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert "missing: 75" in rami.inner_text(".findings")
    shot(rami, "review-translation-rtl")
    rami.click("button:text('Approve the ar translation')")
    rami.wait_for_selector("text=You approved the ar translation")
    assert [a.officer for a in workflow.valid_approvals(record, "ar")] == ["rami"]


def test_hostile_item_text_never_runs(open_as, server, env):
    # CSP off in this context: the escaping alone must keep the payloads inert.
    ana = open_as("ana", bypass_csp=True)
    alert = next(r.id for r in env.store.list_briefings() if r.kind == "alert")
    for path in (
        "/?show=all",
        f"/briefings/{DIGEST}",
        f"/briefings/{alert}",
        f"/briefings/{alert}/edit",
    ):
        ana.goto(server.url + path)
        ana.wait_for_load_state("load")
        assert ana.evaluate("window.__xss") is None, path
        assert ana.locator("main script, main img").count() == 0, path
    ana.goto(f"{server.url}/briefings/{DIGEST}")
    title = ana.locator(".item h3").first.inner_text()
    assert title.startswith('<script>window.__xss=1;alert("script")</script><img src=x onerror=')
    ana.goto(f"{server.url}/briefings/{alert}/edit")
    ana.fill("#text", ana.input_value("#text") + f"\n{XSS}\n")
    ana.click("button:text('Preview')")
    ana.wait_for_selector("text=Preview (not saved)")
    assert ana.evaluate("window.__xss") is None
    assert ana.dialogs == []
    shot(ana, "review-xss-inert")
