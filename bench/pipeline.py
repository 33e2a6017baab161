"""The whole pipeline on Prefect against the same stage functions called directly.

Takes the example workspace (examples/coalition), adds generated RSS feeds in
English, French, Spanish and Arabic (the generator of ``bench/ingest.py``)
until it holds N items (default 5,000), then runs, each side in its own
subprocess on its own copy of that workspace:

- direct: the library's stage functions, one after the other, as the flows'
  tasks call them: ``Ingestor.ingest_source`` per source, ``tag_items`` per
  language and chunk (with ``save_analyses``), ``draft_briefings``,
  ``translate_pair`` per language pair, ``publish_site``;
- prefect: ``flows.pipeline.run_pipeline`` (the ``run-pipeline`` flow with its
  subflows and tasks, on Prefect's temporary server, heartbeats off as the CLI
  runs it), first for ingest, tag and draft, then for translate and publish.

Between drafting and publishing both sides approve the same K drafts as the
two demo officers (untimed), so publishing has work. Translation runs when the
Argos packages of ``models/`` can be installed; otherwise both sides skip it
and the JSON says why. Prints a table, then exactly one JSON line.

    .venv/bin/python bench/pipeline.py                 # 5,000 items (several minutes)
    .venv/bin/python bench/pipeline.py --quick         # 1,000 items
    .venv/bin/python bench/pipeline.py --repeat 2      # alternate the order, keep the best

Overhead = (prefect seconds - direct seconds) / direct seconds, over the timed
stages; the temporary server's start-up is measured apart (a real Prefect
server is already up) and also reported with it included. Target: <= 15 %.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import clean_up_when_stopped, log, machine

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "coalition"
STAGES = ("ingest", "tag", "draft", "translate", "publish")
TARGET_OVERHEAD_PCT = 15.0
OFFICERS = ("demo-officer-1", "demo-officer-2")


# -- the workspace ------------------------------------------------------------------------------


def _ingest_bench():
    spec = importlib.util.spec_from_file_location("bench_ingest", ROOT / "bench" / "ingest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_workspace(root: Path, items: int, files: int, seed: int) -> int:
    """The example plus generated feeds; returns how many entries were generated."""
    shutil.copytree(
        EXAMPLE, root, ignore=shutil.ignore_patterns("state", "site", "keys", "packages")
    )
    example_items = 46  # what the example's own sources hold (checked by the run)
    generated = max(items - example_items, 0)
    feeds = root / "feeds" / "bench"
    feeds.mkdir(parents=True)
    _ingest_bench().write_feeds(feeds, generated, files, seed)
    per_file = -(-generated // files)
    sources = "".join(
        f'\n[[sources]]\nid = "bench-{n:02d}"\nurl = "feeds/bench/feed-{n:02d}.xml"\n'
        for n in range(files)
    )
    config = root / "briefings.toml"
    text = config.read_text("utf-8").replace(
        "[policy]\n", f"[ingest]\nmax_entries = {max(per_file, 500)}\n\n[policy]\n", 1
    )
    config.write_text(text + sources, "utf-8")
    return generated


def install_models(root: Path) -> str | None:
    """Install the bundled Argos packages; None when done, else why translation is skipped."""
    if importlib.util.find_spec("flows.translate") is None:
        return "flows.translate is not there yet"
    packages = sorted((ROOT / "models").glob("*.argosmodel"))
    if not packages:
        return "no Argos packages in models/ (python -m tools.argos_models build)"
    from briefings.translation.packages import install_package
    from briefings.workspace import open_workspace

    workspace = open_workspace(root, environ={})
    for path in packages:
        install_package(workspace, path)
    return None


def approve_drafts(root: Path, count: int) -> int:
    """Approve the first ``count`` CLEAR drafts (by id) as the two demo officers."""
    from briefings.approval import Workflow
    from briefings.store import Store
    from briefings.workspace import open_workspace

    workspace = open_workspace(root, environ={})
    workflow = Workflow(workspace, Store(workspace.database_path))
    chosen = sorted(
        row.id for row in workflow.review_rows() if row.state == "draft" and row.tlp == "CLEAR"
    )[:count]
    for briefing_id in chosen:
        for officer in OFFICERS:
            workflow.approve(briefing_id, officer)
    return len(chosen)


# -- the two sides (each in a subprocess) ------------------------------------------------------


def _counts(root: Path) -> dict:
    from briefings.store import Store
    from briefings.workspace import open_workspace

    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)
    published = [b for b in store.list_briefings() if b.state == "published"]
    return {
        "items": store.count_items(),
        "briefings": len(store.list_briefings()),
        "published": len(published),
    }


def run_direct(root: Path, approve: int, translate: bool) -> dict:
    from datetime import UTC, datetime

    from briefings.approval import Workflow
    from briefings.drafting import draft_briefings
    from briefings.ingestion import Ingestor, select_sources
    from briefings.publishing import publish_site
    from briefings.store import Store
    from briefings.workspace import glossary_paths, open_workspace
    from nlp.pipeline import PipelineCache
    from nlp.tagging import tag_items, tagger_version

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    workspace = open_workspace(root, environ={})
    store = Store(workspace.database_path)

    clock = time.perf_counter()
    ingestor = Ingestor.for_workspace(workspace, store)
    for source in select_sources(workspace, None):
        ingestor.ingest_source(source)
    ingestor.close()
    seconds["ingest"] = time.perf_counter() - clock

    clock = time.perf_counter()
    paths = glossary_paths(workspace)
    tagger = tagger_version(paths)
    pipelines = PipelineCache(
        glossary_paths=paths, trained_models=workspace.config.tagging.trained_models
    )
    by_lang: dict[str, list] = {}
    for item in store.items_to_tag(tagger):
        by_lang.setdefault(item.lang or "xx", []).append(item.id)
    chunk = workspace.config.tagging.chunk_size
    for ids in by_lang.values():
        for start in range(0, len(ids), chunk):
            items = store.list_items(ids=ids[start : start + chunk])
            analyses, _ = tag_items(
                items, pipelines, tagger, batch_size=workspace.config.tagging.batch_size
            )
            store.save_analyses(analyses, datetime.now(UTC))
    seconds["tag"] = time.perf_counter() - clock

    clock = time.perf_counter()
    draft_briefings(workspace, store)
    seconds["draft"] = time.perf_counter() - clock
    paused = time.perf_counter()
    approved = approve_drafts(root, approve)
    untimed = time.perf_counter() - paused

    if translate:
        from briefings.translation import plan_translations, translate_pair
        from nlp.glossary_matcher import cached_glossary
        from nlp.sentences import text_tools

        clock = time.perf_counter()
        plan = plan_translations(Workflow(workspace, store))
        glossary = cached_glossary(tuple(paths) if paths else None)
        tools = text_tools(paths)
        for (source_lang, target_lang), ids in sorted(plan.pairs.items()):
            translate_pair(workspace, store, glossary, source_lang, target_lang, ids, tools=tools)
        seconds["translate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    publish_site(workspace, store)
    seconds["publish"] = time.perf_counter() - clock
    total = time.perf_counter() - started - untimed
    return {"seconds": seconds, "total": total, "approved": approved, **_counts(root)}


def run_prefect(root: Path, approve: int, translate: bool) -> dict:
    import flows  # noqa: F401  (quiet Prefect defaults before prefect is imported)
    from briefings.workspace import open_workspace
    from flows.pipeline import run_pipeline

    clock = time.perf_counter()
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:  # starts the temporary server
        client.hello()
    startup = time.perf_counter() - clock

    started = time.perf_counter()
    workspace = open_workspace(root, environ={})
    first = run_pipeline(workspace, stages=["ingest", "tag", "draft"])
    paused = time.perf_counter()
    approved = approve_drafts(root, approve)
    untimed = time.perf_counter() - paused
    second = run_pipeline(workspace, stages=["translate", "publish"])
    total = time.perf_counter() - started - untimed

    results = [*first.results, *second.results]
    failed = [f"{r.name}: {r.error}" for r in results if r.status == "failed"]
    seconds = {r.name: r.seconds for r in results if r.status in ("ok", "partial")}
    skipped = {r.name: r.reason for r in results if r.status == "skipped"}
    if translate and "translate" not in seconds:
        failed.append(f"translate did not run: {skipped.get('translate')}")
    return {
        "seconds": seconds,
        "total": total,
        "server_startup": startup,
        "approved": approved,
        "skipped": skipped,
        "problems": failed,
        "pipeline_seconds": first.seconds + second.seconds,
        **_counts(root),
    }


def worker(args: argparse.Namespace) -> int:
    root = Path(args.root)
    # Imports both sides need, before any clock starts.
    import briefings.drafting
    import briefings.ingestion
    import briefings.publishing  # noqa: F401
    import nlp.pipeline
    import nlp.tagging  # noqa: F401

    run = run_direct if args.worker == "direct" else run_prefect
    result = run(root, args.approve, not args.no_translate)
    print(json.dumps(result))
    return 0


def spawn(side: str, root: Path, args: argparse.Namespace, home: Path) -> dict:
    command = [
        sys.executable, str(Path(__file__).resolve()), "--worker", side, "--root", str(root),
        "--approve", str(args.approve),
    ]  # fmt: skip
    if args.no_translate:
        command.append("--no-translate")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "BRIEFINGS_"))}
    env["PREFECT_HOME"] = str(home)
    env["DASK_LOGGING__DISTRIBUTED"] = "warning"
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        sys.stderr.write(done.stderr[-6000:])
        raise SystemExit(f"the {side} worker failed (exit status {done.returncode})")
    noise = [line for line in done.stderr.splitlines() if line.strip()]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["stderr_lines"] = len(noise)
    if noise:
        log(f"  {side} wrote {len(noise)} line(s) on stderr, e.g. {noise[0][:160]}")
    return result


# -- the parent ---------------------------------------------------------------------------------


def measure(args: argparse.Namespace) -> int:
    items = 1000 if args.quick else args.items
    base = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        template = base / "template"
        log(f"Generating the example workspace scaled to {items} items in {template}")
        make_workspace(template, items, args.files, args.seed)
        why_no_translation = install_models(template) if not args.no_translate else "--no-translate"
        args.no_translate = why_no_translation is not None
        runs: dict[str, list[dict]] = {"direct": [], "prefect": []}
        for round_no in range(args.repeat):
            order = ("direct", "prefect") if round_no % 2 == 0 else ("prefect", "direct")
            for side in order:
                root = base / f"{side}-{round_no}"
                shutil.copytree(template, root)
                log(f"Round {round_no + 1}: {side}")
                runs[side].append(spawn(side, root, args, base / f"prefect-home-{round_no}"))
                shutil.rmtree(root, ignore_errors=True)
        direct = min(runs["direct"], key=lambda r: r["total"])
        prefect = min(runs["prefect"], key=lambda r: r["total"])
    finally:
        if args.keep:
            log(f"Kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)

    problems = list(prefect.get("problems", []))
    for key in ("items", "briefings", "published"):
        if direct[key] != prefect[key]:
            problems.append(f"{key}: direct {direct[key]}, prefect {prefect[key]}")
    if direct["items"] < items * 0.99:
        problems.append(f"only {direct['items']} items stored, {items} wanted")
    overhead = (prefect["total"] - direct["total"]) / direct["total"] * 100
    with_startup = (
        (prefect["total"] + prefect["server_startup"] - direct["total"]) / direct["total"] * 100
    )

    print(f"{'stage':<10} {'direct s':>10} {'prefect s':>10} {'overhead':>9}")
    for stage in STAGES:
        d, p = direct["seconds"].get(stage), prefect["seconds"].get(stage)
        if d is None and p is None:
            note = prefect.get("skipped", {}).get(stage) or why_no_translation or "skipped"
            print(f"{stage:<10} {'-':>10} {'-':>10}   skipped: {note}")
            continue
        ratio = f"{(p - d) / d * 100:+.1f}%" if d and p is not None else ""
        print(f"{stage:<10} {d or 0:>10.2f} {p or 0:>10.2f} {ratio:>9}")
    print(f"{'total':<10} {direct['total']:>10.2f} {prefect['total']:>10.2f} {overhead:>+8.1f}%")
    print(f"temporary Prefect server start-up: {prefect['server_startup']:.1f} s (not in total)")
    print(
        f"{direct['items']} items, {direct['briefings']} briefings, {direct['approved']} approved, "
        f"{direct['published']} published"
    )
    for problem in problems:
        print(f"PROBLEM: {problem}")

    figures = {
        "bench": "pipeline",
        "items": direct["items"],
        "languages": 4,
        "briefings": direct["briefings"],
        "approved": direct["approved"],
        "published": direct["published"],
        "direct_s": round(direct["total"], 2),
        "prefect_s": round(prefect["total"], 2),
        "overhead_pct": round(overhead, 1),
        "server_startup_s": round(prefect["server_startup"], 2),
        "overhead_with_startup_pct": round(with_startup, 1),
        "stages_direct_s": {k: round(v, 2) for k, v in direct["seconds"].items()},
        "stages_prefect_s": {k: round(v, 2) for k, v in prefect["seconds"].items()},
        "translate": "ran" if why_no_translation is None else f"skipped: {why_no_translation}",
        "prefect_stderr_lines": prefect["stderr_lines"],
        "repeat": args.repeat,
        "python": platform.python_version(),
        "machine": machine(),
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        "ok": not problems and overhead <= TARGET_OVERHEAD_PCT,
    }
    print(json.dumps(figures, ensure_ascii=False))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000, help="items in all (default 5000)")
    parser.add_argument("--quick", action="store_true", help="1,000 items")
    parser.add_argument("--files", type=int, default=10, help="generated feed files")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--approve", type=int, default=40, help="drafts approved before publishing")
    parser.add_argument("--repeat", type=int, default=1, help="rounds, order alternated; best kept")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-translate", action="store_true", help="skip translation")
    parser.add_argument("--worker", choices=("direct", "prefect"), help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    clean_up_when_stopped()
    if args.worker:
        return worker(args)
    return measure(args)


if __name__ == "__main__":
    sys.exit(main())
