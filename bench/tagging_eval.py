"""Tagging quality: the real pipelines against the hand-annotated gold set.

Reads ``tests/data/gold/tagging.jsonl`` (one sentence per line with the concept
ids, indicators and countries a careful annotator expects; see that folder's
README), runs every sentence through the tagging pipeline of its language
(``nlp.pipeline.PipelineCache``, the one ``briefings tag`` uses: glossary,
indicators, countries, priority on ``spacy.blank(lang)``), and compares sets per
sentence:

- concepts: the ``kb_id`` of each span in ``doc.spans["concepts"]``, scored in the
  category of the id (``sector``, ``threat``, ``tactic``, ``actor``);
- indicators: ``(type, refanged value)`` pairs from ``doc.spans["indicators"]``;
- countries: ISO 3166-1 alpha-2 codes from ``doc.spans["countries"]``.

A label found twice in a sentence counts once. Precision, recall and F1 are
micro-averaged: per language over all its labels, per category over all
languages. Prints tables, the errors of each sentence with ``--errors``, and ends
with exactly one JSON line (the last line of stdout).

    .venv/bin/python bench/tagging_eval.py            # tables and the JSON line
    .venv/bin/python bench/tagging_eval.py --errors   # plus every false positive and negative
    .venv/bin/python bench/tagging_eval.py --lang ar --errors

Exit status: 0 when the evaluation ran (whatever the figures), 1 when the gold
file is invalid (unknown concept id, missing field, unsupported language), 2 with
``--check`` when a language misses the targets.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DEFAULT_GOLD = ROOT / "tests" / "data" / "gold" / "tagging.jsonl"
LANGS = ("en", "fr", "es", "ar", "ru", "zh")
CATEGORIES = ("sector", "threat", "tactic", "actor", "indicator", "country")
INDICATOR_TYPES = ("cve", "ipv4", "ipv6", "domain", "url", "email", "md5", "sha1", "sha256")
TARGET_PRECISION = 0.9
TARGET_RECALL = 0.8

Label = tuple[str, str]  # (category, value): ("threat", "threat.ransomware"), ("country", "FR")


# -- the gold set ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One annotated sentence."""

    id: str
    lang: str
    text: str
    expected: frozenset[Label]
    note: str


def load_gold(path: Path, concept_ids: set[str]) -> tuple[list[Case], list[str]]:
    """The cases of ``path`` and every problem found in it (file:line: message)."""
    cases: list[Case] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"{where}: not JSON ({exc.msg})")
            continue
        missing = [k for k in ("id", "lang", "text", "concepts", "indicators", "countries", "note")
                   if k not in raw]  # fmt: skip
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
            continue
        if raw["id"] in seen:
            problems.append(f"{where}: duplicate id {raw['id']!r}")
        seen.add(raw["id"])
        if raw["lang"] not in LANGS:
            problems.append(f"{where}: language {raw['lang']!r} is not one of {', '.join(LANGS)}")
        expected: set[Label] = set()
        for concept in raw["concepts"]:
            if concept not in concept_ids:
                problems.append(f"{where}: unknown concept id {concept!r}")
            expected.add((concept.split(".", 1)[0], concept))
        for indicator in raw["indicators"]:
            if indicator.get("type") not in INDICATOR_TYPES or not indicator.get("value"):
                problems.append(f"{where}: bad indicator {indicator!r}")
                continue
            expected.add(("indicator", f"{indicator['type']}:{indicator['value']}"))
        for code in raw["countries"]:
            if not (isinstance(code, str) and len(code) == 2 and code.isupper()):
                problems.append(f"{where}: country {code!r} is not an ISO 3166-1 alpha-2 code")
            expected.add(("country", code))
        cases.append(Case(raw["id"], raw["lang"], raw["text"], frozenset(expected), raw["note"]))
    return cases, problems


# -- scoring --------------------------------------------------------------------------------


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def to_json(self) -> dict:
        def rounded(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
            "f1": rounded(self.f1),
        }


@dataclass
class Outcome:
    """What the pipeline found in one case, against what was expected."""

    case: Case
    found: frozenset[Label]
    spans: dict[Label, list[str]]  # label -> the texts that produced it

    @property
    def false_positives(self) -> list[Label]:
        return sorted(self.found - self.case.expected)

    @property
    def false_negatives(self) -> list[Label]:
        return sorted(self.case.expected - self.found)

    def counts(self, category: str | None = None) -> Counts:
        def keep(labels):
            return {label for label in labels if category in (None, label[0])}

        expected, found = keep(self.case.expected), keep(self.found)
        return Counts(len(expected & found), len(found - expected), len(expected - found))


@dataclass
class Evaluation:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    def by_language(self) -> dict[str, tuple[int, Counts]]:
        table: dict[str, tuple[int, Counts]] = {}
        for lang in LANGS:
            outcomes = [o for o in self.outcomes if o.case.lang == lang]
            if outcomes:
                total = Counts()
                for outcome in outcomes:
                    total.add(outcome.counts())
                table[lang] = (len(outcomes), total)
        return table

    def by_category(self, lang: str | None = None) -> dict[str, Counts]:
        table = {category: Counts() for category in CATEGORIES}
        for outcome in self.outcomes:
            if lang in (None, outcome.case.lang):
                for category in CATEGORIES:
                    table[category].add(outcome.counts(category))
        return table

    def overall(self) -> Counts:
        total = Counts()
        for outcome in self.outcomes:
            total.add(outcome.counts())
        return total


def labels_of(doc) -> tuple[frozenset[Label], dict[Label, list[str]]]:
    """The labels a tagged Doc carries, and the text behind each."""
    spans: dict[Label, list[str]] = defaultdict(list)
    for span in doc.spans.get("concepts", []):
        spans[(span.kb_id_.split(".", 1)[0], span.kb_id_)].append(span.text)
    for span in doc.spans.get("indicators", []):
        spans[("indicator", f"{span.label_}:{span.kb_id_}")].append(span.text)
    for span in doc.spans.get("countries", []):
        spans[("country", span.kb_id_)].append(span.text)
    return frozenset(spans), dict(spans)


def evaluate(cases: list[Case], pipelines) -> Evaluation:
    """Tag every case with the pipeline of its language, one ``nlp.pipe`` per language."""
    evaluation = Evaluation()
    by_lang: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_lang[case.lang].append(case)
    start = time.perf_counter()
    for lang in LANGS:
        group = by_lang.get(lang, [])
        if not group:
            continue
        nlp = pipelines.get(lang)
        for case, doc in zip(group, nlp.pipe(c.text for c in group), strict=True):
            found, spans = labels_of(doc)
            evaluation.outcomes.append(Outcome(case, found, spans))
    evaluation.seconds = time.perf_counter() - start
    return evaluation


# -- output ---------------------------------------------------------------------------------


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _meets(counts: Counts) -> bool:
    return (counts.precision or 0.0) >= TARGET_PRECISION and (counts.recall or 0.0) >= TARGET_RECALL


def print_tables(evaluation: Evaluation, out) -> None:
    rows = evaluation.by_language()
    print(
        f"Per language (targets: precision >= {TARGET_PRECISION}, recall >= {TARGET_RECALL})",
        file=out,
    )
    print(f"{'lang':<6}{'sent':>5}{'tp':>6}{'fp':>5}{'fn':>5}{'P':>8}{'R':>8}{'F1':>8}  target",
          file=out)  # fmt: skip
    for lang, (n, c) in rows.items():
        mark = "ok" if _meets(c) else "MISSED"
        print(f"{lang:<6}{n:>5}{c.tp:>6}{c.fp:>5}{c.fn:>5}{_fmt(c.precision):>8}"
              f"{_fmt(c.recall):>8}{_fmt(c.f1):>8}  {mark}", file=out)  # fmt: skip
    total = evaluation.overall()
    print(f"{'all':<6}{len(evaluation.outcomes):>5}{total.tp:>6}{total.fp:>5}{total.fn:>5}"
          f"{_fmt(total.precision):>8}{_fmt(total.recall):>8}{_fmt(total.f1):>8}", file=out)  # fmt: skip
    print(file=out)
    print("Per category (all languages)", file=out)
    print(f"{'category':<11}{'tp':>6}{'fp':>5}{'fn':>5}{'P':>8}{'R':>8}{'F1':>8}", file=out)
    for category, c in evaluation.by_category().items():
        print(f"{category:<11}{c.tp:>6}{c.fp:>5}{c.fn:>5}{_fmt(c.precision):>8}"
              f"{_fmt(c.recall):>8}{_fmt(c.f1):>8}", file=out)  # fmt: skip
    print(file=out)
    print("Precision / recall per language and category (tp fp fn)", file=out)
    print(f"{'lang':<6}" + "".join(f"{c:>22}" for c in CATEGORIES), file=out)
    for lang in rows:
        cells = []
        for c in evaluation.by_category(lang).values():
            cells.append(f"{_fmt(c.precision)}/{_fmt(c.recall)} {c.tp:>2} {c.fp} {c.fn}"
                         if c.tp + c.fp + c.fn else "-")  # fmt: skip
        print(f"{lang:<6}" + "".join(f"{cell:>22}" for cell in cells), file=out)


def print_errors(evaluation: Evaluation, out) -> None:
    print(file=out)
    print("Errors (FP: found but not expected, with the text that produced it; "
          "FN: expected but not found)", file=out)  # fmt: skip
    count = 0
    for outcome in evaluation.outcomes:
        fps, fns = outcome.false_positives, outcome.false_negatives
        if not fps and not fns:
            continue
        count += 1
        print(f"- {outcome.case.id}: {outcome.case.text}", file=out)
        for label in fps:
            texts = " | ".join(dict.fromkeys(outcome.spans.get(label, [])))
            print(f"    FP {label[1]}  <- {texts!r}", file=out)
        for label in fns:
            print(f"    FN {label[1]}", file=out)
    print(f"{count} of {len(evaluation.outcomes)} sentences have errors.", file=out)


def summary_json(evaluation: Evaluation, *, glossary: str, tagger: str, gold: Path) -> dict:
    by_language = {
        lang: {"sentences": n, **c.to_json(), "meets_target": _meets(c)}
        for lang, (n, c) in evaluation.by_language().items()
    }
    by_lang_cat = {
        lang: {cat: c.to_json() for cat, c in evaluation.by_category(lang).items()}
        for lang in by_language
    }
    return {
        "bench": "tagging_eval",
        "sentences": len(evaluation.outcomes),
        "by_language": by_language,
        "by_category": {cat: c.to_json() for cat, c in evaluation.by_category().items()},
        "by_language_category": by_lang_cat,
        "overall": evaluation.overall().to_json(),
        "target_precision": TARGET_PRECISION,
        "target_recall": TARGET_RECALL,
        "languages_missing_target": [
            lang for lang, v in by_language.items() if not v["meets_target"]
        ],
        "ok": all(v["meets_target"] for v in by_language.values()),
        "glossary": glossary,
        "tagger": tagger,
        "gold": str(gold.relative_to(ROOT) if gold.is_relative_to(ROOT) else gold),
        "seconds": round(evaluation.seconds, 2),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gold", type=Path, default=DEFAULT_GOLD, help="the gold JSONL file")
    parser.add_argument("--errors", action="store_true", help="list every sentence's errors")
    parser.add_argument("--lang", action="append", choices=LANGS, help="only this language")
    parser.add_argument(
        "--check", action="store_true", help="exit 2 when a language misses the targets"
    )
    args = parser.parse_args(argv)

    from nlp.glossary_matcher import cached_glossary
    from nlp.pipeline import PipelineCache
    from nlp.tagging import tagger_version

    glossary = cached_glossary(None)
    cases, problems = load_gold(args.gold, {c.id for c in glossary.concepts})
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if problems:
        return 1
    if args.lang:
        cases = [c for c in cases if c.lang in args.lang]
    print(f"tagging {len(cases)} sentences...", file=sys.stderr)
    evaluation = evaluate(cases, PipelineCache())

    out = sys.stdout
    print(f"Tagging evaluation: {len(cases)} sentences from {args.gold.name}, "
          f"glossary {glossary.version}", file=out)  # fmt: skip
    print(file=out)
    print_tables(evaluation, out)
    if args.errors:
        print_errors(evaluation, out)
    summary = summary_json(
        evaluation, glossary=glossary.version, tagger=tagger_version(), gold=args.gold
    )
    print(json.dumps(summary, ensure_ascii=False, separators=(", ", ": ")), file=out)
    return 2 if args.check and not summary["ok"] else 0


if __name__ == "__main__":
    sys.exit(main())
