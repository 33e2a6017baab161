"""Briefing files: Markdown with a YAML front matter block, read and written byte-exactly.

A file is ``---\\n<yaml>\\n---\\n<markdown body>``. Reading keeps the raw bytes
and their SHA-256, because approvals bind to exact bytes. Writing is atomic
(a temporary file renamed over the old one), so a crash never leaves half a file.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from briefings.errors import WorkflowError

FENCE = "---"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BriefingFile:
    """One briefing file as it is on disk."""

    path: Path
    meta: dict[str, Any]
    body: str
    raw: bytes

    @property
    def sha256(self) -> str:
        return sha256_bytes(self.raw)


def render_document(meta: dict[str, Any], body: str) -> bytes:
    """The bytes of a briefing file: front matter in a stable key order, then the body."""
    header = yaml.safe_dump(
        _plain(meta), sort_keys=False, allow_unicode=True, default_flow_style=False, width=100
    )
    text = f"{FENCE}\n{header}{FENCE}\n\n{body.strip()}\n"
    return text.encode("utf-8")


# libyaml's loader where PyYAML was built with it: the same safe subset, several times
# faster (publishing reads the front matter of every briefing and translation).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_document(raw: bytes, path: Path) -> BriefingFile:
    """Split and check a briefing file; WorkflowError names the file and line of a problem."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowError(f"{path}: not UTF-8 (byte {exc.start}); save it as UTF-8") from None
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != FENCE:
        raise WorkflowError(f"{path}:1: the file must start with a '---' front matter line")
    try:
        # Only an unindented fence closes it: YAML may fold a long value onto an indented '---'.
        end = next(i for i in range(1, len(lines)) if lines[i].rstrip() == FENCE)
    except StopIteration:
        raise WorkflowError(f"{path}: the front matter is not closed by a '---' line") from None
    try:
        meta = yaml.load("\n".join(lines[1:end]), Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise WorkflowError(f"{path}{line}: broken front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise WorkflowError(f"{path}:2: the front matter must be a mapping of keys to values")
    return BriefingFile(path, meta, "\n".join(lines[end + 1 :]).strip() + "\n", raw)


def read_document(path: Path) -> BriefingFile:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WorkflowError(f"{path}: the briefing file is missing") from None
    except OSError as exc:
        raise WorkflowError(f"{path}: cannot read it: {exc.strerror}") from exc
    return parse_document(raw, path)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _plain(value: Any) -> Any:
    """Values YAML writes plainly: datetimes as ISO strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value  # enums such as TLP
    return value
