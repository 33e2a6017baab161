"""Builders for the publishing, verification and browser tests: real workspaces with
audiences ``public`` (TLP:CLEAR) and ``members`` (TLP:AMBER), briefings drafted from
stored items, edited and approved by officers through the real workflow, published
with the real :func:`publish_site`.

Not a test module and not a conftest: test files ``import publishing_fixtures as pf``
(tests/conftest.py puts this folder on ``sys.path``).
"""

from __future__ import annotations

import hashlib
import shutil
from html.parser import HTMLParser
from pathlib import Path

import briefing_fixtures as bf

from briefings.documents import parse_document, render_document
from briefings.publishing import PublishReport, publish_site
from briefings.store import Store
from briefings.tlp import TLP
from briefings.workspace import CONFIG_NAME, open_workspace

AUDIENCES = """
[[audiences]]
name = "public"
max_tlp = "CLEAR"
output = "site/public"

[[audiences]]
name = "members"
max_tlp = "AMBER"
output = "site/members"
"""


def labels(concept: str, lang: str) -> str:
    """Concept labels without the glossary: the id's slug, capitalized."""
    return bf.label(concept)


def make_site_env(root: Path, *, languages: tuple[str, ...] = ("en", "fr"), extra: str = ""):
    """A workspace (officers ana, ben, carla; linguist lin) with both audiences."""
    env = bf.make_env(root, extra=AUDIENCES + extra)
    if languages != ("en", "fr"):
        config = root / CONFIG_NAME
        quoted = ", ".join(f'"{lang}"' for lang in languages)
        text = config.read_text("utf-8").replace(
            'languages = ["en", "fr"]', f"languages = [{quoted}]"
        )
        config.write_text(text, "utf-8")
        env.store.close()
        workspace = open_workspace(root, environ={})
        env = bf.Env(workspace, Store(workspace.database_path), bf.Clock())
    return env


# What a publish leaves in a workspace: its sites and releases, and its caches.
PUBLISH_STATE = ("site", "state/publish", "state/render-cache", "state/template-cache")


def copy_without_publish_state(root: Path, to: Path) -> Path:
    """A copy of the workspace at ``root`` (store, briefings, keys) as if nothing had
    been published from it: no site, no releases, no caches."""
    shutil.copytree(
        root, to, symlinks=True,
        ignore=lambda folder, names: [
            n for n in names if (Path(folder) / n).relative_to(root).as_posix() in PUBLISH_STATE
        ],
    )  # fmt: skip
    return to


def publish(env, **kwargs) -> PublishReport:
    return publish_site(env.workspace, env.store, clock=env.clock, labels=labels, **kwargs)


def output(env, audience: str = "public") -> Path:
    return env.root / "site" / audience


def site_files(folder: Path) -> dict[str, bytes]:
    """Every file of a published folder (through its symbolic link), by relative path."""
    folder = folder.resolve()
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def new_briefing(
    env,
    title: str,
    text: str = "",
    *,
    tlp: TLP = TLP.CLEAR,
    sectors=("sector.hospitals",),
    threats=("threat.ransomware",),
    kind: str = "alert",
    **item,
) -> str:
    """Store one item and draft; returns the id of the new alert (or debunk) it made."""
    before = {r.id for r in env.store.list_briefings()}
    env.add_item(
        title, text, tlp=tlp, sectors=list(sectors), threats=list(threats), priority=80, **item
    )
    env.draft()
    made = [r.id for r in env.store.list_briefings() if r.id not in before and r.kind == kind]
    assert len(made) == 1, made
    return made[0]


def rewrite(env, briefing_id: str, body: str | None = None, *, officer: str = "carla", **meta):
    """An officer edits the briefing (body and/or front matter keys); returns the new bytes."""
    document = parse_document(env.read(briefing_id), env.path(briefing_id))
    new_meta = {**document.meta, **meta}
    raw = render_document(new_meta, document.body if body is None else body)
    env.workflow().edit(briefing_id, officer, raw)
    return raw


def approved(env, briefing_id: str) -> bytes:
    """Approve the file's current bytes by two officers; returns those bytes."""
    raw = env.read(briefing_id)
    bf.approve_fully(env, briefing_id)
    return raw


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LinkCollector(HTMLParser):
    """Every href and src in a page, and the text of the page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                self.links.append((tag, value))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def page_links(html: bytes) -> list[tuple[str, str]]:
    parser = LinkCollector()
    parser.feed(html.decode("utf-8"))
    parser.close()
    return parser.links


def page_text(html: bytes) -> str:
    parser = LinkCollector()
    parser.feed(html.decode("utf-8"))
    parser.close()
    return " ".join(" ".join(parser.text).split())


def write_translation(
    env,
    briefing_id: str,
    lang: str,
    title: str,
    body: str,
    *,
    source: bytes | None = None,
    state: str = "machine",
    findings: list | None = None,
) -> bytes:
    """A translation file ``<id>.<lang>.md`` as the translation stage writes it."""
    source = env.read(briefing_id) if source is None else source
    meta = dict(parse_document(source, env.path(briefing_id)).meta)
    meta.update(
        title=title,
        lang=lang,
        translation={
            "source_lang": meta.get("lang", "en"),
            "source_sha256": sha256(source),
            "package": f"translate-{meta.get('lang', 'en')}_{lang}",
            "package_version": "0.1",
            "state": state,
            "findings": list(findings or []),
        },
    )
    raw = render_document(meta, body)
    path = env.path(briefing_id)
    path.with_name(f"{path.stem}.{lang}{path.suffix}").write_bytes(raw)
    return raw


def searchable(files: dict[str, bytes]) -> dict[str, str]:
    """Each file as text a reader could see: raw, with entities decoded, and for JSON
    every string value decoded (so an escaped quote or \\u escape hides nothing)."""
    import html
    import json

    out = {}
    for path, data in files.items():
        text = data.decode("utf-8", "replace")
        parts = [text, html.unescape(text), html.unescape(html.unescape(text))]
        if path.endswith(".json"):
            parts += list(_strings(json.loads(text)))
        out[path] = "\n".join(parts)
    return out


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def files_containing(files: dict[str, bytes], needle: str) -> list[str]:
    return [path for path, text in searchable(files).items() if needle in text]


def broken_links(folder: Path) -> list[str]:
    """Every relative href/src of every HTML page that names no file of the site."""
    import posixpath
    from urllib.parse import unquote, urlsplit

    files = site_files(folder)
    broken = []
    for path, data in files.items():
        if not path.endswith(".html"):
            continue
        for tag, link in page_links(data):
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # absolute links, mailto:, same-page fragments
            target = posixpath.normpath(
                posixpath.join(posixpath.dirname(path), unquote(parts.path))
            )
            if link.split("#")[0].endswith("/") or target + "/index.html" in files:
                target = f"{target}/index.html" if target != "." else "index.html"
            if target not in files:
                broken.append(f"{path}: <{tag}> {link}")
    return broken
