"""``briefings verify`` against real published sites: a fresh site passes; one changed,
added or deleted file, a replaced manifest or a swapped key fails; a site re-signed by
an attacker passes only without a trusted key, and says so; single downloaded files
verify; and the real ``minisign`` accepts the signatures."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.cli import main
from briefings.publishing import MANIFEST, SIGNATURE, manifest_bytes
from briefings.signing import PUBLIC_NAME, create_key

MINISIGN = Path("/usr/bin/minisign")


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    """A workspace with two published briefings; its public site and signing key."""
    root = tmp_path_factory.mktemp("verify") / "ws"
    env = pf.make_site_env(root, languages=("en",))
    ids = [
        pf.new_briefing(env, "Ransomware shuts hospital wards"),
        pf.new_briefing(
            env, "Wiper hits water utility", sectors=["sector.water"], threats=["threat.wiper"]
        ),
    ]
    for briefing_id in ids:
        pf.approved(env, briefing_id)
    pf.publish(env, audiences=["public"])
    env.close()
    return {
        "site": pf.output(env),
        "key": root / "keys" / PUBLIC_NAME,
        "ids": ids,
    }


@pytest.fixture
def site(published, tmp_path: Path) -> Path:
    """A mirror of the public site to tamper with."""
    mirror = tmp_path / "mirror"
    shutil.copytree(published["site"].resolve(), mirror)
    return mirror


@pytest.fixture
def verify(capsys):
    """Run ``briefings verify ARGS...``; returns (exit code, stdout, stderr)."""

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(["verify", *map(str, args)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_fresh_site_verifies(published, verify) -> None:
    code, out, err = verify(published["site"])

    assert code == 0, err
    listed = (published["site"] / MANIFEST).read_text().splitlines()
    assert f"OK: {len(listed)} file(s)" in out
    code, out, err = verify(published["site"], "--key", published["key"])
    assert code == 0, err
    assert "own key" not in out


def test_one_changed_byte_in_any_file_fails(site, verify) -> None:
    files = sorted(p for p in site.rglob("*") if p.is_file())
    assert len(files) > 20
    for path in files:
        original = path.read_bytes()
        flip_one_byte(path)
        code, out, err = verify(site)
        assert code == 1, (path, out)
        assert "Error" in err or path.relative_to(site).as_posix() in err, (path, err)
        assert "unexpected" not in err, (path, err)
        path.write_bytes(original)
    assert verify(site)[0] == 0


@pytest.mark.parametrize("name", ["extra.html", "en/extra/index.html", ".htaccess", "en/link.md"])
def test_an_added_file_fails(site, verify, name) -> None:
    added = site / name
    added.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith("link.md"):  # a symbolic link to a file outside the site
        outside = site.parent / "outside.md"
        outside.write_text("# Forged\n")
        added.symlink_to(outside)
    else:
        added.write_text("<p>forged</p>\n")

    code, _, err = verify(site)

    assert code == 1
    assert name in err


@pytest.mark.parametrize(
    "name",
    [
        "en/index.html",
        "md",
        MANIFEST,
        SIGNATURE,
        PUBLIC_NAME,
    ],
)
def test_a_deleted_file_fails_with_a_clear_message(site, verify, published, name) -> None:
    if name == "md":
        name = f"en/{published['ids'][0]}.md"
    (site / name).unlink()

    code, _, err = verify(site)

    assert code == 1
    assert err.strip(), name
    assert "unexpected" not in err, err  # an "Error: ..." naming the problem, not a crash


def test_a_trusted_key_that_does_not_exist_is_a_clear_error(site, verify, tmp_path) -> None:
    code, _, err = verify(site, "--key", tmp_path / "no-such.pub")

    assert code == 1
    assert "no-such.pub" in err and "unexpected" not in err


def test_a_replaced_manifest_fails(site, verify) -> None:
    """An attacker changes a page and lists its new checksum, keeping the old signature."""
    page = site / "en" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</main>", b"<p>Forged notice</p></main>"))
    files = {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in site.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE)
    }
    (site / MANIFEST).write_bytes(manifest_bytes(files))

    code, _, err = verify(site)

    assert code == 1
    assert "signature" in err.lower()


def _resign_as_attacker(site: Path, tmp_path: Path) -> None:
    """Forge a page, publish the attacker's key, rebuild and sign the manifest with it."""
    key = create_key(tmp_path / "attacker")
    page = site / "en" / "index.html"
    page.write_bytes(page.read_bytes().replace(b"</main>", b"<p>Forged notice</p></main>"))
    (site / PUBLIC_NAME).write_text(key.public.minisign_text())
    files = {
        p.relative_to(site).as_posix(): p.read_bytes()
        for p in site.rglob("*")
        if p.is_file() and p.name not in (MANIFEST, SIGNATURE)
    }
    manifest = manifest_bytes(files)
    (site / MANIFEST).write_bytes(manifest)
    (site / SIGNATURE).write_text(key.sign(manifest, "briefings audience=public"))


def test_a_site_resigned_by_an_attacker_passes_only_without_a_trusted_key(
    site, verify, published, tmp_path
) -> None:
    _resign_as_attacker(site, tmp_path)

    code, out, err = verify(site, "--key", published["key"])
    assert code == 1
    assert "another key" in err

    code, out, _ = verify(site)  # integrity only: the site vouches for itself
    assert code == 0
    assert "the site's own key" in out


def test_a_swapped_public_key_alone_fails_with_and_without_the_trusted_key(
    site, verify, published, tmp_path
) -> None:
    other = create_key(tmp_path / "other")
    (site / PUBLIC_NAME).write_text(other.public.minisign_text())

    assert verify(site)[0] == 1
    assert verify(site, "--key", published["key"])[0] == 1  # the key file is not listed as is


def test_a_single_file_of_a_mirror_verifies_and_a_changed_copy_fails(
    site, verify, published
) -> None:
    markdown = site / "en" / f"{published['ids'][0]}.md"

    code, out, err = verify(markdown, "--key", published["key"])
    assert code == 0, err
    assert "OK: 1 file(s)" in out

    markdown.write_bytes(markdown.read_bytes().replace(b"Ransomware", b"Ransomwere", 1))
    code, _, err = verify(markdown, "--key", published["key"])
    assert code == 1
    assert markdown.name in err


def test_a_file_downloaded_on_its_own_verifies(published, verify, tmp_path) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    for name in (MANIFEST, SIGNATURE, PUBLIC_NAME):
        shutil.copy(published["site"] / name, downloads / name)
    page = f"{published['ids'][0]}.md"
    shutil.copy(published["site"] / "en" / page, downloads / page)

    code, _, err = verify(downloads / page, "--key", published["key"])

    assert code == 0, err


def test_a_file_saved_elsewhere_verifies_against_a_named_manifest(
    published, verify, tmp_path
) -> None:
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    for name in (MANIFEST, SIGNATURE, PUBLIC_NAME):
        shutil.copy(published["site"] / name, downloads / name)
    saved = tmp_path / "elsewhere" / "briefing.md"
    saved.parent.mkdir()
    shutil.copy(published["site"] / "en" / f"{published['ids'][0]}.md", saved)

    code, _, err = verify(saved, "--manifest", downloads / MANIFEST, "--key", published["key"])
    assert code == 1 and "not listed" in err  # saved under another name: nothing to match

    saved = saved.rename(saved.with_name(f"{published['ids'][0]}.md"))
    code, out, err = verify(saved, "--manifest", downloads / MANIFEST, "--key", published["key"])
    assert code == 0, err
    assert "OK: 1 file(s)" in out

    saved.write_bytes(saved.read_bytes() + b"\nForged line\n")
    code, _, err = verify(saved, "--manifest", downloads, "--key", published["key"])
    assert code == 1 and saved.name in err


def test_a_missing_manifest_is_a_clear_error(published, verify, tmp_path) -> None:
    code, _, err = verify(tmp_path / "x.md", "--manifest", tmp_path / MANIFEST)

    assert code == 1
    assert MANIFEST in err and "unexpected" not in err


@pytest.fixture
def minisign() -> Path:
    if not MINISIGN.exists():
        if os.environ.get("CI"):
            pytest.fail("minisign is required in CI: apt-get install minisign")
        pytest.skip("minisign is not installed")
    return MINISIGN


def test_minisign_accepts_the_signature_and_refuses_a_changed_manifest(site, minisign) -> None:
    accepted = subprocess.run(
        [str(minisign), "-V", "-p", PUBLIC_NAME, "-m", MANIFEST],
        cwd=site, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert accepted.returncode == 0, accepted.stderr
    assert "Signature and comment signature verified" in accepted.stdout + accepted.stderr
    assert "audience=public" in accepted.stdout + accepted.stderr  # the trusted comment

    flip_one_byte(site / MANIFEST)
    refused = subprocess.run(
        [str(minisign), "-V", "-p", PUBLIC_NAME, "-m", MANIFEST],
        cwd=site, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert refused.returncode != 0
