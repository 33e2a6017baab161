"""Translation throughput: the engine against ``argostranslate.translate.translate()``.

One run, one process, the same package (the bundled en-fr ``.argosmodel`` by default,
installed into a temporary workspace with the project's own package code, which is
argostranslate's installer), the same N distinct English sentences, the same beam
size, compute type and CPU threads on both sides:

- argostranslate: ``argostranslate.translate.translate(paragraph, "en", "fr")`` for
  every paragraph (3 to 6 sentences), as a program using Argos Translate would call it.
  Argos splits each paragraph into sentences with the package's own ``minisbd/``
  splitter, so nothing is downloaded (Stanza is not installed: the project depends on
  argos-translate-lt). Its settings come from ``ARGOS_*`` environment variables set
  before argostranslate is first imported: packages and data in the temporary folder,
  ``ARGOS_BEAM_SIZE``, ``ARGOS_COMPUTE_TYPE``, and ``ARGOS_INTRA_THREADS`` the engine's
  number of threads in all (``--argos-threads`` sets it apart).
- argostranslate again, with one thread (its translator reloaded): it sends one small
  batch per paragraph, for which one thread is much faster than several; the engine's
  ratio against this run is reported too.
- engine, cold: the same paragraphs cut into sentences by the flow's splitter (spaCy's
  rule-based sentencizer), then ``briefings.translation.engine.Engine.translate`` with
  an empty translation memory in a fresh SQLite store, settings from the workspace's
  ``[translation]`` table (``--beam``, ``--threads`` and ``--inter-threads`` are
  written there; by default one worker per core, one thread each): memory lookup, one model
  loaded, batched ``translate_batch`` calls, new translations stored.
- engine, warm: a new ``Engine`` over the same store translates the same sentences
  again; every one must come from the memory, and the engine's own count of model
  calls (``EngineResult.model_calls``, ``translate_batch`` calls) must be 0.

Both sides load their model inside the clock (a first call loads it); imports, the
package install and building the sentencizer are outside. Network connections are
refused for the whole run, so a download attempt fails loudly instead of skewing it.

The sentences come from the synthetic corpus's templates
(``tools/argos_models/corpus.py``: sectors and threats from the glossary, advice,
dates, made-up places, CVE ids, counts, and the engine's ``⟦n⟧`` placeholders), with
their own seed, kept distinct (so the engine's deduplication gains nothing) and only
those ending with ``.``, ``!`` or ``?`` (so both splitters find the same sentences).
The small model knows this phrasing, so both sides decode normal-length outputs.

    .venv/bin/python bench/translate.py                       # 1,000 sentences, beam 4
    .venv/bin/python bench/translate.py --sentences 200 --beam 1
    .venv/bin/python bench/translate.py --threads 2 --inter-threads 1   # one worker, 2 threads
    .venv/bin/python bench/translate.py --fail-under 5        # exit 2 below 5x

Prints a table, then exactly one JSON line (the last line of stdout); progress goes to
stderr. Exit status: 0 when the checks passed (whatever the ratio), 1 when one failed
(a sentence count, a warm model call, an empty output), 2 when ``--fail-under`` was
given and the cold ratio is below it.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

from common import clean_up_when_stopped, finish, log, machine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

MODELS = ROOT / "models"
TARGET_RATIO = 5.0
TARGET_WARM_MODEL_CALLS = 0
SOURCE_LANG, TARGET_LANG = "en", "fr"


def refuse_network() -> None:
    """Every connection and name lookup fails from here on (the run must be offline)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during the offline translation benchmark")

    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]


# -- the text -------------------------------------------------------------------------------


def make_paragraphs(count: int, seed: int) -> tuple[list[str], list[list[str]]]:
    """``count`` distinct English sentences from the corpus templates, and the same
    sentences grouped into paragraphs of 3 to 6."""
    from tools.argos_models.corpus import TEMPLATES, fill, load_terms

    terms = load_terms()
    rng = random.Random(seed)
    sentences: dict[str, None] = {}
    attempts = 0
    while len(sentences) < count:
        attempts += 1
        if attempts > 50 * count:
            raise SystemExit(f"could not make {count} distinct sentences from the templates")
        text = fill(rng.choice(TEMPLATES), rng, terms)[SOURCE_LANG]
        if text.endswith((".", "!", "?")) and ". " not in text:
            sentences[text] = None
    ordered = list(sentences)
    paragraphs: list[list[str]] = []
    while ordered:
        size = rng.randint(3, 6)
        paragraphs.append(ordered[:size])
        ordered = ordered[size:]
    return list(sentences), paragraphs


# -- the run --------------------------------------------------------------------------------


def find_package(path: str | None) -> Path:
    if path:
        return Path(path).resolve()
    found = sorted(MODELS.glob(f"translate-{SOURCE_LANG}_{TARGET_LANG}-*.argosmodel"))
    if not found:
        raise SystemExit(
            f"no {SOURCE_LANG}-{TARGET_LANG} package in {MODELS}; build it: python -m "
            f"tools.argos_models build --pairs {SOURCE_LANG}-{TARGET_LANG} --out models/"
        )
    return found[-1]


def write_workspace(root: Path, beam: int, threads: int, inter_threads: int) -> None:
    root.mkdir(parents=True)
    (root / "briefings.toml").write_text(
        f'[workspace]\nsource_lang = "{SOURCE_LANG}"\n'
        f'languages = ["{SOURCE_LANG}", "{TARGET_LANG}"]\n\n'
        f"[translation]\nbeam_size = {beam}\nthreads = {threads}\n"
        f"inter_threads = {inter_threads}\n",
        "utf-8",
    )


def run(args: argparse.Namespace, tmp: Path) -> dict:
    from briefings.workspace import open_workspace

    package_file = find_package(args.package)
    root = tmp / "workspace"
    write_workspace(root, args.beam, args.threads, args.inter_threads)
    workspace = open_workspace(root, environ={})

    from briefings.translation.argos import ModelSettings, opt_out_of_telemetry

    settings = ModelSettings.from_config(workspace.config.translation)
    workers, per_worker = settings.layout
    threads = workers * per_worker
    # argostranslate reads these once, when first imported: set them before that.
    os.environ.update(
        {
            "ARGOS_PACKAGES_DIR": str(workspace.packages_dir),
            "XDG_DATA_HOME": str(tmp / "argos" / "data"),
            "XDG_CONFIG_HOME": str(tmp / "argos" / "config"),
            "XDG_CACHE_HOME": str(tmp / "argos" / "cache"),
            "ARGOS_DEVICE_TYPE": "cpu",
            "ARGOS_BEAM_SIZE": str(settings.beam_size),
            "ARGOS_COMPUTE_TYPE": settings.compute_type,
            "ARGOS_INTRA_THREADS": str(
                threads if args.argos_threads is None else args.argos_threads
            ),
        }
    )
    refuse_network()
    opt_out_of_telemetry()  # argostranslate.translate loads ONNX Runtime

    import argostranslate.settings
    import argostranslate.translate
    import ctranslate2

    from briefings.store import Store
    from briefings.translation.engine import Engine
    from briefings.translation.memory import TranslationMemory
    from briefings.translation.packages import find_route, install_package, list_packages
    from glossary import load_glossary
    from nlp.sentences import sentence_splitter

    log(f"installing {package_file.name} into {workspace.packages_dir}")
    install_package(workspace, package_file)
    route = find_route(list_packages(workspace), SOURCE_LANG, TARGET_LANG)
    glossary_version = load_glossary().version
    split = sentence_splitter(SOURCE_LANG)
    split("Warm up the sentencizer. Outside the clock.")

    sentences, grouped = make_paragraphs(args.sentences, args.seed)
    paragraphs = [" ".join(group) for group in grouped]
    log(f"{len(sentences)} sentences in {len(paragraphs)} paragraphs, beam {settings.beam_size}")

    # argostranslate: one call per paragraph, its own splitter and translator.
    log("argostranslate.translate.translate() per paragraph ...")
    start = time.perf_counter()
    argos_out = [
        argostranslate.translate.translate(p, SOURCE_LANG, TARGET_LANG) for p in paragraphs
    ]
    argos_s = time.perf_counter() - start
    # What argos' splitter made of the paragraphs (outside the clock), to check the sides
    # translated the same sentences. translate() wraps the package's translation in a
    # CachedTranslation, which only remembers the previous call's paragraphs.
    translation = argostranslate.translate.get_translation_from_codes(SOURCE_LANG, TARGET_LANG)
    package_translation = getattr(translation, "underlying", translation)
    argos_sentences = sum(
        len(package_translation.sentencizer.split_sentences(p)) for p in paragraphs
    )

    # argostranslate again with one thread, its fastest for one paragraph per call: its
    # translator reads the setting when it is (re)loaded.
    log("argostranslate.translate() per paragraph, one thread ...")
    argostranslate.settings.intra_threads = 1
    package_translation.translator = None
    start = time.perf_counter()
    argos1_out = [
        argostranslate.translate.translate(p, SOURCE_LANG, TARGET_LANG) for p in paragraphs
    ]
    argos1_s = time.perf_counter() - start

    store = Store(tmp / "state.sqlite3")

    def engine_run(state: str):
        """A new Engine over the store's memory: cutting and translating, timed."""
        log(f"engine, {state} memory ...")
        start = time.perf_counter()
        segments = [s for p in paragraphs for s in split(p)]
        result = Engine(
            route, memory=TranslationMemory(store), glossary_version=glossary_version,
            settings=settings,
        ).translate(segments)  # fmt: skip
        return result, segments, time.perf_counter() - start

    cold, segments, cold_s = engine_run("cold")  # empty memory in a fresh store
    warm, _, warm_s = engine_run("warm")  # the same memory, now full

    engine_out = [
        " ".join(cold.translations[s] for s in split(paragraph)) for paragraph in paragraphs
    ]
    same = sum(a.strip() == e.strip() for a, e in zip(argos_out, engine_out, strict=True))
    n = len(sentences)
    checks = {
        "engine_segments_equal_sentences": len(segments) == n,
        "argos_sentences_equal_sentences": argos_sentences == n,
        "cold_all_sent_to_model": cold.translated == n,
        "warm_model_calls_zero": warm.model_calls == TARGET_WARM_MODEL_CALLS,
        "warm_all_from_memory": warm.translated == 0 and warm.from_memory == n,
        "warm_same_as_cold": warm.translations == cold.translations,
        "no_empty_output": all(argos_out) and all(cold.translations.values()),
        "argos_same_with_one_thread": argos1_out == argos_out,
    }
    argos_rate = n / argos_s
    argos1_rate = n / argos1_s
    cold_rate = n / cold_s
    return {
        "bench": "translate",
        "sentences": n,
        "paragraphs": len(paragraphs),
        "beam_size": settings.beam_size,
        "argos_sentences_per_s": round(argos_rate, 1),
        "argos_1thread_sentences_per_s": round(argos1_rate, 1),
        "engine_cold_sentences_per_s": round(cold_rate, 1),
        "engine_warm_sentences_per_s": round(n / warm_s, 1),
        "ratio_cold": round(cold_rate / argos_rate, 2),
        "target_ratio": TARGET_RATIO,
        "meets_target": cold_rate / argos_rate >= TARGET_RATIO,
        "ratio_cold_vs_argos_1thread": round(cold_rate / argos1_rate, 2),
        "cold_model_calls": cold.model_calls,
        "warm_model_calls": warm.model_calls,
        "target_warm_model_calls": TARGET_WARM_MODEL_CALLS,
        "warm_from_memory": warm.from_memory,
        "same_output_paragraphs": round(same / len(paragraphs), 3),
        "argos_s": round(argos_s, 3),
        "argos_1thread_s": round(argos1_s, 3),
        "engine_cold_s": round(cold_s, 3),
        "engine_warm_s": round(warm_s, 3),
        "package": f"{route.package} {route.package_version}",
        "compute_type": settings.compute_type,
        "threads": threads,
        "inter_threads": workers,
        "argos_threads": int(os.environ["ARGOS_INTRA_THREADS"]),
        "max_batch_size": settings.max_batch_size,
        "seed": args.seed,
        "checks": checks,
        "ok": all(checks.values()),
        "ctranslate2": ctranslate2.__version__,
        "python": platform.python_version(),
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sentences", type=int, default=1000, help="distinct sentences")
    parser.add_argument("--beam", type=int, default=4, help="beam size of both sides")
    parser.add_argument(
        "--threads", type=int, default=0,
        help="CPU threads of the engine's model in all ([translation] threads; 0: one per core)",
    )  # fmt: skip
    parser.add_argument(
        "--inter-threads", type=int, default=0,
        help="batches the engine's model runs at once ([translation] inter_threads; 0: one "
        "per thread)",
    )  # fmt: skip
    parser.add_argument(
        "--argos-threads", type=int,
        help="argostranslate's CPU threads (ARGOS_INTRA_THREADS) when not the engine's: "
        "e.g. 1, or 0 for its own default",
    )  # fmt: skip
    parser.add_argument("--package", help="an .argosmodel (default: models/translate-en_fr-*)")
    parser.add_argument("--seed", type=int, default=11, help="seed of the generated sentences")
    parser.add_argument("--fail-under", type=float, help="exit 2 when the cold ratio is below")
    args = parser.parse_args(argv)
    clean_up_when_stopped()
    if args.sentences < 1 or args.beam < 1:
        parser.error("--sentences and --beam must be at least 1")

    with tempfile.TemporaryDirectory(prefix="bench-translate-") as tmp:
        r = run(args, Path(tmp))

    print(
        f"Translation throughput, {r['package']}, {r['sentences']:,} sentences in "
        f"{r['paragraphs']} paragraphs, beam {r['beam_size']}, {r['compute_type']}, "
        f"{r['threads']} thread(s) in {r['inter_threads']} worker(s) "
        f"(argostranslate {r['argos_threads']} thread(s), then 1)"
    )
    print(f"{'side':<42}{'seconds':>9}{'sentences/s':>13}{'model calls':>13}")
    rows = [
        ("argostranslate.translate() per paragraph", r["argos_s"], r["argos_sentences_per_s"], "-"),
        ("  the same, one thread", r["argos_1thread_s"], r["argos_1thread_sentences_per_s"], "-"),
        ("engine, cold memory", r["engine_cold_s"], r["engine_cold_sentences_per_s"],
         r["cold_model_calls"]),
        ("engine, warm memory", r["engine_warm_s"], r["engine_warm_sentences_per_s"],
         r["warm_model_calls"]),
    ]  # fmt: skip
    for name, seconds, rate, calls in rows:
        print(f"{name:<42}{seconds:>9.2f}{rate:>13,.1f}{calls!s:>13}")
    print(
        f"Cold ratio engine / argostranslate: {r['ratio_cold']:.2f} (target >= {TARGET_RATIO}), "
        f"against its one-thread run {r['ratio_cold_vs_argos_1thread']:.2f}; "
        f"warm model calls: {r['warm_model_calls']} (target {TARGET_WARM_MODEL_CALLS}); "
        f"paragraphs translated identically: {r['same_output_paragraphs']:.1%}."
    )
    for name, passed in r["checks"].items():
        if not passed:
            print(f"CHECK FAILED: {name}")
    return finish(r, ok=r["ok"], ratio=r["ratio_cold"], fail_under=args.fail_under)


if __name__ == "__main__":
    sys.exit(main())
