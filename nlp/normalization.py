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


# Typographic apostrophes read as the ASCII one: French "l’hôpital", "d’hameçonnage" and
# "à l’arrêt" match terms written with "'". spaCy's French tokenizer already splits the
# elided article at either form; this folds the token that keeps it ("l’", "d’") and the
# apostrophes inside words.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'"})


def fold_latin(text: str) -> str:
    """Lower case without diacritics: 'Rançongiciel' and 'rancongiciel' match; typographic
    apostrophes are folded to "'"."""
    if text.isascii():
        # The same result for ASCII: no diacritics, no typographic apostrophes. Words the
        # tokenizer meets for the first time (numbers, addresses, ids) are mostly ASCII.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_APOSTROPHES))
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


def fold_ru(text: str) -> str:
    """Lower case with ё read as е, as Russian writers commonly do."""
    if text.isascii():
        return text.lower()
    return text.lower().replace("ё", "е")


def fold_ar(text: str) -> str:
    """Arabic without vowel marks, with alef forms unified and a proclitic before ال removed.

    'والمستشفيات' (and the hospitals) and 'بالمستشفيات' (in the hospitals) match
    'المستشفيات'; 'للمستشفيات' (for the hospitals) too. ASCII text is left as it is.
    """
    if text.isascii():
        return text  # what the steps below give: nothing to normalize, no article
    text = _AR_MARKS.sub("", unicodedata.normalize("NFKC", text)).translate(_AR_LETTERS)
    match = _AR_PROCLITIC.match(text)
    if match and match.end():
        text = text[match.end() :]
        if text.startswith("ل") and not text.startswith("ال"):
            text = "ا" + text  # لل + noun: the second lam is the article's
    return text


# Conjunctions and prepositions written onto an Arabic word without the article:
# ومستشفيات (and hospitals), ببرمجيات الفدية (with ransomware), لهجمات (for attacks).
# Before ال the folding removes them from the text; without it a leading و or ب may
# be the word's own first letter (وزارة, بريد), so the text cannot be folded: the
# terms get these forms instead (:func:`ar_proclitic_forms`).
AR_PROCLITICS = ("و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك")


def ar_proclitic_forms(term: str) -> list[str]:
    """``term`` and its forms with a proclitic on its first word, unless that word has
    the article (folding handles those) or is not Arabic."""
    if term.startswith("ال") or not term[:1] or not "\u0600" <= term[0] <= "\u06ff":
        return [term]
    return [term] + [prefix + term for prefix in AR_PROCLITICS]


def fold_zh(text: str) -> str:
    """Chinese has no case; full-width Latin letters and digits are made half-width."""
    if text.isascii():
        return text.lower()
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


# spaCy splits a final period after a lower-case letter or two capitals, so "DDoS." and
# "DoS." at the end of a sentence stayed one token and never matched "DDoS". This splits
# it after a lower-case letter and a capital too ("iOS.", "DDoS.", "DoS."); tokenizer
# exceptions such as English "PhD." are looked up first and keep their period.
MIXED_CASE_FINAL_PERIOD = r"(?<=[a-z][A-Z])\."


def install_tokenizer_rules(nlp: Language) -> None:
    """Add the project's suffix rule to a rule-based tokenizer, keeping its own rules
    (a trained pipeline may have changed them); idempotent."""
    search = getattr(nlp.tokenizer, "suffix_search", None)  # None: Chinese, Japanese...
    pattern = getattr(getattr(search, "__self__", None), "pattern", None)
    if not isinstance(pattern, str) or MIXED_CASE_FINAL_PERIOD in pattern:
        return
    nlp.tokenizer.suffix_search = re.compile(f"{pattern}|{MIXED_CASE_FINAL_PERIOD}$").search
