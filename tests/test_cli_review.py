"""The review commands through ``briefings.cli.main``: what officers see, exit codes, and
that a refused command leaves the store, the audit log and the files exactly as they were."""

from __future__ import annotations

import json
from pathlib import Path

import briefing_fixtures as bf
import pytest

from briefings.cli import main

P = bf.PERIOD
DIGEST = f"digest-{P}"


@pytest.fixture
def env(tmp_path: Path):
    env = bf.make_env(tmp_path / "ws")
    env.add_item(
        "Ransomware shuts hospital wards",
        threats=["threat.ransomware"],
        sectors=["sector.hospitals"],
        priority=75,
    )
    env.add_item("Poll site outage", threats=["threat.ddos"], sectors=["sector.elections"])
    env.draft()
    yield env
    env.close()


@pytest.fixture
def cli(env, capsys):
    """Run ``briefings -w WORKSPACE ARGS...``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["-w", str(env.root), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def alert_id(env) -> str:
    return next(r.id for r in env.store.list_briefings() if r.kind == "alert")


def flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def refused(cli, env, *args: str, expect: str) -> str:
    """Run a command that must be refused: exit 1, 'Error:' on stderr, nothing changed."""
    before = env.snapshot()
    code, out, err = cli(*args)
    assert code == 1, (out, err)
    assert "Error:" in err
    assert expect in flat(err), err
    assert env.snapshot() == before
    return err


# -- review, show, diff --------------------------------------------------------------------


def test_review_json_lists_every_briefing_with_its_fields(cli, env) -> None:
    (env.root / "content" / f"{DIGEST}.fr.md").write_text("---\nid: x\n---\n\nTraduit.\n")
    code, out, err = cli("review", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 2
    for row in rows:
        for key in ("id", "state", "kind", "title", "priority", "tlp", "languages"):
            assert key in row
    alert, digest = rows  # most urgent first
    assert alert["kind"] == "alert"
    assert alert["priority"] == 75
    assert alert["title"] == "Alert: Ransomware shuts hospital wards"
    assert digest == digest | {
        "id": DIGEST, "state": "draft", "kind": "digest", "title": f"Daily digest {P}",
        "priority": 75, "tlp": "CLEAR", "languages": ["en", "fr"], "approvals": 0,
        "approvals_required": 2, "reason": None, "approved_by": [],
    }  # fmt: skip
    assert alert["languages"] == ["en"]


def test_review_json_shows_approvals_and_why_a_briefing_is_back(cli, env) -> None:
    assert cli("approve", DIGEST, "--officer", "ana")[0] == 0
    assert cli("approve", DIGEST, "--officer", "ben")[0] == 0
    env.write(DIGEST, env.read(DIGEST) + b" ")

    code, out, err = cli("review", "--json")

    assert code == 0
    assert "changed:" in err and DIGEST in err
    [row] = [r for r in json.loads(out) if r["id"] == DIGEST]
    assert row["state"] == "in-review"
    assert row["approvals"] == 0
    assert "after approval" in row["reason"]


def test_review_table(cli, env) -> None:
    code, out, _ = cli("review")
    assert code == 0
    assert "digest" in out and "alert" in out and "0/2" in out


def test_show_prints_the_exact_file_and_its_approvals(cli, env) -> None:
    cli("approve", DIGEST, "--officer", "ana")
    code, out, err = cli("show", DIGEST)
    assert code == 0
    assert out == env.read(DIGEST).decode("utf-8")
    assert f"{DIGEST}: in-review" in err
    assert "approved by ana" in err and "(valid)" in err


def test_show_of_an_unknown_briefing(cli, env) -> None:
    refused(cli, env, "show", "nope", expect="No briefing 'nope'")


def test_diff_before_any_approval_says_so(cli, env) -> None:
    code, out, _ = cli("diff", DIGEST)
    assert code == 0
    assert "has never been approved" in out


def test_diff_after_an_edit_shows_the_changed_line(cli, env, tmp_path: Path) -> None:
    cli("approve", DIGEST, "--officer", "ana")
    assert cli("diff", DIGEST)[1] == "No change since the last approved version.\n"
    new = tmp_path / "new.md"
    new.write_bytes(
        env.read(DIGEST).replace(
            b"Poll site outage. More details", b"Poll sites back online. Details"
        )
    )
    code, out, _ = cli("edit", DIGEST, "--officer", "carla", "--from", str(new))
    assert code == 0 and "approvals void" in out

    code, out, _ = cli("diff", DIGEST)

    assert code == 0
    assert f"--- content/{DIGEST}.md (approved " in out and "by ana)" in out
    assert "\n-Poll site outage. More details follow.\n" in out
    assert "\n+Poll sites back online. Details follow.\n" in out
    changed = [
        line for line in out.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")
    ]
    assert len(changed) == 2


# -- approve and reject --------------------------------------------------------------------


def test_approve_twice_by_two_officers(cli, env) -> None:
    code, out, err = cli("approve", DIGEST, "--officer", "ana", "--note", "sources checked")
    assert code == 0, err
    assert f"{DIGEST}: approved by ana; state in-review." in flat(out)
    code, out, _ = cli("approve", DIGEST, "--officer", "ben")
    assert code == 0
    assert "state approved" in out
    assert env.store.approvals(DIGEST)[0].note == "sources checked"


def test_a_second_approval_by_the_same_officer_is_refused(cli, env) -> None:
    cli("approve", DIGEST, "--officer", "ana")
    refused(cli, env, "approve", DIGEST, "--officer", "ana", expect="ana has already approved")


@pytest.mark.parametrize(
    ("officer", "expect"),
    [("zed", "Unknown officer 'zed'"), ("lin", "lin is a linguist")],
)
def test_approval_by_a_non_officer_is_refused(cli, env, officer: str, expect: str) -> None:
    refused(cli, env, "approve", DIGEST, "--officer", officer, expect=expect)


def test_approval_by_the_last_editor_is_refused(cli, env, tmp_path: Path) -> None:
    new = tmp_path / "new.md"
    new.write_bytes(env.read(DIGEST) + b"\nEdited.\n")
    assert cli("edit", DIGEST, "--officer", "ana", "--from", str(new))[0] == 0
    refused(cli, env, "approve", DIGEST, "--officer", "ana", expect="four-eyes")


def test_approving_an_unknown_briefing_is_refused(cli, env) -> None:
    refused(cli, env, "approve", "nope", "--officer", "ana", expect="No briefing 'nope'")


def test_approving_a_rejected_briefing_is_refused(cli, env) -> None:
    code, out, _ = cli("reject", DIGEST, "--officer", "ben", "--reason", "off topic")
    assert code == 0 and "rejected by ben" in out
    refused(cli, env, "approve", DIGEST, "--officer", "ana", expect="is rejected")


def test_approving_broken_front_matter_is_refused_with_file_and_line(cli, env) -> None:
    raw = env.read(DIGEST).replace(b"\nkind: digest\n", b"\nkind: digest: broken\n")
    env.write(DIGEST, raw)
    cli("review")  # the edit itself is noticed and recorded first
    err = refused(cli, env, "approve", DIGEST, "--officer", "ana", expect="broken front matter")
    assert f"{DIGEST}.md:3:" in flat(err).replace(" ", "")


def test_a_reject_needs_a_reason(cli, env) -> None:
    refused(
        cli, env, "reject", DIGEST, "--officer", "ana", "--reason", " ", expect="needs a reason"
    )


@pytest.mark.parametrize(
    "args",
    [("reject", DIGEST, "--officer", "ana"), ("approve", DIGEST), ("approve", DIGEST, "--bogus")],
    ids=["no-reason", "no-officer", "unknown-option"],
)
def test_a_command_missing_an_option_changes_nothing(cli, env, args) -> None:
    before = env.snapshot()
    code, _, err = cli(*args)
    assert code != 0
    assert "Error" in err
    assert env.snapshot() == before


@pytest.mark.parametrize(
    "args",
    [("reject", DIGEST, "--officer", "ana"), ("approve", DIGEST), ("frobnicate",)],
    ids=["no-reason", "no-officer", "unknown-command"],
)
def test_a_usage_error_exits_2_with_a_usage_message(cli, env, args) -> None:
    code, _, err = cli(*args)
    assert code == 2
    assert "unexpected" not in err


def test_withdraw_only_from_approved(cli, env) -> None:
    refused(
        cli, env, "withdraw", DIGEST, "--officer", "ana", "--reason", "x",
        expect="only approved or published briefings are withdrawn",
    )  # fmt: skip
    cli("approve", DIGEST, "--officer", "ana")
    cli("approve", DIGEST, "--officer", "ben")
    code, out, _ = cli("withdraw", DIGEST, "--officer", "carla", "--reason", "retracted")
    assert code == 0 and "withdrawn by carla" in out
    assert env.store.get_briefing(DIGEST).state == "withdrawn"


def test_correct_is_refused_before_publication(cli, env) -> None:
    refused(cli, env, "correct", DIGEST, "--officer", "ana", expect="only published briefings")


def test_edit_with_a_broken_file_is_refused_and_the_file_kept(cli, env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.md"
    bad.write_bytes(b"no front matter\n")
    refused(cli, env, "edit", DIGEST, "--officer", "ana", "--from", str(bad), expect=":1:")


def test_edit_with_the_same_bytes_is_no_change(cli, env, tmp_path: Path) -> None:
    same = tmp_path / "same.md"
    same.write_bytes(env.read(DIGEST))
    before = env.snapshot()
    code, out, _ = cli("edit", DIGEST, "--officer", "ana", "--from", str(same))
    assert code == 0 and "no change" in out
    assert env.snapshot() == before


# -- configuration -----------------------------------------------------------------------


def test_an_invalid_config_exits_2_naming_the_key(cli, env) -> None:
    config = env.root / "briefings.toml"
    config.write_text(
        config.read_text().replace("approvals_required = 2", "approvals_required = 0")
    )
    before = env.snapshot()
    code, _, err = cli("approve", DIGEST, "--officer", "ana")
    assert code == 2
    assert "Error:" in err and "policy.approvals_required" in err
    assert env.snapshot() == before


def test_a_missing_workspace_exits_2(capsys, tmp_path: Path) -> None:
    code = main(["-w", str(tmp_path / "nowhere"), "review"])
    assert code == 2
    assert "Error:" in capsys.readouterr().err


def test_an_officer_removed_from_the_config_can_no_longer_approve(cli, env) -> None:
    config = env.root / "briefings.toml"
    config.write_text(config.read_text().replace('name = "carla"', 'name = "carlos"'))
    refused(cli, env, "approve", DIGEST, "--officer", "carla", expect="Unknown officer 'carla'")
