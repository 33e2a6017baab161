"""What each kept release of a site held when it was finished, so that recycling the
oldest one need not read every folder of it again.

A folder changes its ctime whenever an entry is added to it, removed from it or
renamed in it, and a ctime cannot be set back by hand. A folder of a release whose
ctime is still older than the moment the release was finished holds exactly the
entries it held then: the ledger lists them (each file's inode, each subfolder), and
the folder is not read. Any other folder is read as it is on disk.

"The moment the release was finished" is the ctime of a mark file written beside the
releases after it (:func:`finish_mark`): the same file system's clock, with its own
granularity (a tick of a few milliseconds on ext4, two seconds on FAT). A folder changed
in the same tick as the mark has the same ctime and is read, not trusted: only a ctime
strictly older counts."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

MARGIN_NS = 0  # trusted only when older than the mark by more than this (tests: 10**30)

# One entry of a folder: its name, whether it is a folder, and a file's inode.
Entry = tuple[str, bool, int]


def finish_mark(releases: Path) -> int | None:
    """Write the mark file in ``releases`` (the folder of an audience's releases, on the
    output's file system) and return its ctime: the moment a release was finished.
    None when it cannot be written (then the release is not recorded)."""
    mark = releases / ".finished"
    try:
        with open(mark, "w", encoding="utf-8") as handle:
            handle.write("the ctime of this file: when the last release was finished\n")
        return os.stat(mark).st_ctime_ns
    except OSError as exc:
        log.warning("cannot mark the release finished in %s: %s", releases, exc)
        return None


class ReleaseLedger:
    """One small JSON file per kept release in ``folder``: when it was finished and the
    inode of each of its files. A cache only: a missing or damaged entry means reading
    every folder of the release."""

    def __init__(self, folder: Path):
        self.folder = folder

    def _path(self, release: str) -> Path:
        return self.folder / f"{release}.json"

    def record(self, release: str, finished_ns: int, inodes: dict[str, int]) -> None:
        """Note ``release`` as finished at ``finished_ns`` with these files (path: inode)."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{release}.{os.getpid()}.tmp"
            tmp.write_text(json.dumps({"finished_ns": finished_ns, "inodes": inodes}), "utf-8")
            tmp.replace(self._path(release))
        except OSError as exc:
            log.warning("cannot record release %s in %s: %s", release, self.folder, exc)

    def forget_all_but(self, releases: Iterable[str]) -> None:
        """Drop the entries of releases that no longer exist."""
        keep = {f"{name}.json" for name in releases}
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return
        for entry in entries:
            if entry.name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)

    def listing(self, release: str, base: str) -> FolderListing | None:
        """How to list the folders of ``release``, now at ``base`` (see
        :class:`FolderListing`); None when the ledger has no usable entry for it."""
        try:
            found = json.loads(self._path(release).read_text("utf-8"))
            finished, inodes = int(found["finished_ns"]), dict(found["inodes"])
            return FolderListing(base, finished - MARGIN_NS, inodes)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None  # a damaged entry: every folder is read


class FolderListing:
    """Lists a release's folders: from the ledger for a folder unchanged since the
    release was finished, else from the disk."""

    def __init__(self, base: str, trusted_before_ns: int, inodes: dict[str, int]):
        self.base = base
        self.trusted_before_ns = trusted_before_ns
        self.children: dict[str, list[Entry]] = {}
        folders: set[str] = set()
        for path, inode in inodes.items():
            folder, _, name = path.rpartition("/")
            self.children.setdefault(folder, []).append((name, False, int(inode)))
            while folder and folder not in folders:  # each folder once, in its parent
                folders.add(folder)
                parent, _, name = folder.rpartition("/")
                self.children.setdefault(parent, []).append((name, True, -1))
                folder = parent
        self.read_from_disk = 0  # folders that had to be read (for tests and figures)

    def entries(self, folder: str) -> list[Entry]:
        """The entries of ``folder`` (relative to the release; "" is its top)."""
        full = f"{self.base}/{folder}" if folder else self.base
        known = self.children.get(folder)
        if known is not None:
            st = os.lstat(full)
            if stat.S_ISDIR(st.st_mode) and st.st_ctime_ns < self.trusted_before_ns:
                return known
        self.read_from_disk += 1
        return scan_folder(full)


def scan_folder(full: str) -> list[Entry]:
    """The entries of the folder at ``full`` as they are on disk; anything that is
    neither a folder nor a regular file (a symbolic link, say) gets inode -1."""
    out: list[Entry] = []
    with os.scandir(full) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                out.append((entry.name, True, -1))
            elif entry.is_file(follow_symlinks=False):
                out.append((entry.name, False, entry.inode()))
            else:
                out.append((entry.name, False, -1))
    return out
