"""``briefings.toml``: collect-all validation, layers, and workspaces on disk."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from briefings.config import load_config, parse_config
from briefings.errors import ConfigError
from briefings.tlp import TLP
from briefings.workspace import CONFIG_NAME, FOLDERS, init_workspace, open_workspace

INVALID = """\
[workspace]
source_lang = "en"
languages = ["en", "fr"]

[fetch]
retries = 2
timout = 5                # unknown key (typo)

[[sources]]
id = "cert-a"
url = "feeds/a.xml"
tlp = "PURPLE"            # bad TLP

[[sources]]
id = "cert-a"             # duplicate id
url = "feeds/b.xml"
lang = "french"           # bad language code

[[sources]]
id = "cert-c"             # missing url
"""


@pytest.fixture
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BRIEFINGS_* variables from the developer's shell leak into a test."""
    for name in list(os.environ):
        if name.startswith("BRIEFINGS_"):
            monkeypatch.delenv(name)


def _problems(toml_text: str, tmp_path: Path) -> dict[str, str]:
    path = tmp_path / CONFIG_NAME
    path.write_text(toml_text, "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert str(path) in str(caught.value)
    return dict(caught.value.problems)


def test_every_problem_is_named_by_its_key(tmp_path: Path) -> None:
    problems = _problems(INVALID, tmp_path)
    assert "fetch.timout" in problems and "unknown key" in problems["fetch.timout"]
    assert "sources[0].tlp" in problems and "PURPLE" in problems["sources[0].tlp"]
    assert "sources[1].lang" in problems and "'french'" in problems["sources[1].lang"]
    assert "sources[2].url" in problems


def test_duplicate_source_id_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    problems = _problems(INVALID, tmp_path)
    assert any("cert-a" in message for message in problems.values()), problems


def test_duplicate_source_id_alone_is_reported(tmp_path: Path) -> None:
    text = '[[sources]]\nid = "x"\nurl = "a.xml"\n\n[[sources]]\nid = "x"\nurl = "b.xml"\n'
    problems = _problems(text, tmp_path)
    assert list(problems.values()) == ["id must be unique; repeated: x"]


def test_duplicate_source_id_names_the_sources_key(tmp_path: Path) -> None:
    text = '[[sources]]\nid = "x"\nurl = "a.xml"\n\n[[sources]]\nid = "x"\nurl = "b.xml"\n'
    (key,) = _problems(text, tmp_path)
    assert key.startswith("sources")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"workspace": {"source_lang": "english"}}, "workspace.source_lang"),
        ({"workspace": {"languages": ["en", "en"]}}, "workspace.languages"),
        ({"workspace": {"source_lang": "fr", "languages": ["en"]}}, "workspace"),
        ({"fetch": {"retries": -1}}, "fetch.retries"),
        ({"sources": [{"id": "Bad Id", "url": "a.xml"}]}, "sources[0].id"),
        ({"sources": [{"id": "a", "url": "ftp://x/feed"}]}, "sources[0].url"),
        ({"sources": [{"id": "a", "url": "a.xml", "kind": "podcast"}]}, "sources[0].kind"),
        ({"sources": [{"url": "a.xml"}]}, "sources[0].id"),
        ({"nonsense": 1}, "nonsense"),
    ],
)
def test_single_problem_names_its_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={})
    assert [k for k, _ in caught.value.problems] == [key]
    assert key in str(caught.value)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_text('[workspace]\nname = "unterminated\n', "utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert str(path) in message and "not valid TOML" in message and "line 2" in message


def test_missing_config_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="briefings init"):
        load_config(tmp_path / CONFIG_NAME, environ={})


# -- layers ------------------------------------------------------------------------------


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_text("[fetch]\nretries = 3\n", "utf-8")
    environ = {
        "BRIEFINGS_FETCH__RETRIES": "0",
        "BRIEFINGS_WORKSPACE__NAME": "Coalition",  # a string needs no TOML quotes
        "BRIEFINGS_INGEST__DETECT_LANGUAGE": "false",
        "BRIEFINGS_WORKSPACE": "/elsewhere",  # the CLI's, not a setting
        "OTHER": "ignored",
    }
    config = load_config(path, environ=environ)
    assert config.fetch.retries == 0
    assert config.workspace.name == "Coalition"
    assert config.ingest.detect_language is False
    assert load_config(path, environ={}).fetch.retries == 3


def test_flags_override_the_environment_and_absent_flags_do_not(tmp_path: Path) -> None:
    path = tmp_path / CONFIG_NAME
    path.write_text("[fetch]\nretries = 3\nmax_redirects = 1\n", "utf-8")
    environ = {"BRIEFINGS_FETCH__RETRIES": "0"}
    config = load_config(path, environ=environ, overrides={"fetch.retries": 5})
    assert config.fetch.retries == 5
    assert config.fetch.max_redirects == 1


@pytest.mark.parametrize(
    ("name", "value", "key"),
    [
        ("BRIEFINGS_NOPE__X", "1", "BRIEFINGS_NOPE__X"),
        ("BRIEFINGS_SOURCES__URL", "x", "BRIEFINGS_SOURCES__URL"),
        ("BRIEFINGS_FETCH__RETRIES", "many", "fetch.retries"),
        ("BRIEFINGS_FETCH__RETRYS", "1", "fetch.retrys"),
    ],
)
def test_bad_environment_override_is_a_named_problem(name: str, value: str, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({}, environ={name: value})
    assert key in dict(caught.value.problems)


def test_the_process_environment_is_used_when_none_is_given(
    monkeypatch: pytest.MonkeyPatch, clean_environ: None
) -> None:
    monkeypatch.setenv("BRIEFINGS_FETCH__RETRIES", "0")
    assert parse_config({}).fetch.retries == 0


def test_source_defaults_and_tlp_spelling() -> None:
    config = parse_config(
        {"sources": [{"id": "a", "url": "a.xml", "tlp": "tlp:white"}, {"id": "b", "url": "b.xml"}]},
        environ={},
    )
    first, second = config.sources
    assert first.tlp is TLP.CLEAR and first.kind == "feed" and first.enabled
    assert first.label == "a"
    assert second.tlp is TLP.CLEAR


# -- workspaces --------------------------------------------------------------------------


def test_init_workspace_creates_folders_and_a_valid_config(
    tmp_path: Path, clean_environ: None
) -> None:
    root = tmp_path / "new" / "workspace"
    workspace = init_workspace(root)
    assert workspace.root == root.resolve()
    for folder in FOLDERS:
        assert (root / folder).is_dir()
    assert (root / "feeds" / "advisories.xml").is_file()
    assert workspace.config.sources, "the template ships a starter source"
    assert workspace.database_path == root.resolve() / "state" / "briefings.sqlite3"
    assert open_workspace(root, environ={}).config == workspace.config


def test_init_workspace_refuses_to_overwrite(tmp_path: Path, clean_environ: None) -> None:
    root = tmp_path / "workspace"
    init_workspace(root)
    config_path = root / CONFIG_NAME
    config_path.write_text(config_path.read_text("utf-8") + "\n# my edits\n", "utf-8")
    before = config_path.read_bytes()
    with pytest.raises(ConfigError, match="already exists"):
        init_workspace(root)
    assert config_path.read_bytes() == before


def test_shipped_template_config_validates() -> None:
    text = (resources.files("briefings") / "templates" / CONFIG_NAME).read_text("utf-8")
    config = parse_config(tomllib.loads(text), origin="template", environ={})
    assert config.workspace.source_lang in config.workspace.languages
    assert [s.id for s in config.sources] == ["local-advisories"]


def test_open_workspace_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_workspace(tmp_path / "missing", environ={})


def test_workspace_resolves_relative_paths(make_workspace) -> None:
    workspace = make_workspace('[[sources]]\nid = "a"\nurl = "feeds/a.xml"\n')
    assert workspace.resolve("feeds/a.xml") == workspace.root / "feeds" / "a.xml"
    assert workspace.resolve("/abs/x") == Path("/abs/x")
    assert workspace.config.detection_languages == ["en", "fr", "ar"]


def test_the_starter_config_documents_every_section_and_key() -> None:
    """`briefings init` writes every table and key, commented where it is the default."""
    from pydantic import BaseModel

    from briefings.config import Config

    text = (resources.files("briefings") / "templates" / "briefings.toml").read_text("utf-8")
    missing = []
    for name, field in Config.model_fields.items():
        section = field.annotation
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            continue  # [[sources]], [[audiences]], [[officers]]: examples, not every key
        if f"[{name}]" not in text:
            missing.append(f"[{name}]")
            continue
        body = text.split(f"[{name}]", 1)[1].split("\n[", 1)[0]
        missing += [f"{name}.{key}" for key in section.model_fields if f"{key} =" not in body]
    assert missing == []
