"""Concept labels for people: the glossary's preferred term in a language."""

from __future__ import annotations

from collections.abc import Callable

from briefings.workspace import Workspace, glossary_paths

Labels = Callable[[str, str], str]


def glossary_labels(workspace: Workspace) -> Labels:
    """``label(concept_id, lang)``: the preferred term in ``lang`` (English, then the id's
    slug, when the glossary has none), capitalised for headings."""
    from glossary import load_glossary

    glossary = load_glossary(glossary_paths(workspace))

    def label(concept_id: str, lang: str) -> str:
        if concept_id in glossary:
            term = glossary.preferred(concept_id, lang) or glossary.preferred(concept_id, "en")
            if term:
                return term[:1].upper() + term[1:]
        return concept_id.split(".", 1)[-1].replace("-", " ").capitalize()

    return label
