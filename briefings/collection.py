"""Fewer cyclic garbage collections while a build makes millions of small objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# A publish run keeps tens of thousands of keys, stats, records and page data alive and
# makes millions of short-lived objects around them. With CPython's default thresholds
# (700, 10, 10) the young generation is collected every 700 new containers, and every
# collection of an older generation walks what the run keeps: on a 2,000-briefing site
# that was 0.25-0.4 s of a 2 s rebuild (bench/README.md). Almost none of it is cyclic
# garbage: collecting less often costs no measurable memory (a full build peaked at
# 1,141 MB with collections on, 1,167 MB with none at all).
YOUNG_THRESHOLD = 100_000


@contextmanager
def fewer_collections(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collect the young generation every ``young`` new containers (not 700) inside the
    block, older ones proportionally less often, and leave out of every collection the
    objects that existed before it (``gc.freeze``: a long-running process, a flow
    worker, has many, and none of them is the block's garbage). Thresholds and frozen
    objects are restored after the block, also when it raises; a caller that froze
    objects itself keeps them frozen. Collection stays on: cycles the block makes are
    still cleaned up, only later."""
    before = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if freeze:
            gc.unfreeze()
