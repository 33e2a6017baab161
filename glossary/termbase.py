"""The multilingual termbase: load it, validate it, export it.

The data lives in ``glossary/data/*.yaml`` (one file per category). It is
edited by communications staff and linguists, so every problem is reported as
a :class:`Finding` that names the file and line where it can be fixed, and all
problems are collected before anything fails. The schema is documented in
``glossary/README.md``.

The module reads in the order the data flows: parse YAML with line marks ->
build and check concepts -> the :class:`Glossary` view -> exports.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import IO, Any

import yaml

from briefings.errors import GlossaryError

logger = logging.getLogger(__name__)

#: Categories a concept may belong to; an id starts with its category.
CATEGORIES: tuple[str, ...] = ("sector", "threat", "tactic", "actor")

#: Concept flags and what they mean (see README.md).
FLAGS: dict[str, str] = {
    "dnt": "do not translate: the terms are names, copied verbatim in every language",
    "civilian-essential": "a sector whose disruption directly endangers civilians' life, "
    "health or basic needs",
}

#: Term statuses, in the order of the review workflow.
STATUSES: tuple[str, ...] = ("proposed", "reviewed", "deprecated")

#: The language key for terms that are the same in every language (names).
NEUTRAL = "*"

#: The languages every sector, threat and tactic must have a preferred term in.
DEFAULT_LANGUAGES: tuple[str, ...] = ("en", "fr", "es", "ar", "ru", "zh")

#: Where the shipped data lives inside the package, and how it is shown in messages.
DATA_PACKAGE = "glossary"
DATA_FOLDER = "data"
DATA_DISPLAY_PREFIX = "glossary/data/"

# The shipped files are read in this order so that concepts come out grouped
# the way people read them: where it happens, what happens, how lies spread, who.
_FILE_ORDER = ("sectors.yaml", "threats.yaml", "tactics.yaml", "actors.yaml")

_ID_RE = re.compile(r"^(?P<category>[a-z]+)\.(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)$")
_LANG_RE = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_DISARM_RE = re.compile(r"\bT\d{4}(?:\.\d{3})?\b")
_ATTACK_GROUP_RE = re.compile(r"\bG\d{4}\b")

_TOP_KEYS = {"concepts"}
_CONCEPT_REQUIRED = ("id", "category", "definition", "source", "terms")
_CONCEPT_KEYS = {*_CONCEPT_REQUIRED, "flags", "severity", "essentialness", "notes", "related"}
_BLOCK_KEYS = {"preferred", "variants"}
_TERM_KEYS = {"term", "status", "ref", "note", "case_sensitive"}
# Scales that drive the civilian-impact priority: which category may carry which.
_SCALES = {"severity": "threat", "essentialness": "sector"}


# --------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One problem in the termbase, located so that a person can fix it."""

    severity: str  # "error" or "warning"
    file: str
    line: int | None
    concept_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        about = f" [{self.concept_id}]" if self.concept_id else ""
        return f"{where}: {self.severity}: {self.message}{about}"


class _Findings(list):
    """A list of findings with short helpers to add to it."""

    def error(self, file: str, line: int | None, concept_id: str | None, message: str) -> None:
        self.append(Finding("error", file, line, concept_id, message))

    def warning(self, file: str, line: int | None, concept_id: str | None, message: str) -> None:
        self.append(Finding("warning", file, line, concept_id, message))


# --------------------------------------------------------------------------
# YAML with line marks
# --------------------------------------------------------------------------


class _Map(dict):
    """A YAML mapping that remembers where each key and value was written."""

    line: int
    key_lines: dict[Any, int]
    value_lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class _Seq(list):
    """A YAML sequence that remembers the line of each item."""

    line: int
    item_lines: list[int]


class _MarkedLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader whose mappings and sequences carry 1-based line numbers. On
    libyaml where PyYAML has it (its nodes carry the same marks; ten times faster: the
    shipped glossary loads in 0.07 instead of 0.7 s, and every stage loads it)."""


def _construct_map(loader: _MarkedLoader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines, result.value_lines, result.duplicates = {}, {}, []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from None
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, line))
            continue
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
        result.value_lines[key] = value_node.start_mark.line + 1
    return result


def _construct_seq(loader: _MarkedLoader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_MarkedLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_MarkedLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def _line(container: Any, key: Any = None, default: int | None = None) -> int | None:
    """The line of ``container[key]`` (or of the container itself)."""
    if isinstance(container, _Map):
        if key is None:
            return container.line
        return container.value_lines.get(key, container.line)
    if isinstance(container, _Seq):
        if key is None:
            return container.line
        return container.item_lines[key]
    return default


# --------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------


# Letters that carry a mark but are letters of their own, not accented forms:
# folding them would merge different words (ru "электростанций"/"электростанции").
_KEEP_MARKED = frozenset("йЙїЇўЎ")


def normalize_term(text: str) -> str:
    """Fold a term for comparison: case, diacritics, spacing and typography.

    Used to find one term claimed by two concepts: "Rançongiciel" and
    "rancongiciel", "ё" and "е", "أ" and "ا" (hamza), vowel marks (harakat)
    and tatweel all compare equal; "й" stays a letter of its own. Hyphens stay
    significant, because "spear-phishing" and "spear phishing" tokenize
    differently.
    """
    text = text.replace("\u2019", "'").replace("\u02bc", "'")
    text = text.replace("\u2010", "-").replace("\u2011", "-").replace("\u0640", "")
    # ASCII has no marks to fold and is its own NFC and NFKD form.
    if not text.isascii():
        text = "".join(map(_fold_char, unicodedata.normalize("NFC", text)))
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character without its combining marks (memoised: a glossary has thousands
    of terms and a few hundred distinct characters)."""
    if char in _KEEP_MARKED:
        return char
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


@dataclass(frozen=True)
class Term:
    """One written form of a concept in one language (or ``*``, every language)."""

    text: str
    lang: str
    concept_id: str
    preferred: bool
    status: str = "proposed"
    ref: str | None = None
    note: str | None = None
    case_sensitive: bool = False
    line: int | None = None

    @property
    def admitted(self) -> bool:
        """True unless linguists advised against the term (it is still recognised)."""
        return self.status != "deprecated"


@dataclass(frozen=True)
class Concept:
    """One idea, with its terms in every language."""

    id: str
    category: str
    definition: str
    source: str
    terms: tuple[Term, ...]
    flags: tuple[str, ...] = ()
    severity: int | None = None
    essentialness: int | None = None
    notes: str | None = None
    related: tuple[str, ...] = ()
    file: str = ""
    line: int | None = None

    @property
    def is_dnt(self) -> bool:
        """True for names that must never be translated (groups, malware, products)."""
        return "dnt" in self.flags

    @property
    def languages(self) -> tuple[str, ...]:
        """The language keys this concept has terms in, ``*`` included, in file order."""
        return tuple(dict.fromkeys(term.lang for term in self.terms))

    def terms_in(self, lang: str) -> tuple[Term, ...]:
        """The terms used in ``lang``: its own, then the language-neutral ones."""
        own = tuple(t for t in self.terms if t.lang == lang)
        neutral = tuple(t for t in self.terms if t.lang == NEUTRAL and lang != NEUTRAL)
        return own + neutral

    def preferred_term(self, lang: str) -> Term | None:
        """The preferred term in ``lang``, falling back to the ``*`` one, else None."""
        for wanted in (lang, NEUTRAL):
            for term in self.terms:
                if term.lang == wanted and term.preferred:
                    return term
        return None


class Glossary:
    """A validated termbase: concepts in a stable order, looked up by id."""

    def __init__(self, concepts: Iterable[Concept], version: str, files: Iterable[str] = ()):
        self.concepts: tuple[Concept, ...] = tuple(concepts)
        self.version = version
        self.files: tuple[str, ...] = tuple(files)
        self._by_id = {concept.id: concept for concept in self.concepts}

    def __repr__(self) -> str:
        return f"<Glossary {self.version}: {len(self.concepts)} concepts>"

    def __len__(self) -> int:
        return len(self.concepts)

    def __contains__(self, concept_id: object) -> bool:
        return concept_id in self._by_id

    @property
    def languages(self) -> tuple[str, ...]:
        """Every real language with at least one term, sorted (``*`` is not one)."""
        found = {t.lang for c in self.concepts for t in c.terms if t.lang != NEUTRAL}
        return tuple(sorted(found))

    def concept(self, concept_id: str) -> Concept:
        """The concept with this id; KeyError names the id when there is none."""
        try:
            return self._by_id[concept_id]
        except KeyError:
            raise KeyError(f"No glossary concept {concept_id!r}") from None

    def by_category(self, category: str) -> tuple[Concept, ...]:
        """The concepts of one category, in glossary order."""
        return tuple(c for c in self.concepts if c.category == category)

    def terms_for(self, lang: str) -> Iterator[tuple[str, str, bool]]:
        """``(term_text, concept_id, is_preferred)`` for every term usable in ``lang``.

        Language-neutral (``*``) terms, such as the names of threat actors, are
        included for every language.
        """
        for term in self.entries(lang):
            yield term.text, term.concept_id, term.preferred

    def entries(self, lang: str) -> Iterator[Term]:
        """Like :meth:`terms_for`, but the full :class:`Term` records."""
        for concept in self.concepts:
            yield from concept.terms_in(lang)

    def preferred(self, concept_id: str, lang: str) -> str | None:
        """The preferred term of a concept in ``lang`` (or its ``*`` name), else None."""
        term = self.concept(concept_id).preferred_term(lang)
        return term.text if term else None


# --------------------------------------------------------------------------
# Sources: the files to read
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    display: str  # the name shown in findings
    read: Any = field(repr=False)  # () -> bytes


PathsArg = str | os.PathLike | Iterable[str | os.PathLike] | None


def _shipped_sources() -> list[_Source]:
    folder: Traversable = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER)
    entries = [e for e in folder.iterdir() if e.name.endswith(".yaml") and e.is_file()]
    rank = {name: i for i, name in enumerate(_FILE_ORDER)}
    entries.sort(key=lambda e: (rank.get(e.name, len(rank)), e.name))
    return [_Source(DATA_DISPLAY_PREFIX + e.name, e.read_bytes) for e in entries]


def _sources(paths: PathsArg) -> list[_Source]:
    if paths is None:
        return _shipped_sources()
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    found: list[_Source] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        else:
            files = [path]
        found.extend(_Source(str(p), p.read_bytes) for p in files)
    return found


# --------------------------------------------------------------------------
# Parsing and checking
# --------------------------------------------------------------------------


def _parse_source(source: _Source, findings: _Findings) -> tuple[bytes | None, _Seq | list]:
    """Read one file; return its bytes and its list of raw concepts."""
    try:
        data = source.read()
    except OSError as exc:
        findings.error(source.display, None, None, f"cannot read the file: {exc.strerror}")
        return None, []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        findings.error(source.display, line, None, "not valid UTF-8; save the file as UTF-8")
        return data, []
    try:
        document = yaml.load(text, Loader=_MarkedLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        findings.error(source.display, line, None, f"YAML syntax error: {problem}")
        return data, []
    except yaml.YAMLError as exc:
        findings.error(source.display, None, None, f"YAML error: {exc}")
        return data, []
    if document is None:
        findings.warning(source.display, 1, None, "the file holds no concepts")
        return data, []
    if not isinstance(document, _Map) or "concepts" not in document:
        findings.error(
            source.display,
            _line(document) or 1,
            None,
            "the file must be a mapping with a 'concepts:' list",
        )
        return data, []
    _check_keys(document, _TOP_KEYS, source.display, None, findings, "top-level key")
    concepts = document["concepts"]
    if concepts is None:
        return data, []
    if not isinstance(concepts, _Seq):
        findings.error(
            source.display,
            _line(document, "concepts"),
            None,
            "'concepts' must be a list of concepts",
        )
        return data, []
    return data, concepts


def _check_keys(
    mapping: _Map,
    allowed: set[str],
    file: str,
    concept_id: str | None,
    findings: _Findings,
    what: str,
) -> None:
    for key, line in mapping.duplicates:
        if key == "preferred":
            findings.error(file, line, concept_id, "more than one preferred term")
        else:
            findings.error(file, line, concept_id, f"duplicate key {key!r}")
    for key in mapping:
        if key not in allowed:
            findings.error(
                file,
                mapping.key_lines.get(key),
                concept_id,
                f"unknown {what} {key!r} (allowed: {', '.join(sorted(allowed))})",
            )


def _text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _build_term(
    raw: Any,
    line: int | None,
    lang: str,
    concept_id: str,
    preferred: bool,
    file: str,
    findings: _Findings,
) -> Term | None:
    """Build one term from a plain string or a ``{term: ..., status: ...}`` mapping."""
    fields: dict[str, Any] = {}
    if isinstance(raw, _Map):
        _check_keys(raw, _TERM_KEYS, file, concept_id, findings, "term key")
        fields = {k: raw[k] for k in raw if k in _TERM_KEYS}
        text_value = raw.get("term")
        line = _line(raw, "term") if "term" in raw else raw.line
    else:
        text_value = raw
    if not isinstance(text_value, str) or not text_value.strip():
        findings.error(file, line, concept_id, f"empty or non-text term in {lang!r}")
        return None
    if text_value != text_value.strip() or "\n" in text_value or "  " in text_value:
        findings.error(
            file, line, concept_id, f"term {text_value!r} has stray spaces or a line break"
        )
        text_value = " ".join(text_value.split())
    status = fields.get("status", "proposed")
    if status not in STATUSES:
        findings.error(
            file,
            _line(raw, "status", line),
            concept_id,
            f"unknown status {status!r} for {text_value!r} (allowed: {', '.join(STATUSES)})",
        )
        status = "proposed"
    if preferred and status == "deprecated":
        findings.error(
            file, line, concept_id, f"the preferred term {text_value!r} cannot be deprecated"
        )
    ref = fields.get("ref")
    if status == "reviewed" and not _text(ref):
        findings.warning(
            file,
            line,
            concept_id,
            f"{text_value!r} is 'reviewed' but names no 'ref' (its published source)",
        )
    case_sensitive = fields.get("case_sensitive", False)
    if not isinstance(case_sensitive, bool):
        findings.error(
            file,
            _line(raw, "case_sensitive", line),
            concept_id,
            "'case_sensitive' must be true or false",
        )
        case_sensitive = False
    return Term(
        text=text_value,
        lang=lang,
        concept_id=concept_id,
        preferred=preferred,
        status=status,
        ref=_text(ref),
        note=_text(fields.get("note")),
        case_sensitive=case_sensitive,
        line=line,
    )


def _build_terms(
    raw_terms: Any,
    line: int | None,
    concept_id: str,
    file: str,
    findings: _Findings,
) -> list[Term]:
    if not isinstance(raw_terms, _Map) or not raw_terms:
        findings.error(
            file, line, concept_id, "'terms' must map language codes to {preferred, variants}"
        )
        return []
    _check_keys(raw_terms, set(raw_terms), file, concept_id, findings, "language")
    terms: list[Term] = []
    for lang, block in raw_terms.items():
        block_line = _line(raw_terms, lang)
        if not isinstance(lang, str) or not (lang == NEUTRAL or _LANG_RE.match(lang)):
            findings.error(
                file,
                raw_terms.key_lines.get(lang),
                concept_id,
                f"malformed language code {lang!r} (use BCP 47, e.g. 'fr', or '*')",
            )
            continue
        if not isinstance(block, _Map):
            findings.error(
                file,
                block_line,
                concept_id,
                f"terms for {lang!r} must be a mapping with 'preferred' and 'variants'",
            )
            continue
        _check_keys(block, _BLOCK_KEYS, file, concept_id, findings, f"key in {lang!r}")
        preferred = block.get("preferred")
        if isinstance(preferred, _Seq):
            if len(preferred) > 1:
                findings.error(
                    file,
                    _line(block, "preferred"),
                    concept_id,
                    f"more than one preferred term in {lang!r}; move the others to 'variants'",
                )
            candidates = [(p, preferred.item_lines[i]) for i, p in enumerate(preferred)][:1]
        elif preferred is None:
            findings.error(file, block_line, concept_id, f"no preferred term in {lang!r}")
            candidates = []
        else:
            candidates = [(preferred, _line(block, "preferred"))]
        for raw, raw_line in candidates:
            term = _build_term(raw, raw_line, lang, concept_id, True, file, findings)
            if term:
                terms.append(term)
        variants = block.get("variants", [])
        if variants is None:
            variants = []
        if not isinstance(variants, _Seq | list):
            findings.error(
                file, _line(block, "variants"), concept_id, f"'variants' in {lang!r} must be a list"
            )
            continue
        for i, raw in enumerate(variants):
            term = _build_term(
                raw, _line(variants, i, block_line), lang, concept_id, False, file, findings
            )
            if term:
                terms.append(term)
    return terms


def _build_concept(raw: Any, line: int | None, file: str, findings: _Findings) -> Concept | None:
    if not isinstance(raw, _Map):
        findings.error(file, line, None, "a concept must be a mapping (id, category, ...)")
        return None
    raw_id = raw.get("id")
    concept_id = raw_id if isinstance(raw_id, str) else None
    _check_keys(raw, _CONCEPT_KEYS, file, concept_id, findings, "concept key")
    for key in _CONCEPT_REQUIRED:
        if key not in raw or raw[key] in (None, ""):
            findings.error(file, raw.line, concept_id, f"missing {key!r}")
    category = raw.get("category")
    match = _ID_RE.match(concept_id) if concept_id else None
    if "id" in raw and not match:
        findings.error(
            file,
            _line(raw, "id"),
            concept_id,
            f"malformed id {raw_id!r}: write 'category.slug' in lower case, digits and "
            "single hyphens (e.g. 'threat.ransomware')",
        )
    if "category" in raw and category not in CATEGORIES:
        findings.error(
            file,
            _line(raw, "category"),
            concept_id,
            f"unknown category {category!r} (allowed: {', '.join(CATEGORIES)})",
        )
    elif match and category and match["category"] != category:
        findings.error(
            file,
            _line(raw, "id"),
            concept_id,
            f"id {concept_id!r} does not start with its category {category!r}",
        )
    definition = raw.get("definition")
    if "definition" in raw and not _text(definition):
        findings.error(
            file, _line(raw, "definition"), concept_id, "the definition must be a sentence of text"
        )
    source = raw.get("source")
    if "source" in raw and not _text(source):
        findings.error(file, _line(raw, "source"), concept_id, "the source must be text")
    elif category == "tactic" and not _DISARM_RE.search(str(source)):
        findings.error(
            file,
            _line(raw, "source"),
            concept_id,
            "a tactic's source must name its DISARM technique id (e.g. T0086.002)",
        )
    elif category == "actor" and not _ATTACK_GROUP_RE.search(str(source)):
        findings.error(
            file,
            _line(raw, "source"),
            concept_id,
            "an actor's source must name its ATT&CK group id (e.g. G0007)",
        )

    flags = raw.get("flags") or []
    if not isinstance(flags, list):
        findings.error(file, _line(raw, "flags"), concept_id, "'flags' must be a list")
        flags = []
    for i, flag in enumerate(flags):
        if flag not in FLAGS:
            findings.error(
                file,
                _line(flags, i, _line(raw, "flags")),
                concept_id,
                f"unknown flag {flag!r} (allowed: {', '.join(FLAGS)})",
            )
    if category == "actor" and "dnt" not in flags:
        findings.error(file, raw.line, concept_id, "an actor is a name: flag it 'dnt'")

    scales: dict[str, int | None] = {}
    for scale, owner in _SCALES.items():
        value = raw.get(scale)
        scales[scale] = None
        if value is None:
            if category == owner:
                findings.warning(
                    file,
                    raw.line,
                    concept_id,
                    f"no {scale} (1-5): the civilian-impact priority will ignore it",
                )
            continue
        if category != owner:
            findings.error(
                file, _line(raw, scale), concept_id, f"{scale!r} applies to {owner} concepts only"
            )
        elif isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            findings.error(
                file,
                _line(raw, scale),
                concept_id,
                f"{scale} must be a whole number from 1 to 5, not {value!r}",
            )
        else:
            scales[scale] = value

    related = raw.get("related") or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        findings.error(file, _line(raw, "related"), concept_id, "'related' must list concept ids")
        related = []

    terms = _build_terms(raw.get("terms"), _line(raw, "terms"), concept_id or "?", file, findings)
    if not concept_id:
        return None
    return Concept(
        id=concept_id,
        category=str(category),
        definition=_text(definition) or "",
        source=_text(source) or "",
        terms=tuple(terms),
        flags=tuple(f for f in flags if isinstance(f, str)),
        severity=scales["severity"],
        essentialness=scales["essentialness"],
        notes=_text(raw.get("notes")),
        related=tuple(related),
        file=file,
        line=raw.line,
    )


def _check_glossary_wide(
    concepts: list[Concept], languages: Iterable[str], findings: _Findings
) -> None:
    """Checks that need every concept: duplicate ids and terms, missing languages."""
    seen_ids: dict[str, Concept] = {}
    for concept in concepts:
        first = seen_ids.get(concept.id)
        if first:
            findings.error(
                concept.file,
                concept.line,
                concept.id,
                f"duplicate id, first defined at {first.file}:{first.line}",
            )
        else:
            seen_ids[concept.id] = concept

    for concept in concepts:
        for other in concept.related:
            if other not in seen_ids:
                findings.error(
                    concept.file,
                    concept.line,
                    concept.id,
                    f"'related' names unknown concept {other!r}",
                )
        present = set(concept.languages)
        for lang in languages:
            if lang not in present and NEUTRAL not in present:
                findings.error(
                    concept.file, concept.line, concept.id, f"no preferred term in {lang!r}"
                )
        english = concept.preferred_term("en")
        for term in concept.terms:
            if (
                term.preferred
                and english
                and term.lang not in ("en", NEUTRAL)
                and not concept.is_dnt
                and term.text.casefold() == english.text.casefold()
            ):
                findings.warning(
                    concept.file,
                    term.line,
                    concept.id,
                    f"the preferred term in {term.lang!r} is the English one; is it translated?",
                )

    # One written form must lead to one concept per language. A neutral term
    # competes in every language, so it is indexed once and checked against all.
    index: dict[str, dict[str, Term]] = {}
    files = {c.id: c.file for c in concepts}

    def claim(bucket: str, term: Term) -> None:
        key = normalize_term(term.text)
        owners = index.setdefault(bucket, {})
        first = owners.get(key)
        if first is None:
            owners[key] = term
        elif first.concept_id == term.concept_id:
            findings.warning(
                files[term.concept_id],
                term.line,
                term.concept_id,
                f"{term.text!r} is listed twice in {term.lang!r}",
            )
        else:
            where = f"{files[first.concept_id]}:{first.line}"
            lang = "every language" if NEUTRAL in (first.lang, term.lang) else repr(term.lang)
            findings.error(
                files[term.concept_id],
                term.line,
                term.concept_id,
                f"term {term.text!r} in {lang} already belongs to {first.concept_id} "
                f"({where}: {first.text!r})",
            )

    for concept in concepts:
        for term in concept.terms:
            if term.lang == NEUTRAL:
                claim(NEUTRAL, term)
    for concept in concepts:
        for term in concept.terms:
            if term.lang == NEUTRAL:
                continue
            neutral_owner = index.get(NEUTRAL, {}).get(normalize_term(term.text))
            if neutral_owner and neutral_owner.concept_id != term.concept_id:
                where = f"{files[neutral_owner.concept_id]}:{neutral_owner.line}"
                findings.error(
                    files[term.concept_id],
                    term.line,
                    term.concept_id,
                    f"term {term.text!r} in {term.lang!r} is already the name of "
                    f"{neutral_owner.concept_id} in every language ({where})",
                )
                continue
            claim(term.lang, term)


def _read(
    paths: PathsArg, languages: Iterable[str]
) -> tuple[list[Concept], _Findings, str, list[str]]:
    findings = _Findings()
    concepts: list[Concept] = []
    digest = hashlib.sha256()
    shown: list[str] = []
    for source in _sources(paths):
        shown.append(source.display)
        data, raw_concepts = _parse_source(source, findings)
        if data is not None:
            _digest_file(digest, source, data)
        for i, raw in enumerate(raw_concepts):
            line = _line(raw_concepts, i) if isinstance(raw_concepts, _Seq) else None
            concept = _build_concept(raw, line, source.display, findings)
            if concept:
                concepts.append(concept)
    _check_glossary_wide(concepts, tuple(languages), findings)
    findings.sort(key=lambda f: (f.file, f.line or 0, f.severity != "error", f.message))
    return concepts, findings, digest.hexdigest()[:12], shown


def _digest_file(digest: Any, source: _Source, data: bytes) -> None:
    digest.update(Path(source.display).name.encode("utf-8") + b"\0")
    digest.update(hashlib.sha256(data).digest())


def glossary_version(paths: PathsArg = None) -> str:
    """The ``version`` :func:`load_glossary` would give the files now, from their bytes
    alone (no parsing, about a millisecond): a cache of loaded glossaries keys on it, so
    an edit made while a process runs is seen. Unreadable files are left out (loading
    them reports the error)."""
    digest = hashlib.sha256()
    for source in _sources(paths):
        try:
            data = source.read()
        except OSError:
            continue
        _digest_file(digest, source, data)
    return digest.hexdigest()[:12]


def check_glossary(
    paths: PathsArg = None, languages: Iterable[str] = DEFAULT_LANGUAGES
) -> list[Finding]:
    """Every problem in the termbase, errors and warnings, sorted by file and line.

    ``paths`` is a file, a folder of ``*.yaml`` files or a list of either; by
    default the shipped ``glossary/data``. ``languages`` are those in which
    every concept needs a preferred term (language-neutral names count).
    """
    return list(_read(paths, languages)[1])


def load_glossary(paths: PathsArg = None, languages: Iterable[str] = DEFAULT_LANGUAGES) -> Glossary:
    """Load and validate the termbase; raise GlossaryError listing every error.

    Warnings do not stop loading; they are logged. ``version`` is a short hash
    of the files' contents, so it changes whenever a term changes.
    """
    concepts, findings, version, shown = _read(paths, languages)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        listing = "\n".join(f"  {f}" for f in errors)
        raise GlossaryError(
            f"The glossary has {len(errors)} error(s); fix them and run the check again:\n{listing}"
        )
    for finding in findings:
        logger.warning("%s", finding)
    logger.info(
        "Loaded glossary %s: %d concepts from %d file(s)", version, len(concepts), len(shown)
    )
    return Glossary(concepts, version, shown)


# --------------------------------------------------------------------------
# Exports
# --------------------------------------------------------------------------

TBX_NAMESPACE = "urn:iso:std:iso:30042:ed-2"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_ADMIN_STATUS = {
    "preferred": "preferredTerm-admn-sts",
    "admitted": "admittedTerm-admn-sts",
    "deprecated": "deprecatedTerm-admn-sts",
}
CSV_COLUMNS = ("concept_id", "category", "lang", "term", "preferred", "status", "flags", "source")


def _write(out: str | os.PathLike | IO, data: bytes) -> None:
    if isinstance(out, str | os.PathLike):
        Path(out).write_bytes(data)
    elif isinstance(out, io.TextIOBase):
        out.write(data.decode("utf-8"))
    else:
        out.write(data)


def _admin_status(term: Term) -> str:
    if term.status == "deprecated":
        return _ADMIN_STATUS["deprecated"]
    return _ADMIN_STATUS["preferred" if term.preferred else "admitted"]


def export_tbx(
    glossary: Glossary, out: str | os.PathLike | IO, neutral_languages: Iterable[str] | None = None
) -> None:
    """Write the glossary as TBX-Basic (ISO 30042:2019, DCA style).

    One ``conceptEntry`` per concept. The category is the ``subjectField``,
    the English definition sits in the English ``langSec``, and source and
    flags are notes. TBX has no language-neutral section, so ``*`` terms
    (names flagged ``dnt``) are written into every language of the glossary
    (or of ``neutral_languages``), where a translation tool shows them as
    terms to copy unchanged.
    """
    spread = tuple(neutral_languages or glossary.languages or DEFAULT_LANGUAGES)
    ET.register_namespace("", TBX_NAMESPACE)
    q = f"{{{TBX_NAMESPACE}}}"
    root = ET.Element(q + "tbx", {"type": "TBX-Basic", "style": "dca", _XML_LANG: "en"})
    header = ET.SubElement(root, q + "tbxHeader")
    file_desc = ET.SubElement(header, q + "fileDesc")
    title_stmt = ET.SubElement(file_desc, q + "titleStmt")
    ET.SubElement(title_stmt, q + "title").text = "Civilian cyber-protection termbase"
    source_desc = ET.SubElement(file_desc, q + "sourceDesc")
    ET.SubElement(source_desc, q + "p").text = (
        f"Glossary version {glossary.version}. Sector, threat and tactic terms: see "
        "glossary/README.md. Tactics derive from DISARM (CC BY-SA 4.0); actors from "
        "MITRE ATT&CK (used under MITRE's terms of use) via MISP galaxy."
    )
    body = ET.SubElement(ET.SubElement(root, q + "text"), q + "body")
    for concept in glossary.concepts:
        entry = ET.SubElement(body, q + "conceptEntry", {"id": concept.id})
        ET.SubElement(entry, q + "descrip", {"type": "subjectField"}).text = concept.category
        ET.SubElement(entry, q + "note").text = f"source: {concept.source}"
        if concept.flags:
            ET.SubElement(entry, q + "note").text = "flags: " + " ".join(concept.flags)
        if concept.is_dnt:
            ET.SubElement(entry, q + "note").text = "do not translate"
        by_lang: dict[str, list[Term]] = {}
        for term in concept.terms:
            if term.lang == NEUTRAL:
                for lang in spread:
                    by_lang.setdefault(lang, []).append(term)
            else:
                by_lang.setdefault(term.lang, []).append(term)
        if "en" not in by_lang:
            ET.SubElement(entry, q + "descrip", {"type": "definition"}).text = concept.definition
        for lang, terms in by_lang.items():
            lang_sec = ET.SubElement(entry, q + "langSec", {_XML_LANG: lang})
            if lang == "en":
                descrip = ET.SubElement(lang_sec, q + "descrip", {"type": "definition"})
                descrip.text = concept.definition
            for term in terms:
                term_sec = ET.SubElement(lang_sec, q + "termSec")
                ET.SubElement(term_sec, q + "term").text = term.text
                ET.SubElement(
                    term_sec, q + "termNote", {"type": "administrativeStatus"}
                ).text = _admin_status(term)
                status = f"status: {term.status}"
                if term.ref:
                    status += f"; ref: {term.ref}"
                ET.SubElement(term_sec, q + "note").text = status
                if term.note:
                    ET.SubElement(term_sec, q + "note").text = term.note
    ET.indent(root)
    data = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    _write(out, data + b"\n")


def export_csv(glossary: Glossary, out: str | os.PathLike | IO) -> None:
    """Write one CSV row per term: concept_id, category, lang, term, preferred,
    status, flags (joined with ``|``), source. ``lang`` is ``*`` for names."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for concept in glossary.concepts:
        for term in concept.terms:
            writer.writerow(
                [
                    concept.id,
                    concept.category,
                    term.lang,
                    term.text,
                    "true" if term.preferred else "false",
                    term.status,
                    "|".join(concept.flags),
                    concept.source,
                ]
            )
    _write(out, buffer.getvalue().encode("utf-8"))
