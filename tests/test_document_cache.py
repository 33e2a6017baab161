"""The publish stage knows an unchanged briefing file by its stat and does not read it
again; any change of its bytes (also one that keeps its size and sets its mtime back)
changes its ctime, and then it is read. Bytes read late are checked."""

from __future__ import annotations

import os
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings import document_cache
from briefings.document_cache import CachedFile, DocumentCache
from briefings.documents import parse_document, render_document
from briefings.errors import PublishError

LATER = 10**30  # a clock far after every file's mtime: every file has settled


def write(path: Path, title: str, body: str = "Pumps stopped at the plant.\n") -> bytes:
    raw = render_document({"id": "alert-x", "title": title, "lang": "fr"}, body)
    path.write_bytes(raw)
    return raw


def read_twice(tmp_path: Path, between=None, clock=lambda: LATER):
    """Read a file through one cache, ``between(path)``, then through a second one."""
    db, path = tmp_path / "documents.sqlite", tmp_path / "alert-x.fr.md"
    write(path, "Pompes à l'arrêt")
    first = DocumentCache(db, clock_ns=clock)
    first.read(path)
    first.close()
    if between is not None:
        between(path)
    second = DocumentCache(db, clock_ns=clock)
    try:
        return second.read(path)
    finally:
        second.close()


def is_unread(document) -> bool:
    return isinstance(document, CachedFile) and document._raw is None


def test_an_unchanged_file_is_not_read_again(tmp_path: Path) -> None:
    document = read_twice(tmp_path)

    assert is_unread(document)
    assert document.meta["title"] == "Pompes à l'arrêt"
    raw = (tmp_path / "alert-x.fr.md").read_bytes()
    assert document.read() == raw and document.digest == pf.sha256(raw)
    assert document.body == parse_document(raw, tmp_path / "alert-x.fr.md").body


def test_bytes_changed_in_place_with_the_mtime_set_back_are_read(tmp_path: Path) -> None:
    def same_size_same_mtime(path: Path) -> None:
        st = path.stat()
        raw = path.read_bytes().replace(b"Pompes", b"Vannes")
        with open(path, "r+b") as handle:  # the same inode, the same size
            handle.write(raw)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert path.stat().st_mtime_ns == st.st_mtime_ns and path.stat().st_size == st.st_size

    document = read_twice(tmp_path, same_size_same_mtime)

    assert not is_unread(document)
    assert document.meta["title"] == "Vannes à l'arrêt"


def test_a_file_replaced_by_another_is_read(tmp_path: Path) -> None:
    def replaced(path: Path) -> None:
        st = path.stat()
        other = path.with_name("other.md")
        write(other, "Vannes à l'arrêt")
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        other.replace(path)

    document = read_twice(tmp_path, replaced)

    assert document.meta["title"] == "Vannes à l'arrêt"


def test_a_file_that_had_not_settled_is_read_again(tmp_path: Path) -> None:
    """Read within the same tick as it was written (a coarse file-system clock could
    hide a second write), its stat is not trusted."""
    document = read_twice(tmp_path, clock=lambda: os.stat(tmp_path / "alert-x.fr.md").st_mtime_ns)

    assert not is_unread(document)


def test_bytes_read_late_are_checked(tmp_path: Path) -> None:
    """A file known by its stat, changed after that check: reading its bytes fails
    (its digest already went into the build), naming the file."""
    document = read_twice(tmp_path)
    assert is_unread(document)
    write(tmp_path / "alert-x.fr.md", "Vannes à l'arrêt")

    with pytest.raises(PublishError, match=r"alert-x\.fr\.md changed while it was being published"):
        document.read()


def test_without_a_cache_file_every_read_reads(tmp_path: Path) -> None:
    path = tmp_path / "alert-x.fr.md"
    raw = write(path, "Pompes à l'arrêt")
    cache = DocumentCache(None, clock_ns=lambda: LATER)
    cache.read(path)
    assert cache.read(path).raw == raw
    with pytest.raises(FileNotFoundError):
        cache.read(tmp_path / "missing.md")


def test_a_translation_edited_in_place_is_published(tmp_path: Path, monkeypatch) -> None:
    """End to end: the publish stage knew the French file by its stat; an edit that
    keeps its size and mtime still reaches the French page."""
    monkeypatch.setattr(document_cache, "SETTLED_NS", -1)  # files written just now count
    env = pf.make_site_env(tmp_path / "ws")
    try:
        briefing = pf.new_briefing(env, "Ransomware shuts hospital wards")
        pf.approved(env, briefing)
        pf.write_translation(env, briefing, "fr", "Rançongiciel", "Les pompes sont arrêtées.\n")
        pf.publish(env)
        page = pf.output(env) / "fr" / briefing / "index.html"
        assert "Les pompes sont arrêtées" in page.read_text("utf-8")

        path = env.path(briefing).with_name(f"{briefing}.fr.md")
        st = path.stat()
        path.write_bytes(path.read_bytes().replace(b"Les pompes", b"Les vannes"))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        pf.publish(env)

        text = page.read_text("utf-8")
        assert "Les vannes sont arrêtées" in text and "Les pompes" not in text
    finally:
        env.close()


def test_an_outside_edit_of_a_briefing_is_noticed_by_the_publish_stage(
    tmp_path: Path, monkeypatch
) -> None:
    """The stage's sync knows unchanged briefing files by their stat; an edit that keeps
    the size and mtime still voids the approvals, and the site keeps what was approved."""
    monkeypatch.setattr(document_cache, "SETTLED_NS", -1)
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    try:
        briefing = pf.new_briefing(env, "Ransomware shuts hospital wards")
        pf.rewrite(env, briefing, "# Wards\n\nTwelve wards closed at the hospital.\n")
        pf.approved(env, briefing)
        pf.publish(env)
        pf.publish(env)  # the file is now known by its stat
        page = pf.output(env) / "en" / briefing / "index.html"
        assert "Twelve wards closed" in page.read_text("utf-8")

        path = env.path(briefing)
        st = path.stat()
        path.write_bytes(path.read_bytes().replace(b"Twelve wards", b"Eleven wards"))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        pf.publish(env)

        assert env.store.get_briefing(briefing).state != "published"  # back to review
        text = page.read_text("utf-8")
        assert "Twelve wards closed" in text and "Eleven" not in text
    finally:
        env.close()
