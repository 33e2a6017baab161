"""A Markdown rendering worker: ``python -m briefings.render_worker`` reads a JSON list
of Markdown texts on stdin and writes, for each in order, one JSON line with its HTML
(rendered and sanitized as :class:`briefings.rendering.MarkdownRenderer` does).

A separate program rather than a ``multiprocessing`` pool: starting one never imports
the parent's ``__main__`` (a script calling ``publish_site`` would run again in every
worker) and never forks a process that runs threads."""

from __future__ import annotations

import json
import sys

from briefings.rendering import new_markdown, sanitize


def main() -> int:
    texts = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    md = new_markdown()
    out = sys.stdout
    for text in texts:
        md.reset()
        out.write(json.dumps(sanitize(md.convert(text))) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
