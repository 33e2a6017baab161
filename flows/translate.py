"""The ``translate-briefings`` flow: one task per language pair.

Each task loads its pair's model(s) once, with the workspace's ``[translation]``
settings (beam size, threads, compute type, batch size), and sends all of its
segments through them in batches. Locally the pairs run one after another (each already uses every
CPU core through CTranslate2's threads); a distributed task runner can spread
them over machines. Progress: ``segments`` (a pair's total) and
``segments-translated`` events, see :mod:`briefings.progress`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from briefings.approval import Workflow
from briefings.store import Store
from briefings.translation import (
    LanguageReport,
    TranslationReport,
    plan_translations,
    translate_pair,
)
from briefings.workspace import Workspace, glossary_paths, open_workspace
from flows.runners import local_run
from flows.stage_runs import STAGE_WAIT, stage_run
from nlp.glossary_matcher import cached_glossary
from nlp.sentences import text_tools


@task(
    name="translate-pair",
    task_run_name="translate-{source_lang}-{target_lang}",
    cache_policy=NO_CACHE,
)
def translate_pair_task(
    root: str, source_lang: str, target_lang: str, briefing_ids: list[str]
) -> LanguageReport:
    workspace = open_workspace(Path(root))
    paths = glossary_paths(workspace)
    glossary = cached_glossary(tuple(paths) if paths else None)
    return translate_pair(
        workspace, Store.for_workspace(workspace), glossary, source_lang, target_lang,
        briefing_ids, tools=text_tools(paths),
    )  # fmt: skip


@flow(name="translate-briefings", task_runner=ThreadPoolTaskRunner(max_workers=1))
def translate_flow(
    workspace_root: str,
    briefing_id: str | None = None,
    langs: list[str] | None = None,
    wait: float = STAGE_WAIT,
) -> TranslationReport:
    """Translate approved briefings (one, or all) into the workspace's languages (or ``langs``).

    One translation run at a time per workspace (the ``translate`` lock): a
    second one waits up to ``wait`` seconds, then fails with StageBusy having
    done nothing; once in, it finds the first one's work in the memory.
    """
    workspace = open_workspace(Path(workspace_root))
    with stage_run(workspace, "translate", wait=wait) as run:
        plan = plan_translations(Workflow(workspace, run.store), briefing_id, langs)
        futures = [
            (target, translate_pair_task.submit(workspace_root, source, target, ids))
            for (source, target), ids in sorted(plan.pairs.items())
        ]
        for target, future in futures:
            plan.report.language(target).merge(future.result())
        run.finish("ok" if plan.report.ok else "partial", plan.report.to_json())
        return plan.report


def run_translation(
    workspace: Workspace,
    briefing_id: str | None = None,
    langs: list[str] | None = None,
    wait: float = STAGE_WAIT,
) -> TranslationReport:
    """What the CLI calls: ``briefings translate [ID] [--lang xx ...]``."""
    with local_run():
        return translate_flow(
            str(workspace.root), briefing_id, list(langs) if langs else None, wait
        )


if __name__ == "__main__":
    import json
    import sys

    report = run_translation(open_workspace(Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
