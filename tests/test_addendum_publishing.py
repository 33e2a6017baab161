"""An approved AMBER alert, then a CLEAR report of the same event: its addendum is
drafted, approved and published end to end. The public site carries the addendum and
nothing of the AMBER alert (the publish leak scan passes, and the output is searched
here too); the members' site carries both."""

from __future__ import annotations

import re
from pathlib import Path

import briefing_fixtures as bf
import publishing_fixtures as pf
import pytest

from briefings.errors import PublishError

CLEAR_TITLE = "Advisory on infusion devices from the vendor"


@pytest.fixture
def env(tmp_path: Path):
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    yield env
    env.close()


def clear_addendum(env) -> tuple[str, str]:
    """The approved AMBER alert and the approved addendum a CLEAR report of its event made."""
    amber = bf.approved_amber_alert(env)
    env.clock.advance(hours=2)
    # The same sector as the AMBER item's: the reason line it gives ("sector essentialness
    # 5/5 (Hospitals)") is the same in both alerts, and is no leak.
    bf.join_event(env, CLEAR_TITLE, hours=1)
    [addendum] = [b for b in env.draft().created if b.startswith("alert-")]
    pf.approved(env, addendum)
    return amber, addendum


def words_of(files: dict[str, bytes]) -> set[str]:
    """Every word a reader (or a crawler of URLs and feeds) finds in the files."""
    text = "\n".join([*pf.searchable(files).values(), *files]).lower()
    return set(re.findall(r"[a-z0-9]+", text))


def test_the_public_site_gets_the_clear_addendum_and_nothing_of_the_amber_alert(env) -> None:
    amber, addendum = clear_addendum(env)

    report = pf.publish(env, audiences=["public"])  # the leak scan raises on a leak

    assert addendum in report.published and amber not in report.published
    public = pf.site_files(pf.output(env, "public"))
    assert CLEAR_TITLE in pf.page_text(public[f"en/{addendum}/index.html"])
    assert {"sitemap.xml", "en/feed.json"} <= set(pf.files_containing(public, addendum))
    for needle in (amber, bf.AMBER_EVENT_TITLE):
        assert pf.files_containing(public, needle) == [], needle
    words = words_of(public)
    assert bf.slug_words(CLEAR_TITLE) <= words  # the search sees the addendum's words
    leaked = bf.slug_words(bf.AMBER_EVENT_TITLE) & words
    assert leaked == set(), leaked


def test_the_members_site_gets_the_amber_alert_and_its_addendum(env) -> None:
    amber, addendum = clear_addendum(env)

    pf.publish(env)

    members = pf.site_files(pf.output(env, "members"))
    assert {f"en/{amber}/index.html", f"en/{addendum}/index.html"} <= set(members)
    assert bf.AMBER_EVENT_TITLE in pf.page_text(members[f"en/{amber}/index.html"])


def approve_the_amber_digest(env) -> str:
    """The day's AMBER digest, approved: it lists the event's CLEAR report too."""
    [digest] = [r.id for r in env.store.list_briefings() if r.kind == "digest"]
    assert env.store.get_briefing(digest).tlp.value == "AMBER"
    assert CLEAR_TITLE in env.read(digest).decode()
    pf.approved(env, digest)
    return digest


def test_an_approved_amber_digest_listing_the_clear_report_does_not_block_the_public_site(
    env,
) -> None:
    """The CLEAR report's title and summary are in the AMBER digest and on the public
    addendum's page: they betray nothing, and the public build goes through."""
    _, addendum = clear_addendum(env)
    digest = approve_the_amber_digest(env)

    report = pf.publish(env, audiences=["public"])

    assert addendum in report.published and digest not in report.published
    public = pf.site_files(pf.output(env, "public"))
    assert pf.files_containing(public, digest) == []
    leaked = bf.slug_words(bf.AMBER_EVENT_TITLE) & words_of(public)
    assert leaked == set(), leaked


def test_amber_text_around_the_clear_report_in_the_digest_still_counts(env) -> None:
    """Cutting the CLEAR report's text out of the AMBER digest leaves what an officer
    wrote around it a needle: copied into the public addendum, it fails the build."""
    _, addendum = clear_addendum(env)
    digest = approve_the_amber_digest(env)
    secret = "Our liaison in Ostrava confirmed that two dialysis wards were hit"
    text = env.read(digest).decode().replace(f"[{CLEAR_TITLE}]", f"{secret}. See [{CLEAR_TITLE}]")
    pf.rewrite(env, digest, text.split("\n---\n", 1)[1])
    pf.approved(env, digest)
    pf.rewrite(env, addendum, f"# Update\n\n{secret}.\n")
    pf.approved(env, addendum)

    with pytest.raises(PublishError, match=f"{digest} appears in"):
        pf.publish(env, audiences=["public"])
