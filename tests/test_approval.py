"""The review workflow on real workspaces: approvals bind to exact bytes, every edit voids
them, four-eyes, refusals that change nothing, withdrawals and corrections.

Briefings are drafted by the real drafter from items stored in the real store (tagged
without spaCy); files are changed with real writes, as an officer's editor would.
"""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import briefing_fixtures as bf
import pytest

from briefings.audit import AuditLog
from briefings.documents import sha256_bytes
from briefings.errors import WorkflowError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def env(tmp_path: Path, database):
    """A workspace with its state on each backend (SQLite, PostgreSQL)."""
    env = bf.make_env(tmp_path / "ws", database=database)
    yield env
    env.close()


@pytest.fixture
def digest(env) -> str:
    return bf.one_digest(env)


def state(env, briefing_id: str) -> str:
    return env.store.get_briefing(briefing_id).state


def row(env, briefing_id: str):
    return next(r for r in env.workflow().review_rows() if r.id == briefing_id)


def valid_officers(env, briefing_id: str) -> list[str]:
    workflow = env.workflow()
    return sorted(a.officer for a in workflow.valid_approvals(workflow.record(briefing_id)))


# -- approvals need N distinct officers ---------------------------------------------------


def test_a_fresh_draft_is_not_approved(env, digest) -> None:
    assert state(env, digest) == "draft"
    assert env.workflow().approved_bytes(digest) is None
    assert row(env, digest).approvals == 0


def test_one_approval_is_in_review_the_second_distinct_officer_approves(env, digest) -> None:
    workflow = env.workflow()
    original = env.read(digest)

    assert workflow.approve(digest, "ana", note="checked the sources").state == "in-review"
    assert workflow.approved_bytes(digest) is None
    assert row(env, digest).approvals == 1

    assert workflow.approve(digest, "ben").state == "approved"
    assert workflow.approved_bytes(digest) == original
    approval_rows = env.store.approvals(digest)
    assert [a.officer for a in approval_rows] == ["ana", "ben"]
    assert {a.sha256 for a in approval_rows} == {sha256_bytes(original)}
    assert approval_rows[0].note == "checked the sources"
    assert env.read(digest) == original, "approving must not touch the approved bytes"


def test_approvals_required_comes_from_the_policy(tmp_path: Path, database) -> None:
    env = bf.make_env(tmp_path / "ws", approvals_required=3, database=database)
    try:
        digest = bf.one_digest(env)
        workflow = env.workflow()
        workflow.approve(digest, "ana")
        assert workflow.approve(digest, "ben").state == "in-review"
        assert workflow.approved_bytes(digest) is None
        assert workflow.approve(digest, "carla").state == "approved"
    finally:
        env.close()


def test_the_same_officer_cannot_approve_twice(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="ana has already approved"):
        workflow.approve(digest, "ana")

    assert env.snapshot() == before
    assert state(env, digest) == "in-review"
    assert workflow.approved_bytes(digest) is None


@pytest.mark.parametrize("officer", ["zed", "Ana", "", "system:draft"])
def test_an_unknown_officer_is_refused_and_nothing_changes(env, digest, officer: str) -> None:
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="Unknown officer"):
        env.workflow().approve(digest, officer)
    assert env.snapshot() == before


def test_a_linguist_cannot_approve_a_source_briefing(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="lin is a linguist"):
        workflow.approve(digest, "lin")

    assert env.snapshot() == before
    assert state(env, digest) == "in-review"


def test_an_unknown_briefing_is_a_workflow_error(env, digest) -> None:
    with pytest.raises(WorkflowError, match="No briefing 'nope'"):
        env.workflow().approve("nope", "ana")


# -- four eyes ------------------------------------------------------------------------------


def test_four_eyes_the_editor_cannot_approve_the_others_can(env, digest) -> None:
    workflow = env.workflow()
    edited = env.read(digest).replace(b"shuts hospital wards.", b"shuts two hospital wards.")
    assert workflow.edit(digest, "ana", edited) is True
    assert env.store.get_briefing(digest).last_editor == "ana"
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="four-eyes"):
        workflow.approve(digest, "ana")
    assert env.snapshot() == before

    workflow.approve(digest, "ben")
    assert workflow.approve(digest, "carla").state == "approved"
    assert workflow.approved_bytes(digest) == edited


def test_four_eyes_an_approver_who_then_edits_loses_approval_and_may_not_reapprove(
    env, digest
) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    workflow.approve(digest, "ben")
    edited = env.read(digest) + b"\nAdded by ben.\n"
    workflow.edit(digest, "ben", edited)

    assert state(env, digest) == "in-review"
    assert valid_officers(env, digest) == []
    with pytest.raises(WorkflowError, match="four-eyes"):
        workflow.approve(digest, "ben")
    workflow.approve(digest, "ana")
    assert workflow.approve(digest, "carla").state == "approved"
    assert workflow.approved_bytes(digest) == edited


def test_without_four_eyes_the_editor_may_approve(tmp_path: Path, database) -> None:
    env = bf.make_env(tmp_path / "ws", four_eyes=False, database=database)
    try:
        digest = bf.one_digest(env)
        workflow = env.workflow()
        workflow.edit(digest, "ana", env.read(digest) + b"\nNote.\n")
        workflow.approve(digest, "ana")
        assert workflow.approve(digest, "ben").state == "approved"
    finally:
        env.close()


def test_an_edit_with_the_same_bytes_is_no_edit(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    workflow.approve(digest, "ben")
    before = env.snapshot()

    assert workflow.edit(digest, "carla", env.read(digest)) is False

    assert env.snapshot() == before
    assert state(env, digest) == "approved"
    assert env.store.get_briefing(digest).last_editor == "system:draft"


# -- any change of a byte voids every approval ----------------------------------------------


def _append_space(raw: bytes) -> bytes:
    return raw + b" "


def _change_one_letter(raw: bytes) -> bytes:
    assert raw.count(b"Ransomware shuts hospital wards. More") == 1
    return raw.replace(b"wards. More", b"wardS. More")


def _front_matter_only(raw: bytes) -> bytes:
    assert raw.count(b"title: Daily digest") == 1
    return raw.replace(b"title: Daily digest", b"title: Daily Digest")


def _crlf(raw: bytes) -> bytes:
    return raw.replace(b"\n", b"\r\n")


def _strip_final_newline(raw: bytes) -> bytes:
    return raw[:-1]


def _utf8_bom(raw: bytes) -> bytes:
    return b"\xef\xbb\xbf" + raw


@pytest.mark.parametrize(
    "change",
    [_append_space, _change_one_letter, _front_matter_only, _crlf, _strip_final_newline],
    ids=["append-space", "one-letter", "front-matter-only", "crlf", "no-final-newline"],
)
def test_any_byte_changed_after_approval_voids_every_approval(env, digest, change) -> None:
    bf.approve_fully(env, digest)
    approved = env.read(digest)
    changed = change(approved)
    assert changed != approved

    env.write(digest, changed)
    notes = env.workflow().sync()

    assert notes and digest in notes[0]
    record = env.store.get_briefing(digest)
    assert record.state == "in-review"
    assert record.content_hash == sha256_bytes(changed)
    assert record.last_editor == "unknown"
    assert all(a.is_void for a in env.store.approvals(digest))
    assert env.workflow().approved_bytes(digest) is None
    shown = row(env, digest)
    assert shown.state == "in-review"
    assert shown.approvals == 0
    assert shown.approved_by == []
    assert "after approval" in shown.reason and "2 approval(s) void" in shown.reason


def test_a_front_matter_edit_updates_the_title_in_the_queue(env, digest) -> None:
    bf.approve_fully(env, digest)
    env.write(digest, _front_matter_only(env.read(digest)))
    env.workflow().sync()
    assert row(env, digest).title == "Daily Digest 2026-03-02"


def test_a_bom_added_by_an_editor_voids_approvals_and_cannot_be_approved(env, digest) -> None:
    bf.approve_fully(env, digest)
    env.write(digest, _utf8_bom(env.read(digest)))
    with pytest.raises(WorkflowError, match=r"digest-2026-03-02\.md:1:"):
        env.workflow().approve(digest, "carla")
    assert state(env, digest) == "in-review"
    assert env.workflow().approved_bytes(digest) is None


def test_touching_a_file_with_the_same_bytes_changes_nothing(env, digest) -> None:
    bf.approve_fully(env, digest)
    path = env.path(digest)
    path.write_bytes(path.read_bytes())  # same bytes, new mtime
    before = env.snapshot()

    assert env.workflow().sync() == []

    assert env.snapshot() == before
    assert state(env, digest) == "approved"
    assert valid_officers(env, digest) == ["ana", "ben"]


def test_a_workflow_edit_after_approval_voids_and_shows_who(env, digest) -> None:
    bf.approve_fully(env, digest)
    env.workflow().edit(digest, "carla", env.read(digest) + b"\nCorrected a figure.\n")
    shown = row(env, digest)
    assert shown.state == "in-review"
    assert shown.approvals == 0
    assert shown.reason == "edited after approval: 2 approval(s) void"
    assert all(
        a.void_reason == "file changed after approval (edited)" for a in env.store.approvals(digest)
    )


def test_an_edit_between_two_approvals_means_the_second_does_not_approve(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    env.write(digest, _append_space(env.read(digest)))  # behind the program's back

    assert workflow.approve(digest, "ben").state == "in-review"

    assert valid_officers(env, digest) == ["ben"]
    assert workflow.approved_bytes(digest) is None
    assert row(env, digest).approvals == 1
    # ana approves the new bytes: now two officers approved the same bytes.
    assert workflow.approve(digest, "ana").state == "approved"
    assert workflow.approved_bytes(digest) == env.read(digest)


def test_an_edit_between_approvals_through_the_workflow_too(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    workflow.edit(digest, "carla", _change_one_letter(env.read(digest)))
    assert workflow.approve(digest, "ben").state == "in-review"
    assert valid_officers(env, digest) == ["ben"]


def test_approved_bytes_are_the_approved_bytes_not_the_file(env, digest) -> None:
    bf.approve_fully(env, digest)
    approved = env.read(digest)
    workflow = env.workflow()

    env.write(digest, approved.replace(b"Ransomware", b"Wiper"))
    # Before anything notices the edit: still the exact bytes approved, never the file's.
    assert workflow.approved_bytes(digest) == approved
    # Once noticed, the approvals are void and nothing may be published.
    workflow.sync()
    assert workflow.approved_bytes(digest) is None


def test_approved_bytes_survive_a_reapproval_cycle(env, digest) -> None:
    workflow = env.workflow()
    bf.approve_fully(env, digest)
    second = env.read(digest) + b"\nUpdate: services restored.\n"
    workflow.edit(digest, "carla", second)
    workflow.approve(digest, "ana")
    workflow.approve(digest, "ben")
    assert workflow.approved_bytes(digest) == second
    assert env.store.blob(sha256_bytes(second)) == second


def test_an_approval_keeps_the_bytes_even_when_the_file_is_gone(env, digest) -> None:
    bf.approve_fully(env, digest)
    approved = env.read(digest)
    env.path(digest).unlink()
    assert env.store.blob(sha256_bytes(approved)) == approved


# -- a missing file -----------------------------------------------------------------------


def test_a_deleted_file_voids_approvals_and_cannot_be_approved(env, digest) -> None:
    bf.approve_fully(env, digest)
    env.path(digest).unlink()
    workflow = env.workflow()

    notes = workflow.sync()
    assert notes == [f"{digest}: its file content/{digest}.md is missing"]
    assert state(env, digest) == "in-review"
    assert row(env, digest).reason == "file missing"
    assert workflow.approved_bytes(digest) is None
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="is missing; nothing to approve"):
        workflow.approve(digest, "carla")
    assert env.workflow().sync() == []  # reported once, not on every sync
    assert env.snapshot() == before


def test_a_restored_file_can_be_approved_again(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    original = env.read(digest)
    env.path(digest).unlink()
    workflow.sync()

    env.path(digest).write_bytes(original)  # restored from a backup, byte for byte
    workflow.sync()

    workflow.approve(digest, "ana")
    assert workflow.approve(digest, "ben").state == "approved"


def test_a_file_rewritten_after_it_went_missing_can_be_approved(env, digest) -> None:
    workflow = env.workflow()
    original = env.read(digest)
    env.path(digest).unlink()
    workflow.sync()

    env.path(digest).write_bytes(original + b"\nRewritten.\n")
    workflow.approve(digest, "ana")
    assert workflow.approve(digest, "ben").state == "approved"


# -- broken front matter ----------------------------------------------------------------


def _break_front_matter(raw: bytes) -> bytes:
    lines = raw.split(b"\n")
    assert lines[2] == b"kind: digest"
    lines[2] = b"kind: digest: broken"  # file line 3
    return b"\n".join(lines)


def test_broken_front_matter_is_refused_naming_file_and_line(env, digest) -> None:
    env.write(digest, _break_front_matter(env.read(digest)))
    workflow = env.workflow()

    with pytest.raises(WorkflowError) as caught:
        workflow.approve(digest, "ana")

    message = str(caught.value)
    assert f"content/{digest}.md:3:" in message
    assert "broken front matter" in message
    assert state(env, digest) == "draft"
    assert env.store.approvals(digest) == []
    assert [e.action for e in env.store.audit_entries(digest)][-1] == "edit"
    # Refused every time, not only the first.
    with pytest.raises(WorkflowError, match=":3: broken front matter"):
        workflow.approve(digest, "ben")
    assert env.store.approvals(digest) == []


def test_broken_front_matter_after_approval_voids_and_is_refused(env, digest) -> None:
    bf.approve_fully(env, digest)
    env.write(digest, _break_front_matter(env.read(digest)))
    workflow = env.workflow()

    with pytest.raises(WorkflowError, match=":3: broken front matter"):
        workflow.approve(digest, "carla")

    assert state(env, digest) == "in-review"
    assert workflow.approved_bytes(digest) is None
    assert valid_officers(env, digest) == []
    assert [a.officer for a in env.store.approvals(digest)] == ["ana", "ben"]


@pytest.mark.parametrize(
    ("content", "where"),
    [
        (b"no front matter at all\n", ":1: the file must start"),
        (b"---\nid: x\n\nbody without a closing fence\n", "not closed"),
        (b"---\n- a\n- list\n---\n\nbody\n", ":2: the front matter must be a mapping"),
        (b"---\ntitle: caf\xe9\n---\n\nLatin-1, not UTF-8\n", "not UTF-8"),
        (b"---\nid: x\n\ttitle: tab\n---\n\nbody\n", ":3: broken front matter"),
    ],
    ids=["no-fence", "unclosed", "not-a-mapping", "latin-1", "tab-indent"],
)
def test_a_workflow_edit_with_a_broken_file_is_refused_before_writing(
    env, digest, content: bytes, where: str
) -> None:
    before = env.snapshot()
    with pytest.raises(WorkflowError, match=where) as caught:
        env.workflow().edit(digest, "ana", content)
    assert f"{digest}.md" in str(caught.value)
    assert env.snapshot() == before


# -- rejected, withdrawn, published, corrected ------------------------------------------


def test_approving_a_rejected_briefing_is_refused_and_changes_nothing(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    workflow.reject(digest, "ben", "sources do not support the claim")
    assert state(env, digest) == "rejected"
    assert all(a.is_void for a in env.store.approvals(digest))
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="is rejected"):
        workflow.approve(digest, "carla")

    assert env.snapshot() == before  # no approval row, no audit entry, same head


def test_rejecting_an_approved_briefing_voids_its_approvals(env, digest) -> None:
    bf.approve_fully(env, digest)
    workflow = env.workflow()
    assert workflow.reject(digest, "carla", "a figure is wrong").state == "rejected"
    assert workflow.approved_bytes(digest) is None
    assert row(env, digest).approvals == 0
    assert {a.void_reason for a in env.store.approvals(digest)} == {"reject: a figure is wrong"}


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_reject_and_withdraw_need_a_reason(env, digest, reason: str) -> None:
    workflow = env.workflow()
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="needs a reason"):
        workflow.reject(digest, "ana", reason)
    assert env.snapshot() == before

    bf.approve_fully(env, digest)
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="needs a reason"):
        workflow.withdraw(digest, "ana", reason)
    assert env.snapshot() == before
    assert state(env, digest) == "approved"


def test_a_linguist_cannot_reject_or_withdraw(env, digest) -> None:
    workflow = env.workflow()
    with pytest.raises(WorkflowError, match="not an officer"):
        workflow.reject(digest, "lin", "no")
    bf.approve_fully(env, digest)
    with pytest.raises(WorkflowError, match="not an officer"):
        workflow.withdraw(digest, "lin", "no")
    assert state(env, digest) == "approved"


def test_a_linguist_cannot_edit_a_source_briefing(env, digest) -> None:
    workflow = env.workflow()
    path = workflow.path_of(workflow.record(digest))
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="lin is not an officer and cannot edit"):
        workflow.edit(digest, "lin", path.read_bytes() + b"\nA linguist's addition.\n")
    assert env.snapshot() == before


def test_withdraw_only_from_approved_or_published(env, digest) -> None:
    workflow = env.workflow()
    with pytest.raises(WorkflowError, match="is draft; only approved or published"):
        workflow.withdraw(digest, "ana", "wrong")
    workflow.approve(digest, "ana")
    with pytest.raises(WorkflowError, match="is in-review"):
        workflow.withdraw(digest, "ana", "wrong")
    workflow.reject(digest, "ben", "duplicate")
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="is rejected"):
        workflow.withdraw(digest, "ana", "wrong")
    assert env.snapshot() == before


def test_withdraw_an_approved_and_a_published_briefing(env) -> None:
    env.add_item("First", threats=["threat.ddos"], sectors=["sector.elections"], priority=30)
    env.add_item(
        "Second",
        threats=["threat.ransomware"],
        sectors=["sector.hospitals"],
        priority=80,
        published=bf.T0.replace(day=3),
    )
    env.draft()
    first, second = "digest-2026-03-02", "digest-2026-03-03"
    workflow = env.workflow()
    bf.approve_fully(env, first)
    bf.approve_fully(env, second)
    workflow.mark_published(second, "system:publish", sha256_bytes(env.read(second)))

    assert workflow.withdraw(first, "carla", "superseded").state == "withdrawn"
    assert workflow.withdraw(second, "carla", "wrong figures").state == "withdrawn"
    assert env.store.get_briefing(second).state_reason == "wrong figures"
    with pytest.raises(WorkflowError, match="is withdrawn"):
        workflow.approve(second, "ana")
    with pytest.raises(WorkflowError, match="is withdrawn"):
        workflow.edit(second, "ana", env.read(second) + b"x")


def test_mark_published_only_after_approval(env, digest) -> None:
    workflow = env.workflow()
    workflow.approve(digest, "ana")
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="only approved briefings are published"):
        workflow.mark_published(digest, "system:publish", sha256_bytes(env.read(digest)))
    assert env.snapshot() == before


def test_mark_published_refuses_bytes_that_were_not_approved(env, digest) -> None:
    bf.approve_fully(env, digest)
    not_approved = sha256_bytes(env.read(digest) + b"tampered")
    with pytest.raises(WorkflowError):
        env.workflow().mark_published(digest, "system:publish", not_approved)


def test_published_cannot_be_edited_only_corrected(env, digest) -> None:
    workflow = env.workflow()
    bf.approve_fully(env, digest)
    workflow.mark_published(digest, "system:publish", sha256_bytes(env.read(digest)))
    assert state(env, digest) == "published"
    before = env.snapshot()

    with pytest.raises(WorkflowError, match="make a correction: briefings correct"):
        workflow.edit(digest, "ana", env.read(digest) + b"\nfix\n")
    with pytest.raises(WorkflowError, match="is published"):
        workflow.approve(digest, "carla")
    assert env.snapshot() == before


def test_correct_then_publish_the_correction_marks_the_original_corrected(env, digest) -> None:
    workflow = env.workflow()
    bf.approve_fully(env, digest)
    published = env.read(digest)
    workflow.mark_published(digest, "system:publish", sha256_bytes(published))

    correction = workflow.correct(digest, "ana")

    assert correction.id == f"{digest}--v2"
    assert correction.corrects == digest
    assert correction.state == "draft"
    assert correction.version == 2
    document = workflow.document(correction.id)
    assert document.meta["id"] == f"{digest}--v2"
    assert document.meta["corrects"] == digest
    assert document.meta["version"] == 2
    assert "changes" in document.meta
    assert env.store.briefing_items(correction.id) == env.store.briefing_items(digest)
    assert env.read(digest) == published, "the published original is never touched"
    assert workflow.approved_bytes(digest) == published
    with pytest.raises(WorkflowError, match="already exists"):
        workflow.correct(digest, "ben")

    # The officer who started the correction counts as its editor (four-eyes).
    fixed = env.read(correction.id).replace(
        b"Describe what this correction changes.", b"Two wards, not three."
    )
    workflow.edit(correction.id, "ana", fixed)
    with pytest.raises(WorkflowError, match="four-eyes"):
        workflow.approve(correction.id, "ana")
    workflow.approve(correction.id, "ben")
    workflow.approve(correction.id, "carla")
    assert state(env, digest) == "published", "not corrected before the correction is out"

    workflow.mark_published(correction.id, "system:publish", sha256_bytes(fixed))

    assert state(env, correction.id) == "published"
    assert state(env, digest) == "corrected"
    assert env.store.get_briefing(digest).state_reason == f"superseded by {digest}--v2"
    with pytest.raises(WorkflowError, match="is corrected"):
        workflow.edit(digest, "ana", published + b"x")


def test_a_correction_of_a_correction_keeps_the_original_stem(env, digest) -> None:
    workflow = env.workflow()
    bf.approve_fully(env, digest)
    workflow.mark_published(digest, "p", sha256_bytes(env.read(digest)))
    v2 = workflow.correct(digest, "carla").id
    bf.approve_fully(env, v2)
    workflow.mark_published(v2, "p", sha256_bytes(env.read(v2)))

    v3 = workflow.correct(v2, "carla")

    assert v3.id == f"{digest}--v3"
    assert v3.corrects == v2


def test_only_published_briefings_are_corrected(env, digest) -> None:
    bf.approve_fully(env, digest)
    before = env.snapshot()
    with pytest.raises(WorkflowError, match="only published briefings are corrected"):
        env.workflow().correct(digest, "ana")
    assert env.snapshot() == before


def test_raising_the_tlp_in_the_front_matter_reaches_the_record(env, digest) -> None:
    raw = env.read(digest)
    assert raw.count(b"\ntlp: CLEAR\n") == 1
    env.workflow().edit(digest, "ana", raw.replace(b"\ntlp: CLEAR\n", b"\ntlp: AMBER\n"))
    assert row(env, digest).tlp == "AMBER"


# -- only the CLI approves -------------------------------------------------------------------


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _approval_calls(path: Path) -> list[str]:
    """Every `.approve`, `.add_approval` or `getattr(x, "approve")` in one source file."""
    names = {"approve", "add_approval"}
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and any(isinstance(a, ast.Constant) and a.value in names for a in node.args)
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: getattr")
    return found


def test_no_flow_or_nlp_module_approves() -> None:
    files = _python_files("flows", "nlp")
    assert any(p.name == "draft.py" for p in files), "flows/ not found: wrong root?"
    offenders = [hit for path in files for hit in _approval_calls(path)]
    assert offenders == []
    for path in files:
        assert ".approve(" not in path.read_text("utf-8"), path


def test_only_the_cli_and_the_workflow_approve_in_the_core() -> None:
    # approval.py approves source briefings; translation/review.py approves translations
    # under the same rules (linguists, exact bytes); the CLI and the web pages call them.
    allowed = {
        "briefings/cli.py",
        "briefings/approval.py",
        "briefings/translation/review.py",
        "briefings/web.py",
    }
    offenders = [
        hit
        for path in _python_files("briefings", "glossary")
        if str(path.relative_to(ROOT)) not in allowed
        and not str(path.relative_to(ROOT)).startswith("briefings/web/")
        for hit in _approval_calls(path)
    ]
    assert offenders == []
    cli_calls = _approval_calls(ROOT / "briefings" / "cli.py")
    assert cli_calls and all(".approve" in hit for hit in cli_calls)


# -- concurrency ---------------------------------------------------------------------------


def _race(*calls) -> list[object]:
    """Run the calls at once, each in its own thread (its own connection); their results."""
    results: list[object] = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def run(index: int, call) -> None:
        try:
            start.wait()
            results[index] = call()
        except BaseException as exc:  # returned and asserted in the main thread
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_officers_approving_at_once_approve(env, digest) -> None:
    """Both approvals count: the second to commit sees the first and approves."""
    original = env.read(digest)
    results = _race(
        lambda: env.workflow().approve(digest, "ana").state,
        lambda: env.workflow().approve(digest, "ben").state,
    )
    assert sorted(results) == ["approved", "in-review"], results
    assert state(env, digest) == "approved"
    assert valid_officers(env, digest) == ["ana", "ben"]
    assert env.workflow().approved_bytes(digest) == original
    assert AuditLog(env.store).verify() == []


def test_the_same_officer_approving_twice_at_once_counts_once(env, digest) -> None:
    results = _race(
        lambda: env.workflow().approve(digest, "ana").state,
        lambda: env.workflow().approve(digest, "ana").state,
    )
    assert results.count("in-review") == 1, results
    assert [type(r) for r in results if r != "in-review"] == [WorkflowError]
    assert state(env, digest) == "in-review"
    assert [a.officer for a in env.store.approvals(digest)] == ["ana"]
    assert AuditLog(env.store).verify() == []
