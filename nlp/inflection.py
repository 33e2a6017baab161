"""Russian case forms of glossary terms, generated when the matchers are built.

Russian nouns and adjectives change their endings with the case: the glossary lists
"фишинговые сайты", a text says "о фишинговых сайтах". Listing every form by hand
misses some (prepositional and instrumental plurals most often), and a suffix-stripping
stemmer on the text would fold unrelated words together ("выборы" elections and
"выбор" choice). Instead each term's leading adjectives and head noun are declined
through the six cases, keeping the term's number (a plural term gives plural forms
only, so "выборы" never yields "выбор"); what follows the head noun is a fixed
complement ("утечки персональных данных" -> "утечках персональных данных").

The rules are deliberately coarse: where an ending is ambiguous (nouns in -ь are
masculine or feminine, -ий adjectives hard or soft), both forms are produced. A
wrong form is a string no text contains, so it costs a pattern, not precision.
Forms that another concept lists itself, or that two concepts generate alike, are
dropped by the caller (:mod:`nlp.glossary_matcher`).
"""

from __future__ import annotations

from itertools import product

_VELAR_HUSHING = "гкхжшчщ"
_ADJ_ENDINGS = ("ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие")
# Nouns that look like adjective plurals: "нарушение", "шифрование", "развитие".
_NOUN_LOOKALIKES = ("ение", "ание", "тие", "ствие")

# Per case (nominative, genitive, dative, accusative, instrumental, prepositional), the forms.
Cases = list[tuple[str, ...]]


def _is_cyrillic_word(word: str) -> bool:
    return word.isalpha() and not word.isupper() and all("а" <= c <= "я" or c == "ё" for c in word)


def _is_adjective(word: str) -> bool:
    return (
        len(word) > 4
        and word.endswith(_ADJ_ENDINGS)
        and not word.endswith(_NOUN_LOOKALIKES)
        and _is_cyrillic_word(word.rsplit("-", 1)[-1])
    )


def _adjective(word: str) -> Cases:
    stem, ending = word[:-2], word[-2:]
    y = "и" if ending in ("ий", "ие") or stem[-1:] in _VELAR_HUSHING else "ы"
    if ending == "ая":
        return [(word,), (stem + "ой",), (stem + "ой",), (stem + "ую",), (stem + "ой", stem + "ою"),
                (stem + "ой",)]  # fmt: skip
    if ending == "яя":
        return [(word,), (stem + "ей",), (stem + "ей",), (stem + "юю",), (stem + "ей",),
                (stem + "ей",)]  # fmt: skip
    if ending in ("ые", "ие"):
        return [(word,), (stem + y + "х",), (stem + y + "м",), (word, stem + y + "х"),
                (stem + y + "ми",), (stem + y + "х",)]  # fmt: skip
    if ending in ("ое", "ее"):
        neuter = (word,)
        return [neuter, (stem + "ого", stem + "его"), (stem + "ому", stem + "ему"), neuter,
                (stem + y + "м",), (stem + "ом", stem + "ем")]  # fmt: skip
    # Masculine singular: -ый, -ой, -ий (hard after a velar, soft otherwise: both kept).
    return [(word,), (stem + "ого", stem + "его"), (stem + "ому", stem + "ему"),
            (word, stem + "ого", stem + "его"), (stem + y + "м",), (stem + "ом", stem + "ем")]  # fmt: skip


def _noun(word: str) -> Cases:
    if not _is_cyrillic_word(word.rsplit("-", 1)[-1]):
        return [(word,)] * 6  # ЦИК, DDoS, 112
    stem, last = word[:-1], word[-1]
    velar = stem[-1:] in _VELAR_HUSHING
    if word.endswith("ия"):  # a feminine singular, or a neuter plural (учреждения)
        base = word[:-2]
        return [(word,), (base + "ии",), (base + "ии", base + "иям"), (base + "ию",),
                (base + "ией", base + "иями"), (base + "ии", base + "иях")]  # fmt: skip
    if word.endswith("ие"):  # здравоохранение
        base = word[:-2]
        return [(word,), (base + "ия",), (base + "ию",), (word,), (base + "ием",), (base + "ии",)]
    if last == "ы" or (last == "и" and velar):  # plural: сайты, клиники, атаки
        return [(word,), (stem + "ов",), (stem + "ам",), (word,), (stem + "ами",), (stem + "ах",)]
    if last == "и":  # soft plural: сети, новости
        return [(word,), (stem + "ей",), (stem + "ям",), (word,), (stem + "ями",), (stem + "ях",)]
    if last == "а":
        return [(word,), (stem + ("и" if velar else "ы"),), (stem + "е",), (stem + "у",),
                (stem + "ой", stem + "ей"), (stem + "е",)]  # fmt: skip
    if last == "я":
        return [(word,), (stem + "и",), (stem + "е",), (stem + "ю",), (stem + "ей",), (stem + "е",)]
    if last == "ь":  # masculine (вымогатель) or feminine (сеть)
        return [(word,), (stem + "я", stem + "и"), (stem + "ю", stem + "и"), (word,),
                (stem + "ем", stem + "ью"), (stem + "е", stem + "и")]  # fmt: skip
    if last == "й":
        return [(word,), (stem + "я",), (stem + "ю",), (word,), (stem + "ем",), (stem + "е",)]
    if last == "о":
        return [(word,), (stem + "а",), (stem + "у",), (word,), (stem + "ом",), (stem + "е",)]
    if last == "е":
        return [(word,), (stem + "я",), (stem + "ю",), (word,), (stem + "ем",), (stem + "е",)]
    if last in "уыэюё":
        return [(word,)] * 6
    return [(word,), (word + "а",), (word + "у",), (word,), (word + "ом", word + "ем"),
            (word + "е",)]  # fmt: skip


def ru_case_forms(term: str) -> list[str]:
    """``term`` and its case forms: leading adjectives and the head noun declined together,
    the rest unchanged. A term not in Cyrillic lower case comes back alone."""
    words = term.split()
    declined: list[Cases] = []
    for i, word in enumerate(words):
        last = i == len(words) - 1
        if not last and _is_adjective(word):
            declined.append(_adjective(word))
            continue
        if not _is_cyrillic_word(word.rsplit("-", 1)[-1]):
            return [term]
        declined.append(_noun(word))
        rest = words[i + 1 :]
        break
    else:
        return [term]
    forms = [term]
    for case in range(6):
        for combo in product(*(cases[case] for cases in declined)):
            forms.append(" ".join([*combo, *rest]))
    return list(dict.fromkeys(forms))
