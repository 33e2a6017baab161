"""Boilerplate in translations: the translation of a template sentence is boilerplate too.

The drafting templates are written in the source language, so :mod:`briefings.boilerplate`
knows their sentences only there. Two unedited drafts, one AMBER and one CLEAR, carry
the same template sentences, and their machine translations the same translated ones
("Signalez les incidents à votre CERT national"): the leak scan took the AMBER
translation's for a leak in the CLEAR one's, and failed every public build.

A sentence of a translation is boilerplate only when the source sentence it translates
is wholly boilerplate: every clause of it, however short, is something the templates
write (their patterns and their fixed words), an advice text, a list of glossary labels,
or a short clause without letters (a score, a date). What an officer or a source wrote,
and its translation, stays something the scan looks for.

Sentences are paired the way the translation stage made them. The stage keeps a
briefing's structure byte for byte: the translation has the source's prose units (front
matter fields, headings, paragraphs, list items, table cells) on the same lines
(:mod:`briefings.translation.markdown`), and it translates each unit sentence by
sentence, in order (:mod:`briefings.translation.segments`). So units pair one to one,
and within a unit the n-th sentence translates the n-th. Where that cannot be trusted,
nothing is taken for boilerplate (every clause stays a needle):

- a translation of other bytes than its source's (``source_sha256``), or whose source
  is not at hand: the whole translation;
- units that differ in number, kind, front matter field or lines (a reviewer changed
  the structure): the whole translation;
- a unit whose sentences differ in number (a model or a reviewer merged, split or added
  sentences): that unit.

Sentences are cut with the stage's plain splitter (the flow's spaCy sentencizer is not
at hand here) after its protection (no cut inside a URL, code or a link), the same way
on both sides; only the pairing depends on the cut, and a cut that differs between the
two sides shows as a different number of sentences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from briefings.boilerplate import HOLE, MIN_LITERAL, line_variants

if TYPE_CHECKING:
    from briefings.site import Publication
    from briefings.translation.markdown import Unit

Reading = Callable[[str], list[str]]  # text -> its clauses, as the leak scan reads them


def template_fragments(templates: Iterable[str], reading: Reading) -> set[str]:
    """The clauses of the templates' lines that hold no expression, however short
    ("Sources", "Sectors"): fixed words the patterns of :func:`boilerplate_matcher
    <briefings.boilerplate.boilerplate_matcher>` leave out below ``MIN_LITERAL``
    characters. A sentence of a source is wholly boilerplate only with them."""
    return {
        clause
        for template in templates
        for line in template.splitlines()
        for variant in line_variants(line)
        for clause in reading(variant)
        if HOLE not in clause
    }


def source_clause_test(
    advice: str, template_text: Callable[[str], bool], short: int
) -> Callable[[str], bool]:
    """Whether a clause of a source sentence, however short, is boilerplate: a clause
    the templates write (``template_text``), a piece of an advice text (``advice``,
    whitespace squashed) of at least ``MIN_LITERAL`` characters (shorter ones, "data",
    are in any text), or a clause without letters shorter than ``short`` ("+40",
    "5/5")."""

    def is_boilerplate(clause: str) -> bool:
        return (
            template_text(clause)
            or (len(clause) >= MIN_LITERAL and clause in advice)
            or (len(clause) < short and not any(char.isalpha() for char in clause))
        )

    return is_boilerplate


def unit_sentences(unit: Unit) -> list[str]:
    """The sentences of a prose unit as the translation stage cuts them (protected
    spans kept whole), each with its protected text back in place."""
    from briefings.translation.protection import restore, unglue
    from briefings.translation.segments import prepare_unit, simple_sentences, to_unit_numbers

    if len(simple_sentences(unit.text)) < 2:
        return [unit.text]  # no place to cut (protecting first only takes places away)
    prepared = prepare_unit(unit, simple_sentences)
    tokens, glue = prepared.protected.tokens, prepared.protected.glue
    return [
        restore(unglue(to_unit_numbers(segment, segment.text), glue), tokens)
        for segment in prepared.segments
    ]


def is_wholly_boilerplate(
    sentence: str, is_boilerplate: Callable[[str], bool], reading: Reading
) -> bool:
    """Whether every clause of ``sentence`` (a sentence of a source) is boilerplate."""
    parts = reading(sentence)
    return bool(parts) and all(map(is_boilerplate, parts))


def _structure(units: list[Unit]) -> list[tuple]:
    return [(u.kind, u.field, tuple(part.line for part in u.parts)) for u in units]


def paired_units(source: Publication, translation: Publication) -> list[tuple[Unit, Unit]] | None:
    """The prose units of ``source`` and ``translation``, paired; None when the
    translation is not of the source's bytes or its structure differs."""
    from briefings.translation.markdown import segment_document

    info = translation.meta.get("translation")
    if not isinstance(info, dict) or info.get("source_sha256") != source.digest:
        return None
    units = segment_document(source.meta, source.body).units
    translated = segment_document(translation.meta, translation.body).units
    if _structure(units) != _structure(translated):
        return None
    return list(zip(units, translated, strict=True))


def translated_boilerplate(
    publications: Iterable[Publication], is_boilerplate: Callable[[str], bool], reading: Reading
) -> dict[tuple[str, str], set[str]]:
    """Per translation among ``publications`` (by briefing id and language), the clauses
    (as ``reading`` gives them) of its sentences that translate a wholly boilerplate
    sentence of its source (also among ``publications``). ``is_boilerplate`` tells it
    of one clause of a source sentence (:func:`source_clause_test`)."""
    publications = list(publications)
    sources = {p.id: p for p in publications if p.lang == p.record.lang}
    verdicts: dict[str, bool] = {}
    cut: dict[tuple[int, str], list[str]] = {}  # a source unit's sentences, once

    def wholly_boilerplate(sentence: str) -> bool:
        if sentence not in verdicts:
            verdicts[sentence] = is_wholly_boilerplate(sentence, is_boilerplate, reading)
        return verdicts[sentence]

    found: dict[tuple[str, str], set[str]] = {}
    for pub in publications:
        source = sources.get(pub.id)
        if pub.lang == pub.record.lang or source is None:
            continue
        mine = found.setdefault((pub.id, pub.lang), set())
        for number, (unit, translated) in enumerate(paired_units(source, pub) or []):
            key = (number, pub.id)
            if key not in cut:
                cut[key] = unit_sentences(unit)
            sentences, translations = cut[key], unit_sentences(translated)
            if len(sentences) != len(translations):
                continue  # merged, split or added: no pairing to trust
            for sentence, translation in zip(sentences, translations, strict=True):
                if wholly_boilerplate(sentence):
                    mine.update(reading(translation))
    return found
