"""Markdown conversion: the renderer's ``FastMarkdown`` against Python-Markdown itself.

Generates N briefing texts (default 400: a quarter each in en, fr, es and ar) with the
generator of ``bench/publish.py`` (about 1,500 words of headings, paragraphs, lists, a
table, links, inline code and emphasis), then times, in one process and on the same
texts, with the renderer's extensions:

- bare: ``markdown.markdown(text, ...)``, a new converter per text, as ``bench/publish.py``'s
  floor;
- stock: one ``markdown.Markdown`` reused (``reset()`` between texts), as the renderer
  used it before ``briefings/fast_markdown.py``;
- fast: one ``FastMarkdown`` (``briefings.rendering.new_markdown()``) reused.

Rounds alternate the order of the three; the fastest round of each is kept. Times are
the process's CPU time. The three must give the same HTML for every text (exit 1
otherwise). Prints a table, then exactly one JSON line (the last line of stdout).

    .venv/bin/python bench/markdown_speed.py                # 400 texts, 3 rounds (about a minute)
    .venv/bin/python bench/markdown_speed.py --texts 100 --rounds 2
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from common import finish, log, machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import markdown  # noqa: E402
from publish import LANGS, body  # noqa: E402

from briefings.rendering import EXTENSION_CONFIGS, EXTENSIONS, new_markdown  # noqa: E402


def texts_for(count: int, words: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [body(rng, LANGS[i % len(LANGS)], f"Briefing {i}", words) for i in range(count)]


def convert_all(texts: list[str], side: str) -> tuple[float, list[str]]:
    """CPU seconds to convert every text on ``side``, and the HTML."""
    if side == "bare":
        started = time.process_time()
        out = [
            markdown.markdown(t, extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS)
            for t in texts
        ]
        return time.process_time() - started, out
    md = (
        new_markdown()
        if side == "fast"
        else markdown.Markdown(
            extensions=EXTENSIONS, extension_configs=EXTENSION_CONFIGS, output_format="html"
        )
    )  # built outside the clock, as the renderer keeps one
    started = time.process_time()
    out = []
    for text in texts:
        md.reset()
        out.append(md.convert(text))
    return time.process_time() - started, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=400, help="texts (a quarter per language)")
    parser.add_argument("--words", type=int, default=1500, help="words per text")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, sides alternated")
    parser.add_argument("--seed", type=int, default=7, help="seed of the generated texts")
    parser.add_argument("--fail-under", type=float, help="exit 2 when fast/bare is below this")
    args = parser.parse_args(argv)

    texts = texts_for(args.texts, args.words, args.seed)
    sides = ["bare", "stock", "fast"]
    best = dict.fromkeys(sides, float("inf"))
    outputs: dict[str, list[str]] = {}
    for round_ in range(args.rounds):
        order = sides[round_ % 3 :] + sides[: round_ % 3]
        for side in order:
            seconds, outputs[side] = convert_all(texts, side)
            best[side] = min(best[side], seconds)
            log(f"round {round_ + 1}: {side} {seconds:.2f} s")
    same = outputs["bare"] == outputs["stock"] == outputs["fast"]
    differing = sum(1 for a, b in zip(outputs["bare"], outputs["fast"], strict=True) if a != b)

    words = sum(len(t.split()) for t in texts) // len(texts)
    print(
        f"Markdown: {len(texts)} texts of ~{words} words ({', '.join(LANGS)}), best of {args.rounds}"
    )
    print(f"{'':<34}{'seconds':>10}{'ms/text':>10}")
    labels = {
        "bare": "markdown.markdown()",
        "stock": "markdown.Markdown, reused",
        "fast": "FastMarkdown, reused",
    }
    for side in sides:
        print(f"{labels[side]:<34}{best[side]:>10.2f}{best[side] / len(texts) * 1e3:>10.2f}")
    ratio = best["bare"] / best["fast"]
    print(f"FastMarkdown: {ratio:.2f}x markdown.markdown(), "
          f"{best['stock'] / best['fast']:.2f}x the reused stock converter; "
          f"same HTML for every text: {'yes' if same else f'NO ({differing} differ)'}")  # fmt: skip
    figures = {
        "bench": "markdown",
        "texts": len(texts),
        "words_per_text": words,
        "bare_s": round(best["bare"], 3),
        "stock_reused_s": round(best["stock"], 3),
        "fast_reused_s": round(best["fast"], 3),
        "ratio": round(ratio, 2),
        "ratio_to_stock_reused": round(best["stock"] / best["fast"], 2),
        "same_html": same,
        "ok": same,
        "machine": machine(),
    }
    return finish(figures, ok=same, ratio=ratio, fail_under=args.fail_under)


if __name__ == "__main__":
    sys.exit(main())
