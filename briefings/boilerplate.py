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

Some fixed wording comes in through an expression rather than the template's own text:
a priority reason's ``{{ reason.why }}`` ("sector essentialness 5/5", from the tagger)
and a debunk's pending ``{{ verdict_text }}`` (:mod:`briefings.wording`). The lines that
write them are taken again with each such wording in place of the expression
(:func:`fixed_wording_lines`), so "sector essentialness 5/5 (Health care)" is boilerplate
while "<any sentence> (Health care)" is not: the wording is literal text there, never
a hole, and only the label beside it is one (at most ``MAX_VALUE`` characters).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

from briefings import wording

HOLE = "\x01"  # where an expression's value goes
MIN_LITERAL = 8  # characters of fixed text a pattern needs ("Priority " has 9)
MAX_VALUE = 60  # characters an expression's value may take in a boilerplate clause
MAX_VARIANTS = 32  # if-combinations tried per line

_EXPRESSION = re.compile(r"\{\{.*?\}\}")
_COMMENT = re.compile(r"\{#.*?#\}")
_IF_BLOCK = re.compile(
    r"\{%-?\s*if\b.*?%\}((?:(?!\{%-?\s*(?:if|endif)\b).)*?)\{%-?\s*endif\s*[-+]?%\}"
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


# Expressions whose value is fixed wording, never text of the sources: a reason's ``why``
# (``{{ reason.why }}``, ``{{ r["why"] }}``: whatever the loop variable is called in an
# override) and a debunk's pending verdict. With a filter, an expression stays a hole.
_FIXED_WORDING = (
    (
        re.compile(r"""\{\{-?\s*\w+\s*(?:\.\s*why|\[\s*(["'])why\1\s*\])\s*-?\}\}"""),
        wording.reason_whys,
    ),
    (re.compile(r"\{\{-?\s*verdict_text\s*-?\}\}"), lambda: [wording.PENDING_VERDICT]),
)


def fixed_wording_lines(template: str) -> list[str]:
    """The lines of ``template`` that write fixed wording through an expression, once
    for each wording in its place: ``- {{ reason.why }} ...`` becomes ``- sector
    essentialness 5/5 ...``, ``- CVE ids or indicators to act on ...`` and so on."""
    found = []
    for line in template.splitlines():
        variants = [line]
        for expression, values in _FIXED_WORDING:
            if expression.search(line):
                variants = [
                    expression.sub(lambda _, value=value: value, variant)
                    for variant in variants
                    for value in values()
                ]
        if variants != [line]:
            found += variants
    return found


def drafting_templates(workspace_root: Path) -> list[str]:
    """The text of every drafting template in use: the workspace's overrides and the
    shipped ones (an override does not remove the shipped text from older briefings);
    then their lines that write fixed wording, with each wording in place
    (:func:`fixed_wording_lines`). Changing a reason's wording changes this text, and so
    the key the publish stage keeps its leak needles under."""
    from importlib import resources

    texts = []
    override = workspace_root / "templates" / "drafts"
    if override.is_dir():
        texts += [p.read_text("utf-8", "replace") for p in sorted(override.glob("*.j2"))]
    shipped = resources.files("briefings") / "templates" / "drafts"
    texts += [f.read_text("utf-8") for f in shipped.iterdir() if f.name.endswith(".j2")]
    fixed = [line for text in texts for line in fixed_wording_lines(text)]
    return [*texts, "\n".join(fixed)] if fixed else texts
