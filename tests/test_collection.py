"""Publishing collects cyclic garbage less often while it builds, and leaves the
interpreter's thresholds as they were."""

from __future__ import annotations

import gc
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.collection import YOUNG_THRESHOLD, fewer_collections
from briefings.publishing import publish_site


def test_thresholds_are_raised_inside_and_restored_after() -> None:
    before = gc.get_threshold()
    with fewer_collections(50_000):
        assert gc.get_threshold() == (max(50_000, before[0]), *before[1:])
        assert gc.isenabled()
    assert gc.get_threshold() == before


def test_thresholds_are_restored_when_the_block_raises() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("build failed")
    assert gc.get_threshold() == before


def test_a_higher_threshold_set_by_the_caller_is_kept() -> None:
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD * 2, *before[1:])
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD * 2
    finally:
        gc.set_threshold(*before)


def test_publish_site_builds_with_fewer_collections(tmp_path: Path) -> None:
    env = pf.make_site_env(tmp_path / "ws", languages=("en",))
    try:
        pf.approved(env, pf.new_briefing(env, "Ransomware shuts hospital wards"))
        seen: list[int] = []

        def labels(concept: str, lang: str) -> str:
            seen.append(gc.get_threshold()[0])  # asked for while pages are built
            return pf.labels(concept, lang)

        before = gc.get_threshold()
        publish_site(env.workspace, env.store, clock=env.clock, labels=labels)
        assert seen and min(seen) >= YOUNG_THRESHOLD
        assert gc.get_threshold() == before
    finally:
        env.close()


def test_what_existed_before_is_left_out_of_collections_inside_only() -> None:
    assert gc.get_freeze_count() == 0
    with fewer_collections():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_objects_a_caller_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
