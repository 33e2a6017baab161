"""The published public site in a real browser (Playwright driving Debian's Chromium),
served on 127.0.0.1: English and Arabic pages render, Arabic right to left with Latin
indicators kept left to right, every navigation and language link resolves, no console
errors, the machine-translation notice names its package and links the original, and
hostile HTML from a feed runs nothing. A full-page screenshot per language is kept in
``test-artifacts/``."""

from __future__ import annotations

import functools
import os
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import publishing_fixtures as pf
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
PNG = b"\x89PNG\r\n\x1a\n"

CVE, IP = "CVE-2024-1480", "203.0.113.77"
ARABIC_TITLE = "تنبيه: برامج الفدية تغلق أجنحة المستشفى"
ARABIC_BODY = f"""# {ARABIC_TITLE}

أغلقت برامج الفدية اثني عشر جناحاً في مستشفى نورثبانك العام. استغل المهاجمون الثغرة `{CVE}` من العنوان `{IP}` ثم انتشروا في الشبكة.

تشير التقارير إلى أن الثغرة {CVE} استُغلت من العنوان {IP} في عدة مستشفيات.

## ما العمل

استعيدوا الأنظمة من النسخ الاحتياطية غير المتصلة واتصلوا بفريق الاستجابة الوطني.
"""
PWN = "window.__pwned=1"
HOSTILE_TITLE = f'<script>{PWN}</script>Phishing <img src=x onerror="{PWN}"> at clinics'
HOSTILE_TEXT = (
    f'<script>{PWN}</script> Staff got mail. <img src=x onerror="{PWN}"> '
    f'<a href="javascript:{PWN}">login</a> <iframe src="javascript:{PWN}"></iframe>'
)
HOSTILE_HTML = f"""

## Pasted from the feed

<script>{PWN}</script>

<img src=x onerror="{PWN}">

<svg onload="{PWN}"></svg> <iframe srcdoc="<script>parent.{PWN}</script>"></iframe>

[Open the advisory](javascript:{PWN}) or <a href="jav&#x09;ascript:{PWN}">this</a>.

<details open ontoggle="{PWN}">details</details>

Text with attributes.
{{: onclick="{PWN}" }}
"""


def _require_chromium() -> None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problem = "the playwright package is not installed"
    else:
        problem = None if CHROMIUM.exists() else f"{CHROMIUM} is not installed"
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; the browser tests are required in CI")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict:
    """A published public site in English and Arabic: a briefing with an Arabic machine
    translation, and one drafted from a hostile feed item (also translated)."""
    _require_chromium()
    env = pf.make_site_env(tmp_path_factory.mktemp("browser") / "ws", languages=("en", "ar"))
    good = pf.new_briefing(env, "Ransomware shuts hospital wards", cves=[CVE])
    raw = pf.approved(env, good)
    pf.write_translation(env, good, "ar", ARABIC_TITLE, ARABIC_BODY, source=raw)
    hostile = pf.new_briefing(env, HOSTILE_TITLE, HOSTILE_TEXT, threats=["threat.phishing"])
    drafted = pf.parse_document(env.read(hostile), env.path(hostile)).body
    pf.rewrite(env, hostile, drafted + HOSTILE_HTML)
    raw = pf.approved(env, hostile)
    pf.write_translation(
        env, hostile, "ar", HOSTILE_TITLE, f"# تصيد\n\nنص عربي.\n{HOSTILE_HTML}", source=raw
    )
    report = pf.publish(env, audiences=["public"])
    assert sorted(report.published) == sorted([good, hostile])
    env.close()
    return {"root": pf.output(env), "good": good, "hostile": hostile}


@pytest.fixture(scope="module")
def server(site):
    """The public output served on 127.0.0.1 as `briefings preview` serves it."""

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Handler, directory=str(site["root"]))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


class Visit:
    """A page opened in a fresh context, with its console errors, failed requests and
    dialogs recorded from the first byte."""

    def __init__(self, browser, base: str) -> None:
        self.context = browser.new_context(java_script_enabled=True)
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"failed: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.errors.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
        )
        self.page.on("dialog", self._dialog)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = (message.location or {}).get("url", "")
        self.errors.append(f"console: {message.text} ({where})")

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str):
        response = self.page.goto(urljoin(self.base, path), wait_until="load")
        assert response is not None and response.status == 200, path
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server):
    visits: list[Visit] = []

    def make() -> Visit:
        visits.append(Visit(browser, server))
        return visits[-1]

    yield make
    for one in visits:
        one.close()


def _links(page) -> list[str]:
    return page.eval_on_selector_all("a[href], link[href]", "elements => elements.map(e => e.href)")


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_briefing_renders_in_english_and_arabic(site, visit, lang) -> None:
    one = visit()
    page = one.open(f"{lang}/{site['good']}/")

    heading = page.locator("h1#briefing-title")
    assert heading.is_visible()
    assert heading.inner_text().strip() == (
        ARABIC_TITLE if lang == "ar" else "Alert: Ransomware shuts hospital wards"
    )
    assert page.evaluate("document.documentElement.lang") == lang
    direction = "rtl" if lang == "ar" else "ltr"
    assert page.evaluate("document.documentElement.dir") == direction
    assert page.evaluate("getComputedStyle(document.body).direction") == direction
    assert page.evaluate("document.styleSheets.length") >= 1  # the site's own stylesheet
    body = page.locator(".briefing-body").inner_text()
    assert CVE in body
    if lang == "ar":
        assert IP in body  # Latin indicators stay left to right, isolated, inside Arabic text
        code = page.locator(".briefing-body code", has_text=CVE).first
        assert code.evaluate("e => getComputedStyle(e).direction") == "ltr"
        assert code.evaluate("e => getComputedStyle(e).unicodeBidi") == "isolate"
    assert one.errors == [] and one.dialogs == []

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"site-{lang}.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000


def test_the_arabic_page_says_it_is_a_machine_translation_and_links_the_original(
    site, visit
) -> None:
    one = visit()
    page = one.open(f"ar/{site['good']}/")

    notice = page.locator(".notice-translation")
    assert notice.is_visible()
    assert "translate-en_ar 0.1" in notice.inner_text()
    with page.expect_navigation():
        notice.locator("a").first.click()
    assert urlsplit(page.url).path == f"/en/{site['good']}/"
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert page.locator(".notice-translation").count() == 0
    assert one.errors == []


PAGES = ["", "en/", "ar/", "en/{good}/", "ar/{good}/", "en/{hostile}/", "ar/{hostile}/"]


def test_every_navigation_and_language_link_resolves_without_console_errors(
    site, visit, server
) -> None:
    one = visit()
    checked: dict[str, int] = {}
    for path in PAGES:
        page = one.open(path.format(**site))
        switcher = page.locator("nav.language-switcher a, ul.language-choice a")
        assert switcher.count() >= 1, path
        for url in _links(page):
            if url.startswith(server) and url.split("#")[0] not in checked:
                checked[url.split("#")[0]] = one.context.request.get(url.split("#")[0]).status
    assert one.errors == []
    assert {url: status for url, status in checked.items() if status != 200} == {}
    assert any("/ar/" in url for url in checked) and any("/en/" in url for url in checked)
    # The language switcher of a translated briefing leads to the same briefing.
    page = one.open(f"en/{site['good']}/")
    with page.expect_navigation():
        page.locator("nav.language-switcher a[hreflang='ar']").click()
    assert urlsplit(page.url).path == f"/ar/{site['good']}/"


def test_hostile_html_from_a_feed_executes_nothing(site, visit) -> None:
    one = visit()
    for path in ("en/{hostile}/", "ar/{hostile}/", "en/", "ar/"):
        page = one.open(path.format(**site))
        page.wait_for_timeout(50)  # let any timer or load handler fire

        assert page.evaluate("typeof window.__pwned") == "undefined", path
        active = page.evaluate(
            """() => document.querySelectorAll(
                'script:not([type="application/ld+json"]), img, iframe, svg, object, embed, details'
            ).length"""
        )
        assert active == 0, path
        protocols = page.eval_on_selector_all("a[href]", "links => links.map(a => a.protocol)")
        assert set(protocols) <= {"http:", "https:", "mailto:"}, path
        if "hostile" in path:  # the title is shown as text, not markup
            assert "<script>" in page.locator("h1#briefing-title").inner_text()
            page.locator("main p").first.click()  # clicking around fires no handler
            assert page.evaluate("typeof window.__pwned") == "undefined", path
    assert one.dialogs == [] and one.errors == []


def test_no_page_sends_the_browser_for_a_missing_icon(site) -> None:
    files = pf.site_files(site["root"])
    pages = [path for path in files if path.endswith(".html")]

    assert "favicon.ico" in files or all(b'rel="icon"' in files[p] for p in pages)
