"""The workspace's Argos packages: install, list, remove, verify, and routes between
languages.

Packages live in the workspace's ``packages/`` folder, one folder each, handled
with argostranslate's own package code (see :mod:`briefings.translation.argos`).
Installing checks the archive first (a zip whose every member passes its CRC,
exactly one top-level folder, ``metadata.json``, ``model/model.bin`` and
``sentencepiece.model``), so a corrupted file is refused with its name before
anything is unpacked. ``packages/checksums.json`` records, per installed folder,
the SHA-256 of the ``.argosmodel`` file it came from and a SHA-256 over the
installed tree (every file's relative path and content hash, in path order);
:func:`verify_packages` recomputes the latter. Nothing here touches the network
except :func:`install_from_index`, and only when called.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from briefings.documents import write_atomically
from briefings.errors import TranslationError
from briefings.translation import argos
from briefings.workspace import Workspace

log = logging.getLogger(__name__)

CHECKSUMS = "checksums.json"
PIVOT_LANG = "en"
INSTALL_HINT = "briefings models install FILE.argosmodel"
_PAIR = re.compile(r"^([a-z]{2,3})\s*(?:-|_|->|→)\s*([a-z]{2,3})$")


@dataclass(frozen=True)
class InstalledPackage:
    """One installed package folder."""

    folder: str
    name: str  # argospm's name, e.g. "translate-en_fr"
    from_code: str
    to_code: str
    version: str
    path: Path
    archive_sha256: str | None = None  # of the .argosmodel it was installed from
    tree_sha256: str | None = None  # of the installed files, as recorded at install

    @property
    def pair(self) -> str:
        return f"{self.from_code}-{self.to_code}"

    @property
    def sha256(self) -> str:
        """The recorded archive hash, else the tree hash (computed if never recorded)."""
        return self.archive_sha256 or self.tree_sha256 or tree_sha256(self.path)

    @property
    def id(self) -> str:
        """Name plus the first 12 hex digits of its hash: what the memory is keyed by."""
        return f"{self.name}@{self.sha256[:12]}"

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "name": self.name,
            "pair": self.pair,
            "version": self.version,
            "path": str(self.path),
            "archive_sha256": self.archive_sha256,
            "tree_sha256": self.tree_sha256,
        }


@dataclass(frozen=True)
class PackageCheck:
    """The verdict of :func:`verify_packages` on one package."""

    folder: str
    pair: str | None
    status: str  # ok | modified | unrecorded | missing | broken
    message: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Route:
    """The packages that take ``source_lang`` to ``target_lang``: one, or two through English."""

    source_lang: str
    target_lang: str
    packages: tuple[InstalledPackage, ...]

    @property
    def is_pivot(self) -> bool:
        return len(self.packages) > 1

    @property
    def package(self) -> str:
        return "+".join(p.name for p in self.packages)

    @property
    def package_version(self) -> str:
        return "+".join(p.version for p in self.packages)

    @property
    def package_id(self) -> str:
        return "+".join(p.id for p in self.packages)


# -- hashes and records ---------------------------------------------------------------


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def tree_sha256(folder: Path) -> str:
    """A hash of a folder's files: relative path and content hash of each, in path order."""
    digest = hashlib.sha256()
    files = sorted(
        (p for p in folder.rglob("*") if p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        digest.update(file_sha256(path).encode("ascii") + b"\n")
    return digest.hexdigest()


def argos_dirs(workspace: Workspace) -> argos.ArgosDirs:
    """The packages folder, and argostranslate's own folders beside the state database."""
    return argos.ArgosDirs(workspace.packages_dir, workspace.state_dir / "argos")


def _records(workspace: Workspace) -> dict[str, dict[str, Any]]:
    path = workspace.packages_dir / CHECKSUMS
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise TranslationError(
            f"{path} is unreadable ({exc}); reinstall the packages to record them again"
        ) from exc
    return data if isinstance(data, dict) else {}


def _save_records(workspace: Workspace, records: dict[str, dict[str, Any]]) -> None:
    text = json.dumps(records, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    write_atomically(workspace.packages_dir / CHECKSUMS, text.encode("utf-8"))


def _folders(workspace: Workspace) -> list[Path]:
    folder = workspace.packages_dir
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


# -- listing --------------------------------------------------------------------------


def list_packages(workspace: Workspace) -> list[InstalledPackage]:
    """Installed packages, by folder name; unreadable folders are left out (and
    reported by :func:`verify_packages`)."""
    dirs = argos_dirs(workspace)
    records = _records(workspace)
    found = []
    for path in _folders(workspace):
        try:
            meta = argos.read_package(dirs, path)
        except TranslationError as exc:
            log.warning("%s", exc)
            continue
        record = records.get(path.name, {})
        found.append(
            InstalledPackage(
                folder=path.name,
                name=meta.name,
                from_code=meta.from_code,
                to_code=meta.to_code,
                version=meta.version,
                path=path,
                archive_sha256=record.get("archive_sha256"),
                tree_sha256=record.get("tree_sha256"),
            )
        )
    return found


# -- installing -----------------------------------------------------------------------


def inspect_archive(path: Path) -> tuple[str, dict[str, Any]]:
    """Check an ``.argosmodel`` without unpacking it; its top folder and metadata.

    TranslationError names the file and says what is wrong with it.
    """
    if not path.is_file():
        raise TranslationError(f"{path}: no such package file")
    broken = f"{path} is not a usable Argos package"
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{broken}: not a zip archive (corrupted or cut short?)")
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise TranslationError(
                    f"{path} is corrupted: {bad} fails its checksum. Download or build it again."
                )
            names = archive.namelist()
            tops = {PurePosixPath(n).parts[0] for n in names if n.strip("/")}
            if len(tops) != 1 or not any("/" in n.strip("/") for n in names):
                raise TranslationError(
                    f"{broken}: it must hold exactly one top-level folder (found "
                    f"{', '.join(sorted(tops)) or 'nothing'})"
                )
            if any(n.startswith("/") or ".." in PurePosixPath(n).parts for n in names):
                raise TranslationError(f"{broken}: it holds paths outside its folder")
            top = tops.pop()
            members = set(names)
            for needed in ("metadata.json", "model/model.bin", "sentencepiece.model"):
                if f"{top}/{needed}" not in members:
                    raise TranslationError(f"{broken}: {top}/{needed} is missing")
            metadata = json.loads(archive.read(f"{top}/metadata.json").decode("utf-8"))
    except TranslationError:
        raise
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
        raise TranslationError(f"{path} is corrupted ({exc}). Download or build it again.") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise TranslationError(f"{broken}: its metadata.json is not valid JSON ({exc})") from exc
    if (
        not isinstance(metadata, dict)
        or not metadata.get("from_code")
        or not metadata.get("to_code")
    ):
        raise TranslationError(f"{broken}: metadata.json lacks from_code or to_code")
    return top, metadata


def install_package(
    workspace: Workspace, path: Path, *, clock: Callable[[], datetime] | None = None
) -> InstalledPackage:
    """Install an ``.argosmodel`` file, replacing any package for the same pair, and
    record its checksums."""
    path = Path(path).expanduser().resolve()
    top, metadata = inspect_archive(path)
    archive_hash = file_sha256(path)
    pair = f"{metadata['from_code']}-{metadata['to_code']}"
    dirs = argos_dirs(workspace)
    records = _records(workspace)
    for old in list_packages(workspace):
        if old.pair == pair or old.folder == top:
            log.info("replacing package %s (%s)", old.folder, old.pair)
            argos.uninstall(dirs, old.path)
            records.pop(old.folder, None)
    argos.install_archive(dirs, path)
    folder = workspace.packages_dir / top
    meta = argos.read_package(dirs, folder)
    now = (clock or (lambda: datetime.now(UTC)))()
    records[top] = {
        "pair": pair,
        "name": meta.name,
        "version": meta.version,
        "archive": path.name,
        "archive_sha256": archive_hash,
        "tree_sha256": tree_sha256(folder),
        "installed_at": now.astimezone(UTC).isoformat(timespec="seconds"),
    }
    _save_records(workspace, records)
    log.info("installed %s (%s) from %s", top, pair, path.name)
    return next(p for p in list_packages(workspace) if p.folder == top)


def install_from_index(workspace: Workspace, from_code: str, to_code: str) -> InstalledPackage:
    """Download the package for a pair from the Argos package index and install it.

    The only function that uses the network, and only when called.
    """
    downloaded = argos.download_from_index(argos_dirs(workspace), from_code, to_code)
    try:
        return install_package(workspace, downloaded)
    finally:
        downloaded.unlink(missing_ok=True)


def _parse_pair(pair: str) -> tuple[str, str] | None:
    m = _PAIR.match(pair.strip().lower())
    return (m.group(1), m.group(2)) if m else None


def remove_package(workspace: Workspace, pair: str) -> list[InstalledPackage]:
    """Remove the package(s) for ``pair`` (``en-fr``, ``en_fr``) or of that folder name."""
    wanted = _parse_pair(pair)
    installed = list_packages(workspace)
    chosen = [
        p
        for p in installed
        if p.folder == pair or p.name == pair or (wanted and (p.from_code, p.to_code) == wanted)
    ]
    if not chosen:
        have = ", ".join(p.pair for p in installed) or "none"
        raise TranslationError(f"No installed package for {pair!r} (installed: {have})")
    dirs = argos_dirs(workspace)
    records = _records(workspace)
    for package in chosen:
        argos.uninstall(dirs, package.path)
        records.pop(package.folder, None)
    _save_records(workspace, records)
    return chosen


def verify_packages(workspace: Workspace) -> list[PackageCheck]:
    """Recompute every installed package's tree hash and compare it with the record."""
    dirs = argos_dirs(workspace)
    records = _records(workspace)
    checks = []
    for path in _folders(workspace):
        record = records.get(path.name)
        try:
            meta = argos.read_package(dirs, path)
        except TranslationError as exc:
            checks.append(PackageCheck(path.name, None, "broken", str(exc)))
            continue
        pair = f"{meta.from_code}-{meta.to_code}"
        if record is None:
            checks.append(
                PackageCheck(
                    path.name, pair, "unrecorded",
                    f"{path.name}: no checksum recorded (not installed by briefings); "
                    f"reinstall it: {INSTALL_HINT}",
                )
            )  # fmt: skip
            continue
        actual = tree_sha256(path)
        if actual != record.get("tree_sha256"):
            checks.append(
                PackageCheck(
                    path.name, pair, "modified",
                    f"{path.name}: its files changed since it was installed from "
                    f"{record.get('archive', 'a package file')} (SHA-256 {actual[:12]}, recorded "
                    f"{str(record.get('tree_sha256'))[:12]}); reinstall it: {INSTALL_HINT}",
                )
            )  # fmt: skip
            continue
        checks.append(
            PackageCheck(
                path.name, pair, "ok",
                f"{path.name}: {pair} {meta.version}, archive SHA-256 "
                f"{str(record.get('archive_sha256'))[:12]}",
            )
        )  # fmt: skip
    present = {path.name for path in _folders(workspace)}
    for folder, record in sorted(records.items()):
        if folder not in present:
            checks.append(
                PackageCheck(
                    folder, record.get("pair"), "missing",
                    f"{folder}: recorded as installed, but its folder is gone; "
                    f"reinstall it: {INSTALL_HINT}",
                )
            )  # fmt: skip
    return checks


# -- routes ---------------------------------------------------------------------------


def find_route(packages: list[InstalledPackage], source_lang: str, target_lang: str) -> Route:
    """A direct package for the pair, else two through English; TranslationError
    names what to install."""
    by_pair = {(p.from_code, p.to_code): p for p in packages}
    direct = by_pair.get((source_lang, target_lang))
    if direct is not None:
        return Route(source_lang, target_lang, (direct,))
    first = by_pair.get((source_lang, PIVOT_LANG))
    second = by_pair.get((PIVOT_LANG, target_lang))
    if PIVOT_LANG not in (source_lang, target_lang) and first and second:
        return Route(source_lang, target_lang, (first, second))
    message = f"No Argos package for {source_lang}->{target_lang}"
    if PIVOT_LANG not in (source_lang, target_lang):
        missing = [
            f"{a}->{b}"
            for a, b, have in ((source_lang, PIVOT_LANG, first), (PIVOT_LANG, target_lang, second))
            if have is None
        ]
        message += f" (and none for {' and '.join(missing)} to pivot through English)"
    raise TranslationError(f"{message}. Install one: {INSTALL_HINT}")
