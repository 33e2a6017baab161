"""Tagging throughput: the full tagging pipeline against a bare spaCy tokenizer.

For each language (en, fr, ar, zh by default) generates about N words of
advisory- and news-like text from the sentences in ``bench/data/tagging.<lang>.txt``
(documents of 3 to 8 sentences, sampled and varied with random numbers, CVE ids,
addresses, domains and organisation names), then times, in one process and on the
same texts:

- bare: ``spacy.blank(lang).tokenizer.pipe(texts)``, tokenizing only;
- pipeline: ``nlp.pipe(texts, batch_size=64)`` with the pipeline ``briefings tag``
  uses (``nlp.pipeline.build_pipeline``: glossary concepts, indicators,
  countries, priority on ``spacy.blank(lang)``).

"Words" are the tokens of the bare tokenizer over the texts (punctuation included;
one per character for Chinese, which spaCy segments by character), counted once and
used for both sides.

Two states, because spaCy's tokenizer caches every string it has split and the
generated texts repeat a small vocabulary:

- cold: each round builds a fresh bare tokenizer and a fresh pipeline (outside the
  clock) and runs both on a new text set, as ``briefings tag`` does in a new process;
- warm: the same two objects then run on a second text set from the same generator
  (common words cached, new numbers, addresses and names not), as a long-lived
  worker does.

The generated texts repeat a vocabulary of about a thousand words, so the cache
fills within the first documents and the two states differ little here; on real,
varied text the cold tokenizer is several times slower (NOTES.md: 110-395k words/s),
which raises the cold ratio. Rounds alternate which side runs first; the fastest run
of each side and state is kept, and every round's ratio is shown. Times are the
process's CPU time (``--clock wall`` for wall-clock time), so another busy process on
the machine slows neither side. Two last tables give the cost of each component in
microseconds per word, and the time of tokenizing alone inside the pipeline (between
the components' work) beside the bare tokenizer's, on new text. Prints the tables,
then exactly one JSON line (the last line of stdout).

    .venv/bin/python bench/tagging.py                  # about 200,000 words per language, 3 rounds
    .venv/bin/python bench/tagging.py --quick          # about 20,000 words per language
    .venv/bin/python bench/tagging.py --lang zh --repeat 5
    .venv/bin/python bench/tagging.py --fail-under 0.5 # exit 2 when a ratio is below 0.5

Exit status: 0 when every pipeline tagged its texts (whatever the ratio), 1 when a
sanity check failed (no concept found, a different number of docs), 2 when
``--fail-under`` was given and a ratio is below it.
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import sys
import time
from pathlib import Path

from common import finish, log, machine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

DATA = Path(__file__).resolve().parent / "data"
LANGS = ("en", "fr", "ar", "zh")
TARGET_RATIO = 0.5
BATCH_SIZE = 64  # the default of [tagging] batch_size
# CPU time of this process by default: both sides run single-threaded, so it is the work
# done, and a busy machine (another process on the core) does not count against either
# side as it does on a wall clock. ``--clock wall`` times with perf_counter.
CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}
CLOCK = CLOCKS["cpu"]

ORGS = {
    "en": ["St Mary's Hospital", "the county water board", "Northgate University Hospital",
           "the regional ambulance trust", "a children's hospital in Leeds"],
    "fr": ["le centre hospitalier de Dax", "le CHU de Rennes", "la clinique du Parc",
           "l'hôpital de Cannes", "le groupe hospitalier du Havre"],
    "ar": ["مستشفى الجامعة", "المستشفى الوطني", "مجمع الملك فهد الطبي", "مستشفى الأطفال"],
    "zh": ["某三甲医院", "市第一人民医院", "一家儿童医院", "省妇幼保健院"],
}  # fmt: skip
DOMAINS = ["update-check[.]net", "cdn-static(.)top", "login-secure[.]xyz", "mail-verify.com",
           "portal-sso[.]online", "files-share[.]site"]  # fmt: skip


# -- the texts ------------------------------------------------------------------------------


def load_sentences(lang: str) -> list[str]:
    path = DATA / f"tagging.{lang}.txt"
    lines = path.read_text("utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def fill(sentence: str, lang: str, rng: random.Random) -> str:
    return sentence.format(
        n=rng.randint(2, 4000),
        cve=f"CVE-{rng.randint(2019, 2026)}-{rng.randint(1000, 59999)}",
        ip=f"{rng.choice([45, 91, 103, 185, 193])}.{rng.randint(1, 254)}."
        f"{rng.randint(1, 254)}.{rng.randint(1, 254)}",
        domain=rng.choice(DOMAINS),
        org=rng.choice(ORGS[lang]),
    )


def make_texts(lang: str, words: int, seed: int | str, tokenizer) -> tuple[list[str], int]:
    """Documents of 3-8 sentences until the bare tokenizer counts ``words`` tokens."""
    rng = random.Random(f"{seed}-{lang}")
    sentences = load_sentences(lang)
    joiner = "" if lang == "zh" else " "
    texts: list[str] = []
    count = 0
    while count < words:
        k = rng.randint(3, 8)
        text = joiner.join(fill(s, lang, rng) for s in rng.sample(sentences, k))
        texts.append(text)
        count += len(tokenizer(text))
    return texts, count


# -- timing ---------------------------------------------------------------------------------


def time_bare(nlp, texts: list[str]) -> float:
    gc.collect()
    start = CLOCK()
    for _doc in nlp.tokenizer.pipe(texts, batch_size=BATCH_SIZE):
        pass
    return CLOCK() - start


def time_pipeline(nlp, texts: list[str]) -> tuple[float, int, int]:
    """Seconds, docs and concept spans (a sanity check that the components ran)."""
    gc.collect()
    docs = concepts = 0
    start = CLOCK()
    for doc in nlp.pipe(texts, batch_size=BATCH_SIZE):
        docs += 1
        concepts += len(doc.spans["concepts"])
    return CLOCK() - start, docs, concepts


def component_costs(full, texts: list[str], words: int, repeat: int) -> dict[str, float]:
    """Microseconds per word: the pipeline with no component (tokenizing and ``nlp.pipe``
    itself), then each component alone on top of it (priority alone scores empty spans)."""

    def best(**select) -> float:
        runs = []
        with full.select_pipes(**select):
            for _ in range(repeat):
                gc.collect()
                start = CLOCK()
                for _doc in full.pipe(texts, batch_size=BATCH_SIZE):
                    pass
                runs.append(CLOCK() - start)
        return min(runs)

    base = best(disable=full.pipe_names)
    costs = {"tokenizer+pipe": base}
    for name in full.pipe_names:
        costs[name] = max(0.0, best(enable=[name]) - base)
    return {name: round(seconds / words * 1e6, 3) for name, seconds in costs.items()}


class TimedTokenizer:
    """Wraps a tokenizer and adds up the CPU time of its calls (about 0.6 microseconds of
    clock reading per call, the same on both sides of :func:`tokenizing_inside`)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.seconds = 0.0

    def __call__(self, text: str):
        start = CLOCK()
        doc = self.tokenizer(text)
        self.seconds += CLOCK() - start
        return doc


def tokenizing_inside(bare, full, text_sets: list[tuple[list[str], int]]) -> dict[str, float]:
    """Microseconds per word of tokenizing alone: the pipeline's own tokenizer inside
    ``full.pipe`` (between the components' work) and the bare tokenizer on the same new
    texts, best of the text sets. The ratio's target assumes the two are alike."""
    inside, alone = [], []
    for texts, words in text_sets:
        timed = TimedTokenizer(full.tokenizer)
        full.tokenizer = timed
        try:
            gc.collect()
            for _doc in full.pipe(texts, batch_size=BATCH_SIZE):
                pass
        finally:
            full.tokenizer = timed.tokenizer
        inside.append(timed.seconds / words)
        timed = TimedTokenizer(bare.tokenizer)
        gc.collect()
        for text in texts:
            timed(text)
        alone.append(timed.seconds / words)
    return {"inside_pipeline": round(min(inside) * 1e6, 3), "bare": round(min(alone) * 1e6, 3)}


def bench_language(lang: str, words: int, repeat: int, seed: int) -> dict:
    """Each round builds a fresh pair (cold vocabularies and tokenizer caches), times both
    on one text set (cold), then again on a second set from the same generator (warm)."""
    import spacy

    from nlp.pipeline import build_pipeline

    counter = spacy.blank(lang)
    runs: dict[tuple[str, str], list[float]] = {
        (side, state): [] for side in ("bare", "pipeline") for state in ("cold", "warm")
    }
    round_ratios: dict[str, list[float]] = {"cold": [], "warm": []}
    sizes: dict[str, int] = {}
    docs_ok = True
    concepts = 0
    for round_ in range(repeat):
        bare, full = spacy.blank(lang), build_pipeline(lang)  # outside the clock
        sides = ("bare", "pipeline") if round_ % 2 == 0 else ("pipeline", "bare")
        for state in ("cold", "warm"):
            texts, count = make_texts(lang, words, f"{seed}-{round_}-{state}", counter.make_doc)
            sizes.setdefault("texts", len(texts))
            sizes.setdefault("words", count)
            sizes.setdefault("chars", sum(map(len, texts)))
            rates = {}
            for side in sides:
                if side == "bare":
                    seconds = time_bare(bare, texts)
                else:
                    seconds, docs, found = time_pipeline(full, texts)
                    docs_ok = docs_ok and docs == len(texts)
                    concepts += found
                runs[(side, state)].append(count / seconds)
                rates[side] = count / seconds
            round_ratios[state].append(round(rates["pipeline"] / rates["bare"], 3))
            log(f"{lang} round {round_ + 1} {state}: bare {rates['bare']:,.0f} words/s, "
                f"pipeline {rates['pipeline']:,.0f} words/s")  # fmt: skip
        last = (bare, full, texts, count)
    best = {key: max(rates) for key, rates in runs.items()}
    result = {"words": sizes["words"], "docs": sizes["texts"], "chars": sizes["chars"]}
    for state in ("cold", "warm"):
        bare_rate, pipe_rate = best[("bare", state)], best[("pipeline", state)]
        result[state] = {
            "bare_words_per_s": round(bare_rate, 1),
            "pipeline_words_per_s": round(pipe_rate, 1),
            "ratio": round(pipe_rate / bare_rate, 3),
            "round_ratios": round_ratios[state],
        }
    bare, full, texts, count = last
    result["us_per_word"] = component_costs(full, texts, count, repeat)
    more = [
        make_texts(lang, words, f"{seed}-inside-{i}", counter.make_doc) for i in range(repeat)
    ]  # new words for both sides, as in the warm state
    result["tokenizing_us_per_word"] = tokenizing_inside(bare, full, more)
    result["concepts_found"] = concepts
    result["ok"] = docs_ok and concepts > 0
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--words", type=int, default=200_000, help="words per language")
    parser.add_argument("--quick", action="store_true", help="20,000 words per language")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best run is kept")
    parser.add_argument("--lang", action="append", choices=LANGS, help="only this language")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    parser.add_argument("--fail-under", type=float, help="exit 2 when a ratio is below this")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="process CPU time (default) or wall-clock time")  # fmt: skip
    args = parser.parse_args(argv)
    global CLOCK
    CLOCK = CLOCKS[args.clock]
    words = 20_000 if args.quick else args.words
    langs = tuple(args.lang or LANGS)

    import spacy

    results = {lang: bench_language(lang, words, max(1, args.repeat), args.seed) for lang in langs}

    print(f"Tagging throughput: full pipeline vs bare spacy.blank tokenizer, words/s "
          f"(best of {args.repeat}, batch {BATCH_SIZE}, {args.clock} clock)")  # fmt: skip
    print("cold: fresh pipelines on new text; warm: the same pipelines on more text like it")
    print(f"{'lang':<6}{'state':<6}{'words':>9}{'docs':>6}{'bare':>12}{'pipeline':>11}"
          f"{'ratio':>7}  rounds")  # fmt: skip
    for lang, r in results.items():
        for state in ("cold", "warm"):
            m = r[state]
            rounds = " ".join(f"{x:.2f}" for x in m["round_ratios"])
            print(f"{lang:<6}{state:<6}{r['words']:>9,}{r['docs']:>6,}{m['bare_words_per_s']:>12,.0f}"
                  f"{m['pipeline_words_per_s']:>11,.0f}{m['ratio']:>7.2f}  {rounds}")  # fmt: skip
    print("Microseconds per word (warm): nlp.pipe with no component, then each component alone")
    for lang, r in results.items():
        costs = "  ".join(f"{name.removeprefix('briefings_')} {us:.2f}"
                          for name, us in r["us_per_word"].items())  # fmt: skip
        print(f"{lang:<6}{costs}")
    print("Tokenizing alone, microseconds per word of new text: inside the pipeline, bare")
    for lang, r in results.items():
        tok = r["tokenizing_us_per_word"]
        print(f"{lang:<6}inside {tok['inside_pipeline']:.2f}  bare {tok['bare']:.2f}")
    min_cold = min(r["cold"]["ratio"] for r in results.values())
    min_warm = min(r["warm"]["ratio"] for r in results.values())
    print(f"Lowest ratio: cold {min_cold:.2f}, warm {min_warm:.2f} (target >= {TARGET_RATIO}).")
    summary = {
        "bench": "tagging",
        "langs": results,
        "min_ratio_cold": min_cold,
        "min_ratio_warm": min_warm,
        "target_ratio": TARGET_RATIO,
        "meets_target_cold": min_cold >= TARGET_RATIO,
        "meets_target_warm": min_warm >= TARGET_RATIO,
        "ok": all(r["ok"] for r in results.values()),
        "words_per_lang": words,
        "repeat": args.repeat,
        "batch_size": BATCH_SIZE,
        "clock": args.clock,
        "seed": args.seed,
        "spacy": spacy.__version__,
        "python": platform.python_version(),
        "machine": machine(),
    }
    lowest = min(min_cold, min_warm)
    return finish(summary, ok=summary["ok"], ratio=lowest, fail_under=args.fail_under)


if __name__ == "__main__":
    sys.exit(main())
