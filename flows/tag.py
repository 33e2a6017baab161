"""The ``tag-items`` flow: one task per language and chunk of items.

One tagging at a time per workspace (the ``tag`` lock, :mod:`flows.stage_runs`):
a second one waits for the first, then finds nothing left to tag. Its task
runner comes from ``[orchestration]`` (:func:`flows.runners.task_runner_for`).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from briefings import progress
from briefings.store import Store
from briefings.workspace import Workspace, glossary_paths, open_workspace
from flows.runners import local_run, task_runner_for
from flows.stage_runs import STAGE_WAIT, stage_run
from nlp.pipeline import PipelineCache
from nlp.tagging import TagReport, tag_items, tagger_version

# One pipeline cache per workspace per process: building a pipeline costs a
# second or two, tagging a chunk much less.
_caches: dict[str, PipelineCache] = {}
_lock = threading.Lock()


def _pipelines(workspace: Workspace) -> PipelineCache:
    """The process's pipelines for the workspace as configured now: a configuration
    naming other glossary files or trained pipelines gets a cache of its own."""
    paths = glossary_paths(workspace)
    models = workspace.config.tagging.trained_models
    key = f"{workspace.root}\n{paths}\n{sorted(models.items())}"
    with _lock:
        if key not in _caches:
            _caches[key] = PipelineCache(glossary_paths=paths, trained_models=dict(models))
        return _caches[key]


def workspace_tagger(workspace: Workspace) -> str:
    """The tagger version for the workspace's glossary and trained pipelines."""
    return tagger_version(glossary_paths(workspace), workspace.config.tagging.trained_models)


@task(name="tag-chunk", task_run_name="tag-{lang}-{index}", cache_policy=NO_CACHE)
def tag_chunk(root: str, lang: str, index: int, item_ids: list[str]) -> TagReport:
    workspace = open_workspace(Path(root))
    store = Store.for_workspace(workspace)
    items = store.list_items(ids=item_ids)
    tagger = workspace_tagger(workspace)
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
def tag_new_items(workspace_root: str, retag: bool = False, wait: float = STAGE_WAIT) -> TagReport:
    """Tag every item revision not yet tagged by the current glossary and code.

    Waits up to ``wait`` seconds for another tagging of the workspace, then
    fails with StageBusy having done nothing.
    """
    workspace = open_workspace(Path(workspace_root))
    with stage_run(workspace, "tag", wait=wait) as run:
        tagger = workspace_tagger(workspace)
        pending = run.store.items_to_tag("" if retag else tagger)
        progress.notify("items", total=len(pending))
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
        run.finish("ok", total.to_json())
        return total


def run_tagging(
    workspace: Workspace, *, retag: bool = False, wait: float = STAGE_WAIT
) -> TagReport:
    """What the CLI calls: the flow with the task runner of ``[orchestration]``."""
    runner = task_runner_for(workspace.config, "tag")
    with local_run():
        return tag_new_items.with_options(task_runner=runner)(str(workspace.root), retag, wait)


if __name__ == "__main__":
    import sys

    print(run_tagging(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else "."))).to_json())
