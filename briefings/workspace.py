"""A user's workspace: its folders, its configuration and where its state lives."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from briefings.config import Config, load_config
from briefings.errors import ConfigError
from briefings.store import is_postgres_url, redact_url

log = logging.getLogger(__name__)

CONFIG_NAME = "briefings.toml"
FOLDERS = ("content", "feeds", "packages", "state", "site")


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and its validated configuration."""

    root: Path
    config: Config

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def database(self) -> Path | str:
        """The state database: a PostgreSQL URL, or the SQLite file as an absolute path."""
        database = self.config.workspace.database
        return database if is_postgres_url(database) else self.resolve(database)

    @property
    def database_path(self) -> Path:
        """The SQLite state file; a ConfigError when the state is in PostgreSQL.

        Open the store with ``Store.for_workspace``, which takes either.
        """
        database = self.database
        if isinstance(database, str):
            raise ConfigError(
                f"The state database of {self.root} is PostgreSQL ({redact_url(database)}), "
                "not a file"
            )
        return database

    @property
    def state_dir(self) -> Path:
        """Files kept beside the state database: the SQLite file's folder, else ``state/``."""
        database = self.database
        return database.parent if isinstance(database, Path) else self.root / "state"

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def packages_dir(self) -> Path:
        return self.root / "packages"

    def resolve(self, relative: str | Path) -> Path:
        """A workspace-relative path made absolute (absolute paths pass through)."""
        path = Path(relative)
        return path if path.is_absolute() else self.root / path


def open_workspace(root: Path, **config_layers) -> Workspace:
    """Load the workspace at ``root``; ConfigError when it has no valid config.

    ``config_layers`` are passed to :func:`briefings.config.load_config`
    (``environ``, ``overrides``).
    """
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise ConfigError(f"Workspace {root} does not exist. Create it with: briefings init {root}")
    return Workspace(root=root, config=load_config(root / CONFIG_NAME, **config_layers))


def init_workspace(root: Path) -> Workspace:
    """Create a workspace with a commented config, its folders and a starter feed.

    Refuses to overwrite an existing ``briefings.toml``.
    """
    root = root.expanduser().resolve()
    config_path = root / CONFIG_NAME
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists; not overwriting it.")
    root.mkdir(parents=True, exist_ok=True)
    for folder in FOLDERS:
        (root / folder).mkdir(exist_ok=True)
    templates = resources.files("briefings") / "templates"
    starter_feed = root / "feeds" / "advisories.xml"
    if not starter_feed.exists():
        starter_feed.write_text((templates / "advisories.xml").read_text("utf-8"), "utf-8")
    config_path.write_text((templates / CONFIG_NAME).read_text("utf-8"), "utf-8")
    log.info("created workspace %s", root)
    return open_workspace(root)


def glossary_paths(workspace: Workspace) -> list[str] | None:
    """The workspace's own glossary files as absolute paths, or None for the shipped one."""
    paths = workspace.config.tagging.glossary
    return [str(workspace.resolve(p)) for p in paths] if paths else None
