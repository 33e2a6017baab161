"""The ``tag-items`` flow: one task per language and chunk of items."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from briefings import progress
from briefings.store import Store
from briefings.workspace import Workspace, glossary_paths, open_workspace
from nlp.pipeline import PipelineCache
from nlp.tagging import TagReport, tag_items, tagger_version

# One pipeline cache per workspace per process: building a pipeline costs a
# second or two, tagging a chunk much less.
_caches: dict[str, PipelineCache] = {}
_lock = threading.Lock()


def _pipelines(workspace: Workspace) -> PipelineCache:
    key = str(workspace.root)
    with _lock:
        if key not in _caches:
            _caches[key] = PipelineCache(
                glossary_paths=glossary_paths(workspace),
                trained_models=workspace.config.tagging.trained_models,
            )
        return _caches[key]


@task(name="tag-chunk", task_run_name="tag-{lang}-{index}", cache_policy=NO_CACHE)
def tag_chunk(root: str, lang: str, index: int, item_ids: list[str]) -> TagReport:
    workspace = open_workspace(Path(root))
    store = Store.for_workspace(workspace)
    items = store.list_items(ids=item_ids)
    tagger = tagger_version(glossary_paths(workspace))
    analyses, report = tag_items(
        items,
        _pipelines(workspace),
        tagger,
        batch_size=workspace.config.tagging.batch_size,
        on_done=lambda n: progress.notify("items-tagged", count=n),
    )
    store.save_analyses(analyses, datetime.now(UTC))
    return report


@flow(name="tag-items")
def tag_new_items(workspace_root: str, retag: bool = False) -> TagReport:
    """Tag every item revision not yet tagged by the current glossary and code."""
    workspace = open_workspace(Path(workspace_root))
    store = Store.for_workspace(workspace)
    tagger = tagger_version(glossary_paths(workspace))
    pending = store.items_to_tag("" if retag else tagger)
    progress.notify("items", total=len(pending))
    run_id = store.start_run("tag", datetime.now(UTC))
    chunk = workspace.config.tagging.chunk_size
    by_lang: dict[str, list[str]] = {}
    for item in pending:
        by_lang.setdefault(item.lang or "xx", []).append(item.id)
    futures = [
        tag_chunk.submit(str(workspace.root), lang, n, ids[start : start + chunk])
        for lang, ids in sorted(by_lang.items())
        for n, start in enumerate(range(0, len(ids), chunk))
    ]
    total = TagReport()
    for future in futures:
        report = future.result()
        for lang, count in report.tagged.items():
            total.tagged[lang] = total.tagged.get(lang, 0) + count
        total.errors += report.errors
    store.finish_run(run_id, "ok", total.to_json(), datetime.now(UTC))
    return total


def run_tagging(workspace: Workspace, *, retag: bool = False) -> TagReport:
    # spaCy releases the GIL little; two threads suit a 2-core machine.
    runner = ThreadPoolTaskRunner(max_workers=2)
    return tag_new_items.with_options(task_runner=runner)(str(workspace.root), retag)


if __name__ == "__main__":
    import sys

    print(run_tagging(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
