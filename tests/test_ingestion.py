"""Ingestion end to end on real workspaces in tmp_path: local feed files, real
parsing, nh3, lingua and SQLite; the only thing injected is the clock."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from pathlib import Path

import pytest

from briefings.ingestion import Ingestor
from briefings.models import Item, SourceReport
from briefings.store import Store
from briefings.tlp import TLP
from briefings.workspace import Workspace

CSAF_DIR = Path(__file__).parent / "data" / "csaf"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)

ENGLISH = [
    (
        "Ransomware hits a regional hospital group",
        "Several hospitals postponed surgery after attackers encrypted patient records.",
    ),
    (
        "Critical flaw in water utility controllers",
        "Operators should update the controller firmware and restrict remote access now.",
    ),
    (
        "Phishing wave impersonates the tax office",
        "Messages ask for bank details and link to a fake login page; do not answer them.",
    ),
]
FRENCH = (
    "Vulnérabilité critique dans les routeurs des collectivités",
    "Une vulnérabilité permet à un attaquant non authentifié d'exécuter du code à distance "
    "sur les routeurs. Les administrateurs doivent appliquer le correctif publié par "
    "l'éditeur et surveiller les journaux de connexion des dernières semaines.",
)
ARABIC = (
    "تحذير أمني بشأن ثغرة خطيرة في أجهزة التوجيه",
    "تسمح هذه الثغرة للمهاجمين بتنفيذ تعليمات برمجية عن بعد دون مصادقة. ننصح جميع "
    "المؤسسات بتحديث البرنامج الثابت فوراً ومراقبة سجلات الدخول خلال الأسابيع الماضية.",
)


def rss(
    entries: list[tuple[str, str]],
    *,
    feed: str = "main",
    lang: str | None = None,
    site: str = "https://cert.example",
) -> str:
    """An RSS 2.0 document; entry n links to {site}/{feed}/{n}."""
    items = "".join(
        f"<item><title>{escape(title)}</title><link>{site}/{feed}/{n}</link>"
        f"<guid>{site}/{feed}/{n}</guid>"
        f"<pubDate>Mon, 0{n + 1} Feb 2026 08:00:00 +0000</pubDate>"
        f"<description>{escape(f'<p>{body}</p>')}</description></item>\n"
        for n, (title, body) in enumerate(entries)
    )
    language = f"<language>{lang}</language>" if lang else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{feed}</title><link>{site}/</link>{language}\n{items}</channel></rss>\n"
    )


@dataclass
class Env:
    workspace: Workspace
    store: Store
    ingestor: Ingestor

    @property
    def root(self) -> Path:
        return self.workspace.root

    def write(self, relative: str, content: str | bytes) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
        return path

    def ingest(self, source_id: str) -> SourceReport:
        return self.ingestor.ingest_source(self.workspace.config.source(source_id))

    def items(self, source_id: str | None = None) -> list[Item]:
        return self.store.list_items(source=source_id)


@pytest.fixture
def make_env(make_workspace: Callable[..., Workspace]):
    opened: list[Env] = []

    def make(sources_toml: str) -> Env:
        workspace = make_workspace(sources_toml)
        store = Store(workspace.database_path)
        env = Env(workspace, store, Ingestor.for_workspace(workspace, store, clock=lambda: NOW))
        opened.append(env)
        return env

    yield make
    for env in opened:
        env.ingestor.close()
        env.store.close()


def source(id: str, url: str, **extra: str) -> str:
    lines = [f'id = "{id}"', f'url = "{url}"'] + [f'{k} = "{v}"' for k, v in extra.items()]
    return "[[sources]]\n" + "\n".join(lines) + "\n\n"


def advisory(name: str, **document: object) -> str:
    """A real CISA advisory, with top-level ``document`` keys replaced."""
    data = json.loads((CSAF_DIR / name).read_bytes())
    for key, value in document.items():
        data["document"][key] = value
    return json.dumps(data)


def snapshot(items: list[Item]) -> list[tuple]:
    return [(i.id, i.revision, i.title, i.html, i.text, i.tlp, i.lang) for i in items]


# -- runs and revisions -----------------------------------------------------------------


def test_first_run_stores_then_unchanged_file_is_not_modified(make_env) -> None:
    env = make_env(source("main", "feeds/main.xml", lang="en"))
    env.write("feeds/main.xml", rss(ENGLISH))

    first = env.ingest("main")
    assert (first.status, first.new, first.updated, first.duplicates) == ("ok", 3, 0, 0)
    assert first.error is None and first.warnings == []
    items = env.items()
    assert sorted(i.title for i in items) == sorted(t for t, _ in ENGLISH)
    assert all(i.lang == "en" and i.tlp is TLP.CLEAR and i.revision == 1 for i in items)
    assert [i.published for i in items] == sorted((i.published for i in items), reverse=True)

    second = env.ingest("main")
    assert (second.status, second.new, second.updated, second.duplicates) == (
        "not-modified",
        0,
        0,
        0,
    )
    assert snapshot(env.items()) == snapshot(items)
    status = env.store.source_statuses()["main"]
    assert status["status"] == "not-modified" and status["last_ok_at"] == "2026-03-01T12:00:00Z"


def test_edited_entry_is_one_update_keeping_the_old_revision(make_env) -> None:
    env = make_env(source("main", "feeds/main.xml", lang="en"))
    env.write("feeds/main.xml", rss(ENGLISH))
    env.ingest("main")
    edited = list(ENGLISH)
    edited[1] = (edited[1][0], "Operators must update the firmware today: exploitation has begun.")
    env.write("feeds/main.xml", rss(edited))

    report = env.ingest("main")
    assert (report.status, report.new, report.updated, report.duplicates) == ("ok", 0, 1, 2)
    (item,) = [i for i in env.items() if i.url == "https://cert.example/main/1"]
    assert item.revision == 2
    assert "exploitation has begun" in item.text
    old, new = env.store.item_revisions(item.id)
    assert (old.revision, new.revision) == (1, 2)
    assert old.text == ENGLISH[1][1]
    assert old.content_hash != new.content_hash


def test_same_link_in_two_sources_is_one_item_with_both_sources(make_env) -> None:
    env = make_env(
        source("cert-a", "feeds/a.xml", lang="en") + source("cert-b", "feeds/b.xml", lang="en")
    )
    env.write("feeds/a.xml", rss(ENGLISH[:2], feed="shared"))
    # The second source words it differently and adds a tracking parameter and a
    # trailing slash: the canonical link is the same.
    b_doc = rss([(ENGLISH[0][0] + " (relayed)", "Relayed: " + ENGLISH[0][1])], feed="shared")
    b_doc = b_doc.replace(
        "<link>https://cert.example/shared/0</link>",
        "<link>https://CERT.example/shared/0/?utm_source=rss</link>",
    )
    b_doc = b_doc.replace("<guid>https://cert.example/shared/0</guid>", "<guid>b-0001</guid>")
    env.write("feeds/b.xml", b_doc)

    a = env.ingest("cert-a")
    b = env.ingest("cert-b")
    assert (a.new, a.duplicates) == (2, 0)
    assert (b.status, b.new, b.duplicates) == ("ok", 0, 1)
    items = env.items()
    assert len(items) == 2
    (shared,) = [i for i in items if i.url == "https://cert.example/shared/0"]
    assert shared.sources == ["cert-a", "cert-b"]
    assert shared.title == ENGLISH[0][0], "the first wording is kept"
    assert [i.id for i in env.items("cert-b")] == [shared.id]


# -- failure isolation --------------------------------------------------------------------


def test_each_bad_source_fails_alone_with_a_one_line_reason(make_env) -> None:
    env = make_env(
        source("good", "feeds/good.xml", lang="en")
        + source("broken-xml", "feeds/broken.xml")
        + source("missing", "feeds/missing.xml")
        + source("picture", "feeds/logo.png")
        + source("bad-csaf", "csaf/bad.json", kind="csaf")
    )
    env.write("feeds/good.xml", rss(ENGLISH[:2]))
    env.write("feeds/broken.xml", rss(ENGLISH)[:-60])
    env.write("feeds/logo.png", PNG)
    env.write("csaf/bad.json", advisory("va-24-262-01.json", csaf_version="1.2"))

    reports = {s.id: env.ingestor.ingest_source(s) for s in env.workspace.config.sources}
    assert (reports["good"].status, reports["good"].new) == ("ok", 2)
    expected = {
        "broken-xml": "malformed feed",
        "missing": "no such file",
        "picture": "wrong content type image/png",
        "bad-csaf": "csaf_version '1.2'",
    }
    for source_id, reason in expected.items():
        report = reports[source_id]
        assert report.source == source_id
        assert report.status == "error"
        assert reason in report.error and "\n" not in report.error, report.error
        assert not report.error.startswith("unexpected")
        assert report.new == report.updated == report.duplicates == 0
    assert "missing.xml" in reports["missing"].error
    statuses = env.store.source_statuses()
    assert {k: v["status"] for k, v in statuses.items()} == {
        k: r.status for k, r in reports.items()
    }
    assert len(env.items()) == 2


def test_a_source_turned_to_garbage_keeps_what_was_stored(make_env) -> None:
    env = make_env(source("good", "feeds/good.xml", lang="en"))
    env.write("feeds/good.xml", rss(ENGLISH))
    env.ingest("good")
    before = snapshot(env.items())
    revisions_before = {i.id: len(env.store.item_revisions(i.id)) for i in env.items()}

    for garbage in (b"\x00\x01 garbage \xff", b"<html><body>Moved</body></html>", b""):
        env.write("feeds/good.xml", garbage)
        report = env.ingest("good")
        assert report.status == "error" and "\n" not in report.error
        assert snapshot(env.items()) == before
        assert {i.id: len(env.store.item_revisions(i.id)) for i in env.items()} == revisions_before
    status = env.store.source_statuses()["good"]
    assert status["status"] == "error" and status["last_ok_at"] is not None

    # Once the feed is back, byte for byte, it is not even re-read: the failed runs
    # left neither items nor fetch state behind.
    env.write("feeds/good.xml", rss(ENGLISH))
    report = env.ingest("good")
    assert (report.status, report.new, report.updated) == ("not-modified", 0, 0)
    assert env.store.source_statuses()["good"]["status"] == "not-modified"


def test_disabled_source_is_skipped(make_env) -> None:
    env = make_env(source("off", "feeds/none.xml") + "enabled = false\n")
    report = env.ingest("off")
    assert report.status == "skipped" and report.error is None


# -- content ----------------------------------------------------------------------------


def test_stored_html_is_sanitized_with_links_resolved(
    make_env, find_active_content: Callable[[str], list[str]]
) -> None:
    env = make_env(source("main", "feeds/main.xml", lang="en"))
    body = (
        "Read <a href='../faq/patch.html' onclick='steal()'>the FAQ</a> first."
        "<script>steal()</script><img src=x onerror=steal()>"
        "<a href='javascript:steal()'>do not click</a>"
    )
    env.write("feeds/main.xml", rss([("Patch guidance for the new router flaw", body)]))
    env.ingest("main")
    (item,) = env.items()
    assert find_active_content(item.html) == []
    assert 'href="https://cert.example/faq/patch.html"' in item.html
    assert "steal" not in item.html and "steal" not in item.text
    assert item.text.startswith("Read the FAQ first.")


def test_title_with_markup_is_stored_as_text(make_env) -> None:
    env = make_env(source("main", "feeds/main.xml", lang="en"))
    env.write(
        "feeds/main.xml",
        rss([("Patch <b>now</b> &amp; <script>alert(1)</script>later", ENGLISH[0][1])]),
    )
    env.ingest("main")
    (item,) = env.items()
    assert item.title == "Patch now & later"


def test_json_feed_source(make_env) -> None:
    env = make_env(source("json", "feeds/feed.json", lang="en"))
    env.write(
        "feeds/feed.json",
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "CERT",
                "home_page_url": "https://cert.example/",
                "items": [
                    {
                        "id": "1",
                        "url": "/a/1",
                        "title": ENGLISH[0][0],
                        "content_text": ENGLISH[0][1],
                    },
                    {
                        "id": "2",
                        "url": "/a/2",
                        "title": ENGLISH[1][0],
                        "content_html": ENGLISH[1][1],
                    },
                ],
            }
        ),
    )
    report = env.ingest("json")
    assert (report.status, report.new) == ("ok", 2)
    assert sorted(i.url for i in env.items()) == [
        "https://cert.example/a/1",
        "https://cert.example/a/2",
    ]


# -- TLP --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("advisory_label", "source_tlp", "stored"),
    [
        ("AMBER", "GREEN", TLP.AMBER),
        ("WHITE", "AMBER", TLP.AMBER),
        ("CLEAR", "AMBER", TLP.AMBER),
        ("TLP:RED", "CLEAR", TLP.RED),
        ("GREEN", "AMBER+STRICT", TLP.AMBER_STRICT),
    ],
)
def test_the_stricter_tlp_of_source_and_advisory_wins(
    make_env, advisory_label: str, source_tlp: str, stored: TLP
) -> None:
    env = make_env(source("adv", "csaf/advisory.json", kind="csaf", tlp=source_tlp))
    data = json.loads((CSAF_DIR / "icsa-24-277-01.json").read_bytes())
    data["document"]["distribution"]["tlp"]["label"] = advisory_label
    env.write("csaf/advisory.json", json.dumps(data))
    report = env.ingest("adv")
    assert (report.status, report.new) == ("ok", 1)
    (item,) = env.items()
    assert item.tlp is stored
    assert item.extra["csaf"]["tracking_id"] == "ICSA-24-277-01"


def test_feed_items_take_the_source_tlp(make_env) -> None:
    env = make_env(source("members", "feeds/m.xml", tlp="AMBER", lang="en"))
    env.write("feeds/m.xml", rss(ENGLISH[:1]))
    env.ingest("members")
    assert [i.tlp for i in env.items()] == [TLP.AMBER]


# -- language ---------------------------------------------------------------------------


def test_french_text_in_a_source_declared_english_is_filed_french(make_env) -> None:
    env = make_env(source("mislabelled", "feeds/fr.xml", lang="en"))
    env.write("feeds/fr.xml", rss([FRENCH, ENGLISH[0]], lang="en"))
    env.ingest("mislabelled")
    by_title = {i.title: i for i in env.items()}
    french = by_title[FRENCH[0]]
    assert (french.lang, french.lang_declared) == ("fr", "en")
    assert french.lang_confidence >= env.workspace.config.ingest.language_override_confidence
    english = by_title[ENGLISH[0][0]]
    assert (english.lang, english.lang_declared) == ("en", "en")
    assert env.store.list_items(lang="fr") == [french]


def test_arabic_feed_is_filed_arabic(make_env) -> None:
    env = make_env(source("arabic", "feeds/ar.xml"))
    env.write("feeds/ar.xml", rss([ARABIC], feed="ar"))
    env.ingest("arabic")
    (item,) = env.items()
    assert item.lang == "ar" and item.lang_declared is None
    assert item.title == ARABIC[0]


def test_feed_language_is_the_declaration_when_the_source_has_none(make_env) -> None:
    env = make_env(source("fr", "feeds/fr.xml"))
    env.write("feeds/fr.xml", rss([FRENCH], lang="fr-FR"))
    env.ingest("fr")
    (item,) = env.items()
    assert (item.lang, item.lang_declared) == ("fr", "fr")


def test_short_text_keeps_its_declared_language(make_env) -> None:
    env = make_env(source("short", "feeds/s.xml", lang="fr"))
    env.write("feeds/s.xml", rss([("Patch", "")]))
    env.ingest("short")
    (item,) = env.items()
    assert item.lang == "fr" and item.lang_confidence is None


# -- CSAF ROLIE ---------------------------------------------------------------------------

ROLIE_ADVISORIES = {
    "ICSA-24-277-01": ("2024/icsa-24-277-01.json", "2024-10-03T06:00:00Z"),
    "ICSA-24-291-02": ("2024/icsa-24-291-02.json", "2024-10-17T06:00:00Z"),
    "VA-24-262-01": ("it/va-24-262-01.json", "2024-09-18T16:56:00Z"),
}


def write_rolie(env: Env, *, extra_entries: list[dict] | None = None) -> None:
    """A ROLIE index in csaf/feed/ with relative hrefs to copies of real advisories."""
    entries = []
    for tracking_id, (relative, updated) in ROLIE_ADVISORIES.items():
        target = env.root / "csaf" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CSAF_DIR / Path(relative).name, target)
        entries.append(
            {
                "id": tracking_id,
                "updated": updated,
                "content": {"src": f"../{relative}", "type": "application/json"},
            }
        )
    index = {"feed": {"id": "local-white", "entry": entries + (extra_entries or [])}}
    env.write("csaf/feed/index.json", json.dumps(index, indent=2))


def test_rolie_source_ingests_each_advisory_then_is_not_modified(make_env) -> None:
    env = make_env(source("rolie", "csaf/feed/index.json", kind="csaf-rolie", tlp="GREEN"))
    write_rolie(env)

    first = env.ingest("rolie")
    assert (first.status, first.new, first.warnings) == ("ok", 3, [])
    items = env.items()
    assert {i.extra["csaf"]["tracking_id"] for i in items} == set(ROLIE_ADVISORIES)
    assert all(i.tlp is TLP.GREEN for i in items)
    assert [i.published for i in items] == sorted((i.published for i in items), reverse=True)

    second = env.ingest("rolie")
    assert second.status == "not-modified" or second.duplicates == 3
    assert (second.new, second.updated) == (0, 0)

    # The index changes (reformatted), the advisories do not: nothing new either.
    index = env.root / "csaf" / "feed" / "index.json"
    index.write_text(json.dumps(json.loads(index.read_text("utf-8"))), "utf-8")
    third = env.ingest("rolie")
    assert third.status == "ok" and (third.new, third.updated) == (0, 0)
    assert snapshot(env.items()) == snapshot(items)


def test_rolie_bad_advisory_is_a_warning_not_a_failed_source(make_env) -> None:
    env = make_env(source("rolie", "csaf/feed/index.json", kind="csaf-rolie"))
    write_rolie(
        env,
        extra_entries=[
            {"id": "GONE-1", "updated": "2024-01-01T00:00:00Z", "content": {"src": "../gone.json"}},
            {"id": "BAD-2", "updated": "2024-01-02T00:00:00Z", "content": {"src": "../bad.json"}},
        ],
    )
    env.write("csaf/bad.json", "{not json")
    report = env.ingest("rolie")
    assert (report.status, report.new) == ("ok", 3)
    assert sorted(w.split(":")[0] for w in report.warnings) == ["BAD-2", "GONE-1"]
    assert all("\n" not in w for w in report.warnings)


def test_rolie_advisory_that_failed_is_retried_on_the_next_run(make_env) -> None:
    env = make_env(source("rolie", "csaf/feed/index.json", kind="csaf-rolie"))
    write_rolie(env)
    late = env.root / "csaf" / "it" / "va-24-262-01.json"
    late.unlink()  # not there yet: a mirror still syncing, a 404 from a CDN
    first = env.ingest("rolie")
    assert (first.new, len(first.warnings)) == (2, 1)

    shutil.copyfile(CSAF_DIR / "va-24-262-01.json", late)
    second = env.ingest("rolie")
    assert second.new == 1
    assert len(env.items()) == 3
