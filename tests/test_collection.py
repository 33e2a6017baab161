"""Publishing collects no cyclic garbage while it builds, and leaves the collector as it
found it."""

from __future__ import annotations

import gc
from pathlib import Path

import publishing_fixtures as pf
import pytest

from briefings.collection import no_collections
from briefings.publishing import publish_site


def test_collection_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with no_collections():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_is_on_again_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), no_collections():
        raise RuntimeError("build failed")
    assert gc.isenabled()


def test_a_caller_that_turned_collection_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with no_collections():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_publish_site_builds_without_a_collection(tmp_path: Path) -> None:
    env = pf.make_site_env(tmp_path / "ws", languages=("en", "fr"))
    try:
        for title in ("Ransomware shuts hospital wards", "Wiper hits water utility"):
            pf.approved(env, pf.new_briefing(env, title))
        collected_while_off: list[int] = []
        seen: list[bool] = []

        def count(phase: str, info: dict) -> None:
            if phase == "start" and not gc.isenabled():  # (an explicit gc.collect())
                collected_while_off.append(info["generation"])

        def labels(concept: str, lang: str) -> str:
            seen.append(gc.isenabled())  # asked for while pages are built
            return pf.labels(concept, lang)

        # A collection at nearly every allocation while collection is on.
        gc.set_threshold(1, 1, 1)
        gc.callbacks.append(count)
        try:
            publish_site(env.workspace, env.store, clock=env.clock, labels=labels)
        finally:
            gc.callbacks.remove(count)
            gc.set_threshold(700, 10, 10)
        assert seen and not any(seen)  # off while pages are built
        assert collected_while_off == []
        assert gc.isenabled()
    finally:
        env.close()
