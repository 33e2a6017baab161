"""Releases of an audience's site: once as many are kept as the configuration says, the
next publish recycles the oldest one (it changes only what differs in it) instead of
making a new tree and pruning the old. What it gives must be what a new tree gives,
whatever was done to the release it recycles."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings import release_ledger
from briefings.publishing import MANIFEST
from briefings.store import Store
from briefings.verification import verify_site
from briefings.workspace import open_workspace

bf = pf.bf
KEEP = "\n[publishing]\nkeep_releases = 2\n"
BODY = "# Hospital wards closed\n\nRansomware closed twelve wards at the Northbank hospital.\n"
TOPICS = [
    ("Wiper hits water utility", "sector.water", "threat.wiper"),
    ("DDoS on rail ticketing", "sector.rail", "threat.ddos"),
    ("Phishing targets schools", "sector.education", "threat.phishing"),
    ("Jamming near airports", "sector.aviation", "threat.gnss-jamming"),
]


@pytest.fixture(params=["ledger", "disk"])
def env(tmp_path: Path, request, monkeypatch):
    """ "ledger": folders of the release to recycle that did not change since it was
    finished are listed from the release ledger (no margin for coarse clocks here: the
    tests wait a tick, :func:`settle`, before changing anything); "disk": every folder
    is read, as when the ledger is lost or every folder changed lately."""
    if request.param == "ledger":
        monkeypatch.setattr(release_ledger, "MARGIN_NS", 0)
    else:
        monkeypatch.setattr(release_ledger, "MARGIN_NS", 10**30)
    env = pf.make_site_env(tmp_path / "ws", extra=KEEP)  # en and fr
    env.mode = request.param
    yield env
    env.close()


def settle() -> None:
    """Wait past a tick of the file-system clock: what changes now has a later ctime
    than the release that was just finished (coarse clocks lag by up to a tick)."""
    time.sleep(0.05)


def releases(env, audience: str = "public") -> list[Path]:
    folder = env.root / "site" / ".releases" / audience
    return sorted(p for p in folder.iterdir() if not p.name.startswith("."))


def tree(folder: Path) -> dict[str, tuple[str, bytes | str]]:
    """Everything under ``folder`` without following links: files with their bytes,
    links with their targets (and nothing is hidden by a link to a folder)."""
    found: dict[str, tuple[str, bytes | str]] = {}
    for top, folders, names in os.walk(folder):
        for name in folders + names:
            path = Path(top) / name
            key = path.relative_to(folder).as_posix()
            if path.is_symlink():
                found[key] = ("link", os.readlink(path))
            elif path.is_file():
                found[key] = ("file", path.read_bytes())
    return found


def inodes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_ino for p in folder.rglob("*") if p.is_file()
    }


def approve_topic(env, n: int) -> str:
    briefing_id = pf.new_briefing(env, TOPICS[n][0], sectors=[TOPICS[n][1]], threats=[TOPICS[n][2]])
    pf.approved(env, briefing_id)
    return briefing_id


def publish_beside_scratch(env, tmp_path: Path, name: str):
    """Publish, and publish a copy of the workspace as it was, with no live site, no
    releases and no caches. Returns the report and the scratch build's public site."""
    copy = pf.copy_without_publish_state(env.root, tmp_path / name)
    report = pf.publish(env)
    workspace = open_workspace(copy, environ={})
    scratch = bf.Env(workspace, Store(workspace.database_path), env.clock)
    try:
        pf.publish(scratch)
        return report, tree(pf.output(scratch).resolve())
    finally:
        scratch.close()


def two_releases(env) -> tuple[str, Path, Path]:
    """A hospital alert (English and French) published, then a second briefing and a
    new French translation of the alert: two releases, as many as are kept. Returns
    the alert's id, the older and the live release."""
    briefing_id = pf.new_briefing(env, "Ransomware shuts hospital wards")
    pf.rewrite(env, briefing_id, BODY)
    pf.approved(env, briefing_id)
    pf.write_translation(env, briefing_id, "fr", "Hôpital fermé", "Douze services fermés.\n")
    pf.publish(env)
    env.clock.advance(days=1)
    approve_topic(env, 0)
    pf.write_translation(env, briefing_id, "fr", "Hôpital fermé", "Les douze services ferment.\n")
    pf.publish(env)
    older, live = releases(env)
    assert pf.output(env).resolve() == live
    settle()
    return briefing_id, older, live


def test_a_recycled_release_holds_what_a_new_tree_would(env, tmp_path: Path) -> None:
    alert, older, live = two_releases(env)
    env.clock.advance(days=1)
    env.write(alert, env.read(alert).replace(b"twelve wards", b"eleven wards"))
    bf.approve_fully(env, alert)  # changed: its pages, lists and feeds are rewritten
    gone = approve_topic(env, 1)
    pf.publish(env)
    settle()
    env.clock.advance(days=1)
    env.workflow().withdraw(gone, "ana", "The source retracted its report")  # files go
    approve_topic(env, 2)

    for step in range(3):  # recycling each of the two releases in turn, and again
        before = pf.output(env).resolve()
        report, scratch = publish_beside_scratch(env, tmp_path, f"scratch-{step}")
        now = pf.output(env).resolve()
        assert now != before and before.is_dir(), step  # the previous release stays
        assert len(releases(env)) == 2, step
        assert tree(now) == scratch, step
        folders = sum(1 for p in now.rglob("*") if p.is_dir()) + 1
        read = report.audiences[0].folders_read
        if env.mode == "ledger":  # the top (renamed) and the folders changed by a publish
            assert read is not None and read < folders / 2, (step, read, folders)
        else:
            assert read is not None and read > folders / 2, (step, read, folders)
        for release in releases(env):
            assert verify_site(release).ok, (step, release.name)
        assert report.audiences[0].written > 0
        env.clock.advance(days=1)
        settle()
        approve_topic(env, 3) if step == 0 else env.write(
            alert, env.read(alert).replace(b"Northbank", f"Northbank {step}".encode())
        )
        if step:
            bf.approve_fully(env, alert)
    assert older not in releases(env) and live not in releases(env)  # both recycled


def test_a_recycled_release_keeps_unchanged_files_as_they_are(env) -> None:
    _, older, live = two_releases(env)
    kept_before = inodes(live)
    env.clock.advance(days=1)
    added = approve_topic(env, 1)

    report = pf.publish(env)

    new = pf.output(env).resolve()
    assert not older.exists() and new.name != older.name  # older became the new release
    after = inodes(new)
    same = {p for p in after if kept_before.get(p) == after[p]}
    changed = set(after) - same
    assert f"en/{added}/index.html" in changed and MANIFEST in changed
    assert "style.css" in same and "briefings.pub" in same
    assert report.audiences[0].written == len(changed)  # the rest was neither written nor linked
    assert verify_site(pf.output(env)).ok


def test_what_was_done_to_the_release_to_recycle_does_not_reach_the_next_site(
    env, tmp_path: Path
) -> None:
    alert, older, live = two_releases(env)
    live_before = tree(live)
    # A page replaced by another file (one the live release does not share: changing a
    # shared one changes the live file's ctime, and then nothing of it is trusted), a
    # stray file, links to outside and to the live release, and a file where a folder
    # will be needed.
    page = older / "fr" / alert / "index.html"
    assert page.stat().st_ino != (live / "fr" / alert / "index.html").stat().st_ino
    page.unlink()
    page.write_bytes(b"<p>forged</p>")
    (older / "en" / "stray.html").write_bytes(b"<script>alert(1)</script>")
    (older / "en" / "passwd.html").symlink_to("/etc/passwd")
    (older / "fr" / "mirror").symlink_to(live, target_is_directory=True)
    env.clock.advance(days=1)
    added = approve_topic(env, 1)
    shutil.rmtree(older / "en" / added, ignore_errors=True)
    (older / "en" / added).write_bytes(b"a file where the page's folder goes")

    _, scratch = publish_beside_scratch(env, tmp_path, "scratch")

    new = pf.output(env).resolve()
    assert new != live and not older.exists()
    built = tree(new)
    assert built == scratch
    assert not any(kind == "link" for kind, _ in built.values())
    assert verify_site(pf.output(env)).ok
    assert tree(live) == live_before  # the previous release (now kept) is untouched


def test_a_live_file_changed_in_place_is_written_afresh_not_kept(env, tmp_path: Path) -> None:
    """An unchanged file of the release to recycle is a hard link of the live one: bytes
    changed in one are changed in both, and the new release must not keep them."""
    _, older, live = two_releases(env)
    css = older / "style.css"
    assert css.stat().st_ino == (live / "style.css").stat().st_ino
    with open(css, "r+b") as handle:  # in place: the same inode
        handle.write(b"/* changed */")
    env.clock.advance(days=1)
    approve_topic(env, 1)

    _, scratch = publish_beside_scratch(env, tmp_path, "scratch")

    new = pf.output(env).resolve()
    assert verify_site(pf.output(env)).ok
    assert tree(new) == scratch
    assert not (new / "style.css").read_bytes().startswith(b"/* changed */")


@pytest.mark.parametrize(
    "damage", ["{damaged", '{"finished_ns": 1, "inodes": {"index.html": "x"}}', '{"inodes": []}']
)
def test_a_lost_or_damaged_ledger_means_reading_every_folder(
    env, tmp_path: Path, damage: str
) -> None:
    _, older, _ = two_releases(env)
    entry = env.root / "state" / "publish" / "public.releases" / f"{older.name}.json"
    assert entry.is_file()
    entry.write_text(damage, "utf-8")
    env.clock.advance(days=1)
    approve_topic(env, 1)

    report, scratch = publish_beside_scratch(env, tmp_path, "scratch")

    new = pf.output(env).resolve()
    assert tree(new) == scratch and verify_site(pf.output(env)).ok
    assert report.audiences[0].folders_read is None  # no ledger entry: all read from disk
    names = {p.name for p in entry.parent.iterdir()}
    assert names == {f"{r.name}.json" for r in releases(env)}  # the damaged entry went


def test_the_recorded_stats_are_those_of_the_live_files_after_recycling(env) -> None:
    """The next build trusts a live file whose stat is the recorded one: after a recycled
    release, what is recorded must be what the files now have (a stale stat would mean
    reading and hashing them all again)."""
    two_releases(env)
    for n in (1, 2):  # each of the two releases recycled in turn
        env.clock.advance(days=1)
        approve_topic(env, n)
        pf.publish(env)
        settle()
    live = pf.output(env).resolve()
    record = json.loads((env.root / "state" / "publish" / "public.json").read_text("utf-8"))

    for path, recorded in record["stats"].items():
        st = (live / path).stat()
        assert recorded == [st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns], path
    assert set(record["stats"]) == {
        p.relative_to(live).as_posix() for p in live.rglob("*") if p.is_file()
    }
