"""No cyclic garbage collection while a build makes millions of small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A publish run keeps tens of thousands of keys, stats, records and page data alive and
# makes millions of short-lived objects around them. Every collection walks the young
# objects, and the older generations what the run keeps: with CPython's default
# thresholds (700, 10, 10) that was 0.25-0.4 s of a 2 s rebuild of a 2,000-briefing
# site, and even with the young generation collected every 100,000 new containers it
# was 2 collections of 25 ms each in a 1.2 s rebuild (bench/README.md). Reference
# counting frees nearly all of it: the run makes almost no cyclic garbage (a full build
# peaked at 1,141 MB with collections on, 1,167 MB with none at all).


@contextmanager
def no_collections() -> Iterator[None]:
    """Cyclic garbage collection off inside the block, and as it was after it, also when
    the block raises. Cycles the block makes are collected later, by the first automatic
    collection after it (a long-running process, a flow worker) or not at all (the
    command line exits)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
