"""The caches of incremental publishing only ever cost time: every input a page depends on
is changed after a first build, and the rebuild (which reuses what it can from the live
release and from ``state/``) must show the change; damaged or stale caches fall back.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings import publishing
from briefings.errors import PublishError
from briefings.publishing import manifest_entries
from briefings.site import SiteBuilder, _format_date, href
from briefings.store import Store
from briefings.tlp import TLP
from briefings.verification import verify_site
from briefings.workspace import CONFIG_NAME, open_workspace

bf = pf.bf
BODY = """# Hospital wards closed

Ransomware closed twelve wards at the Northbank general hospital on Monday night.
"""
FR_BODY = "Un rançongiciel a fermé douze services à l'hôpital de Northbank lundi soir.\n"
DOCUMENTS = Path("state") / "publish" / "documents.sqlite"


@pytest.fixture
def env(tmp_path: Path):
    env = pf.make_site_env(tmp_path / "ws")  # en and fr
    yield env
    env.close()


def published_alert(env, title: str = "Ransomware shuts hospital wards") -> str:
    """An approved alert with a publishable French machine translation, published."""
    briefing_id = pf.new_briefing(env, title)
    pf.rewrite(env, briefing_id, BODY)
    pf.approved(env, briefing_id)
    pf.write_translation(env, briefing_id, "fr", "Hôpital fermé", FR_BODY)
    pf.publish(env)
    return briefing_id


def water_wiper(env) -> str:
    """A second briefing, drafted but not approved: its own sector and threat."""
    return pf.new_briefing(
        env, "Wiper hits water utility", sectors=["sector.water"], threats=["threat.wiper"]
    )


def page(env, path: str, audience: str = "public") -> str:
    return (pf.output(env, audience) / path).read_bytes().decode("utf-8")


def test_a_redone_translation_replaces_the_published_one(env) -> None:
    briefing_id = published_alert(env)
    assert "douze services" in page(env, f"fr/{briefing_id}/index.html")

    pf.write_translation(env, briefing_id, "fr", "Hôpital fermé", FR_BODY.replace("douze", "onze"))
    pf.publish(env)

    fr = page(env, f"fr/{briefing_id}/index.html")
    assert "onze services" in fr and "douze" not in fr
    assert "onze services" in page(env, "fr/feed.atom")
    assert verify_site(pf.output(env)).ok


def test_a_translation_held_for_review_leaves_the_site_on_the_next_build(env) -> None:
    briefing_id = published_alert(env)

    pf.write_translation(
        env, briefing_id, "fr", "Hôpital fermé", FR_BODY, findings=["number 12 missing"]
    )
    pf.publish(env)

    files = pf.site_files(pf.output(env))
    assert f"fr/{briefing_id}/index.html" not in files
    assert all(briefing_id not in path for path in files if path.startswith("fr/"))
    assert verify_site(pf.output(env)).ok


def test_a_changed_glossary_label_rebuilds_every_page_that_shows_it(env) -> None:
    briefing_id = published_alert(env)
    assert "Hospitals" in page(env, f"en/{briefing_id}/index.html")

    def renamed(concept: str, lang: str) -> str:
        return "Health care" if concept == "sector.hospitals" else pf.labels(concept, lang)

    pf.publish_site(env.workspace, env.store, clock=env.clock, labels=renamed)

    for path in (
        f"en/{briefing_id}/index.html",
        "en/index.html",
        "en/sectors/hospitals/index.html",
    ):
        text = page(env, path)
        assert "Health care" in text and ">Hospitals<" not in text, path
    assert "Health care" in page(env, "en/sectors/hospitals/feed.atom")
    assert verify_site(pf.output(env)).ok


def test_a_rejection_before_publishing_keeps_a_briefing_off_a_site_built_before(env) -> None:
    published_alert(env)
    later = water_wiper(env)
    pf.approved(env, later)
    env.workflow().reject(later, "ana", "the source retracted it")

    pf.publish(env)

    files = pf.site_files(pf.output(env))
    assert not pf.files_containing(files, later)
    assert verify_site(pf.output(env)).ok


def _set_max_tlp(env, audience: str, level: str):
    """The workspace's config edited by hand: ``audience`` gets ``max_tlp = level``."""
    config = env.root / CONFIG_NAME
    text = config.read_text("utf-8")
    marker = f'name = "{audience}"\n'
    head, _, tail = text.partition(marker)
    old_line = tail.split("\n", 1)[0]
    config.write_text(head + marker + tail.replace(old_line, f'max_tlp = "{level}"', 1), "utf-8")
    env.store.close()
    workspace = open_workspace(env.root, environ={})
    return bf.Env(workspace, Store(workspace.database_path), env.clock)


def test_changing_an_audience_s_max_tlp_brings_in_and_takes_out_restricted_briefings(
    env,
) -> None:
    published_alert(env)
    amber = pf.new_briefing(
        env, "Dialysis pump firmware flaw", tlp=TLP.AMBER, sectors=["sector.water"]
    )
    pf.rewrite(env, amber, "The pump firmware 3.2 accepts unsigned updates from the clinic.\n")
    pf.approved(env, amber)
    pf.publish(env)
    assert not pf.files_containing(pf.site_files(pf.output(env)), amber)

    env = _set_max_tlp(env, "public", "AMBER")
    pf.publish(env)
    assert f"en/{amber}/index.html" in pf.site_files(pf.output(env))

    env = _set_max_tlp(env, "public", "CLEAR")
    pf.publish(env)
    files = pf.site_files(pf.output(env))
    assert not pf.files_containing(files, amber)
    assert not pf.files_containing(files, "unsigned updates")
    assert verify_site(pf.output(env)).ok
    env.close()


def test_a_damaged_front_matter_cache_only_costs_time(env) -> None:
    briefing_id = published_alert(env)
    (env.root / DOCUMENTS).write_bytes(b"not a database at all" * 100)
    env.write(briefing_id, env.read(briefing_id).replace(b"twelve wards", b"eleven wards"))
    bf.approve_fully(env, briefing_id)  # edited as in a text editor, approved again

    pf.publish(env)

    assert "eleven wards" in page(env, f"en/{briefing_id}/index.html")
    assert verify_site(pf.output(env)).ok


def test_a_damaged_front_matter_cache_entry_is_parsed_again(env) -> None:
    briefing_id = published_alert(env)
    with sqlite3.connect(env.root / DOCUMENTS) as db:
        db.execute("UPDATE meta SET data = ?", ("[{broken",))
    db.close()
    before = pf.site_files(pf.output(env))
    env.clock.advance(days=1)

    pf.publish(env)

    after = pf.site_files(pf.output(env))
    assert {p: d for p, d in after.items() if "manifest" not in p} == {
        p: d for p, d in before.items() if "manifest" not in p
    }
    assert f"en/{briefing_id}/index.html" in after


def test_stale_front_matter_rows_are_dropped_once_they_outnumber_the_live_ones(env) -> None:
    published_alert(env)
    with sqlite3.connect(env.root / DOCUMENTS) as db:
        live = db.execute("SELECT count(*) FROM meta").fetchone()[0]
        db.executemany(
            "INSERT INTO meta (digest, data) VALUES (?, ?)",
            ((f"{n:064x}", "[{}, 1]") for n in range(1500)),
        )
    db.close()

    pf.publish(env)

    with sqlite3.connect(env.root / DOCUMENTS) as db:
        assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == live
    db.close()


def test_a_live_page_deleted_by_hand_is_built_again(env) -> None:
    briefing_id = published_alert(env)
    name = f"en/{briefing_id}/index.html"
    good = page(env, name)
    (pf.output(env) / name).unlink()
    pf.approved(env, water_wiper(env))

    pf.publish(env)

    assert page(env, name) == good
    assert verify_site(pf.output(env)).ok


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("en/{id}/index.html", b"Northbank", b"Southbank"),  # a page
        ("en/{id}.md", b"twelve", b"eleven"),  # a Markdown copy
    ],
)
def test_a_live_file_changed_in_place_with_its_size_kept_is_written_again(
    env, name, old, new
) -> None:
    """Same size, new mtime and ctime: the live file is not linked into the next release."""
    name = name.format(id=published_alert(env))
    live = pf.output(env).resolve() / name
    good = live.read_bytes()
    live.write_bytes(good.replace(old, new))
    assert live.read_bytes() != good and len(live.read_bytes()) == len(good)
    pf.approved(env, water_wiper(env))

    pf.publish(env)

    assert (pf.output(env) / name).read_bytes() == good
    assert verify_site(pf.output(env)).problems == []


def test_a_translation_added_later_appears_in_the_original_s_alternates(env) -> None:
    briefing_id = pf.new_briefing(env, "Ransomware shuts hospital wards")
    pf.rewrite(env, briefing_id, BODY)
    pf.approved(env, briefing_id)
    pf.publish(env)
    assert f'hreflang="fr" href="../../fr/{briefing_id}/"' not in page(
        env, f"en/{briefing_id}/index.html"
    )

    pf.write_translation(env, briefing_id, "fr", "Hôpital fermé", FR_BODY)
    pf.publish(env)

    assert f'hreflang="fr" href="../../fr/{briefing_id}/"' in page(
        env, f"en/{briefing_id}/index.html"
    )
    assert pf.broken_links(pf.output(env)) == []


def test_a_new_briefing_moves_the_others_to_the_next_list_page(tmp_path: Path) -> None:
    env = pf.make_site_env(
        tmp_path / "ws", languages=("en",), extra="\n[publishing]\npage_size = 1\n"
    )
    first = pf.new_briefing(env, "Ransomware shuts hospital wards")
    pf.approved(env, first)
    pf.publish(env)
    assert first in page(env, "en/index.html")
    env.clock.advance(days=1)

    second = pf.new_briefing(env, "Ransomware hits a second hospital")  # the same labels
    pf.approved(env, second)
    pf.publish(env)

    home, older = page(env, "en/index.html"), page(env, "en/page/2/index.html")
    assert f'href="{second}/"' in home and f'href="{first}/"' not in home
    assert f'href="../../{first}/"' in older and f'href="../../{second}/"' not in older
    assert 'rel="next"' in home and 'rel="prev"' in older
    assert pf.broken_links(pf.output(env)) == []
    env.close()


def test_a_correction_translated_later_is_linked_in_that_language_from_the_original(
    env,
) -> None:
    from briefings.documents import parse_document

    original = published_alert(env)
    env.clock.advance(hours=3)
    correction = env.workflow().correct(original, "ben").id
    body = parse_document(env.read(correction), env.path(correction)).body
    pf.rewrite(env, correction, body.replace("twelve", "ten"), changes="Ten wards.")
    pf.approved(env, correction)
    pf.publish(env)
    pf.publish(env)  # the original, now corrected, links its correction
    assert f'href="../../en/{correction}/"' in page(env, f"fr/{original}/index.html")

    pf.write_translation(env, correction, "fr", "Hôpital fermé (corrigé)", FR_BODY)
    pf.publish(env)

    assert f'href="../{correction}/"' in page(env, f"fr/{original}/index.html")
    assert pf.broken_links(pf.output(env)) == []


def test_an_edited_title_shows_in_every_list_that_shows_the_briefing(env) -> None:
    briefing_id = published_alert(env)
    lists = ("en/index.html", "en/sectors/hospitals/index.html", "en/threats/ransomware/index.html")
    assert all("shuts hospital wards" in page(env, path) for path in lists)

    raw = env.read(briefing_id)
    env.write(briefing_id, raw.replace(b"shuts hospital wards", b"shuts two hospital wards"))
    bf.approve_fully(env, briefing_id)
    pf.publish(env)

    for path in lists:
        text = page(env, path)
        assert "shuts two hospital wards" in text and "shuts hospital wards" not in text, path


def _reopened(env, root: Path):
    workspace = open_workspace(root, environ={})
    return bf.Env(workspace, Store(workspace.database_path), env.clock)


def test_a_rebuild_after_many_changes_is_the_same_as_a_build_from_scratch(tmp_path: Path) -> None:
    """Whatever the caches kept, the incremental build writes exactly the bytes a build
    with no cache, no build record and no live site writes from the same workspace."""
    env = pf.make_site_env(tmp_path / "ws")
    kept = published_alert(env)
    amber = pf.new_briefing(env, "Dialysis pump firmware flaw", tlp=TLP.AMBER)
    pf.rewrite(env, amber, "The pump firmware 3.2 accepts unsigned updates from the clinic.\n")
    pf.approved(env, amber)
    gone = water_wiper(env)
    pf.approved(env, gone)
    solo = pf.new_briefing(env, "Phishing targets schools", sectors=["sector.education"])
    pf.approved(env, solo)  # in English only, for now
    pf.publish(env)
    env.clock.advance(days=1)
    env.write(kept, env.read(kept).replace(b"twelve wards", b"eleven wards"))
    bf.approve_fully(env, kept)
    pf.write_translation(env, kept, "fr", "Hôpital fermé", FR_BODY.replace("douze", "onze"))
    env.workflow().withdraw(gone, "ana", "The source retracted its report")
    pf.publish(env)
    env.clock.advance(days=1)
    later = pf.new_briefing(env, "DDoS on rail ticketing", sectors=["sector.rail"])
    pf.approved(env, later)
    pf.write_translation(env, later, "fr", "DDoS ferroviaire", "Billetterie en panne.\n")
    pf.write_translation(env, solo, "fr", "Hameçonnage", "Les écoles visées.\n")
    env.close()
    pf.copy_without_publish_state(tmp_path / "ws", tmp_path / "scratch")
    incremental, scratch = _reopened(env, tmp_path / "ws"), _reopened(env, tmp_path / "scratch")
    assert not (scratch.root / "site").exists()

    pf.publish(incremental)
    pf.publish(scratch)

    for audience in ("public", "members"):
        built = pf.site_files(pf.output(incremental, audience))
        assert built == pf.site_files(pf.output(scratch, audience)), audience
        assert verify_site(pf.output(incremental, audience)).ok
    incremental.close()
    scratch.close()


def test_a_new_render_version_rebuilds_every_page_and_feed(env, monkeypatch) -> None:
    """Pages and feeds name their publications by their bytes (units, feed keys), not by
    their rendering: when what the same Markdown renders to changes (and the render
    version with it), every page and feed showing a body must be built again."""
    from briefings import rendering, site

    briefing = pf.new_briefing(env, "Ransomware shuts hospital wards")
    pf.approved(env, briefing)
    pf.publish(env)
    real = rendering.sanitize
    monkeypatch.setattr(rendering, "sanitize", lambda html: real(html) + "<p>Rendered anew.</p>")
    for module in (rendering, site):
        monkeypatch.setattr(module, "RENDER_VERSION", f"{rendering.RENDER_VERSION}-next")

    pf.publish(env)

    for path in (f"en/{briefing}/index.html", "en/feed.atom", "en/feed.json"):
        assert "Rendered anew." in page(env, path), path


def test_a_finished_build_keeps_nothing_of_itself_alive(env) -> None:
    """Caches live in ``state/`` and in the live release, not in the process: a long-running
    process (``briefings serve``) publishing again and again holds no earlier build (a cache
    on a builder's method once kept the last four, each with all its pages' data)."""
    import gc

    def builders() -> list[SiteBuilder]:
        gc.collect()
        return [o for o in gc.get_objects() if isinstance(o, SiteBuilder)]

    # Builders of earlier tests in this process do not count: a Prefect flow run that
    # failed keeps its exception, and with it the failed build's frames, in its engine.
    earlier = {id(o) for o in builders()}
    published_alert(env)
    pf.publish(env)
    assert [o for o in builders() if id(o) not in earlier] == []
    # Nor its links, dates and parsed manifests (they slowed the next build a tenth).
    assert href.cache_info().currsize == 0
    assert _format_date.cache_info().currsize == 0
    assert manifest_entries.cache_info().currsize == 0


def test_a_failed_build_keeps_nothing_of_itself_alive_either(env, monkeypatch) -> None:
    published_alert(env)
    env.clock.advance(days=1)
    pf.approved(env, pf.new_briefing(env, "Water plant controls tampered with"))

    def fail(*args, **kwargs):
        raise PublishError("the disk is full")

    monkeypatch.setattr(publishing, "_release_stats", fail)
    with pytest.raises(PublishError):
        pf.publish(env)

    assert href.cache_info().currsize == 0
    assert manifest_entries.cache_info().currsize == 0
