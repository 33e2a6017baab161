"""The review web page through Starlette's TestClient, against a real workspace and store:
sign-in and its limits, sessions and CSRF on every action, the workflow's rules exactly as
the command line applies them (four eyes, byte-bound approvals, edits voiding them, the
audit log naming the signed-in officer), TLP limits per role, and hostile item text that
only ever shows as text."""

from __future__ import annotations

import json
import re
import stat
import warnings
from html.parser import HTMLParser
from pathlib import Path

import briefing_fixtures as bf
import pytest
from argon2 import PasswordHasher, profiles

from briefings.documents import parse_document, sha256_bytes
from briefings.errors import ConfigError
from briefings.officers import PasswordFile, passwords_path
from briefings.store import Store
from briefings.tlp import TLP
from briefings.web import create_app
from briefings.web.app import CSP, safe_next
from briefings.web.auth import COOKIE_NAME, load_secret_key, secret_key_path
from briefings.workspace import CONFIG_NAME, open_workspace

with warnings.catch_warnings():  # starlette announces its move to httpx2 on import
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient


P = bf.PERIOD
DIGEST = f"digest-{P}"
AMBER_DIGEST = f"digest-{P}-amber"
PASSWORD = "correct horse battery staple"
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"
XSS_TITLE = f"{XSS} Ransomware shuts hospital wards"
# ana, ben, carla: officers; lin: linguist (fr); plus an admin and an Arabic linguist.
EXTRA_OFFICERS = """
[[officers]]
name = "ada"
roles = ["admin"]
languages = ["fr", "ar"]

[[officers]]
name = "rami"
roles = ["linguist"]
languages = ["ar"]
"""
EVERYONE = ("ana", "ben", "carla", "lin", "ada", "rami")


def make_env(root: Path):
    root.mkdir(parents=True, exist_ok=True)
    text = bf.config_text(extra=EXTRA_OFFICERS).replace(
        'languages = ["en", "fr"]', 'languages = ["en", "fr", "ar"]'
    )
    (root / CONFIG_NAME).write_text(text, "utf-8")
    workspace = open_workspace(root, environ={})
    return bf.Env(workspace, Store(workspace.database_path), bf.Clock())


@pytest.fixture
def env(tmp_path: Path):
    env = make_env(tmp_path / "ws")
    env.add_item(
        XSS_TITLE,
        f"{XSS} Wards closed after ransomware. <b onmouseover=alert(2)>bold</b>",
        threats=["threat.ransomware"], sectors=["sector.hospitals"], priority=75,
        url="https://cert.example/advisories/1", cves=["CVE-2026-1234"],
    )  # fmt: skip
    env.add_item(
        "Phishing wave at water utilities",
        source="cert-b", tlp=TLP.AMBER, threats=["threat.phishing"], sectors=["sector.water"],
        priority=40,
    )  # fmt: skip
    report = env.draft()
    assert DIGEST in report.created and AMBER_DIGEST in report.created, report
    yield env
    env.close()


@pytest.fixture
def passwords(env) -> PasswordFile:
    # The real Argon2, with its cheapest parameters so that sign-ins stay fast.
    file = PasswordFile(
        passwords_path(env.workspace),
        hasher=PasswordHasher.from_parameters(profiles.CHEAPEST),
        clock=env.clock,
    )
    for name in EVERYONE:
        file.set(name, PASSWORD)
    return file


@pytest.fixture
def app(env, passwords):
    return create_app(env.workspace, store=env.store, clock=env.clock, passwords=passwords)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def anonymous(app, **kw) -> TestClient:
    return TestClient(app, base_url="http://127.0.0.1", **kw)


def sign_in(app, name: str, password: str = PASSWORD, **kw) -> TestClient:
    client = anonymous(app, **kw)
    page = client.get("/signin")
    response = client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "name": name, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.csrf = csrf_of(client.get("/").text)  # type: ignore[attr-defined]
    return client


def post(client: TestClient, path: str, **fields: str):
    data = {"csrf_token": client.csrf, **fields}  # type: ignore[attr-defined]
    return client.post(path, data=data, follow_redirects=False)


def approve(client: TestClient, briefing_id: str, note: str = ""):
    return post(client, f"/briefings/{briefing_id}/approve", note=note)


def edit(
    client: TestClient, briefing_id: str, text: str, op: str = "save", base: str | None = None
):
    page = client.get(f"/briefings/{briefing_id}/edit")
    if base is None:
        base = re.search(r'name="base" value="([0-9a-f]{64})"', page.text).group(1)
    return post(client, f"/briefings/{briefing_id}/edit", text=text, base=base, op=op)


def record(env, briefing_id: str):
    return env.store.get_briefing(briefing_id)


def last_audit(env, briefing_id: str):
    return env.store.audit_entries(briefing_id)[-1]


class _ActiveMarkup(HTMLParser):
    """Script, images, frames and event-handler attributes: what must never come from items."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "img", "iframe", "svg", "object", "embed", "style", "base"}:
            self.found.append(f"<{tag}>")
        self.found += [f"<{tag} {name}>" for name, _ in attrs if name.startswith("on")]


def active_markup(html: str) -> list[str]:
    parser = _ActiveMarkup()
    parser.feed(html)
    return parser.found


# -- sign-in, sessions, sign-out ---------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_cookie_and_a_new_session(app, env):
    client = anonymous(app)
    start = client.get("/briefings/" + DIGEST, follow_redirects=False)
    assert start.status_code == 303
    assert start.headers["location"] == f"/signin?next=%2Fbriefings%2F{DIGEST}"
    page = client.get(start.headers["location"])
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback: browsers would drop a Secure cookie
    before = client.cookies[COOKIE_NAME]
    response = client.post(
        "/signin",
        data={"csrf_token": csrf_of(page.text), "name": "ana", "password": PASSWORD,
              "next": f"/briefings/{DIGEST}"},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    assert response.headers["location"] == f"/briefings/{DIGEST}"
    assert client.cookies[COOKIE_NAME] != before  # a fresh session id at sign-in
    assert "Signed in as <strong>ana</strong>" in client.get("/").text
    # The pre-sign-in id is worth nothing now.
    stale = anonymous(app, cookies={COOKIE_NAME: before})
    assert stale.get("/", follow_redirects=False).status_code == 303


def test_cookie_is_secure_when_not_served_on_plain_localhost(env, passwords):
    app = create_app(
        env.workspace, store=env.store, clock=env.clock, passwords=passwords,
        allowed_hosts=("review.example",),
    )  # fmt: skip
    client = TestClient(app, base_url="https://review.example")
    assert "Secure" in client.get("/signin").headers["set-cookie"]


def test_wrong_password_and_unknown_name_get_the_same_answer(app):
    client = anonymous(app)
    token = csrf_of(client.get("/signin").text)
    answers = []
    for name, password in (("ana", "wrong password!"), ("nobody", PASSWORD), ("ana", "")):
        response = client.post(
            "/signin", data={"csrf_token": token, "name": name, "password": password}
        )
        assert response.status_code == 401
        answers.append(re.search(r"<strong>Not done:</strong> ([^<]*)", response.text).group(1))
    assert set(answers) == {"Wrong name or password."}
    assert client.get("/", follow_redirects=False).status_code == 303


def test_a_removed_officer_cannot_sign_in_and_their_session_ends(app, env):
    client = sign_in(app, "carla")
    config = env.workspace.config_path
    config.write_text(config.read_text("utf-8").replace('name = "carla"', 'name = "carlos"'))
    assert client.get("/", follow_redirects=False).status_code == 303
    other = anonymous(app)
    token = csrf_of(other.get("/signin").text)
    response = other.post(
        "/signin", data={"csrf_token": token, "name": "carla", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_setting_a_new_password_ends_the_officers_sessions(app, env, passwords):
    ana, ben = sign_in(app, "ana"), sign_in(app, "ben")
    env.clock.advance(minutes=5)
    passwords.set("ana", "a brand new passphrase")  # as `briefings officers passwd ana` does
    assert ana.get("/", follow_redirects=False).status_code == 303
    assert ben.get("/", follow_redirects=False).status_code == 200
    sign_in(app, "ana", "a brand new passphrase")
    passwords.remove("ben")
    assert ben.get("/", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_for_good(app):
    client = sign_in(app, "ana")
    cookie = client.cookies[COOKIE_NAME]
    response = post(client, "/signout")
    assert response.status_code == 303 and response.headers["location"] == "/signin?signed_out=1"
    assert "You are signed out." in client.get("/signin?signed_out=1").text
    replay = anonymous(app, cookies={COOKIE_NAME: cookie})
    replay.csrf = client.csrf  # type: ignore[attr-defined]
    assert replay.get("/", follow_redirects=False).status_code == 303
    assert approve(replay, DIGEST).status_code == 403


def test_failed_sign_ins_lock_the_name_with_growing_delays(app, env):
    client = anonymous(app)
    token = csrf_of(client.get("/signin").text)

    def attempt(password: str, name: str = "ana", via: TestClient = client):
        return via.post(
            "/signin", data={"csrf_token": token if via is client else csrf_of(via.get("/signin").text),
                             "name": name, "password": password}, follow_redirects=False,
        )  # fmt: skip

    for _ in range(5):
        assert attempt("guess guess guess").status_code == 401
    locked = attempt(PASSWORD)  # even the right password is not checked while locked
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "30"
    assert "Too many failed sign-ins" in locked.text
    # Another computer cannot sign in as ana either: the lock is on the name.
    elsewhere = anonymous(app, client=("10.0.0.9", 4000))
    assert attempt(PASSWORD, via=elsewhere).status_code == 429
    env.clock.advance(seconds=31)
    assert attempt("still guessing").status_code == 401  # the 6th failure doubles the delay
    assert attempt(PASSWORD).headers["retry-after"] == "60"
    env.clock.advance(seconds=61)
    assert attempt(PASSWORD).status_code == 303  # a success clears the count


def test_failed_sign_ins_lock_the_client_whatever_names_it_tries(app):
    client = anonymous(app, client=("10.0.0.7", 5000))
    token = csrf_of(client.get("/signin").text)
    for name in ("ana", "ben", "carla", "lin", "ada", "nobody", "x", "y", "z", "root"):
        response = client.post(
            "/signin", data={"csrf_token": token, "name": name, "password": "x" * 12}
        )
        assert response.status_code == 401
    response = client.post(
        "/signin", data={"csrf_token": token, "name": "rami", "password": PASSWORD}
    )
    assert response.status_code == 429
    # rami from another computer is not locked.
    sign_in(app, "rami", client=("10.0.0.8", 5000))


GET_PAGES = [
    "/",
    "/?show=all",
    f"/briefings/{DIGEST}",
    f"/briefings/{DIGEST}/edit",
    f"/briefings/{DIGEST}/translations/fr",
    "/briefings/no-such-briefing",
]
POST_ACTIONS = [
    (f"/briefings/{DIGEST}/approve", {"note": "ok"}),
    (f"/briefings/{DIGEST}/reject", {"reason": "no"}),
    (f"/briefings/{DIGEST}/withdraw", {"reason": "no"}),
    (f"/briefings/{DIGEST}/edit", {"text": "---\nid: x\n---\n", "op": "save", "base": ""}),
    (f"/briefings/{DIGEST}/translations/fr/approve", {"note": ""}),
]


def test_every_page_and_action_needs_a_session(app, env):
    client = anonymous(app)
    token = csrf_of(client.get("/signin").text)  # an anonymous session with a valid token
    before = env.snapshot()
    for path in GET_PAGES:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next="), path
    for path, fields in POST_ACTIONS:
        for c in (client, anonymous(app)):
            response = c.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)
            assert response.status_code == 403, path
            assert "Sign in again" in response.text
    assert env.snapshot() == before


def test_actions_without_the_sessions_csrf_token_are_refused(app, env):
    ana = sign_in(app, "ana")
    ben = sign_in(app, "ben")
    before = env.snapshot()
    for path, fields in POST_ACTIONS:
        for token in (None, "", "forged-token", ben.csrf):  # ben's token is not ana's
            data = dict(fields) if token is None else {"csrf_token": token, **fields}
            response = ana.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403, (path, token)
            assert "CSRF check failed" in response.text
    # A browser saying the form came from another site is refused even with the token.
    response = ana.post(
        f"/briefings/{DIGEST}/approve", data={"csrf_token": ana.csrf},
        headers={"Sec-Fetch-Site": "cross-site"}, follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 403
    response = ana.post(
        f"/briefings/{DIGEST}/approve", data={"csrf_token": ana.csrf},
        headers={"Origin": "https://evil.example"}, follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 403
    assert env.snapshot() == before
    # Sign-in and sign-out forms carry tokens too.
    fresh = anonymous(app)
    fresh.get("/signin")
    assert fresh.post("/signin", data={"name": "ana", "password": PASSWORD}).status_code == 403
    assert ana.post("/signout", data={}, follow_redirects=False).status_code == 403
    assert ana.get("/", follow_redirects=False).status_code == 200


def test_unsafe_next_targets_go_to_the_queue():
    assert safe_next("/briefings/x?y=1") == "/briefings/x?y=1"
    for target in (
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:x",
        None,
        "/\nx",
    ):
        assert safe_next(target) == "/"


# -- the workflow, as the command line applies it --------------------------------------------


def test_two_officers_approve_and_the_audit_log_names_them(app, env):
    ana, ben = sign_in(app, "ana"), sign_in(app, "ben")
    response = approve(ana, DIGEST, note="checked the sources")
    assert response.status_code == 303 and response.headers["location"] == f"/briefings/{DIGEST}"
    page = ana.get(response.headers["location"]).text
    assert f"You approved {DIGEST} (1 of 2); it is now in-review." in page
    assert "You have approved this version." in page
    assert record(env, DIGEST).state == "in-review"
    approve(ben, DIGEST)
    assert record(env, DIGEST).state == "approved"
    approvals = env.store.approvals(DIGEST)
    assert [(a.officer, a.note) for a in approvals] == [
        ("ana", "checked the sources"),
        ("ben", None),
    ]
    assert {a.sha256 for a in approvals} == {sha256_bytes(env.read(DIGEST))}  # the exact bytes
    actions = [(e.actor, e.action) for e in env.store.audit_entries(DIGEST)]
    assert actions[-4:] == [
        ("ana", "approve"), ("ana", "state:in-review"), ("ben", "approve"), ("ben", "state:approved")
    ]  # fmt: skip
    # Approving twice is refused by the core, shown on the page, nothing changed.
    before = env.snapshot()
    again = approve(ben, DIGEST)
    assert again.status_code == 409 and "only a draft or a briefing in review" in again.text
    assert env.snapshot() == before


def test_the_editor_cannot_approve_their_own_version(app, env):
    ana = sign_in(app, "ana")
    text = env.read(DIGEST).decode().replace("most urgent first", "most urgent first (checked)")
    assert edit(ana, DIGEST, text).status_code == 303
    assert record(env, DIGEST).last_editor == "ana"
    page = ana.get(f"/briefings/{DIGEST}").text
    assert "under the four-eyes rule another officer" in page
    assert f'action="/briefings/{DIGEST}/approve"' not in page  # no approve form for ana
    before = env.snapshot()
    response = approve(ana, DIGEST)
    assert response.status_code == 409
    assert "ana last edited" in response.text and "four-eyes policy" in response.text
    assert env.snapshot() == before
    approve(sign_in(app, "ben"), DIGEST)
    assert [a.officer for a in env.store.approvals(DIGEST)] == ["ben"]


def test_an_edit_voids_approvals_and_is_saved_byte_for_byte(app, env):
    ana, ben, carla = sign_in(app, "ana"), sign_in(app, "ben"), sign_in(app, "carla")
    approve(ana, DIGEST)
    approve(ben, DIGEST)
    assert record(env, DIGEST).state == "approved"
    original = env.read(DIGEST).decode()
    text = original.replace("most urgent first", "most urgent first, as of 09:00 UTC")
    response = edit(carla, DIGEST, text.replace("\n", "\r\n"))  # as a browser sends a textarea
    assert response.status_code == 303
    assert env.read(DIGEST) == text.encode()  # LF, exactly what was typed
    after = record(env, DIGEST)
    assert after.state == "in-review" and after.last_editor == "carla"
    assert "2 approval(s) void" in (after.state_reason or "")
    assert all(a.is_void for a in env.store.approvals(DIGEST))
    entry = last_audit(env, DIGEST)
    assert (entry.actor, entry.action, entry.details["voided_approvals"]) == ("carla", "edit", 2)
    page = carla.get(f"/briefings/{DIGEST}").text
    assert "You edited" in page and "as of 09:00 UTC" in page
    assert '<span class="diff-add">+' in page  # the diff since the approved version


def test_saving_unchanged_text_changes_nothing(app, env):
    ana, ben = sign_in(app, "ana"), sign_in(app, "ben")
    approve(ana, DIGEST)
    before = env.snapshot()
    response = edit(ben, DIGEST, env.read(DIGEST).decode().replace("\n", "\r\n"))
    assert response.status_code == 303
    assert f"No change to {DIGEST}." in ben.get(response.headers["location"]).text
    assert env.snapshot() == before


def test_preview_renders_and_changes_nothing(app, env):
    ana = sign_in(app, "ana")
    before = env.snapshot()
    text = env.read(DIGEST).decode() + "\nA **new** paragraph <script>alert(3)</script>\n"
    response = edit(ana, DIGEST, text, op="preview")
    assert response.status_code == 200
    assert "<strong>new</strong>" in response.text
    assert "alert(3)" in response.text and "<script>alert(3)" not in response.text
    assert (
        "Preview (not saved)" in response.text
        and '<span class="diff-add">+A **new**' in response.text
    )
    broken = edit(ana, DIGEST, "no front matter here\n", op="preview")
    assert "must start with a &#39;---&#39; front matter line" in broken.text
    assert env.snapshot() == before


def test_saving_over_someone_elses_newer_edit_is_refused(app, env):
    ana, ben = sign_in(app, "ana"), sign_in(app, "ben")
    page = ana.get(f"/briefings/{DIGEST}/edit").text
    stale_base = re.search(r'name="base" value="([0-9a-f]{64})"', page).group(1)
    edit(ben, DIGEST, env.read(DIGEST).decode() + "\nBen's line.\n")
    before = env.snapshot()
    response = edit(ana, DIGEST, env.read(DIGEST).decode() + "\nAna's line.\n", base=stale_base)
    assert response.status_code == 409
    assert "changed since you opened it (last edited by ben)" in response.text
    assert env.snapshot() == before
    # Her text is kept, and the form now saves against the current file.
    assert "Ana&#39;s line." in response.text
    assert f'value="{sha256_bytes(env.read(DIGEST))}"' in response.text


def test_reject_needs_a_reason_and_voids_approvals(app, env):
    ana, ben = sign_in(app, "ana"), sign_in(app, "ben")
    approve(ana, DIGEST)
    before = env.snapshot()
    response = post(ben, f"/briefings/{DIGEST}/reject", reason="   ")
    assert response.status_code == 409 and "a rejection needs a reason" in response.text
    assert env.snapshot() == before
    response = post(ben, f"/briefings/{DIGEST}/reject", reason="Sources do not support it")
    assert response.status_code == 303
    assert record(env, DIGEST).state == "rejected"
    assert all(a.is_void for a in env.store.approvals(DIGEST))
    entry = last_audit(env, DIGEST)
    assert (entry.actor, entry.action, entry.details) == (
        "ben",
        "reject",
        {"reason": "Sources do not support it"},
    )
    assert "Sources do not support it" in ben.get(f"/briefings/{DIGEST}").text


def test_withdraw_an_approved_briefing_with_a_reason(app, env):
    ana, ben, carla = sign_in(app, "ana"), sign_in(app, "ben"), sign_in(app, "carla")
    refused = post(carla, f"/briefings/{DIGEST}/withdraw", reason="too early")
    assert refused.status_code == 409 and "only approved or published" in refused.text
    approve(ana, DIGEST)
    approve(ben, DIGEST)
    response = post(carla, f"/briefings/{DIGEST}/withdraw", reason="Superseded by the ministry")
    assert response.status_code == 303
    assert record(env, DIGEST).state == "withdrawn"
    entry = last_audit(env, DIGEST)
    assert (entry.actor, entry.action) == ("carla", "withdraw")


# -- roles and TLP ---------------------------------------------------------------------------


def test_a_linguist_cannot_approve_a_source_briefing(app, env):
    lin = sign_in(app, "lin")
    page = lin.get(f"/briefings/{DIGEST}").text
    assert "Linguists approve translations, not source briefings." in page
    assert f'action="/briefings/{DIGEST}/approve"' not in page
    before = env.snapshot()
    response = approve(lin, DIGEST)  # the form is not there; the core refuses anyway
    assert response.status_code == 409
    assert "lin is a linguist and cannot approve a source briefing" in response.text
    assert post(lin, f"/briefings/{DIGEST}/reject", reason="x").status_code == 409
    assert env.snapshot() == before


def test_nobody_sees_briefings_above_their_roles_tlp(app, env, passwords):
    lin = sign_in(app, "lin")  # linguist: up to GREEN
    assert AMBER_DIGEST not in lin.get("/?show=all").text
    hidden = lin.get(f"/briefings/{AMBER_DIGEST}")
    missing = lin.get("/briefings/digest-1999-01-01")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.text.replace(AMBER_DIGEST, "X") == missing.text.replace("digest-1999-01-01", "X")
    before = env.snapshot()
    for path, fields in POST_ACTIONS:
        response = post(lin, path.replace(DIGEST, AMBER_DIGEST), **fields)
        assert response.status_code == 404, path
    assert lin.get(f"/briefings/{AMBER_DIGEST}/edit").status_code == 404
    assert env.snapshot() == before
    ana = sign_in(app, "ana")  # officer: up to AMBER
    page = ana.get(f"/briefings/{AMBER_DIGEST}")
    assert page.status_code == 200
    assert '<div class="tlp-banner tlp-banner-amber"' in page.text
    assert "Phishing wave at water utilities" in page.text
    queue = ana.get("/").text
    assert AMBER_DIGEST in queue and "tlp-banner-amber" in queue  # the queue holds AMBER titles
    # The policy setting narrows it: officers up to GREEN.
    strict = create_app(
        env.workspace, store=env.store, clock=env.clock, passwords=passwords,
        web_max_tlp={"officer": "GREEN"},
    )  # fmt: skip
    assert sign_in(strict, "ana").get(f"/briefings/{AMBER_DIGEST}").status_code == 404
    assert sign_in(strict, "ada").get(f"/briefings/{AMBER_DIGEST}").status_code == 200
    # An item above the viewer's label is withheld even inside a briefing they may see.
    items = env.store.briefing_items(DIGEST) + env.store.briefing_items(AMBER_DIGEST)
    with env.store.transaction() as conn:
        env.store.set_briefing_items(conn, DIGEST, items)
    page = lin.get(f"/briefings/{DIGEST}").text
    assert "1 item above the TLP label you may see is not shown." in page
    assert "Phishing wave" not in page and "tlp-banner-clear" in page
    page = ana.get(f"/briefings/{DIGEST}").text
    assert "Phishing wave" in page and "tlp-banner-amber" in page  # the page holds AMBER text
    with pytest.raises(ConfigError, match="unknown role"):
        create_app(env.workspace, store=env.store, passwords=passwords, web_max_tlp={"boss": "RED"})


def test_every_page_shows_its_tlp_banner(app):
    ana = sign_in(app, "ana")
    for path in ("/", f"/briefings/{DIGEST}", f"/briefings/{DIGEST}/edit", "/nowhere"):
        html = ana.get(path).text
        assert html.count('class="tlp-banner') == 2, path  # top and bottom
    assert anonymous(app).get("/signin").text.count("TLP:CLEAR") == 2


# -- translations ------------------------------------------------------------------------------


def translate(env, lang: str, title: str, body: str, findings: list[dict]) -> None:
    """Write a translation file as the translation stage does."""
    from briefings.translation.files import TranslationInfo, build_translation, save_translation

    workflow = env.workflow()
    rec = record(env, DIGEST)
    source = workflow.approved_bytes(DIGEST)
    meta = dict(parse_document(source, env.path(DIGEST)).meta, title=title)
    info = TranslationInfo(
        source_lang="en", source_sha256=sha256_bytes(source), package=f"translate-en_{lang}",
        package_version="1.0", package_sha256="0" * 12, glossary_version="test",
        translated_at=env.clock(), findings=findings,
    )  # fmt: skip
    data = build_translation(meta, body, lang, info)
    save_translation(env.store, rec, lang, workflow.path_of(rec, lang), data, info, clock=env.clock)


@pytest.fixture
def translated(app, env):
    approve(sign_in(app, "ana"), DIGEST)
    approve(sign_in(app, "ben"), DIGEST)
    translate(
        env, "fr", "Synthèse quotidienne", "# Synthèse quotidienne\n\nLes hôpitaux <b>fermés</b>.\n",
        [{"check": "numbers", "where": "body line 3", "message": "missing: 75 <script>"}],
    )  # fmt: skip
    translate(env, "ar", "موجز يومي", "# موجز يومي\n\nأغلقت المستشفيات.\n", [])


def test_translation_side_by_side_with_findings_approved_by_its_linguist(app, env, translated):
    lin = sign_in(app, "lin")
    overview = lin.get(f"/briefings/{DIGEST}").text
    assert f'href="/briefings/{DIGEST}/translations/fr"' in overview
    page = lin.get(f"/briefings/{DIGEST}/translations/fr")
    assert page.status_code == 200
    assert '<article class="draft" lang="en" dir="ltr">' in page.text
    assert '<article class="draft" lang="fr" dir="ltr">' in page.text
    assert "missing: 75 &lt;script&gt;" in page.text and "body line 3" in page.text
    response = post(lin, f"/briefings/{DIGEST}/translations/fr/approve", note="relu")
    assert response.status_code == 303
    valid = env.workflow().valid_approvals(record(env, DIGEST), "fr")
    assert [(a.officer, a.note) for a in valid] == [("lin", "relu")]
    entry = last_audit(env, DIGEST)
    assert (entry.actor, entry.action, entry.lang) == ("lin", "approve", "fr")
    assert "You approved the fr translation" in lin.get(response.headers["location"]).text


def test_linguists_approve_only_their_languages_and_officers_none(app, env, translated):
    lin, ana = sign_in(app, "lin"), sign_in(app, "ana")
    page = lin.get(f"/briefings/{DIGEST}/translations/ar").text
    assert "Only linguists whose languages include &#39;ar&#39;" in page
    before = env.snapshot()
    response = post(lin, f"/briefings/{DIGEST}/translations/ar/approve")
    assert (
        response.status_code == 409 and "may not approve &#39;ar&#39; translations" in response.text
    )
    response = post(ana, f"/briefings/{DIGEST}/translations/fr/approve")
    assert response.status_code == 409 and "ana is not a linguist" in response.text
    assert env.snapshot() == before
    assert (
        post(sign_in(app, "rami"), f"/briefings/{DIGEST}/translations/ar/approve").status_code
        == 303
    )


def test_right_to_left_translations_are_shown_right_to_left(app, translated):
    page = sign_in(app, "rami").get(f"/briefings/{DIGEST}/translations/ar").text
    assert '<article class="draft" lang="ar" dir="rtl">' in page
    assert "أغلقت المستشفيات" in page
    assert sign_in(app, "rami").get(f"/briefings/{DIGEST}/translations/de").status_code == 404


# -- hostile content, headers, limits --------------------------------------------------------


def test_hostile_item_html_is_text_on_every_page(app, env, translated):
    ana = sign_in(app, "ana")
    alert = next(r.id for r in env.store.list_briefings() if r.kind == "alert")
    pages = {
        "queue": ana.get("/?show=all"),
        "digest": ana.get(f"/briefings/{DIGEST}"),
        "alert": ana.get(f"/briefings/{alert}"),
        "edit": ana.get(f"/briefings/{alert}/edit"),
        "preview": edit(ana, alert, env.read(alert).decode() + f"\n{XSS}\n", op="preview"),
        "translation": ana.get(f"/briefings/{DIGEST}/translations/fr"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.text
        assert active_markup(html) == [], name
        assert "<script>alert(1)" not in html and "<img src=x" not in html, name
    # The title reaches the officer as the text it is.
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        in pages["digest"].text
    )
    assert "&lt;b onmouseover=alert(2)&gt;bold&lt;/b&gt;" in pages["alert"].text


def test_item_links_tags_and_indicators(app, env):
    page = sign_in(app, "ana").get(f"/briefings/{DIGEST}").text
    assert '<a href="https://cert.example/advisories/1" rel="noopener noreferrer nofollow">' in page
    assert (
        '<mark class="hl hl-threat" title="Ransomware (threat.ransomware)">Ransomware</mark>'
        in page
    )
    assert 'title="sector.hospitals">Health care</span>' in page  # the glossary's label
    assert 'Indicators: <code class="indicator" title="cve">CVE-2026-1234</code>' in page


def test_security_headers_on_every_response(app):
    ana = sign_in(app, "ana")
    responses = [
        ana.get("/"), ana.get(f"/briefings/{DIGEST}"), ana.get("/nowhere"),
        ana.get("/static/review.css"), anonymous(app).get("/", follow_redirects=False),
        approve(ana, "no-such-briefing"), post(ana, "/briefings/x/approve", csrf_token="bad"),
    ]  # fmt: skip
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert CSP == (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert responses[0].headers["cache-control"] == "no-store"
    assert "style=" not in responses[1].text  # inline styles would be blocked by the CSP


def test_other_host_names_and_oversized_or_odd_forms_are_refused(app, env):
    ana = sign_in(app, "ana")
    assert ana.get("/", headers={"Host": "rebound.example"}).status_code == 400
    before = env.snapshot()
    huge = ana.post(
        f"/briefings/{DIGEST}/edit", data={"csrf_token": ana.csrf, "text": "x" * 2_100_000},
        follow_redirects=False,
    )  # fmt: skip
    assert huge.status_code == 413
    multipart = ana.post(
        f"/briefings/{DIGEST}/approve", data={"csrf_token": ana.csrf}, files={"f": ("a", b"b")}
    )
    assert multipart.status_code == 415
    assert env.snapshot() == before


# -- passwords and the secret key ------------------------------------------------------------


def test_password_file_holds_argon2id_hashes_readable_only_by_the_owner(env, passwords):
    path = passwords_path(env.workspace)
    assert path == env.root / "state" / "officers.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data["officers"]) == set(EVERYONE)
    assert all(e["hash"].startswith("$argon2id$") for e in data["officers"].values())
    assert PASSWORD not in path.read_text()
    assert "argon2" not in env.workspace.config_path.read_text()
    assert passwords.verify("ana", PASSWORD) and not passwords.verify("ana", PASSWORD + "!")
    assert not passwords.verify("nobody", PASSWORD)
    with pytest.raises(ConfigError, match="at least 12 characters"):
        passwords.set("ana", "short")
    with pytest.raises(ConfigError, match="not be the name"):
        passwords.set("carla-long-name", "carla-long-name")


def test_default_argon2_parameters_and_rehash_on_sign_in(env):
    cheap = PasswordFile(
        passwords_path(env.workspace), hasher=PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    cheap.set("ana", PASSWORD)
    standard = PasswordFile(passwords_path(env.workspace))  # argon2-cffi's defaults
    assert standard.verify("ana", PASSWORD)
    stored = json.loads(passwords_path(env.workspace).read_text())["officers"]["ana"]["hash"]
    assert not standard.hasher.check_needs_rehash(stored)  # upgraded at sign-in


def test_secret_key_is_made_once_with_mode_0600(env, app):
    path = secret_key_path(env.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_bytes()
    assert load_secret_key(env.root) == key.strip()
    path.chmod(0o644)
    load_secret_key(env.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
