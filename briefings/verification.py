"""Checking a published site, or one file downloaded from it, against its signed manifest."""

from __future__ import annotations

import hashlib
import posixpath
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

    ``manifest_path`` (the manifest file or its folder, with the signature beside it)
    verifies a file saved anywhere, e.g. one page downloaded on its own.

    ``public_key`` should come from a trusted channel; without it the site's own
    published key is used, which proves integrity, not origin.
    """
    if manifest_path is not None:
        root = manifest_path if manifest_path.is_dir() else manifest_path.parent
    else:
        root = find_site_root(target)
    result = VerifyResult(root)
    try:
        manifest = (root / MANIFEST).read_bytes()
    except OSError as exc:
        raise PublishError(
            f"cannot read {MANIFEST} in {root}: {exc.strerror or exc}; "
            f"download {MANIFEST}, {SIGNATURE} and {PUBLIC_NAME} from the site"
        ) from exc
    signature = root / SIGNATURE
    if not signature.exists():
        raise PublishError(f"{signature} is missing: the manifest is not signed")
    key_file = public_key or root / PUBLIC_NAME
    result.key_source = str(key_file) if public_key else f"{key_file} (the site's own key)"
    try:
        key_text = key_file.read_text()
    except OSError as exc:
        hint = (
            "check the --key path"
            if public_key
            else f"download {PUBLIC_NAME} from the site, or pass a trusted key with --key FILE"
        )
        raise PublishError(
            f"cannot read the public key {key_file.name} ({key_file}): "
            f"{exc.strerror or exc}; {hint}"
        ) from exc
    key = PublicKey.from_text(key_text)
    result.trusted_comment = verify(manifest, signature.read_text(), key)
    entries = read_manifest(manifest.decode("utf-8"))
    if target.is_file():
        return _verify_one_file(target, root, entries, result)
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


def _verify_one_file(
    target: Path, root: Path, entries: dict[str, str], result: VerifyResult
) -> VerifyResult:
    """One file, by its path under the manifest's folder; a file saved on its own (a page
    downloaded next to the manifest) is matched by its name among the listed files."""
    try:
        relative = target.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        relative = target.name  # not under the manifest's folder: match by name
    if relative in entries:
        candidates = [relative]
    else:
        candidates = [p for p in entries if posixpath.basename(p) == target.name]
    if not candidates:
        result.problems.append(f"{relative} is not listed in the manifest")
        return result
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    result.checked += 1
    if not any(entries[p] == digest for p in candidates):
        listed = ", ".join(candidates[:5])
        result.problems.append(
            f"{target.name} does not match the signed manifest's {listed} (changed or forged)"
        )
    return result
