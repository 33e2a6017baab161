"""Fixtures shared by the test modules: the copied data, real workspaces, an HTML check.

Fixtures only. Test data lives in ``tests/data`` (see its SOURCES.md); everything
a test writes goes to its own ``tmp_path``.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import psycopg
import pytest

from briefings.translation.argos import opt_out_of_telemetry
from briefings.workspace import CONFIG_NAME, Workspace, open_workspace

# The shared builders (briefing_fixtures, publishing_fixtures) are plain modules of this
# folder. importlib mode keeps tests/ off sys.path, because argostranslate installs a
# top-level "tests" package; putting this folder itself (not its parent) on the path
# lets test files import the builders by name without clashing with it.
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Tests never reach the internet: no library's telemetry either, in this process or the
# ones it starts (tests/test_library_telemetry.py checks the opt-out without this).
opt_out_of_telemetry()

# Elements that run code, load or embed something, restyle the page, submit data
# or change how links resolve: none of them may survive sanitizing.
ACTIVE_TAGS = frozenset(
    {
        "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
        "form", "input", "button", "textarea", "select", "meta", "link", "base", "svg",
        "math", "img", "video", "audio", "source", "template", "noscript", "portal",
    }
)  # fmt: skip
URL_ATTRIBUTES = frozenset(
    {
        "href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
        "srcset", "lowsrc", "dynsrc", "cite", "longdesc", "usemap", "codebase", "manifest",
    }
)  # fmt: skip
ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:", "mocha:")


class _ActiveContentFinder(HTMLParser):
    """Walks tags and attributes the way a browser tokenizes them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=>")
            elif name == "style":
                self.found.append(f"<{tag} style=>")
            elif name in URL_ATTRIBUTES and value is not None:
                # Browsers drop ASCII whitespace and control characters inside a
                # scheme ("jav\tascript:"); html.parser has already decoded entities.
                squeezed = "".join(ch for ch in value if ord(ch) > 0x20).lower()
                if squeezed.startswith(ACTIVE_SCHEMES):
                    self.found.append(f"<{tag} {name}={value!r}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        if "[if" in data.lower() or "<" in data:  # conditional comments run in old IE
            self.found.append(f"<!--{data[:40]}-->")

    def handle_pi(self, data: str) -> None:
        self.found.append(f"<?{data[:40]}>")


def _active_content(html: str) -> list[str]:
    finder = _ActiveContentFinder()
    finder.feed(html)
    finder.close()
    return finder.found


@pytest.fixture(scope="session")
def glossary():
    """The shipped glossary, loaded once per test process (tests only read it)."""
    from glossary import load_glossary

    return load_glossary()


@pytest.fixture(scope="session")
def tools():
    """The translation stage's sentence tools (spaCy), built once per test process."""
    from nlp.sentences import text_tools

    return text_tools()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """``tests/data``: the copied feedparser corpus and CISA advisories."""
    return Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def find_active_content() -> Callable[[str], list[str]]:
    """A function listing every piece of active content in an HTML fragment."""
    return _active_content


@pytest.fixture
def make_workspace(tmp_path: Path) -> Callable[..., Workspace]:
    """A function writing ``briefings.toml`` (workspace settings plus ``body``) and
    opening the workspace, as a user's would be; the environment is left out."""

    def make(
        body: str = "", *, root: Path | None = None, languages: tuple[str, ...] = ("en", "fr", "ar")
    ) -> Workspace:
        root = root or tmp_path / "workspace"
        root.mkdir(parents=True, exist_ok=True)
        quoted = ", ".join(f'"{lang}"' for lang in languages)
        (root / CONFIG_NAME).write_text(
            f'[workspace]\nsource_lang = "{languages[0]}"\nlanguages = [{quoted}]\n\n{body}',
            "utf-8",
        )
        return open_workspace(root, environ={})

    return make


# -- state databases -------------------------------------------------------------------

# Set by ``python3 tools/dev.py test``, which starts a throwaway PostgreSQL server.
POSTGRES_URL_VAR = "BRIEFINGS_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL server's URL. Without one, its tests are skipped locally, but
    fail on CI (``CI=true``), where the test command must have started the server."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        message = (
            f"{POSTGRES_URL_VAR} is not set: no PostgreSQL server for the store tests "
            "(python3 tools/dev.py test starts one)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; on CI they must run", pytrace=False)
        pytest.skip(message)
    return url


def schema_url(url: str, schema: str) -> str:
    """``url`` with ``schema`` first on the search path: the store's tables go there."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[str]:
    """The URL of a fresh PostgreSQL schema on the test server, dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield schema_url(postgres_url, schema)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """A new, empty state database on each backend, as ``[workspace] database`` takes it:
    a SQLite file's path, or the URL of a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return tmp_path / "state" / "briefings.sqlite3"
    return request.getfixturevalue("postgres_database")
