"""The multilingual termbase: civilian sectors, threats, disinformation tactics, actors.

Data in ``glossary/data/*.yaml``, schema in ``glossary/README.md``::

    from glossary import load_glossary
    glossary = load_glossary()
    glossary.preferred("threat.ransomware", "fr")   # 'rançongiciel'
"""

from glossary.termbase import (
    CATEGORIES,
    DEFAULT_LANGUAGES,
    FLAGS,
    NEUTRAL,
    STATUSES,
    Concept,
    Finding,
    Glossary,
    Term,
    check_glossary,
    export_csv,
    export_tbx,
    glossary_version,
    load_glossary,
    normalize_term,
)

__all__ = [
    "CATEGORIES",
    "DEFAULT_LANGUAGES",
    "FLAGS",
    "NEUTRAL",
    "STATUSES",
    "Concept",
    "Finding",
    "Glossary",
    "Term",
    "check_glossary",
    "export_csv",
    "export_tbx",
    "glossary_version",
    "load_glossary",
    "normalize_term",
]
