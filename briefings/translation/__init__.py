"""Offline translation of approved briefings with Argos Translate packages.

The modules, in the order data flows through them:

- :mod:`~briefings.translation.markdown`: a briefing's prose units (front matter
  title/summary/claim; headings, paragraphs, list items, table cells, quotes),
  placed by line and character range so the structure is kept byte for byte;
- :mod:`~briefings.translation.protection`: code, URLs, link targets, CVE ids,
  indicators, do-not-translate names and emphasis become ``⟦n⟧`` placeholders;
- :mod:`~briefings.translation.segments`: units cut into sentence segments and
  put back together over the same lines;
- :mod:`~briefings.translation.memory`: the translation memory in the store;
- :mod:`~briefings.translation.argos`: the one adapter to argostranslate,
  CTranslate2 and SentencePiece (imported lazily);
- :mod:`~briefings.translation.packages`: installing, listing, removing and
  verifying packages; routes (direct or through English);
- :mod:`~briefings.translation.engine`: every segment of a run per route,
  memory first, then batched through the model(s);
- :mod:`~briefings.translation.terms`: glossary enforcement;
- :mod:`~briefings.translation.qa`: checks per segment, findings;
- :mod:`~briefings.translation.files`: ``<id>.<lang>.md`` and its front matter;
- :mod:`~briefings.translation.stage`: planning and running the stage;
- :mod:`~briefings.translation.review`: a linguist's approval of a translation.

Importing this package loads no model and imports neither argostranslate nor
ctranslate2.
"""

from briefings.translation.argos import ModelSettings
from briefings.translation.files import TranslationInfo, is_current, read_translation_info
from briefings.translation.packages import (
    InstalledPackage,
    PackageCheck,
    Route,
    find_route,
    install_from_index,
    install_package,
    list_packages,
    remove_package,
    verify_packages,
)
from briefings.translation.review import TranslationApproval, approve_translation
from briefings.translation.stage import (
    LanguageReport,
    TextTools,
    TranslationPlan,
    TranslationReport,
    plain_tools,
    plan_translations,
    translate_briefings,
    translate_pair,
)

__all__ = [
    "InstalledPackage",
    "LanguageReport",
    "ModelSettings",
    "PackageCheck",
    "Route",
    "TextTools",
    "TranslationApproval",
    "TranslationInfo",
    "TranslationPlan",
    "TranslationReport",
    "approve_translation",
    "find_route",
    "install_from_index",
    "install_package",
    "is_current",
    "list_packages",
    "plain_tools",
    "plan_translations",
    "read_translation_info",
    "remove_package",
    "translate_briefings",
    "translate_pair",
    "verify_packages",
]
