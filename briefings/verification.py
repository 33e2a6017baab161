"""Checking a published site, or one file downloaded from it, against its signed manifest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from briefings.errors import PublishError
from briefings.publishing import MANIFEST, SIGNATURE, read_manifest
from briefings.signing import PUBLIC_NAME, PublicKey, verify


@dataclass
class VerifyResult:
    root: Path
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    trusted_comment: str | None = None
    key_source: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def find_site_root(path: Path) -> Path:
    """The nearest folder at or above ``path`` that holds a manifest."""
    path = path.resolve() if path.exists() else path
    for candidate in [path, *path.parents] if path.is_dir() else list(path.parents):
        if (candidate / MANIFEST).exists():
            return candidate
    raise PublishError(f"No {MANIFEST} at or above {path}: not a published briefings site")


def verify_site(
    target: Path, *, public_key: Path | None = None, manifest_path: Path | None = None
) -> VerifyResult:
    """Verify the manifest's signature, then every file (or just ``target`` if it is a file).

    ``public_key`` should come from a trusted channel; without it the site's own
    published key is used, which proves integrity, not origin.
    """
    root = manifest_path.parent if manifest_path else find_site_root(target)
    result = VerifyResult(root)
    manifest = (root / MANIFEST).read_bytes()
    signature = root / SIGNATURE
    if not signature.exists():
        raise PublishError(f"{signature} is missing: the manifest is not signed")
    key_file = public_key or root / PUBLIC_NAME
    result.key_source = str(key_file) if public_key else f"{key_file} (the site's own key)"
    key = PublicKey.from_text(key_file.read_text())
    result.trusted_comment = verify(manifest, signature.read_text(), key)
    entries = read_manifest(manifest.decode("utf-8"))
    if target.is_file():
        relative = target.resolve().relative_to(root.resolve()).as_posix()
        wanted = {relative: entries.get(relative)}
        if wanted[relative] is None:
            result.problems.append(f"{relative} is not listed in the manifest")
            return result
    else:
        wanted = entries
        listed = set(entries) | {MANIFEST, SIGNATURE}
        for path in sorted(root.rglob("*")):
            if path.is_file():
                relative = path.relative_to(root).as_posix()
                if relative not in listed:
                    result.problems.append(
                        f"{relative} is not listed in the manifest (added after signing)"
                    )
    for relative, digest in sorted(wanted.items()):
        path = root / relative
        if not path.is_file():
            result.problems.append(f"{relative} is missing")
            continue
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            result.problems.append(
                f"{relative} does not match the signed manifest (changed or forged)"
            )
        result.checked += 1
    return result
