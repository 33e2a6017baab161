"""Template boilerplate: the sentences the drafting templates write into every briefing.

(And the lists of glossary labels they write: :func:`label_list_matcher`.)

"1 event reported by 1 source, most urgent first." is in every digest, whatever its
TLP label, so finding it on a public page betrays nothing about an AMBER digest. The
leak scan (:mod:`briefings.publishing`) drops such clauses from what it looks for.

Each line of a drafting template becomes patterns: its literal text kept, every
``{{ expression }}`` a short wildcard, and its ``{% if %}`` blocks (and their
``{% else %}`` branches) taken and left out in every combination. A line whose literal
text is too short to say anything (a lone ``{{ event.summary }}``) gives no pattern,
so text from the sources always stays something the scan looks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

HOLE = "\x01"  # where an expression's value goes
MIN_LITERAL = 8  # characters of fixed text a pattern needs ("Priority " has 9)
MAX_VALUE = 60  # characters an expression's value may take in a boilerplate clause
MAX_VARIANTS = 32  # if-combinations tried per line

_EXPRESSION = re.compile(r"\{\{.*?\}\}")
_COMMENT = re.compile(r"\{#.*?#\}")
_IF_BLOCK = re.compile(
    r"\{%-?\s*if\b.*?%\}((?:(?!\{%-?\s*(?:if|endif)\b).)*?)\{%-?\s*endif\s*-?%\}"
)
_ELSE = re.compile(r"\{%-?\s*(?:else|elif\b.*?)\s*-?%\}")
_STATEMENT = re.compile(r"\{%.*?%\}")


def line_variants(line: str) -> list[str]:
    """The texts a template line can produce, with HOLE for each expression's value."""
    line = _EXPRESSION.sub(HOLE, _COMMENT.sub("", line))
    variants = [line]
    for _ in range(4):  # nested ifs, innermost first
        expanded = []
        for variant in variants:
            match = _IF_BLOCK.search(variant)
            if match is None:
                expanded.append(variant)
                continue
            head, tail = variant[: match.start()], variant[match.end() :]
            expanded += [head + branch + tail for branch in [*_ELSE.split(match[1]), ""]]
        variants = expanded[:MAX_VARIANTS]
    return [_STATEMENT.sub("", v) for v in variants]


def boilerplate_matcher(
    templates: Iterable[str], reading: Callable[[str], list[str]]
) -> Callable[[str], bool]:
    """A test telling whether a clause is template boilerplate.

    ``reading`` turns text into clauses exactly as the leak scan does (Markdown
    reading, clause splitting, normalising), so patterns and clauses compare alike.
    """
    patterns = set()
    for template in templates:
        for line in template.splitlines():
            for variant in line_variants(line):
                for clause in reading(variant):
                    literal = clause.replace(HOLE, "")
                    if len(literal.strip()) < MIN_LITERAL:
                        continue
                    parts = [re.escape(part) for part in clause.split(HOLE)]
                    patterns.add(f"[^\\n]{{0,{MAX_VALUE}}}?".join(parts))
    if not patterns:
        return lambda clause: False
    combined = re.compile("|".join(f"(?:{p})" for p in sorted(patterns)))
    return lambda clause: combined.fullmatch(clause) is not None


_LIST_SEPARATOR = re.compile(r"\s*[,·]\s*")


def label_list_matcher(labels: Iterable[str]) -> Callable[[str], bool]:
    """A test telling whether a clause is only a list of glossary labels
    ("Hospitals and health care, Drinking water"): what the templates write for
    ``{{ event.sector_labels | join(", ") }}``, the same for every briefing on them."""
    known = {label.casefold() for label in labels if label}

    def is_label_list(clause: str) -> bool:
        parts = _LIST_SEPARATOR.split(clause.strip().rstrip("."))
        return bool(known) and all(part.casefold() in known for part in parts)

    return is_label_list


def drafting_templates(workspace_root: Path) -> list[str]:
    """The text of every drafting template in use: the workspace's overrides and the
    shipped ones (an override does not remove the shipped text from older briefings)."""
    from importlib import resources

    texts = []
    override = workspace_root / "templates" / "drafts"
    if override.is_dir():
        texts += [p.read_text("utf-8", "replace") for p in sorted(override.glob("*.j2"))]
    shipped = resources.files("briefings") / "templates" / "drafts"
    texts += [f.read_text("utf-8") for f in shipped.iterdir() if f.name.endswith(".j2")]
    return texts
