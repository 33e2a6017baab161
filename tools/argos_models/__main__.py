"""``python -m tools.argos_models build``: build the project's small Argos packages.

    python -m tools.argos_models build --pairs en-fr,en-es,en-ar,fr-en --out models/

For each pair, one after another: synthetic corpus -> SentencePiece -> PyTorch
Transformer (time budget) -> CTranslate2 int8 (checked against PyTorch) ->
held-out scores -> ``.argosmodel`` -> installed by argostranslate and used
offline. Figures of every package built so far are kept in ``OUT/build.json``
and ``OUT/README.md`` is rewritten from them. ``check-install`` is the child
process of that last check (it needs fresh environment variables).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from tools.argos_models import corpus as corpus_mod
from tools.argos_models import package as package_mod

logger = logging.getLogger("tools.argos_models")

VERIFY_SENTENCES = 50


def _scores(hypotheses: list[str], references: list[str]) -> dict:
    import sacrebleu

    exact = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    return {
        "heldout": len(references),
        "exact_match": round(100 * exact / len(references), 1),
        "chrf": round(sacrebleu.corpus_chrf(hypotheses, [references]).score, 1),
        "bleu": round(sacrebleu.corpus_bleu(hypotheses, [references]).score, 1),
    }


def build_pair(
    source_lang: str,
    target_lang: str,
    corpus: corpus_mod.Corpus,
    out_dir: Path,
    work: Path,
    args: argparse.Namespace,
) -> dict:
    """Build, verify, score, package and install-check one pair; return its figures."""
    import ctranslate2
    import torch

    from tools.argos_models import convert, model, tokenizer

    started = time.monotonic()
    pair = f"{source_lang}-{target_lang}"
    name = package_mod.package_name(source_lang, target_lang)
    train_pairs = corpus.pairs("train", source_lang, target_lang)
    heldout = corpus.pairs("heldout", source_lang, target_lang)

    sp_file = work / name / "sentencepiece.model"
    sp = tokenizer.train_tokenizer([s for p in train_pairs for s in p], sp_file, args.vocab_size)
    vocabulary = tokenizer.pieces(sp)
    encoded = [(sp.encode(s), sp.encode(t)) for s, t in train_pairs]

    torch.set_num_threads(args.threads)
    config = model.ModelConfig(vocab_size=len(vocabulary), ffn=args.ffn, dropout=args.dropout)
    logger.info("%s: training for up to %ss on %d pairs", pair, args.budget, len(encoded))
    net, report = model.train(
        encoded, config, budget_seconds=args.budget, seed=args.seed, max_steps=args.max_steps
    )

    float_dir = convert.convert(net, vocabulary, work / name / "ct2-float32", None)
    int8_dir = convert.convert(net, vocabulary, work / name / "model", "int8")
    sample = [sp.encode(s, out_type=str) for s, _ in heldout[:VERIFY_SENTENCES]]
    same_float, diff_float = convert.agreement(net, float_dir, sample, vocabulary)
    same_int8, _ = convert.agreement(net, int8_dir, sample, vocabulary)
    if diff_float:
        raise RuntimeError(
            f"{pair}: the CTranslate2 copy disagrees with PyTorch on {len(diff_float)} of "
            f"{len(sample)} greedy outputs (first: held-out #{diff_float[0]}); the weight "
            "mapping in convert.py is wrong"
        )

    translator = ctranslate2.Translator(str(int8_dir), device="cpu")
    sources = [sp.encode(s, out_type=str) for s, _ in heldout]
    results = translator.translate_batch(
        sources,
        beam_size=1,
        max_batch_size=64,
        max_decoding_length=convert.max_decoding_length(sources),
    )
    hypotheses = [sp.decode(r.hypotheses[0]) for r in results]
    scores = _scores(hypotheses, [t for _, t in heldout])
    errors = [
        {"source": s, "reference": t, "output": h}
        for (s, t), h in zip(heldout, hypotheses, strict=True)
        if h != t
    ]

    figures = {
        "pair": pair,
        "file": f"{name}.argosmodel",
        "corpus_train": len(train_pairs),
        "templates": len(corpus_mod.TEMPLATES),
        "fixed_sentences": len(corpus_mod.FIXED),
        "terms": corpus.terms_source,
        "vocabulary": len(vocabulary),
        "training_seconds": report.seconds,
        "steps": report.steps,
        "epochs": report.epochs,
        "final_loss": report.final_loss,
        "parameters": report.parameters,
        "model": report.config,
        "agreement_float32": f"{same_float}/{len(sample)}",
        "agreement_int8": f"{same_int8}/{len(sample)}",
        **scores,
        "sample_errors": errors[:5],
    }
    splitter = package_mod.sentence_splitter()
    figures["minisbd"] = splitter is not None
    meta = package_mod.metadata(source_lang, target_lang, corpus_mod.LANG_NAMES)
    out_file = out_dir / f"{name}.argosmodel"
    package_mod.write_package(
        out_file, name, meta, package_readme(figures), sp_file, int8_dir, splitter
    )
    figures["size_bytes"] = out_file.stat().st_size

    probe_source, probe_reference = heldout[0]
    check = package_mod.check_install(out_file, probe_source)
    if check["ctranslate2"] != hypotheses[0]:
        raise RuntimeError(f"{pair}: the installed package translates differently: {check}")
    figures["install_check"] = {"source": probe_source, "reference": probe_reference, **check}
    figures["build_seconds"] = round(time.monotonic() - started, 1)
    logger.info(
        "%s: exact %.1f%%, chrF %.1f, BLEU %.1f, %s bytes, %.0fs",
        pair,
        scores["exact_match"],
        scores["chrf"],
        scores["bleu"],
        figures["size_bytes"],
        figures["build_seconds"],
    )
    return figures


def package_readme(f: dict) -> str:
    """The README.md inside one package."""
    source_lang, target_lang = f["pair"].split("-")
    names = corpus_mod.LANG_NAMES
    m = f["model"]
    return f"""# {names[source_lang]} → {names[target_lang]}: demonstration and tests only

A tiny translation model built by coalition-briefings' own build
(`python -m tools.argos_models build`) from a **synthetic** parallel corpus of
security-briefing sentences. It translates sentences like those templates and
little else. **For demonstration and tests only**: never use it to translate
real briefings.

| | |
| --- | --- |
| corpus | {f["corpus_train"]:,} training pairs from {f["templates"]} templates and {f["fixed_sentences"]} fixed sentences; {f["heldout"]} held out |
| terms | sector and threat slots from {f["terms"]} |
| tokenizer | shared SentencePiece BPE, {f["vocabulary"]} pieces, digits split, byte fallback, `⟦` `⟧` and digits as symbols |
| model | pre-norm Transformer {m["encoder_layers"]}+{m["decoder_layers"]} layers, d_model {m["d_model"]}, {m["heads"]} heads, FFN {m["ffn"]}, {f["parameters"]:,} parameters, tied embeddings; CTranslate2 int8 |
| training | {f["training_seconds"]:.0f} s on CPU, {f["steps"]} steps ({f["epochs"]} epochs), final loss {f["final_loss"]} |
| held-out exact match | {f["exact_match"]}% (greedy) |
| held-out chrF | {f["chrf"]} |
| held-out BLEU | {f["bleu"]} (sacrebleu) |
| CTranslate2 = PyTorch | {f["agreement_float32"]} greedy outputs (float32), {f["agreement_int8"]} (int8) |
| sentence splitter | {"rule-based `minisbd/` ONNX (. ! ? before a space)" if f["minisbd"] else "none: segment text before translating"} |

Placeholders `⟦0⟧`, `⟦1⟧` ... are copied through. Sentences longer than 255
pieces do not fit the position table: split them first.
"""


def models_readme(builds: dict[str, dict], command: str, last_run: str) -> str:
    """``OUT/README.md``: one table of every package in ``build.json``."""
    rows = []
    for f in builds.values():
        rows.append(
            f"| {f['pair']} | `{f['file']}` | {f['size_bytes'] / 1e6:.1f} MB | "
            f"{f['corpus_train']:,} (+{f['heldout']} held out) | {f['training_seconds']:.0f} s "
            f"({f['steps']} steps, {f['epochs']} epochs) | {f['exact_match']}% | {f['chrf']} | "
            f"{f['bleu']} | {f['build_seconds']:.0f} s |"
        )
    table = "\n".join(rows)
    terms = sorted({f["terms"] for f in builds.values()})
    return f"""# Argos Translate packages for demonstration and tests only

Small **real** Argos Translate packages (SentencePiece + CTranslate2 int8)
that the project builds itself, offline, from a synthetic corpus of briefing
sentences (tools/argos_models/corpus.py). They exist so that tests and the demo
exercise the real translation path (argostranslate installs them unmodified).
They translate sentences like their templates and little else: **demonstration
and tests only**, never real briefings. Production installs real Argos packages.

| pair | file | size | training pairs | training time | held-out exact match | chrF | BLEU | build time |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
{table}

Scores are on held-out template sentences, greedy decoding, sacrebleu chrF and BLEU.
Sector and threat terms came from: {"; ".join(terms)}.
Each package holds `metadata.json`, `README.md` (its own figures),
`sentencepiece.model`, `model/` and, where built, a rule-based `minisbd/` sentence
splitter, so `argostranslate.translate` works offline too.
`build.json` keeps every figure of the last build of each package, with a few
held-out errors.

Rebuilt with (`.venv/bin/pip install -e '.[models]'` first; training time is
bounded per pair, so figures vary with the machine's load):

    {command}

{last_run}
"""


def build(args: argparse.Namespace) -> int:
    pairs = [tuple(p.split("-")) for p in args.pairs.split(",")]
    for pair in pairs:
        if len(pair) != 2 or not set(pair) <= set(corpus_mod.LANGS):
            known = ", ".join(corpus_mod.LANGS)
            print(f"Error: unknown pair {'-'.join(pair)!r}; languages: {known}", file=sys.stderr)
            return 2
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    terms = corpus_mod.load_terms()
    corpus = corpus_mod.build_corpus(terms, size=args.corpus_size, seed=args.seed)
    logger.info("Corpus: %d training, %d held-out examples", len(corpus.train), len(corpus.heldout))
    state_file = out_dir / "build.json"
    builds = json.loads(state_file.read_text()) if state_file.exists() else {}
    command = ".venv/bin/python -m tools.argos_models " + shlex.join(sys.argv[1:])
    readme = out_dir / "README.md"
    with tempfile.TemporaryDirectory(prefix="argos-build-") as tmp:
        for source_lang, target_lang in pairs:
            figures = build_pair(source_lang, target_lang, corpus, out_dir, Path(tmp), args)
            builds[figures["pair"]] = figures
            state_file.write_text(json.dumps(builds, indent=2, ensure_ascii=False) + "\n")
            readme.write_text(models_readme(builds, command, "The last run is under way."))
    total = time.monotonic() - started
    last_run = (
        f"The last run built {', '.join(args.pairs.split(','))} in {total / 60:.0f} minutes "
        f"(corpus, tokenizers, training, checks and packaging; {args.threads} threads)."
    )
    readme.write_text(models_readme(builds, command, last_run))
    logger.info("Built %d package(s) in %.0fs", len(pairs), total)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.argos_models", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    b = commands.add_parser("build", help="build, verify and package language pairs")
    b.add_argument("--pairs", default="en-fr,en-es,en-ar,fr-en", help="comma-separated pairs")
    b.add_argument("--out", default="models", help="folder for the .argosmodel files")
    b.add_argument("--budget", type=float, default=480, help="training seconds per pair")
    b.add_argument("--max-steps", type=int, help="stop after this many steps (reproducible)")
    b.add_argument("--corpus-size", type=int, default=20_000, help="distinct examples")
    b.add_argument("--vocab-size", type=int, default=2000)
    b.add_argument("--ffn", type=int, default=512, help="feed-forward width")
    b.add_argument("--dropout", type=float, default=0.05)
    b.add_argument("--threads", type=int, default=2, help="PyTorch CPU threads")
    b.add_argument("--seed", type=int, default=1)
    c = commands.add_parser("check-install", help="(internal) install FILE, translate stdin")
    c.add_argument("file", type=Path)
    args = parser.parse_args(argv)

    if args.command == "check-install":
        report = package_mod.installed_translation(args.file.resolve(), sys.stdin.read().strip())
        print(json.dumps(report, ensure_ascii=False))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    # Idle OpenMP threads sleep instead of spinning: on a shared 2-core machine this
    # halved the time per training step. Must be set before torch is imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return build(args)


if __name__ == "__main__":
    sys.exit(main())
