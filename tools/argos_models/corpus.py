"""A synthetic, seeded parallel corpus in the project's domain (en, fr, es, ar).

Every example is one sentence written in all four languages at once, from ~30
templates: attacks on civilian sectors, threats, what-to-do advice, dates,
made-up places, CVE ids, counts, and the placeholder tokens ``⟦0⟧``, ``⟦1⟧`` ...
that the translation engine puts where URLs, code, CVE ids, indicators and
do-not-translate names were. A language pair then takes two columns.

Contract:

* :func:`build_corpus` is deterministic for a given seed, size and term table.
* Placeholders (U+27E6, digits, U+27E7) appear identically on both sides of
  every example where they appear at all; nothing protected uses ``_``.
* Sector and threat slots use the glossary's preferred term in each language
  (:func:`load_terms`); the articles and genders around them are this module's
  (``SECTORS`` and ``THREATS``), written for the terms listed there.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

logger = logging.getLogger(__name__)

LANGS = ("en", "fr", "es", "ar")
LANG_NAMES = {"en": "English", "fr": "French", "es": "Spanish", "ar": "Arabic"}

# --------------------------------------------------------------------------
# Term tables: the fallback term (what the grammar was written for) and the
# grammar. en: "the" where the term needs it; fr: gender "m", "f" or "pl"
# (elision is computed); es: the article.
# The terms are replaced by the glossary's preferred ones by load_terms().
# --------------------------------------------------------------------------

SECTORS: dict[str, dict[str, tuple[str, str]]] = {
    "sector.hospitals": {
        "en": ("health care", ""),
        "fr": ("secteur de la santé", "m"),
        "es": ("sector sanitario", "el"),
        "ar": ("قطاع الرعاية الصحية", ""),
    },
    "sector.emergency-services": {
        "en": ("emergency services", ""),
        "fr": ("services d'urgence", "pl"),
        "es": ("servicios de emergencia", "los"),
        "ar": ("خدمات الطوارئ", ""),
    },
    "sector.drinking-water": {
        "en": ("drinking water", ""),
        "fr": ("eau potable", "f"),
        "es": ("agua potable", "el"),
        "ar": ("مياه الشرب", ""),
    },
    "sector.waste-water": {
        "en": ("waste water", ""),
        "fr": ("eaux usées", "pl"),
        "es": ("aguas residuales", "las"),
        "ar": ("مياه الصرف الصحي", ""),
    },
    "sector.electricity": {
        "en": ("electricity", ""),
        "fr": ("électricité", "f"),
        "es": ("electricidad", "la"),
        "ar": ("الكهرباء", ""),
    },
    "sector.education": {
        "en": ("education", ""),
        "fr": ("éducation", "f"),
        "es": ("educación", "la"),
        "ar": ("التعليم", ""),
    },
    "sector.elections": {
        "en": ("elections", ""),
        "fr": ("élections", "pl"),
        "es": ("elecciones", "las"),
        "ar": ("الانتخابات", ""),
    },
    "sector.public-administration": {
        "en": ("public administration", ""),
        "fr": ("administration publique", "f"),
        "es": ("administración pública", "la"),
        "ar": ("الإدارة العامة", ""),
    },
    "sector.rail": {
        "en": ("rail transport", ""),
        "fr": ("transport ferroviaire", "m"),
        "es": ("transporte ferroviario", "el"),
        "ar": ("النقل بالسكك الحديدية", ""),
    },
    "sector.aviation": {
        "en": ("aviation", ""),
        "fr": ("transport aérien", "m"),
        "es": ("transporte aéreo", "el"),
        "ar": ("الطيران المدني", ""),
    },
    "sector.telecoms": {
        "en": ("telecommunications", ""),
        "fr": ("télécommunications", "pl"),
        "es": ("telecomunicaciones", "las"),
        "ar": ("الاتصالات", ""),
    },
    "sector.banking": {
        "en": ("banking", ""),
        "fr": ("secteur bancaire", "m"),
        "es": ("banca", "la"),
        "ar": ("القطاع المصرفي", ""),
    },
    "sector.food": {
        "en": ("food supply", "the"),
        "fr": ("approvisionnement alimentaire", "m"),
        "es": ("suministro de alimentos", "el"),
        "ar": ("الإمدادات الغذائية", ""),
    },
    "sector.humanitarian": {
        "en": ("humanitarian organisations", ""),
        "fr": ("organisations humanitaires", "pl"),
        "es": ("organizaciones humanitarias", "las"),
        "ar": ("المنظمات الإنسانية", ""),
    },
    "sector.media": {
        "en": ("news media", "the"),
        "fr": ("médias d'information", "pl"),
        "es": ("medios de comunicación", "los"),
        "ar": ("وسائل الإعلام", ""),
    },
    "sector.digital-infrastructure": {
        "en": ("digital infrastructure", ""),
        "fr": ("infrastructure numérique", "f"),
        "es": ("infraestructura digital", "la"),
        "ar": ("البنية التحتية الرقمية", ""),
    },
    "sector.civil-society": {
        "en": ("civil society", ""),
        "fr": ("société civile", "f"),
        "es": ("sociedad civil", "la"),
        "ar": ("المجتمع المدني", ""),
    },
    "sector.dams": {
        "en": ("dams", ""),
        "fr": ("barrages", "pl"),
        "es": ("presas y embalses", "las"),
        "ar": ("السدود", ""),
    },
    "sector.pharmaceuticals": {
        "en": ("pharmaceutical industry", "the"),
        "fr": ("industrie pharmaceutique", "f"),
        "es": ("industria farmacéutica", "la"),
        "ar": ("صناعة الأدوية", ""),
    },
    "sector.postal": {
        "en": ("postal services", ""),
        "fr": ("services postaux", "pl"),
        "es": ("servicios postales", "los"),
        "ar": ("الخدمات البريدية", ""),
    },
    "sector.waste-management": {
        "en": ("waste management", ""),
        "fr": ("gestion des déchets", "f"),
        "es": ("gestión de residuos", "la"),
        "ar": ("إدارة النفايات", ""),
    },
    "sector.nuclear": {
        "en": ("nuclear sector", "the"),
        "fr": ("secteur nucléaire", "m"),
        "es": ("sector nuclear", "el"),
        "ar": ("القطاع النووي", ""),
    },
}

#: Threats. kind "malware": found on machines (traces of X); "attack": a mass noun in
#: English (incidents linked to X, a wave of X); "label": only after "Threat:".
THREATS: dict[str, dict[str, tuple[str, str]]] = {
    "threat.ransomware": {
        "kind": ("malware", ""),
        "en": ("ransomware", ""),
        "fr": ("rançongiciel", "m"),
        "es": ("secuestro de datos", "el"),
        "ar": ("برمجيات الفدية", ""),
    },
    "threat.wiper": {
        "kind": ("malware", ""),
        "en": ("wiper malware", ""),
        "fr": ("logiciel destructeur", "m"),
        "es": ("malware de borrado", "el"),
        "ar": ("برمجيات مسح البيانات", ""),
    },
    "threat.spyware": {
        "kind": ("malware", ""),
        "en": ("spyware", ""),
        "fr": ("logiciel espion", "m"),
        "es": ("programa espía", "el"),
        "ar": ("برمجيات التجسس", ""),
    },
    "threat.malware": {
        "kind": ("malware", ""),
        "en": ("malware", ""),
        "fr": ("logiciel malveillant", "m"),
        "es": ("software malicioso", "el"),
        "ar": ("البرمجيات الخبيثة", ""),
    },
    "threat.phishing": {
        "kind": ("attack", ""),
        "en": ("phishing", ""),
        "fr": ("hameçonnage", "m"),
        "es": ("suplantación de identidad", "la"),
        "ar": ("التصيد الاحتيالي", ""),
    },
    "threat.spear-phishing": {
        "kind": ("attack", ""),
        "en": ("spear phishing", ""),
        "fr": ("hameçonnage ciblé", "m"),
        "es": ("phishing dirigido", "el"),
        "ar": ("التصيد الاحتيالي الموجه", ""),
    },
    "threat.smishing": {
        "kind": ("attack", ""),
        "en": ("smishing", ""),
        "fr": ("hameçonnage par SMS", "m"),
        "es": ("phishing por SMS", "el"),
        "ar": ("التصيد عبر الرسائل النصية", ""),
    },
    "threat.defacement": {
        "kind": ("attack", ""),
        "en": ("website defacement", ""),
        "fr": ("défiguration de site web", "f"),
        "es": ("desfiguración de sitios web", "la"),
        "ar": ("تشويه المواقع الإلكترونية", ""),
    },
    "threat.supply-chain-compromise": {
        "kind": ("attack", ""),
        "en": ("supply chain compromise", ""),
        "fr": ("compromission de la chaîne d'approvisionnement", "f"),
        "es": ("ataque a la cadena de suministro", "el"),
        "ar": ("هجوم سلسلة التوريد", ""),
    },
    "threat.business-email-compromise": {
        "kind": ("attack", ""),
        "en": ("business email compromise", ""),
        "fr": ("compromission de messagerie professionnelle", "f"),
        "es": ("compromiso del correo electrónico empresarial", "el"),
        "ar": ("اختراق البريد الإلكتروني للأعمال", ""),
    },
    "threat.vulnerability-exploitation": {
        "kind": ("attack", ""),
        "en": ("vulnerability exploitation", ""),
        "fr": ("exploitation de vulnérabilités", "f"),
        "es": ("explotación de vulnerabilidades", "la"),
        "ar": ("استغلال الثغرات", ""),
    },
    "threat.credential-stuffing": {
        "kind": ("attack", ""),
        "en": ("credential stuffing", ""),
        "fr": ("bourrage d'identifiants", "m"),
        "es": ("relleno de credenciales", "el"),
        "ar": ("حشو بيانات الاعتماد", ""),
    },
    "threat.social-engineering": {
        "kind": ("attack", ""),
        "en": ("social engineering", ""),
        "fr": ("ingénierie sociale", "f"),
        "es": ("ingeniería social", "la"),
        "ar": ("الهندسة الاجتماعية", ""),
    },
    "threat.extortion": {
        "kind": ("attack", ""),
        "en": ("cyber extortion", ""),
        "fr": ("cyberextorsion", "f"),
        "es": ("ciberextorsión", "la"),
        "ar": ("الابتزاز الإلكتروني", ""),
    },
    "threat.sql-injection": {
        "kind": ("attack", ""),
        "en": ("SQL injection", ""),
        "fr": ("injection SQL", "f"),
        "es": ("inyección SQL", "la"),
        "ar": ("حقن SQL", ""),
    },
    "threat.ddos": {
        "kind": ("label", ""),
        "en": ("DDoS attack", ""),
        "fr": ("déni de service distribué", "m"),
        "es": ("denegación de servicio distribuida", "la"),
        "ar": ("هجوم حجب الخدمة الموزع", ""),
    },
    "threat.data-leak": {
        "kind": ("label", ""),
        "en": ("data leak", ""),
        "fr": ("fuite de données", "f"),
        "es": ("fuga de datos", "la"),
        "ar": ("تسريب البيانات", ""),
    },
    "threat.infostealer": {
        "kind": ("label", ""),
        "en": ("infostealer", ""),
        "fr": ("logiciel voleur d'informations", "m"),
        "es": ("malware de robo de información", "el"),
        "ar": ("برمجيات سرقة المعلومات", ""),
    },
    "threat.backdoor": {
        "kind": ("label", ""),
        "en": ("backdoor", ""),
        "fr": ("porte dérobée", "f"),
        "es": ("puerta trasera", "la"),
        "ar": ("باب خلفي", ""),
    },
    "threat.brute-force": {
        "kind": ("label", ""),
        "en": ("brute-force attack", ""),
        "fr": ("attaque par force brute", "f"),
        "es": ("ataque de fuerza bruta", "el"),
        "ar": ("هجوم القوة الغاشمة", ""),
    },
    "threat.botnet": {
        "kind": ("label", ""),
        "en": ("botnet", ""),
        "fr": ("réseau de machines zombies", "m"),
        "es": ("red de equipos zombi", "la"),
        "ar": ("شبكة بوت نت", ""),
    },
}


@dataclass(frozen=True)
class Terms:
    """The sector and threat terms the corpus uses, and where they came from."""

    sectors: dict[str, dict[str, tuple[str, str]]]
    threats: dict[str, dict[str, tuple[str, str]]]
    source: str  # e.g. "glossary 1a2b3c4d5e6f" or "fallback tables (...)"


def load_terms() -> Terms:
    """Take each slot's preferred term from ``glossary.load_glossary()``.

    Where the glossary cannot be loaded, or lacks a concept or a language, the
    fallback term in ``SECTORS``/``THREATS`` is kept and a warning logged.
    Where the glossary's term differs from the one a grammar entry was written
    for, the glossary wins and a warning asks to check the article.
    """
    from briefings.errors import GlossaryError
    from glossary import load_glossary

    try:
        glossary = load_glossary()
    except GlossaryError as exc:
        first = str(exc).splitlines()[0]
        logger.warning("Glossary not loadable, using the fallback term tables: %s", first)
        return Terms(SECTORS, THREATS, f"fallback tables (glossary not loadable: {first})")
    missing: list[str] = []

    def merged(table: dict[str, dict[str, tuple[str, str]]]) -> dict:
        out = {}
        for concept_id, entry in table.items():
            out[concept_id] = dict(entry)
            for lang in LANGS:
                term = glossary.preferred(concept_id, lang) if concept_id in glossary else None
                if term is None:
                    missing.append(f"{concept_id}/{lang}")
                    continue
                if term != entry[lang][0]:
                    logger.warning(
                        "%s/%s: glossary term %r replaces %r; check its article or gender",
                        concept_id,
                        lang,
                        term,
                        entry[lang][0],
                    )
                out[concept_id][lang] = (term, entry[lang][1])
        return out

    sectors, threats = merged(SECTORS), merged(THREATS)
    source = f"glossary {glossary.version}"
    if missing:
        logger.warning("Not in the glossary, fallback terms kept: %s", ", ".join(missing))
        source += f" (fallback terms for {len(missing)} concept/language slots)"
    return Terms(sectors, threats, source)


# --------------------------------------------------------------------------
# Slot forms: articles and contractions
# --------------------------------------------------------------------------

_FR_ARTICLE = {"m": "le ", "f": "la ", "pl": "les "}
_FR_DE = {"le ": "du ", "la ": "de la ", "l'": "de l'", "les ": "des "}
_FR_A = {"le ": "au ", "la ": "à la ", "l'": "à l'", "les ": "aux "}
_ES_DE = {"el": "del ", "la": "de la ", "los": "de los ", "las": "de las "}
_ES_A = {"el": "al ", "la": "a la ", "los": "a los ", "las": "a las "}


# Words whose "h" is mute in French (elided article); every other "h" is aspirated.
_H_MUET = ("hameçon", "hôpita", "humanit", "héberge", "habit", "horaire")


def _elides(word: str) -> bool:
    return word[:1].lower() in "aâàeéèêiîoôuû" or word.lower().startswith(_H_MUET)


def forms(term: str, grammar: str, lang: str) -> dict[str, str]:
    """A term's slot forms: bare, with article (``the``), after "of" and after "to".

    ``of`` is "de" with no article (fr "d'hameçonnage", es "de phishing").
    English uses "the" where its grammar says so; Arabic the bare term everywhere.
    """
    if lang == "fr":
        article = _FR_ARTICLE[grammar]
        if grammar != "pl" and _elides(term):
            article = "l'"
        of = "d'" if _elides(term) else "de "
        return {
            "": term,
            "the": article + term,
            "de": _FR_DE[article] + term,
            "a": _FR_A[article] + term,
            "of": of + term,
        }
    if lang == "es":
        return {
            "": term,
            "the": f"{grammar} {term}",
            "de": _ES_DE[grammar] + term,
            "a": _ES_A[grammar] + term,
            "of": "de " + term,
        }
    the = f"the {term}" if grammar == "the" else term
    return {"": term, "the": the, "de": the, "a": the, "of": term}


# --------------------------------------------------------------------------
# Other slots: places, dates, counts, identifiers, placeholders
# --------------------------------------------------------------------------

_ONSETS = [
    "b",
    "c",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "br",
    "dr",
    "gr",
    "kr",
    "st",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "o"]
_CODAS = ["", "", "", "n", "r", "l", "s", "m"]
_ENDINGS = ["", "", "ia", "ov", "an", "ek", "ar", "ine", "grad", "stad", "ville", "mora"]

MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    "es": [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    "ar": [
        "يناير",
        "فبراير",
        "مارس",
        "أبريل",
        "مايو",
        "يونيو",
        "يوليو",
        "أغسطس",
        "سبتمبر",
        "أكتوبر",
        "نوفمبر",
        "ديسمبر",
    ],
}

#: Counted nouns: en, fr, es plurals; ar (plural for 3-10, accusative singular for 11-99).
NOUNS = {
    "orgs": {
        "en": "organisations",
        "fr": "organisations",
        "es": "organizaciones",
        "ar": ("مؤسسات", "مؤسسة"),
    },
    "sources": {"en": "sources", "fr": "sources", "es": "fuentes", "ar": ("مصادر", "مصدرًا")},
    "hours": {"en": "hours", "fr": "heures", "es": "horas", "ar": ("ساعات", "ساعة")},
    "computers": {
        "en": "computers",
        "fr": "ordinateurs",
        "es": "ordenadores",
        "ar": ("أجهزة", "جهازًا"),
    },
    "days": {"en": "days", "fr": "jours", "es": "días", "ar": ("أيام", "يومًا")},
}


def place_name(rng: random.Random) -> str:
    """A made-up place name (so that the model learns to copy names)."""
    name = "".join(
        rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
        for _ in range(rng.randint(1, 3))
    )
    name = (name + rng.choice(_ENDINGS)).capitalize()
    if rng.random() < 0.1:
        name += "-" + place_name(rng)
    return name


def date_forms(rng: random.Random) -> dict[str, str]:
    """One random date written in each language ("1er" for the first in French)."""
    year, month, day = rng.randint(2019, 2027), rng.randint(1, 12), rng.randint(1, 28)
    fr_day = "1er" if day == 1 else str(day)
    return {
        "en": f"{day} {MONTHS['en'][month - 1]} {year}",
        "fr": f"{fr_day} {MONTHS['fr'][month - 1]} {year}",
        "es": f"{day} de {MONTHS['es'][month - 1]} de {year}",
        "ar": f"{day} {MONTHS['ar'][month - 1]} {year}",
    }


def count_forms(n: int, noun: str) -> dict[str, str]:
    """``n`` (3..99) things, with Arabic's plural/accusative agreement."""
    if not 3 <= n <= 99:
        raise ValueError(f"count {n} outside 3..99: Arabic agreement is only written for those")
    words = NOUNS[noun]
    plural, singular = words["ar"]
    return {
        "en": f"{n} {words['en']}",
        "fr": f"{n} {words['fr']}",
        "es": f"{n} {words['es']}",
        "ar": f"{n} {plural if n <= 10 else singular}",
    }


def placeholder(index: int) -> str:
    """The engine's protected-text token: ``⟦index⟧``."""
    return f"\u27e6{index}\u27e7"


def cve_id(rng: random.Random) -> str:
    return f"CVE-{rng.randint(2015, 2027)}-{rng.randint(1000, 49999)}"


# --------------------------------------------------------------------------
# Templates
# --------------------------------------------------------------------------

# Slots: {place} {place2} {date} {time} {version} {k} {cve} {p0} {p1} {p2};
# {sector}/{sector2}/{threat}/{malware}/{label} with suffixes _the, _de, _a, _of (fr, es);
# counts {orgs} {sources} {hours} {computers} {days}.
TEMPLATES: list[dict[str, str]] = [
    {
        "en": "Incidents linked to {threat} in {sector_the} are increasing in {place}.",
        "fr": "Les incidents liés {threat_a} dans {sector_the} se multiplient à {place}.",
        "es": "Los incidentes relacionados con {threat_the} en {sector_the} aumentan en {place}.",
        "ar": "تتزايد الحوادث المرتبطة ب{threat} في {sector} في {place}.",
    },
    {
        "en": "On {date}, an incident linked to {threat} disrupted {sector_the} in {place}.",
        "fr": "Le {date}, un incident lié {threat_a} a perturbé {sector_the} à {place}.",
        "es": "El {date}, un incidente relacionado con {threat_the} afectó {sector_a} en {place}.",
        "ar": "في {date}، تسبب حادث مرتبط ب{threat} في تعطيل {sector} في {place}.",
    },
    {
        "en": "Threat: {label}.",
        "fr": "Menace : {label}.",
        "es": "Amenaza: {label}.",
        "ar": "التهديد: {label}.",
    },
    {
        "en": "Sectors: {sector}, {sector2}.",
        "fr": "Secteurs : {sector}, {sector2}.",
        "es": "Sectores: {sector}, {sector2}.",
        "ar": "القطاعات: {sector}، {sector2}.",
    },
    {
        "en": "Countries: {place}, {place2}.",
        "fr": "Pays : {place}, {place2}.",
        "es": "Países: {place}, {place2}.",
        "ar": "الدول: {place}، {place2}.",
    },
    {
        "en": "Investigators found traces of {malware} on {computers} in {place}.",
        "fr": "Les enquêteurs ont trouvé des traces {malware_of} sur {computers} à {place}.",
        "es": "Los investigadores encontraron rastros de {malware} en {computers} en {place}.",
        "ar": "عثر المحققون على آثار {malware} على {computers} في {place}.",
    },
    {
        "en": "The national CERT warns organisations in {sector_the} about a new wave of {threat}.",
        "fr": "Le CERT national met en garde les organisations {sector_de} contre une nouvelle "
        "vague {threat_of}.",
        "es": "El CERT nacional advierte a las organizaciones {sector_de} sobre una nueva ola "
        "de {threat}.",
        "ar": "يحذر الفريق الوطني للاستجابة لطوارئ الحاسوب المؤسسات العاملة في {sector} من "
        "موجة جديدة من {threat}.",
    },
    {
        "en": "The attackers exploited the vulnerability {cve} to gain access.",
        "fr": "Les attaquants ont exploité la vulnérabilité {cve} pour obtenir un accès.",
        "es": "Los atacantes explotaron la vulnerabilidad {cve} para obtener acceso.",
        "ar": "استغل المهاجمون الثغرة {cve} للحصول على صلاحيات الوصول.",
    },
    {
        "en": "Apply the update for {cve} before {date}.",
        "fr": "Appliquez la mise à jour corrigeant {cve} avant le {date}.",
        "es": "Aplique la actualización para {cve} antes del {date}.",
        "ar": "طبقوا التحديث الخاص بالثغرة {cve} قبل {date}.",
    },
    {
        "en": "Block the domain {p0} and the IP address {p1}.",
        "fr": "Bloquez le domaine {p0} et l'adresse IP {p1}.",
        "es": "Bloquee el dominio {p0} y la dirección IP {p1}.",
        "ar": "احظروا النطاق {p0} وعنوان IP {p1}.",
    },
    {
        "en": "The group {p0} claimed responsibility for the attack on {sector_the} in {place}.",
        "fr": "Le groupe {p0} a revendiqué l'attaque contre {sector_the} à {place}.",
        "es": "El grupo {p0} reivindicó el ataque contra {sector_the} en {place}.",
        "ar": "أعلنت مجموعة {p0} مسؤوليتها عن الهجوم على {sector} في {place}.",
    },
    {
        "en": "At least {orgs} were affected in {place}.",
        "fr": "Au moins {orgs} ont été touchées à {place}.",
        "es": "Al menos {orgs} se vieron afectadas en {place}.",
        "ar": "تأثرت {orgs} على الأقل في {place}.",
    },
    {
        "en": "The outage lasted {hours}.",
        "fr": "La panne a duré {hours}.",
        "es": "La interrupción duró {hours}.",
        "ar": "استمر الانقطاع {hours}.",
    },
    {
        "en": "Report incidents to {p0}.",
        "fr": "Signalez les incidents à {p0}.",
        "es": "Notifique los incidentes a {p0}.",
        "ar": "أبلغوا {p0} عن الحوادث.",
    },
    {
        "en": "Messages impersonating {p0} target employees working in {sector_the}.",
        "fr": "Des messages usurpant l'identité de {p0} visent les employés travaillant dans "
        "{sector_the}.",
        "es": "Mensajes que suplantan a {p0} se dirigen a empleados que trabajan en {sector_the}.",
        "ar": "تستهدف رسائل تنتحل صفة {p0} الموظفين العاملين في {sector}.",
    },
    {
        "en": "Version {version} fixes the vulnerability.",
        "fr": "La version {version} corrige la vulnérabilité.",
        "es": "La versión {version} corrige la vulnerabilidad.",
        "ar": "يصلح الإصدار {version} الثغرة.",
    },
    {
        "en": "Run the command {p0} to check the installed version.",
        "fr": "Exécutez la commande {p0} pour vérifier la version installée.",
        "es": "Ejecute el comando {p0} para comprobar la versión instalada.",
        "ar": "نفذوا الأمر {p0} للتحقق من الإصدار المثبت.",
    },
    {
        "en": "More information is available at {p0}.",
        "fr": "Plus d'informations sont disponibles sur {p0}.",
        "es": "Hay más información disponible en {p0}.",
        "ar": "تتوفر معلومات إضافية على {p0}.",
    },
    {
        "en": "The authorities in {place} restored services in {sector_the} within {hours}.",
        "fr": "Les autorités de {place} ont rétabli les services dans {sector_the} en {hours}.",
        "es": "Las autoridades de {place} restablecieron los servicios en {sector_the} en {hours}.",
        "ar": "أعادت السلطات في {place} الخدمات في {sector} خلال {hours}.",
    },
    {
        "en": "Election officials in {place} warn of false claims about the vote on {date}.",
        "fr": "Les responsables électoraux de {place} mettent en garde contre de fausses "
        "affirmations sur le scrutin du {date}.",
        "es": "Los responsables electorales de {place} advierten de afirmaciones falsas sobre "
        "la votación del {date}.",
        "ar": "يحذر مسؤولو الانتخابات في {place} من ادعاءات كاذبة بشأن التصويت المقرر في {date}.",
    },
    {
        "en": "There is no evidence of an attack on {sector_the} in {place}.",
        "fr": "Rien ne prouve qu'une attaque ait visé {sector_the} à {place}.",
        "es": "No hay pruebas de un ataque contra {sector_the} en {place}.",
        "ar": "لا يوجد دليل على وقوع هجوم على {sector} في {place}.",
    },
    {
        "en": "The video circulating on {p0} is old and was filmed in {place}.",
        "fr": "La vidéo qui circule sur {p0} est ancienne et a été tournée à {place}.",
        "es": "El vídeo que circula en {p0} es antiguo y fue grabado en {place}.",
        "ar": "الفيديو المتداول على {p0} قديم وقد صور في {place}.",
    },
    {
        "en": "Follow only the official guidance of the authorities in {place}.",
        "fr": "Suivez uniquement les consignes officielles des autorités de {place}.",
        "es": "Siga únicamente las indicaciones oficiales de las autoridades de {place}.",
        "ar": "اتبعوا فقط التعليمات الرسمية الصادرة عن السلطات في {place}.",
    },
    {
        "en": "Since {date}, there have been {k} attacks on {sector_the} in {place}.",
        "fr": "Depuis le {date}, {k} attaques ont visé {sector_the} à {place}.",
        "es": "Desde el {date}, se han registrado {k} ataques contra {sector_the} en {place}.",
        "ar": "منذ {date}، بلغ عدد الهجمات على {sector} في {place} {k}.",
    },
    {
        "en": "Indicators of compromise: {p0}, {p1} and {p2}.",
        "fr": "Indicateurs de compromission : {p0}, {p1} et {p2}.",
        "es": "Indicadores de compromiso: {p0}, {p1} y {p2}.",
        "ar": "مؤشرات الاختراق: {p0} و{p1} و{p2}.",
    },
    {
        "en": "The attack began at {time} UTC on {date}.",
        "fr": "L'attaque a commencé à {time} UTC le {date}.",
        "es": "El ataque comenzó a las {time} UTC del {date}.",
        "ar": "بدأ الهجوم الساعة {time} بتوقيت UTC يوم {date}.",
    },
    {
        "en": "Operators in {sector_the} in {place} have switched to manual procedures.",
        "fr": "Les opérateurs {sector_de} à {place} sont passés aux procédures manuelles.",
        "es": "Los operadores {sector_de} en {place} han pasado a procedimientos manuales.",
        "ar": "انتقل المشغلون في {sector} في {place} إلى الإجراءات اليدوية.",
    },
    {
        "en": "Priority {k} · reported by {sources}",
        "fr": "Priorité {k} · signalé par {sources}",
        "es": "Prioridad {k} · notificado por {sources}",
        "ar": "الأولوية {k} · ورد في {sources}",
    },
    {
        "en": "The malware {p0} erases data and makes systems unusable.",
        "fr": "Le logiciel malveillant {p0} efface les données et rend les systèmes inutilisables.",
        "es": "El programa malicioso {p0} borra los datos y deja los sistemas inutilizables.",
        "ar": "تمسح البرمجية الخبيثة {p0} البيانات وتجعل الأنظمة غير صالحة للاستخدام.",
    },
    {
        "en": "The attack on {sector_the} in {place} did not spread to {sector2_the}.",
        "fr": "L'attaque contre {sector_the} à {place} ne s'est pas étendue {sector2_a}.",
        "es": "El ataque contra {sector_the} en {place} no se extendió {sector2_a}.",
        "ar": "لم يمتد الهجوم على {sector} في {place} إلى {sector2}.",
    },
    {
        "en": "Published on {date}.",
        "fr": "Publié le {date}.",
        "es": "Publicado el {date}.",
        "ar": "نشر في {date}.",
    },
    {
        "en": "Systems in {sector_the} remained offline for {days}.",
        "fr": "Les systèmes {sector_de} sont restés hors ligne pendant {days}.",
        "es": "Los sistemas {sector_de} permanecieron fuera de línea durante {days}.",
        "ar": "ظلت الأنظمة في {sector} خارج الخدمة لمدة {days}.",
    },
    {
        "en": "Sector: {sector}.",
        "fr": "Secteur : {sector}.",
        "es": "Sector: {sector}.",
        "ar": "القطاع: {sector}.",
    },
    {
        "en": "The phishing site {p0} imitates the portal of {p1}.",
        "fr": "Le site d'hameçonnage {p0} imite le portail de {p1}.",
        "es": "El sitio de phishing {p0} imita el portal de {p1}.",
        "ar": "يقلد موقع التصيد {p0} بوابة {p1}.",
    },
]

#: Fixed sentences (advice and the drafts' headings): repeated in training, never held out.
FIXED: list[dict[str, str]] = [
    {
        "en": "Patch internet-facing systems now.",
        "fr": "Corrigez dès maintenant les systèmes exposés sur Internet.",
        "es": "Aplique ya los parches a los sistemas expuestos a Internet.",
        "ar": "طبقوا التصحيحات على الأنظمة المتصلة بالإنترنت فورًا.",
    },
    {
        "en": "Keep offline backups.",
        "fr": "Conservez des sauvegardes hors ligne.",
        "es": "Mantenga copias de seguridad sin conexión.",
        "ar": "احتفظوا بنسخ احتياطية غير متصلة بالشبكة.",
    },
    {
        "en": "Require multi-factor authentication.",
        "fr": "Exigez l'authentification multifacteur.",
        "es": "Exija la autenticación multifactor.",
        "ar": "اشترطوا المصادقة متعددة العوامل.",
    },
    {
        "en": "Do not pay the ransom.",
        "fr": "Ne payez pas la rançon.",
        "es": "No pague el rescate.",
        "ar": "لا تدفعوا الفدية.",
    },
    {
        "en": "Report incidents to your national CERT.",
        "fr": "Signalez les incidents à votre CERT national.",
        "es": "Notifique los incidentes a su CERT nacional.",
        "ar": "أبلغوا الفريق الوطني للاستجابة لطوارئ الحاسوب عن الحوادث.",
    },
    {
        "en": "Warn staff about suspicious messages.",
        "fr": "Avertissez le personnel au sujet des messages suspects.",
        "es": "Advierta al personal sobre los mensajes sospechosos.",
        "ar": "حذروا الموظفين من الرسائل المشبوهة.",
    },
    {
        "en": "Test your backups regularly.",
        "fr": "Testez régulièrement vos sauvegardes.",
        "es": "Pruebe periódicamente sus copias de seguridad.",
        "ar": "اختبروا نسخكم الاحتياطية بانتظام.",
    },
    {
        "en": "Isolate affected networks at once.",
        "fr": "Isolez immédiatement les réseaux touchés.",
        "es": "Aísle de inmediato las redes afectadas.",
        "ar": "اعزلوا الشبكات المتأثرة على الفور.",
    },
    {
        "en": "Change default passwords.",
        "fr": "Changez les mots de passe par défaut.",
        "es": "Cambie las contraseñas predeterminadas.",
        "ar": "غيروا كلمات المرور الافتراضية.",
    },
    {
        "en": "Take control systems off the internet.",
        "fr": "Déconnectez les systèmes de contrôle d'Internet.",
        "es": "Desconecte de Internet los sistemas de control.",
        "ar": "افصلوا أنظمة التحكم عن الإنترنت.",
    },
    {
        "en": "Prepare to run essential services on paper.",
        "fr": "Préparez-vous à assurer les services essentiels sur papier.",
        "es": "Prepárese para prestar los servicios esenciales en papel.",
        "ar": "استعدوا لتشغيل الخدمات الأساسية باستخدام السجلات الورقية.",
    },
    {
        "en": "Check whether your organisation runs the affected systems.",
        "fr": "Vérifiez si votre organisation utilise les systèmes concernés.",
        "es": "Compruebe si su organización utiliza los sistemas afectados.",
        "ar": "تحققوا مما إذا كانت مؤسستكم تستخدم الأنظمة المتأثرة.",
    },
    {
        "en": "Verify information before sharing it.",
        "fr": "Vérifiez les informations avant de les partager.",
        "es": "Verifique la información antes de compartirla.",
        "ar": "تحققوا من المعلومات قبل مشاركتها.",
    },
    {
        "en": "No civilian sector was named in the sources.",
        "fr": "Aucun secteur civil n'est mentionné dans les sources.",
        "es": "Las fuentes no mencionan ningún sector civil.",
        "ar": "لم تذكر المصادر أي قطاع مدني.",
    },
    {
        "en": "What happened",
        "fr": "Ce qui s'est passé",
        "es": "Qué ha ocurrido",
        "ar": "ما الذي حدث",
    },
    {"en": "Who is affected", "fr": "Qui est concerné", "es": "A quién afecta", "ar": "من المتأثر"},
    {
        "en": "Why this is urgent",
        "fr": "Pourquoi c'est urgent",
        "es": "Por qué es urgente",
        "ar": "لماذا الأمر عاجل",
    },
    {"en": "What to do", "fr": "Que faire", "es": "Qué hacer", "ar": "ما العمل"},
    {"en": "Indicators", "fr": "Indicateurs", "es": "Indicadores", "ar": "المؤشرات"},
    {"en": "Sources", "fr": "Sources", "es": "Fuentes", "ar": "المصادر"},
    {"en": "The claim", "fr": "L'affirmation", "es": "La afirmación", "ar": "الادعاء"},
    {"en": "Evidence", "fr": "Éléments de preuve", "es": "Pruebas", "ar": "الأدلة"},
    {
        "en": "How it spreads",
        "fr": "Comment elle se propage",
        "es": "Cómo se propaga",
        "ar": "كيف ينتشر",
    },
]

FIXED_REPEAT = 4


# --------------------------------------------------------------------------
# Filling templates, building the corpus
# --------------------------------------------------------------------------


def _term_slots(name: str, entry: dict[str, tuple[str, str]]) -> dict[str, dict[str, str]]:
    """``{lang: {"sector": ..., "sector_the": ...}}`` for one concept in one slot."""
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        term, grammar = entry[lang]
        out[lang] = {
            (name if not suffix else f"{name}_{suffix}"): text
            for suffix, text in forms(term, grammar, lang).items()
        }
    return out


def _placeholder_or(rng: random.Random, used: set[int], value: str, rate: float) -> str:
    """``value``, or with probability ``rate`` a fresh placeholder (protected name or id)."""
    if rng.random() >= rate:
        return value
    index = next(i for i in range(20) if i not in used)
    used.add(index)
    return placeholder(index)


def fill(template: dict[str, str], rng: random.Random, terms: Terms) -> dict[str, str]:
    """One example: the template filled with the same random slot values in every language."""
    first = 0 if rng.random() < 0.6 else rng.randint(1, 12)
    used = {first, first + 1, first + 2}
    shared = {
        "p0": placeholder(first),
        "p1": placeholder(first + 1),
        "p2": placeholder(first + 2),
        "time": f"{rng.randint(0, 23):02d}:{rng.choice([0, 5, 15, 20, 30, 45]):02d}",
        "version": f"{rng.randint(1, 19)}.{rng.randint(0, 20)}.{rng.randint(0, 99)}",
        "k": str(rng.randint(1, 5) if "Priority" in template["en"] else rng.randint(3, 999)),
    }
    shared["place"] = _placeholder_or(rng, used, place_name(rng), 0.15)
    shared["place2"] = _placeholder_or(rng, used, place_name(rng), 0.15)
    shared["cve"] = _placeholder_or(rng, used, cve_id(rng), 0.3)
    sector, sector2 = rng.sample(sorted(terms.sectors), 2)
    kinds = {t: e["kind"][0] for t, e in terms.threats.items()}
    label = rng.choice(sorted(kinds))
    threat = rng.choice(sorted(t for t, kind in kinds.items() if kind != "label"))
    malware = rng.choice(sorted(t for t, kind in kinds.items() if kind == "malware"))
    per_lang = [
        _term_slots("sector", terms.sectors[sector]),
        _term_slots("sector2", terms.sectors[sector2]),
        _term_slots("threat", terms.threats[threat]),
        _term_slots("malware", terms.threats[malware]),
        _term_slots("label", terms.threats[label]),
    ]
    dates = date_forms(rng)
    counts = {noun: count_forms(rng.randint(3, 99), noun) for noun in NOUNS}
    example = {}
    for lang in LANGS:
        slots = dict(shared, date=dates[lang])
        for table in per_lang:
            slots.update(table[lang])
        slots.update({noun: counts[noun][lang] for noun in NOUNS})
        text = template[lang].format_map(slots)
        example[lang] = text[:1].upper() + text[1:]
    return example


@dataclass(frozen=True)
class Corpus:
    """Aligned examples: ``train`` (templated + repeated fixed ones) and ``heldout``."""

    train: list[dict[str, str]]
    heldout: list[dict[str, str]]
    terms_source: str

    def pairs(self, split: str, source_lang: str, target_lang: str) -> list[tuple[str, str]]:
        """``(source, target)`` sentences of one split for one language pair."""
        rows = self.train if split == "train" else self.heldout
        return [(row[source_lang], row[target_lang]) for row in rows]


def _unique_examples(size: int, rng: random.Random, terms: Terms) -> Iterator[dict[str, str]]:
    seen: set[str] = set()
    attempts = 0
    while len(seen) < size:
        attempts += 1
        if attempts > size * 20:
            raise RuntimeError(f"Could not make {size} distinct examples from the templates")
        example = fill(rng.choice(TEMPLATES), rng, terms)
        key = "\t".join(example[lang] for lang in LANGS)
        if key not in seen:
            seen.add(key)
            yield example


def build_corpus(terms: Terms, size: int = 20_000, heldout: int = 500, seed: int = 1) -> Corpus:
    """``size`` distinct templated examples, ``heldout`` of them kept apart, plus FIXED.

    Held-out examples are templated ones whose sentences (in every language)
    never occur in training; FIXED sentences are only ever in training.
    """
    rng = random.Random(seed)
    examples = list(_unique_examples(size, rng, terms))
    rng.shuffle(examples)
    counts = Counter(row[lang] for row in examples for lang in LANGS)
    held_ids = [
        i for i, row in enumerate(examples) if all(counts[row[lang]] == 1 for lang in LANGS)
    ][:heldout]
    if len(held_ids) < heldout:
        raise RuntimeError(f"Only {len(held_ids)} examples can be held out, {heldout} asked")
    chosen = set(held_ids)
    held = [examples[i] for i in held_ids]
    train = [row for i, row in enumerate(examples) if i not in chosen]
    train += [dict(row) for row in FIXED for _ in range(FIXED_REPEAT)]
    rng.shuffle(train)
    return Corpus(train, held, terms.source)
