"""Folding text so that matching ignores case and diacritics where the language allows.

The folded form becomes each lexeme's NORM: spaCy computes it once per new word
(``vocab.lex_attr_getters``), so matching on NORM costs nothing per token.
Patterns are folded the same way, by the same vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from spacy.attrs import NORM
from spacy.language import Language

# Arabic short vowels and marks (harakat, tanwin, shadda, sukun, dagger alef) and tatweel.
_AR_MARKS = re.compile("[\u064b-\u0652\u0670\u0640]")
_AR_LETTERS = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي"})
# A conjunction or preposition written onto a definite noun: و/ف/ب/ك + ال, and لل (li + al).
_AR_PROCLITIC = re.compile("^(?:[وف]?[بك]?|[وف])(?=ال)|^[وف]?ل(?=ل)")


def fold_latin(text: str) -> str:
    """Lower case without diacritics: 'Rançongiciel' and 'rancongiciel' match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def fold_ru(text: str) -> str:
    """Lower case with ё read as е, as Russian writers commonly do."""
    return text.lower().replace("ё", "е")


def fold_ar(text: str) -> str:
    """Arabic without vowel marks, with alef forms unified and a proclitic before ال removed.

    'والمستشفيات' (and the hospitals) and 'بالمستشفيات' (in the hospitals) match
    'المستشفيات'; 'للمستشفيات' (for the hospitals) too.
    """
    text = _AR_MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_AR_LETTERS)
    match = _AR_PROCLITIC.match(text)
    if match and match.end():
        text = text[match.end() :]
        if text.startswith("ل") and not text.startswith("ال"):
            text = "ا" + text  # لل + noun: the second lam is the article's
    return text


def fold_zh(text: str) -> str:
    """Chinese has no case; full-width Latin letters and digits are made half-width."""
    return unicodedata.normalize("NFKC", text).lower()


FOLDERS: dict[str, Callable[[str], str]] = {"ru": fold_ru, "ar": fold_ar, "zh": fold_zh}


def folder_for(lang: str) -> Callable[[str], str]:
    return FOLDERS.get(lang, fold_latin)


def install_folding(nlp: Language) -> None:
    """Make every lexeme's NORM its folded form, now and for words seen later."""
    fold = folder_for(nlp.lang)
    nlp.vocab.lex_attr_getters[NORM] = fold
    for lexeme in nlp.vocab:
        lexeme.norm_ = fold(lexeme.orth_)
