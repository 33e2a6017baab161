"""When an excluded briefing's text changes, the leak scan has new needles. Files that
passed the last scan and did not change are then read again only if they may hold one
of the new needles, as the sums of their clauses recorded at their last reading tell;
a new excluded id is ruled out by the sums of the files' id prefixes; sums that are lost,
or a new id without a date to anchor a prefix, mean reading every file again. The needles
themselves are worked out again only for the excluded briefings whose inputs changed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings import publishing
from briefings.documents import parse_document, render_document
from briefings.errors import PublishError
from briefings.publishing import _BuildRecord
from briefings.tlp import TLP
from briefings.verification import verify_site

CLEAR_SENTENCE = "Restore the ward systems from offline backups and call the national CERT team."
CLEAR_BODY = f"# Hospital wards closed\n\nRansomware closed twelve wards.\n\n{CLEAR_SENTENCE}\n"
AMBER_BODY = (
    "# Pump flaw\n\nThe pump firmware 3.2 accepts unsigned updates from the clinic network.\n"
)
FRESH_SENTENCE = "Our liaison confirmed that the vendor ships a fix to members next week."


@pytest.fixture
def env(tmp_path: Path):
    """A public site with a CLEAR alert, and an approved AMBER alert it leaves out."""
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    clear = pf.new_briefing(env, "Ransomware shuts hospital wards")
    pf.rewrite(env, clear, CLEAR_BODY)
    pf.approved(env, clear)
    amber = pf.new_briefing(
        env, "Dialysis pump firmware flaw", tlp=TLP.AMBER, sectors=["sector.water"],
        threats=["threat.wiper"],
    )  # fmt: skip
    pf.rewrite(env, amber, AMBER_BODY)
    pf.approved(env, amber)
    report = pf.publish(env, audiences=["public"])
    assert report.audiences[0].scanned == report.audiences[0].files - 2  # all but .ico, .pub
    env.amber, env.clear = amber, clear
    yield env
    env.close()


def edit_amber(env, sentence: str):
    pf.rewrite(env, env.amber, f"{AMBER_BODY}\n{sentence}\n")
    pf.approved(env, env.amber)
    return pf.publish(env, audiences=["public"])


def test_a_new_sentence_of_an_excluded_briefing_rereads_no_unchanged_file(env) -> None:
    report = edit_amber(env, FRESH_SENTENCE)

    audience = report.audiences[0]
    assert audience.scanned <= 2, audience  # at most the status page and the pages it moved
    assert verify_site(pf.output(env)).ok


def test_a_new_needle_in_an_unchanged_page_is_found(env) -> None:
    """The CLEAR page did not change, but it holds a sentence that is now the AMBER
    alert's too: its clause sums say so, it is read again, the build fails."""
    with pytest.raises(PublishError, match=f"{env.amber} appears in en/{env.clear}/index.html"):
        edit_amber(env, CLEAR_SENTENCE)


def test_without_clause_sums_every_file_is_read_again(env) -> None:
    (env.root / "state" / "publish" / "public.clauses.sqlite").unlink()

    with pytest.raises(PublishError, match=f"{env.amber} appears in en/{env.clear}/index.html"):
        edit_amber(env, CLEAR_SENTENCE)


def test_a_new_excluded_briefing_rereads_no_unchanged_file(env) -> None:
    """Its id is ruled out of the unchanged files by the sums of their id prefixes, though
    it only adds "--2" to the id of the CLEAR alert of the same event, which every page
    names."""
    other = pf.new_briefing(env, "Wiper at the water board", tlp=TLP.AMBER)
    pf.approved(env, other)

    report = pf.publish(env, audiences=["public"])

    audience = report.audiences[0]
    assert audience.excluded == 2
    assert audience.scanned <= 2, audience  # at most the status page and the pages it moved
    assert verify_site(pf.output(env)).ok


def test_a_new_excluded_id_in_an_unchanged_page_is_found(env) -> None:
    """A CLEAR briefing cites another by its id; that one is then raised to AMBER. The
    citing page does not change, but its id prefixes hold the newly excluded id: it is
    read again, and the build fails."""
    cited = pf.new_briefing(env, "Phishing wave against clinics")
    pf.approved(env, cited)
    citing = pf.new_briefing(env, "Clinic phishing follow-up", threats=["threat.phishing"])
    pf.rewrite(env, citing, f"# Follow-up\n\nThis updates briefing {cited} of last week.\n")
    pf.approved(env, citing)
    pf.publish(env, audiences=["public"])
    document = parse_document(env.read(cited), env.path(cited))
    env.write(cited, render_document({**document.meta, "tlp": "AMBER"}, document.body))
    env.workflow().sync(cited)  # raised in a text editor: back to review
    pf.approved(env, cited)

    with pytest.raises(PublishError, match=f"{cited} appears in en/{citing}/index.html"):
        pf.publish(env, audiences=["public"])


def test_a_new_excluded_id_without_a_date_means_reading_every_file(tmp_path) -> None:
    """Only a dated id has an id prefix; for any other, no file is known clean by sums."""
    sums = publishing.ClauseSums(tmp_path / "sums.sqlite")
    page = "See alert-2026-01-01-wiper-at-the-water-board-a1 and alert-2026-01-01-flood-b2."
    sums.save({"d1": publishing.id_prefix_sums(page)}, {"d1"})
    before = ({"old-2026-01-01-x": ["old-2026-01-01-x"]}, {"d1"})

    def clean(new_id: str) -> set[str]:
        needles = {**before[0], new_id: [new_id]}
        return publishing._clean_by_sums(before, needles, sums, {"d1"})

    assert clean("wiper-at-the-water-board") == set()  # no date: read it
    assert clean("alert-2026-01-01-wiper-at-the-water-board-a1") == set()  # there: read it
    assert clean("alert-2026-01-01-wiper-at-the-water-board-a1--2") == {"d1"}
    assert clean("alert-2026-01-02-wiper-at-the-water-board-a1") == {"d1"}
    assert clean("alert-2026-01-01-wiper") == set()  # "-2026-01-01" is in the page


IDS = [
    "alert-2026-03-14-ransomware-at-hospitals-a1b2c3",
    "alert-2026-03-14-ransomware-at-hospitals-a1b2c3--2",
    "digest-2026-03-14-2026-03-15-amber",
    "x-2026-1-2026-03-14-y-2026-03-15-zzzz",
    "debunk-1999-12-31-fake-evacuation-orders-" + "very-long-" * 12 + "end",
    "alert-2026-03-14-x",
]
PIECES = ["-", "2026-", "03-14-", "-2026-03-14-", "xalert", "--2", "a", " ", "\n", "&amp;",
          "é", "ال", "/", ".", "-2026-03-14-ransomware-at-hospitals-a1b2c3"]  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_an_id_anywhere_in_a_text_puts_its_prefix_among_the_text_s(seed: int) -> None:
    """The property the skipping rests on, on random texts around each id: inside a word,
    after dates that overlap it, followed by more of an id, escaped neighbours, other
    scripts."""
    rng = random.Random(seed)
    for briefing_id in IDS:
        prefix = publishing.id_prefix_sum(briefing_id)
        assert prefix is not None
        for _ in range(300):
            before = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))
            after = "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 6)))
            text = before + briefing_id + after
            assert prefix in publishing.id_prefix_sums(text), text
    for undated in ("alert-14-03-2026", "alert-2026-03-14", "alert-2026-3-14-x"):
        assert publishing.id_prefix_sum(undated) is None


def _needle_file(env) -> dict:
    return json.loads((env.root / "state" / "publish" / "public.needles.json").read_text("utf-8"))


def _needles_from_scratch(env) -> dict:
    """The needles of the live inputs worked out anew: the needles file removed, and the
    site published again (the same inputs: nothing else changes)."""
    (env.root / "state" / "publish" / "public.needles.json").unlink()
    pf.publish(env, audiences=["public"])
    return _needle_file(env)["needle_list"]


def reused_needles(monkeypatch) -> list[set[str]]:
    """Per call of leak_needles from now on, the briefings whose needles it was given."""
    asked: list[set[str]] = []
    real = publishing.leak_needles

    def spy(*args, **kwargs):
        asked.append(set(kwargs.get("known") or {}))
        return real(*args, **kwargs)

    monkeypatch.setattr(publishing, "leak_needles", spy)
    return asked


def test_a_new_excluded_briefing_s_needles_are_the_only_ones_worked_out(env, monkeypatch):
    """The other excluded briefings' needles come from the last build, and together they
    are what working everything out anew gives."""
    asked = reused_needles(monkeypatch)
    other = pf.new_briefing(env, "Wiper at the water board", tlp=TLP.AMBER)
    pf.rewrite(env, other, "# Wiper\n\nThe wiper reached the pumping station controllers.\n")
    pf.approved(env, other)

    pf.publish(env, audiences=["public"])

    assert asked == [{env.amber}]  # only the new one worked out
    incremental = _needle_file(env)["needle_list"]
    assert set(incremental) == {env.amber, other}
    assert "The wiper reached the pumping station controllers" in incremental[other]
    assert _needles_from_scratch(env) == incremental


def test_an_edited_excluded_briefing_s_needles_are_worked_out_again(env, monkeypatch):
    asked = reused_needles(monkeypatch)

    edit_amber(env, FRESH_SENTENCE)

    assert asked == [set()]  # the only excluded briefing changed: nothing to reuse
    needles = _needle_file(env)["needle_list"]
    assert FRESH_SENTENCE.rstrip(".") in needles[env.amber]
    assert _needles_from_scratch(env) == needles


def test_needles_are_not_reused_when_what_all_depend_on_changes(env, monkeypatch):
    """Another drafting template (boilerplate every briefing's needles leave out): the
    common key differs, and every briefing's needles are worked out again."""
    asked = reused_needles(monkeypatch)
    monkeypatch.setattr(
        publishing, "drafting_templates", lambda root: ["A template sentence that is new."]
    )
    other = pf.new_briefing(env, "Wiper at the water board", tlp=TLP.AMBER)
    pf.approved(env, other)

    pf.publish(env, audiences=["public"])

    assert asked == [set()]


def test_a_restricted_item_s_new_revision_makes_its_briefing_s_needles_anew(env) -> None:
    """The title of an AMBER briefing's source item changes (a new revision from its
    feed): the briefing's bytes do not, but its needles hold the new title."""
    (item,) = env.store.list_items(ids=env.store.briefing_items(env.amber))
    new_title = "Dialysis pump firmware flaw lets the clinic network push unsigned code"
    env.add_item(
        new_title, key=env._keys[1], tlp=TLP.AMBER, sectors=["sector.water"],
        threats=["threat.wiper"],
    )  # fmt: skip
    assert env.store.list_items(ids=[item.id])[0].title == new_title  # the same item, revised

    pf.publish(env, audiences=["public"])

    assert new_title in _needle_file(env)["needle_list"][env.amber]


def test_each_input_of_the_needles_is_in_the_right_key(env) -> None:
    """What every briefing's needles read changes the common key (and no briefing's);
    what one briefing's read changes its key only."""
    from types import SimpleNamespace

    def pub(briefing_id: str, lang: str, digest: str = "d") -> SimpleNamespace:
        record = SimpleNamespace(lang="en")
        return SimpleNamespace(id=briefing_id, lang=lang, record=record, title="T", digest=digest)

    pubs = [pub("a", "en"), pub("a", "fr"), pub("b", "en"), pub("c", "en")]
    restricted = {"a": ["item a"], "b": ["item b"]}

    def keys(**change) -> publishing.NeedlesKeys:
        given = {"publications": pubs, "restricted": restricted, "boilerplate": "B",
                 "visible": ["seen"], **change}  # fmt: skip
        return publishing._needles_keys(
            env.workspace, given["publications"], {"a", "b"}, given["restricted"],
            given["boilerplate"], given["visible"],
        )  # fmt: skip

    base = keys()
    assert set(base.briefings) == {"a", "b"}  # "c" is not excluded
    for change in ({"visible": ["seen", "more"]}, {"boilerplate": "B2"}):
        other = keys(**change)
        assert other.common != base.common and other.briefings == base.briefings, change
    for change, briefing in (
        ({"restricted": {**restricted, "a": ["item a, revised"]}}, "a"),
        ({"publications": [pub("a", "en"), pub("a", "fr", "d2"), *pubs[2:]]}, "a"),
        ({"publications": [*pubs[:2], pub("b", "en", "d2"), pubs[3]]}, "b"),
    ):
        other = keys(**change)
        assert other.common == base.common and other.whole != base.whole
        changed = {b for b in base.briefings if base.briefings[b] != other.briefings[b]}
        assert changed == {briefing}, change
    assert keys(publications=[*pubs[:3], pub("c", "en", "d2")]) == base  # not excluded


def test_damaged_reusable_needles_are_worked_out_again(env) -> None:
    path = env.root / "state" / "publish" / "public.needles.json"
    stored = json.loads(path.read_text("utf-8"))
    stored["needle_list"][env.amber] = [env.amber, 42]  # not a text: not trusted
    path.write_text(json.dumps(stored), "utf-8")
    record = _BuildRecord(env.root / "state" / "publish" / "public.json")
    keys = publishing.NeedlesKeys("other", stored["common_key"], stored["briefing_keys"])

    assert record.reusable_needles(keys) == {}


def test_needles_are_rewritten_only_when_they_change(env) -> None:
    needles = env.root / "state" / "publish" / "public.needles.json"
    written = needles.stat().st_ino
    pf.approved(env, pf.new_briefing(env, "Flood of fake evacuation orders"))
    pf.publish(env, audiences=["public"])
    assert needles.stat().st_ino == written  # a new CLEAR briefing: the same needles

    edit_amber(env, FRESH_SENTENCE)
    assert needles.stat().st_ino != written
    assert FRESH_SENTENCE.rstrip(".") in needles.read_text("utf-8")


@pytest.mark.parametrize("damage", ["delete", "garble", "other key"])
def test_lost_or_foreign_needles_mean_reading_every_file_again(env, damage: str) -> None:
    """Without the needles the live release was scanned with (the record names their
    key), nothing is known clean: every file is read again. "other key": the very
    needles, filed under another build's key, are not trusted either."""
    needles = env.root / "state" / "publish" / "public.needles.json"
    if damage == "delete":
        needles.unlink()
    elif damage == "garble":
        needles.write_text("{not json", "utf-8")
    else:
        stored = json.loads(needles.read_text("utf-8"))
        needles.write_text(json.dumps({**stored, "needles_key": "0" * 64}), "utf-8")

    audience = edit_amber(env, FRESH_SENTENCE).audiences[0]

    assert audience.scanned == audience.files - 2  # .ico and .pub hold no text to scan
    assert verify_site(pf.output(env)).ok


def test_a_new_scan_version_reads_every_file_again(env, monkeypatch) -> None:
    """Files known clean passed a scan that compared less than a newer one does: after
    an upgrade of the scan, nothing is known clean (and no clause sums are trusted)."""
    monkeypatch.setattr(publishing, "SCAN_VERSION", "next")

    audience = pf.publish(env, audiences=["public"]).audiences[0]

    assert audience.scanned == audience.files - 2  # .ico and .pub hold no text to scan
    audience = edit_amber(env, FRESH_SENTENCE).audiences[0]
    assert audience.scanned <= 2, audience  # then known clean again


def test_comma_pieces_hold_a_sentence_copied_between_commas() -> None:
    sentence = "The pump firmware, made in Brno, accepts unsigned updates"
    for clause in (
        f"As reported, {sentence}",
        f"{sentence}, officials said",
        f"Yesterday, {sentence}, officials said",
        f"Yesterday, at noon, {sentence}",
        f"{sentence}, officials said, at noon",
    ):
        assert sentence in publishing.comma_pieces([clause]), clause
    assert publishing.comma_pieces(["No comma in this sentence at all"]) == set()
    assert publishing.comma_pieces(["Short, bits, only"]) == set()  # shorter than a title


def test_a_feed_s_entries_that_passed_in_their_pages_are_not_read_again(env, monkeypatch) -> None:
    """An edit rewrites the feeds, which carry the other briefings' bodies as well: those
    bodies passed the scan inside their own unchanged pages, so only the edited body is
    read as a fragment; the leak scan still fails the build on a leak in the edit."""
    topics = [
        ("DDoS on rail ticketing", "sector.rail", "threat.ddos"),
        ("Phishing targets schools", "sector.education", "threat.phishing"),
        ("Jamming near airports", "sector.aviation", "threat.gnss-jamming"),
    ]
    others = [
        pf.new_briefing(env, title, sectors=[sector], threats=[threat])
        for title, sector, threat in topics
    ]
    for other in others:
        pf.approved(env, other)
    pf.publish(env, audiences=["public"])
    read: list[str] = []
    real = publishing.readable_clauses

    def counting(path, data, cut=None):
        read.append(path)
        return real(path, data, cut)

    monkeypatch.setattr(publishing, "readable_clauses", counting)
    edited = pf.new_briefing(
        env, "Fake evacuation orders", sectors=["sector.elections"], threats=["threat.defacement"]
    )
    pf.approved(env, edited)
    audience = pf.publish(env, audiences=["public"]).audiences[0]

    fragments = read.count("x.html")  # a fragment is read as "x.html"
    assert fragments == 1, read  # the new body, once for its page and the feeds
    assert audience.scanned >= 4  # its page, its copy, the feeds

    leaky = pf.new_briefing(
        env, "Wiper at the port", sectors=["sector.maritime"], threats=["threat.wiper"]
    )
    pf.rewrite(env, leaky, f"# Port\n\nAs a partner said, {AMBER_BODY.splitlines()[-1]}\n")
    pf.approved(env, leaky)
    with pytest.raises(PublishError, match=f"{env.amber} appears in en/feed.atom"):
        pf.publish(env, audiences=["public"])


def new_clear_briefing(env, n: int) -> None:
    briefing_id = pf.new_briefing(env, f"Phishing wave number {n} at schools")
    pf.rewrite(env, briefing_id, CLEAR_BODY.replace("twelve", f"{n + 13}"))
    pf.approved(env, briefing_id)


def _recorded_sums(env) -> set[str]:
    import sqlite3

    path = env.root / "state" / "publish" / "public.clauses.sqlite"
    with sqlite3.connect(path) as db:
        table = f"sums_v{publishing.SCAN_VERSION}"
        return {digest for (digest,) in db.execute(f"SELECT digest FROM {table}")}


def _live_digests(env) -> set[str]:
    manifest = (pf.output(env) / publishing.MANIFEST).read_text("utf-8")
    return set(publishing.read_manifest(manifest).values())


def test_clause_sums_are_kept_for_the_live_release_only(env) -> None:
    assert _recorded_sums(env) <= _live_digests(env)
    for n in range(3):  # lists and feeds change: their old digests' sums go
        new_clear_briefing(env, n)
        pf.publish(env, audiences=["public"])
        recorded, live = _recorded_sums(env), _live_digests(env)
        assert recorded <= live and len(recorded) >= len(live) - 2  # all but .ico, .pub


def test_clause_sums_of_a_release_that_never_went_live_are_swept_later(env) -> None:
    """Sums recorded for files that never reached the site (here, a build whose switch
    failed, simulated by rows of such digests) are dropped by a later build once the
    table holds more rows than the release has digests."""
    import sqlite3

    path = env.root / "state" / "publish" / "public.clauses.sqlite"
    orphans = [f"{n:064x}" for n in range(50)]
    with sqlite3.connect(path) as db:
        table = f"sums_v{publishing.SCAN_VERSION}"
        db.executemany(f"INSERT INTO {table} VALUES (?, x'01000000')", [(d,) for d in orphans])
    new_clear_briefing(env, 9)
    pf.publish(env, audiences=["public"])
    assert _recorded_sums(env) <= _live_digests(env)


def test_a_record_holding_what_orjson_refuses_is_written_and_read_back(tmp_path: Path) -> None:
    """The build record is written by orjson, which refuses a string with a lone
    surrogate: such a record is written by the standard library and read back whole."""
    needles = {"amber-1": ["a lone \ud800 surrogate", "plain words"]}
    record = _BuildRecord(tmp_path / "public.json")
    keys = publishing.NeedlesKeys("needles-key", "common-key", {"amber-1": "briefing-key"})
    record.save(b"manifest", "digest", {"en/index.html": "key"}, keys, needles)

    again = _BuildRecord(tmp_path / "public.json")
    assert again.needles("needles-key") == needles
    assert again.page_keys(b"manifest") == {"en/index.html": "key"}
