"""The typed schema of ``briefings.toml`` and its loading.

Layers, lowest first: field defaults, the file, ``BRIEFINGS_<SECTION>__<KEY>``
environment variables (scalars in tables, e.g. ``BRIEFINGS_FETCH__RETRIES=1``),
then flags the caller passes as ``overrides``. Validation collects every
problem and fails once with :class:`~briefings.errors.ConfigError`, naming each
key. Nothing is read at import time: callers pass the settings explicitly.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from briefings.errors import ConfigError
from briefings.tlp import TLP

ENV_PREFIX = "BRIEFINGS_"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_LANG_RE = re.compile(r"^[a-z]{2,3}$")


class _Section(BaseModel):
    # Unknown keys are typos far more often than intent: refuse them.
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _check_lang(value: str) -> str:
    if not _LANG_RE.match(value):
        raise ValueError(f"{value!r} is not an ISO 639-1 language code such as 'en' or 'fr'")
    return value


class WorkspaceSettings(_Section):
    name: str = Field(
        "Briefings workspace", description="Human name of the workspace, shown on pages."
    )
    source_lang: str = Field("en", description="Language briefings are written and approved in.")
    languages: list[str] = Field(
        default_factory=lambda: ["en"],
        description="Languages briefings are published in; must include source_lang.",
    )
    database: str = Field(
        "state/briefings.sqlite3",
        description="State database: a SQLite file (a path relative to the workspace) or a "
        "PostgreSQL URL, postgresql://user@host:5432/dbname (keep passwords out of the file: "
        "use PGPASSWORD or ~/.pgpass, or set BRIEFINGS_WORKSPACE__DATABASE).",
    )

    @field_validator("database")
    @classmethod
    def _database(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if sep and scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"{scheme}:// is not a supported database; give a SQLite file path "
                "or a postgresql:// URL"
            )
        if not value.strip():
            raise ValueError("give a SQLite file path or a postgresql:// URL")
        return value

    @field_validator("source_lang")
    @classmethod
    def _source_lang(cls, value: str) -> str:
        return _check_lang(value)

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for lang in value:
            _check_lang(lang)
        if len(set(value)) != len(value):
            raise ValueError("languages are listed more than once")
        if not value:
            raise ValueError("at least one language is needed")
        return value

    @model_validator(mode="after")
    def _source_in_languages(self) -> WorkspaceSettings:
        if self.source_lang not in self.languages:
            raise ValueError(f"source_lang {self.source_lang!r} must be one of languages")
        return self


class FetchSettings(_Section):
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(30.0, gt=0, description="Seconds to wait for each read.")
    total_timeout: float = Field(120.0, gt=0, description="Wall-clock bound on one fetch.")
    max_bytes: int = Field(
        20 * 1024 * 1024, gt=0, description="Largest body accepted, after decompression."
    )
    max_redirects: int = Field(5, ge=0, description="Redirects followed before giving up.")
    retries: int = Field(2, ge=0, le=10, description="Extra attempts on transient failures.")
    max_retry_after: float = Field(
        60.0,
        ge=0,
        description="Longest Retry-After honoured; longer ones fail the source for this run.",
    )
    user_agent: str | None = Field(
        None, description="User-Agent header; default names the project and its version."
    )


class IngestSettings(_Section):
    concurrency: int = Field(4, ge=1, le=64, description="Sources fetched at the same time.")
    max_entries: int = Field(
        500, ge=1, description="Most entries taken from one source per run (newest first)."
    )
    detect_language: bool = Field(
        True, description="Check each item's declared language with a detector."
    )
    task_retries: int = Field(
        1,
        ge=0,
        le=5,
        description="Later retries of a source that failed transiently (Prefect task).",
    )
    task_retry_delay: float = Field(
        10.0,
        ge=0,
        description="Seconds before such a retry; the fetcher's own quick retries come first.",
    )
    language_override_confidence: float = Field(
        0.9,
        ge=0,
        le=1,
        description="Detector confidence above which it overrides a declared language.",
    )


class TaggingSettings(_Section):
    batch_size: int = Field(64, ge=1, description="Texts per spaCy nlp.pipe batch.")
    chunk_size: int = Field(
        1000, ge=1, description="Items per tagging task (one task per language and chunk)."
    )
    glossary: list[str] = Field(
        default_factory=list,
        description="Glossary YAML files relative to the workspace; empty means the shipped glossary.",
    )
    trained_models: dict[str, str] = Field(
        default_factory=dict,
        description='Installed trained spaCy pipelines per language, e.g. {en = "en_core_web_sm"}; '
        "their named entities are stored with the tags (entities in items --json). "
        "Nothing depends on one.",
    )


class DraftingSettings(_Section):
    period: Literal["daily", "weekly"] = Field(
        "daily", description="One digest per this period (UTC)."
    )
    alert_priority: int = Field(
        60, ge=0, le=100, description="Priority from which an event gets its own alert briefing."
    )
    group_window_hours: float = Field(
        72.0, gt=0, description="Items this close in time with the same concepts are one event."
    )
    max_entries: int = Field(40, ge=1, description="Most events listed in one digest.")


class PublishingSettings(_Section):
    page_size: int = Field(20, ge=1, le=500, description="Briefings per index page.")
    machine_translations: bool = Field(
        True,
        description="Publish machine translations without findings, with a notice, before a linguist reviews them.",
    )
    keep_releases: int = Field(
        3, ge=2, le=50, description="Site versions kept beside the live one."
    )
    demonstration: bool = Field(
        False, description="Mark every page as a demonstration (set by the example workspace)."
    )
    render_processes: int = Field(
        0,
        ge=0,
        le=256,
        description="Processes that render Markdown when a build has many new texts (a first "
        "build, an emptied cache): 0 for one per CPU, 1 to render in the publishing process only.",
    )


#: CTranslate2's compute types that run on a CPU (float16 and bfloat16 need a GPU).
CpuComputeType = Literal["int8", "int8_float32", "int16", "float32", "default", "auto"]


class TranslationSettings(_Section):
    beam_size: int = Field(
        4,
        ge=1,
        le=16,
        description="Beam size of CTranslate2's decoding; 1 is greedy (fastest). Segments already "
        "in the translation memory keep their translation when it changes.",
    )
    threads: int = Field(
        0,
        ge=0,
        le=256,
        description="CPU threads one model uses in all; 0 takes one per CPU core this process "
        "may use.",
    )
    inter_threads: int = Field(
        0,
        ge=0,
        le=256,
        description="Batches one model translates at the same time (CTranslate2 inter_threads), "
        "sharing `threads` (each gets threads / inter_threads, at least 1); 0: one batch per "
        "thread, the fastest for many segments.",
    )
    compute_type: CpuComputeType = Field(
        "int8",
        description="Weights' precision on the CPU: int8 (fastest), int8_float32, int16, "
        "float32, default (as the model was saved) or auto (CTranslate2 picks).",
    )
    max_batch_size: int = Field(
        32, ge=1, le=1024, description="Segments per CTranslate2 batch (translate_batch)."
    )
    max_source_tokens: int = Field(
        200,
        ge=16,
        le=4096,
        description="Longest segment, in SentencePiece pieces, the model is given; longer ones "
        "are cut into pieces and flagged. Must stay below the model's position table "
        "(256 for the bundled demonstration packages).",
    )


class OfficerConfig(_Section):
    name: str = Field(description="Sign-in name, used in approvals and the audit log.")
    roles: list[Literal["officer", "linguist", "admin"]] = Field(
        default_factory=lambda: ["officer"], description="officer | linguist | admin."
    )
    languages: list[str] = Field(
        default_factory=list, description="For linguists: the languages they may approve."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9._-]{0,62}$", value):
            raise ValueError(f"{value!r} must be lower-case letters, digits, '.', '_' or '-'")
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        return [_check_lang(lang) for lang in value]


class PolicySettings(_Section):
    approvals_required: int = Field(
        2, ge=1, le=10, description="Distinct officers needed to approve."
    )
    four_eyes: bool = Field(True, description="Whoever last edited a briefing cannot approve it.")
    web_max_tlp: dict[Literal["officer", "linguist", "admin"], TLP] = Field(
        default_factory=lambda: {"officer": TLP.AMBER, "linguist": TLP.GREEN, "admin": TLP.RED},
        description="Most restricted TLP label each role may see in the review web page; "
        "a person with several roles gets the widest.",
    )

    @field_validator("web_max_tlp", mode="before")
    @classmethod
    def _web_max_tlp(cls, value: Any) -> Any:
        return {k: TLP.parse(v) for k, v in value.items()} if isinstance(value, dict) else value

    translation_approvals_required: int = Field(
        1, ge=1, le=10, description="Linguists needed to mark a translation reviewed."
    )


class SourceConfig(_Section):
    id: str = Field(description="Stable identifier: lower-case letters, digits and dashes.")
    name: str | None = Field(None, description="Human name; defaults to the id.")
    url: str = Field(description="http(s) URL, or a path relative to the workspace.")
    kind: Literal["feed", "csaf", "csaf-rolie"] = Field(
        "feed", description="feed (RSS/Atom/JSON Feed), csaf (one advisory) or csaf-rolie (index)."
    )
    tlp: TLP = Field(
        TLP.CLEAR, description="TLP 2.0 label its items get unless they carry a stricter one."
    )
    lang: str | None = Field(
        None, description="Declared language of its items, checked by detection."
    )
    enabled: bool = Field(True, description="Disabled sources are kept but not fetched.")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and dashes")
        return value

    @field_validator("tlp", mode="before")
    @classmethod
    def _tlp(cls, value: Any) -> TLP:
        return TLP.parse(value)

    @field_validator("lang")
    @classmethod
    def _lang(cls, value: str | None) -> str | None:
        return None if value is None else _check_lang(value)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        scheme = value.split("://", 1)[0].lower() if "://" in value else ""
        if scheme and scheme not in {"http", "https", "file"}:
            raise ValueError(f"scheme {scheme!r} is not supported; use http(s) or a path")
        return value

    @property
    def label(self) -> str:
        return self.name or self.id


class AudienceConfig(_Section):
    name: str = Field(description="Audience name, e.g. public or members.")
    max_tlp: TLP = Field(TLP.CLEAR, description="Most restricted TLP label this audience may see.")
    output: str = Field(description="Output folder, relative to the workspace.")
    base_url: str = Field(
        "https://briefings.example/",
        description="Absolute URL the output is served from (feeds and sitemap need it).",
    )
    title: str | None = Field(None, description="Site title; defaults to the workspace name.")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an absolute http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("max_tlp", mode="before")
    @classmethod
    def _tlp(cls, value: Any) -> TLP:
        return TLP.parse(value)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _ID_RE.match(value):
            raise ValueError(f"{value!r} must be lower-case letters, digits and dashes")
        return value


class OrchestrationSettings(_Section):
    task_runner: Literal["threads", "dask"] = Field(
        "threads",
        description='How ingestion and tagging tasks run: "threads" in the flow\'s own process, '
        'or "dask" (needs prefect-dask).',
    )
    dask_address: str = Field(
        "",
        description='Dask scheduler to send tasks to, e.g. "tcp://10.0.0.5:8786"; empty starts '
        "a local cluster for each flow run (threads, or processes when PREFECT_API_URL is set).",
    )
    workers: int = Field(2, ge=1, le=256, description="Workers of the local Dask cluster.")


_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#-]+$")


def _check_cron(value: str) -> str:
    fields = value.split()
    if fields and (len(fields) != 5 or not all(_CRON_FIELD.match(f) for f in fields)):
        raise ValueError(f"{value!r} is not a cron expression of five fields, e.g. '*/30 * * * *'")
    return " ".join(fields)


class ScheduleSettings(_Section):
    timezone: str = Field(
        "UTC", description="IANA time zone the cron expressions are read in, e.g. Europe/Brussels."
    )
    ingest: str = Field(
        "*/30 * * * *",
        description="Cron of ingesting, then tagging (unless tag has its own); empty turns it off.",
    )
    tag: str = Field(
        "", description="Cron of tagging on its own; empty: tagging follows each ingestion."
    )
    draft: str = Field("0 * * * *", description="Cron of drafting; empty turns it off.")
    translate: str = Field(
        "15 * * * *", description="Cron of translating approved briefings; empty turns it off."
    )
    publish: str = Field("30 * * * *", description="Cron of publishing; empty turns it off.")

    @field_validator("ingest", "tag", "draft", "translate", "publish")
    @classmethod
    def _cron(cls, value: str) -> str:
        return _check_cron(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone such as UTC or Europe/Brussels"
            ) from None
        return value


class Config(_Section):
    """The whole of ``briefings.toml``."""

    workspace: WorkspaceSettings = Field(
        default_factory=WorkspaceSettings, description="General settings."
    )
    fetch: FetchSettings = Field(
        default_factory=FetchSettings, description="Limits on fetching sources."
    )
    ingest: IngestSettings = Field(
        default_factory=IngestSettings, description="Ingestion behaviour."
    )
    tagging: TaggingSettings = Field(
        default_factory=TaggingSettings, description="Tagging with spaCy."
    )
    drafting: DraftingSettings = Field(
        default_factory=DraftingSettings, description="Drafting briefings from items."
    )
    publishing: PublishingSettings = Field(
        default_factory=PublishingSettings, description="The static site and feeds."
    )
    policy: PolicySettings = Field(
        default_factory=PolicySettings, description="Who must approve what."
    )
    translation: TranslationSettings = Field(
        default_factory=TranslationSettings,
        description="Offline machine translation with CTranslate2 (publishing decides what is published).",
    )
    officers: list[OfficerConfig] = Field(
        default_factory=list, description="Communications officers, linguists and admins."
    )
    sources: list[SourceConfig] = Field(
        default_factory=list, description="Feeds and advisories to ingest."
    )
    audiences: list[AudienceConfig] = Field(
        default_factory=list, description="Who gets which output."
    )
    orchestration: OrchestrationSettings = Field(
        default_factory=OrchestrationSettings,
        description="Task runners: threads (default) or Dask.",
    )
    schedules: ScheduleSettings = Field(
        default_factory=ScheduleSettings,
        description="When `briefings serve` runs each stage (cron, in timezone).",
    )

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources) or "none"
        raise ConfigError(f"No source {source_id!r} in briefings.toml (known: {known}).")

    def officer(self, name: str) -> OfficerConfig:
        for officer in self.officers:
            if officer.name == name:
                return officer
        raise ConfigError(f"Unknown officer {name!r}: add an [[officers]] entry to briefings.toml.")

    @property
    def detection_languages(self) -> list[str]:
        """Languages a detector may choose from: the workspace's and every declared one."""
        langs = list(self.workspace.languages)
        langs += [s.lang for s in self.sources if s.lang and s.lang not in langs]
        return langs


# Checked on the raw data, outside pydantic: its list and model validators do not
# run once an element failed, and every problem must be reported at once.
_UNIQUE = (("sources", "id"), ("audiences", "name"), ("audiences", "output"), ("officers", "name"))


def _duplicate_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = []
    for table, key in _UNIQUE:
        rows = data.get(table)
        if not isinstance(rows, list):
            continue
        names = [
            row.get(key) for row in rows if isinstance(row, dict) and isinstance(row.get(key), str)
        ]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            problems.append((table, f"{key} must be unique; repeated: {', '.join(dupes)}"))
    return problems


def parse_config(
    data: Mapping[str, Any],
    *,
    origin: str = "briefings.toml",
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Validate raw config data layered with environment and overrides.

    ``overrides`` maps dotted keys (``"fetch.retries"``) to values; a flag the
    user did not pass must simply be absent. Raises ConfigError listing every
    problem with its key.
    """
    merged: dict[str, Any] = {
        k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()
    }
    problems: list[tuple[str, str]] = []
    for key, value in _env_overrides(environ if environ is not None else os.environ, problems):
        _set_dotted(merged, key, value)
    for key, value in (overrides or {}).items():
        _set_dotted(merged, key, value)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        problems += [(_dotted(err["loc"]), _clean_message(err)) for err in exc.errors()]
        config = None
    problems += _duplicate_problems(merged)
    if problems or config is None:
        raise ConfigError(f"{origin} is invalid ({len(problems)} problem(s)):", problems)
    return config


def load_config(
    path: Path,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Read and validate ``path``; ConfigError names the file and every problem."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"No {path.name} in {path.parent}. Create a workspace with: briefings init DIR"
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return parse_config(data, origin=str(path), environ=environ, overrides=overrides)


def _env_overrides(
    environ: Mapping[str, str], problems: list[tuple[str, str]]
) -> list[tuple[str, Any]]:
    found = []
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue  # BRIEFINGS_WORKSPACE and friends belong to the CLI
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if section not in Config.model_fields or section in {"sources", "audiences", "officers"}:
            problems.append((name, f"no table [{section}] to override"))
            continue
        found.append((f"{section}.{key}", _parse_env_value(raw)))
    return found


def _parse_env_value(raw: str) -> Any:
    # Values are TOML literals when they parse as such (numbers, booleans, lists),
    # plain strings otherwise, so BRIEFINGS_WORKSPACE__NAME=Coalition needs no quotes.
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    section, _, name = key.partition(".")
    if not name:
        data[section] = value
        return
    table = data.setdefault(section, {})
    if isinstance(table, dict):
        table[name] = value


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(file)"


def _clean_message(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        return "unknown key (check its spelling)"
    return msg.removeprefix("Value error, ")
