"""Build ``glossary/data/actors.yaml`` from MITRE ATT&CK groups (via MISP galaxy).

Usage (from the repository root)::

    python glossary/tools/build_actors.py \
        glossary/sources/attack_groups_aliases.json \
        > glossary/data/actors.yaml

The input is the derived ``attack_groups_aliases.json`` described in
``glossary/README.md`` (191 ATT&CK groups with aliases, from MISP galaxy's
``clusters/mitre-intrusion-set.json``). The output is deterministic: same
input, same file, byte for byte.

What is chosen by hand, and why, lives in this file:

- ``SELECTED``: 100+ groups, preferring those that have targeted civilians,
  governments, elections, health, energy, water, humanitarian and civil
  society organisations, and the ransomware crews that hit hospitals.
- ``ID_SLUGS``: a concept id is ``actor.<slug of the ATT&CK name>`` and never
  changes once shipped, even if the preferred name does.
- ``PREFERRED``: where the ATT&CK name is itself an ordinary word, another
  alias is the preferred name and the ATT&CK name is dropped.
- ``DROPPED``: aliases that are ordinary words (or chemical elements, or
  names of something else) and would cause false matches when tagging.
  Each dropped alias is listed in the concept's ``notes``.
- Aliases shared by two selected groups are dropped from both, and noted.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

# ATT&CK id -> why this group matters to civilian protection (kept short; the
# definition itself comes from ATT&CK's description).
SELECTED: dict[str, str] = {
    # Russia-nexus state groups
    "G0007": "elections, governments, media",
    "G0016": "governments, health research, supply chain",
    "G0010": "governments, embassies",
    "G0034": "power grids, elections, destructive attacks",
    "G0035": "energy and water utilities",
    "G0047": "Ukrainian government and law enforcement",
    "G0088": "industrial safety systems",
    "G1003": "Ukrainian government, destructive attacks",
    "G1031": "Ukraine and Georgia",
    "G1033": "influence operations, NGOs, politicians",
    "G1035": "European governments and NGOs",
    "G0100": "governments",
    "G1019": "embassies",
    "G0133": "Central Asian governments",
    # Russia-nexus and other criminal groups
    "G0102": "ransomware on hospitals",
    "G0119": "ransomware",
    "G0092": "ransomware, mass malware",
    "G0115": "REvil ransomware",
    "G0046": "retail, health, ransomware",
    "G0008": "banks",
    "G0080": "banks",
    "G0037": "payment card theft",
    "G0061": "hospitality, retail",
    "G1004": "extortion, leaks",
    "G1015": "social engineering, telecoms, extortion",
    "G1024": "ransomware on health care",
    "G1032": "ransomware on health care",
    "G1043": "ransomware on critical infrastructure",
    "G1046": "Black Basta ransomware access",
    "G1050": "Qilin ransomware, hospital pathology",
    "G1051": "ransomware on health and education",
    "G1053": "ransomware, hospitals",
    "G1011": "initial access for ransomware",
    "G1020": "SocGholish, access for ransomware",
    "G0127": "mass malware",
    "G1037": "initial access broker",
    "G0083": "business email compromise, higher education",
    "G0085": "health-care and pharmaceutical market data",
    "G0071": "health care",
    # China-nexus
    "G0004": "governments, NGOs",
    "G0005": "media, governments",
    "G0006": "espionage at scale",
    "G0009": "health insurance (Anthem)",
    "G0022": "governments",
    "G0025": "governments, NGOs",
    "G0026": "medical, human rights groups",
    "G0027": "governments",
    "G0029": "minority rights activists",
    "G0030": "governments",
    "G0044": "gaming, supply chain",
    "G0045": "managed service providers",
    "G0065": "governments, research, maritime",
    "G0066": "supply chain, NGOs",
    "G0073": "health, energy, education",
    "G0096": "health care, telecoms, governments",
    "G0098": "governments, routers",
    "G0116": "governments, energy, health care",
    "G0125": "infectious disease researchers, NGOs",
    "G0128": "elections",
    "G0129": "governments, NGOs",
    "G0131": "governments",
    "G0143": "telecoms, governments",
    "G1006": "governments, pro-democracy activists",
    "G1007": "governments, education",
    "G1017": "water, energy, communications critical infrastructure",
    "G1021": "ransomware",
    "G1023": "telecoms",
    "G1034": "NGOs, governments",
    "G1042": "power grid",
    "G1045": "telecoms",
    "G1054": "governments, academia",
    "G0093": "telecoms, governments",
    "G0019": "governments",
    "G1014": "governments",
    "G0081": "governments, health care",
    "G0136": "Central Asian governments",
    "G1048": "network devices",
    # Iran-nexus
    "G0059": "journalists, activists, elections",
    "G0064": "energy, aviation",
    "G0049": "governments, energy, telecoms",
    "G0069": "governments, telecoms",
    "G0087": "telecoms, travel (personal data)",
    "G0117": "governments, critical infrastructure",
    "G1009": "leaks and destruction",
    "G1030": "wipers, ransomware",
    "G1012": "IT service providers",
    "G1044": "activists, journalists, NGOs",
    "G1055": "hack-and-leak, wipers",
    "G0130": "defacement, dissidents",
    "G0052": "governments",
    "G1001": "telecoms, energy",
    "G0077": "governments",
    "G0122": "universities",
    "G0137": "Persian-speaking individuals",
    "G0043": "Syrian opposition",
    "G1029": "individuals",
    # DPRK
    "G0032": "destructive attacks, WannaCry",
    "G0067": "defectors, journalists",
    "G0082": "banks",
    "G0094": "think tanks, health research",
    "G0138": "ransomware on hospitals",
    "G1036": "ransomware, supply chain",
    "G1049": "cryptocurrency",
    "G1052": "job seekers, developers",
    "G0086": "academia",
    # Middle East, South Asia, others
    "G0021": "governments",
    "G1028": "mobile spyware",
    "G0090": "governments",
    "G1005": "Israeli organisations",
    "G0038": "journalists, activists, dissidents",
    "G0063": "United Nations, opposition bloggers",
    "G0070": "mobile espionage",
    "G0123": "political targets",
    "G1041": "DNS hijacking, registrars",
    "G0056": "watering holes",
    "G0040": "governments, think tanks",
    "G0134": "governments",
    "G1008": "governments",
    "G0142": "governments",
    "G0078": "governments, crime",
    "G0050": "dissidents, journalists",
    "G0099": "governments",
    "G0079": "governments, education",
    "G0135": "foreign ministries, telecoms",
    "G0140": "airlines",
    "G1018": "aviation, transport",
    "G1013": "telecoms, universities",
    "G1022": "governments",
    "G0014": "energy",
    "G0012": "travelling executives",
}

# Where the ATT&CK name is an ordinary word, or a chemical element, the
# preferred name is another alias (and the ATT&CK name is in DROPPED).
PREFERRED: dict[str, str] = {
    "G0035": "Energetic Bear",  # "dragonfly" is an insect
    "G0065": "APT40",  # "Leviathan" is also an Israeli gas field
    "G0040": "Dropping Elephant",  # "patchwork" is an ordinary word
    "G0142": "Confucius APT",  # the philosopher
    "G0128": "APT31",  # ZIRCONIUM: chemical element
    "G0093": "Granite Typhoon",  # GALLIUM: chemical element
    "G1005": "Plaid Rain",  # POLONIUM: chemical element
    "G0056": "StrongPity",  # PROMETHIUM: chemical element
    "G1012": "Crimson Sandstorm",  # CURIUM: chemical element
    "G0125": "Silk Typhoon",  # HAFNIUM: chemical element
    "G1001": "Siamesekitten",  # HEXANE is a solvent, Lyceum a school
}

_ELEMENT = "a chemical element, an ordinary word; Microsoft retired these names in 2023"
_WORD = "ordinary word"
DROPPED: dict[str, str] = {
    # Microsoft's element names: retired in 2023; the weather names are kept.
    **{
        name: _ELEMENT
        for name in (
            "ACTINIUM",
            "AMERICIUM",
            "BARIUM",
            "BISMUTH",
            "BROMINE",
            "CHROMIUM",
            "COPERNICIUM",
            "CURIUM",
            "DUBNIUM",
            "ELECTRUM",
            "EUROPIUM",
            "GADOLINIUM",
            "Gadolinium",
            "GALLIUM",
            "HAFNIUM",
            "HOLMIUM",
            "IRIDIUM",
            "Krypton",
            "MANGANESE",
            "MERCURY",
            "NICKEL",
            "NOBELIUM",
            "Phosphorus",
            "PLUTONIUM",
            "POLONIUM",
            "POTASSIUM",
            "PROMETHIUM",
            "RADIUM",
            "RUBIDIUM",
            "SEABORGIUM",
            "SILICON",
            "STRONTIUM",
            "TANTALUM",
            "THALLIUM",
            "YTTRIUM",
            "ZINC",
            "ZIRCONIUM",
        )
    },
    "HEXANE": "a solvent (chemicals sector)",
    "Lyceum": "ordinary word (a school)",
    "Dragonfly": _WORD,
    "Leviathan": "ordinary word; also a gas field (energy news)",
    "Patchwork": _WORD,
    "Confucius": "the philosopher; Confucius Institutes are in the news",
    "Mirage": _WORD,
    "Snake": _WORD,
    "Swallowtail": _WORD,
    "Cicada": _WORD,
    "Reaper": _WORD,
    "Mantis": _WORD,
    "Tick": _WORD,
    "Thrip": _WORD,
    "Karma": _WORD,
    "Armageddon": _WORD,
    "Elfin": _WORD,
    "Newscaster": _WORD,
    "MONSOON": _WORD,
    "Rattlesnake": _WORD,
    "Blackfly": _WORD,
    "HOGFISH": _WORD,
    "DRAGONFISH": _WORD,
    "Springtail": _WORD,
    "Chafer": _WORD,
    "Buckeye": _WORD,
    "TAAL": "ordinary word; also a volcano",
    "ELBRUS": "a mountain and a Russian processor",
    "CHIMBORAZO": "a volcano",
    "WebMasters": _WORD,
    "Tortoise Shell": _WORD,
    "Lebanese Cedar": "a tree",
    "Beijing Group": "too generic",
    "UPS Team": "reads as the courier company (postal sector)",
    "Group 72": "too generic",
    "Group 74": "too generic",
    "Group 88": "too generic",
    "BlackEnergy (Group)": "the name of a malware family",
}


def slug(name: str) -> str:
    """A concept-id slug: lower case, digits and single hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def first_sentences(text: str, limit: int = 2) -> str:
    """The first one or two sentences of an ATT&CK description."""
    text = re.sub(r"\(Citation:[^)]*\)", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # markdown links
    text = " ".join(text.split())
    sentences = re.split(r"(?<=[a-z0-9)][.])\s+(?=[A-Z])", text)
    chosen = " ".join(sentences[:limit]) if len(sentences[0]) < 120 else sentences[0]
    return chosen.strip()


def q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def build(groups: list[dict]) -> str:
    by_id = {g["attack_id"]: g for g in groups}
    missing = sorted(set(SELECTED) - set(by_id))
    if missing:
        raise SystemExit(f"Selected groups not in the input: {', '.join(missing)}")

    names: dict[str, list[str]] = {}
    notes: dict[str, list[str]] = {}
    for gid in SELECTED:
        group = by_id[gid]
        kept, dropped = [], []
        for alias in dict.fromkeys([group["name"], *group["aliases"]]):
            if alias in DROPPED:
                dropped.append(f"{alias} ({DROPPED[alias]})")
            else:
                kept.append(alias)
        preferred = PREFERRED.get(gid, group["name"])
        if preferred not in kept:
            raise SystemExit(f"{gid}: preferred name {preferred!r} is not a kept alias")
        kept.remove(preferred)
        names[gid] = [preferred, *kept]
        notes[gid] = dropped

    # An alias claimed by two selected groups would tag the wrong group half
    # the time: keep it only where it is the group's own preferred name.
    owners: dict[str, list[str]] = {}
    for gid, aliases in names.items():
        for alias in aliases:
            owners.setdefault(re.sub(r"\s+", "", alias.casefold()), []).append(gid)
    for key, gids in owners.items():
        if len(gids) < 2:
            continue
        for gid in gids:
            alias = next(a for a in names[gid] if re.sub(r"\s+", "", a.casefold()) == key)
            if names[gid][0] == alias:
                continue
            names[gid].remove(alias)
            others = ", ".join(g for g in gids if g != gid)
            notes[gid].append(f"{alias} (also an alias of {others})")

    out = [
        "# Threat actors: MITRE ATT&CK groups with their aliases.",
        "#",
        "# GENERATED by glossary/tools/build_actors.py from MISP galaxy's",
        "# mitre-intrusion-set cluster (derived attack_groups_aliases.json). Do not edit by",
        "# hand: change the script and run it again (see glossary/README.md).",
        "# Definitions are the opening sentences of ATT&CK's group descriptions.",
        "# ATT&CK(R) is a registered trademark of The MITRE Corporation; the data is used",
        "# under MITRE's terms of use, with attribution: see glossary/LICENSES/.",
        "#",
        "# Actor names are the same in every language: they sit under the language-neutral",
        '# key "*" and are flagged dnt (do not translate). Aliases dropped because they are',
        "# ordinary words, chemical elements or shared with another group are listed in",
        "# each concept's notes.",
        "concepts:",
    ]
    for gid in sorted(SELECTED, key=lambda g: by_id[g]["attack_id"]):
        group = by_id[gid]
        preferred, *variants = names[gid]
        source = f"MITRE ATT&CK {gid} ({group['url']})"
        out += [
            f"- id: actor.{slug(group['name'])}",
            "  category: actor",
            f"  definition: {q(first_sentences(group['description']))}",
            f"  source: {q(source)}",
            "  flags: [dnt]",
            "  terms:",
            '    "*":',
            f"      preferred: {q(preferred)}",
        ]
        if variants:
            out.append("      variants:")
            out += [f"        - {q(v)}" for v in variants]
        if notes[gid]:
            out.append(f"  notes: {q('Dropped aliases: ' + '; '.join(notes[gid]) + '.')}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    data = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    sys.stdout.write(build(data["groups"]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
