"""The ``briefings`` command line: a thin layer over the library.

This is the one place where our errors become "Error: ..." on stderr and an
exit code (2 for an invalid configuration, 1 for other failures); tracebacks
only with ``--verbose``. It is also the composition root: the commands that
run Prefect flows import ``flows`` lazily, so the library never does.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from briefings import progress
from briefings.errors import BriefingsError, ConfigError, WorkflowError
from briefings.workspace import Workspace, init_workspace, open_workspace

app = typer.Typer(
    help="Multilingual briefings: ingest advisories and feeds, tag, draft, approve, translate, publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out = Console()
err = Console(stderr=True)


@dataclass
class State:
    workspace_dir: Path
    verbose: bool

    def workspace(self) -> Workspace:
        return open_workspace(self.workspace_dir)


@app.callback()
def main_options(
    ctx: typer.Context,
    workspace: Annotated[
        Path,
        typer.Option(
            "--workspace",
            "-w",
            envvar="BRIEFINGS_WORKSPACE",
            help="Workspace folder (holds briefings.toml).",
            show_default="current directory",
        ),
    ] = Path("."),
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show details and tracebacks.")
    ] = False,
) -> None:
    _configure_logging(verbose)
    ctx.obj = State(workspace, verbose)


def _configure_logging(verbose: bool) -> None:
    handler = RichHandler(console=err, show_time=False, show_path=False, markup=False)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for name in ("briefings", "nlp", "flows", "glossary"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO if verbose else logging.WARNING)
        logger.propagate = False


# -- workspace --------------------------------------------------------------------------


@app.command()
def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to create the workspace in.")],
) -> None:
    """Create a workspace: a commented briefings.toml, content/, feeds/ and state/."""
    workspace = init_workspace(directory)
    out.print(f"Created workspace [bold]{workspace.root}[/]")
    out.print(
        f"Edit {workspace.config_path} to declare sources, then run: briefings -w {directory} ingest"
    )


@app.command()
def config(
    ctx: typer.Context,
    schema: Annotated[bool, typer.Option("--schema", help="Document every key instead.")] = False,
) -> None:
    """Check briefings.toml and print the effective configuration as JSON."""
    if schema:
        from briefings.config import Config

        out.print_json(json.dumps(Config.model_json_schema()))
        return
    workspace = ctx.obj.workspace()
    out.print_json(workspace.config.model_dump_json())


# -- ingestion --------------------------------------------------------------------------


@app.command()
def sources(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the configured sources and how their last fetch went."""
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    statuses = Store.for_workspace(workspace).source_statuses()
    rows = []
    for source in workspace.config.sources:
        status = statuses.get(source.id, {})
        rows.append(
            {
                "id": source.id,
                "kind": source.kind,
                "tlp": source.tlp.value,
                "lang": source.lang,
                "enabled": source.enabled,
                "url": source.url,
                "status": status.get("status"),
                "error": status.get("error"),
                "checked_at": status.get("checked_at"),
                "last_ok_at": status.get("last_ok_at"),
            }
        )
    if as_json:
        _print_json(rows)
        return
    table = Table("source", "kind", "tlp", "lang", "last status", "checked", "error")
    for row in rows:
        table.add_row(
            row["id"], row["kind"], row["tlp"], row["lang"] or "", row["status"] or "never",
            row["checked_at"] or "", row["error"] or "",
        )  # fmt: skip
    out.print(table)


@app.command()
def ingest(
    ctx: typer.Context,
    source: Annotated[
        list[str] | None, typer.Option("--source", "-s", help="Only this source (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fetch and store every source (as the Prefect flow ingest-sources)."""
    state: State = ctx.obj
    workspace = state.workspace()
    from briefings.ingestion import select_sources

    select_sources(workspace, source)  # unknown ids fail here, before any work
    from flows.ingest import run_ingest
    from flows.settings import quiet_prefect_console

    quiet_prefect_console(state.verbose)
    with _source_progress(disable=as_json) as listener, progress.listening(listener):
        summary = run_ingest(workspace, source or None)
    if as_json:
        _print_json(summary.to_json())
    else:
        _print_ingest_table(summary)
    if summary.all_failed:
        raise typer.Exit(1)


class _SourceProgress:
    def __init__(self, bar: Progress):
        self.bar = bar
        self.task = bar.add_task("Ingesting sources", total=None)

    def __call__(self, event: str, data: dict[str, Any]) -> None:
        if event == "sources":
            self.bar.update(self.task, total=data["total"])
        elif event == "source-done":
            self.bar.update(self.task, advance=1, description=f"Ingested {data['report'].source}")


class _source_progress:
    """A progress bar on stderr (hidden with --json or when not a terminal)."""

    def __init__(self, disable: bool):
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=disable,
        )

    def __enter__(self) -> _SourceProgress:
        self.bar.__enter__()
        return _SourceProgress(self.bar)

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)


def _print_ingest_table(summary) -> None:
    table = Table("source", "status", "new", "updated", "duplicates", "error", title="Ingestion")
    styles = {"ok": "green", "not-modified": "cyan", "error": "red", "skipped": "dim"}
    for report in summary.reports:
        error = report.error or ("; ".join(report.warnings[:2]) if report.warnings else "")
        table.add_row(
            report.source,
            f"[{styles[report.status]}]{report.status}[/]",
            str(report.new), str(report.updated), str(report.duplicates),
            error,
        )  # fmt: skip
    out.print(table)
    totals = summary.totals()
    out.print(
        f"{totals['sources']} sources, {totals['errors']} failed: "
        f"{totals['new']} new, {totals['updated']} updated, {totals['duplicates']} duplicates."
    )


@app.command()
def tag(
    ctx: typer.Context,
    retag: Annotated[bool, typer.Option("--retag", help="Tag every item again.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Tag new and changed items: concepts, indicators, countries, priority (flow tag-items)."""
    state: State = ctx.obj
    workspace = state.workspace()
    from flows.settings import quiet_prefect_console
    from flows.tag import run_tagging

    quiet_prefect_console(state.verbose)
    with _item_progress(disable=as_json) as listener, progress.listening(listener):
        report = run_tagging(workspace, retag=retag)
    if as_json:
        _print_json(report.to_json())
        return
    by_lang = ", ".join(f"{lang} {n}" for lang, n in sorted(report.tagged.items())) or "nothing new"
    out.print(f"Tagged {report.total} items ({by_lang}).")
    for problem in report.errors:
        err.print(f"[yellow]warning:[/] {escape(problem)}")


class _item_progress(_source_progress):
    def __enter__(self):
        self.bar.__enter__()
        task = self.bar.add_task("Tagging items", total=None)

        def listener(event: str, data: dict[str, Any]) -> None:
            if event == "items":
                self.bar.update(task, total=data["total"])
            elif event == "items-tagged":
                self.bar.update(task, advance=data["count"])

        return listener


glossary_app = typer.Typer(help="Check and export the multilingual glossary.", no_args_is_help=True)
app.add_typer(glossary_app, name="glossary")


def _glossary_files(ctx: typer.Context) -> list[str] | None:
    """The workspace's glossary files when it has a workspace that names some."""
    try:
        workspace = ctx.obj.workspace()
    except ConfigError:
        return None
    from briefings.workspace import glossary_paths

    return glossary_paths(workspace)


@glossary_app.command("check")
def glossary_check(
    ctx: typer.Context,
    lang: Annotated[
        list[str] | None, typer.Option("--lang", help="Languages that need preferred terms.")
    ] = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
) -> None:
    """Validate the termbase; each problem with its file and line."""
    from glossary import DEFAULT_LANGUAGES, check_glossary

    findings = check_glossary(_glossary_files(ctx), languages=tuple(lang or DEFAULT_LANGUAGES))
    errors = [f for f in findings if f.severity == "error"]
    for finding in findings:
        err.print(escape(str(finding)), highlight=False)
    out.print(f"{len(errors)} errors, {len(findings) - len(errors)} warnings.")
    if errors or (strict and findings):
        raise typer.Exit(1)


@glossary_app.command("export")
def glossary_export(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="tbx (TBX-Basic) or csv.")] = "tbx",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; standard output if absent."),
    ] = None,
) -> None:
    """Export the termbase for translators' tools: TBX-Basic (ISO 30042) or CSV."""
    from glossary import export_csv, export_tbx, load_glossary

    if fmt not in {"tbx", "csv"}:
        raise ConfigError(f"--format {fmt!r} is not supported; use tbx or csv")
    glossary = load_glossary(_glossary_files(ctx))
    writer = export_tbx if fmt == "tbx" else export_csv
    if output is None:
        import io

        buffer = io.BytesIO()
        writer(glossary, buffer)
        sys.stdout.buffer.write(buffer.getvalue())
        sys.stdout.flush()
    else:
        writer(glossary, output)
        out.print(f"Wrote {output} ({len(glossary)} concepts).")


@app.command()
def items(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
    source: Annotated[
        str | None, typer.Option("--source", "-s", help="Reported by this source.")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="In this language (ISO 639-1).")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Published on or after this date (YYYY-MM-DD).")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="At most this many.")] = None,
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="Tagged with this concept id, e.g. threat.ransomware."),
    ] = None,
    category: Annotated[
        str | None, typer.Option("--category", help="With a tag of this category, e.g. sector.")
    ] = None,
    min_priority: Annotated[
        int | None, typer.Option("--min-priority", help="Civilian-impact priority at least this.")
    ] = None,
) -> None:
    """List stored items, newest first, with their tags once tagged."""
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    if source:
        workspace.config.source(source)
    since_dt = _parse_date(since) if since else None
    found = Store.for_workspace(workspace).list_items(
        source=source,
        lang=lang,
        since=since_dt,
        limit=limit,
        concept=tag,
        category=category,
        min_priority=min_priority,
    )
    if as_json:
        _print_json([item.to_json() for item in found])
        return
    table = Table(
        "published", "lang", "tlp", "prio", "sources", "title", "tags", title=f"{len(found)} items"
    )
    for item in found:
        analysis = item.analysis
        concepts = sorted({t.concept.split(".", 1)[1] for t in analysis.tags}) if analysis else []
        table.add_row(
            item.published.strftime("%Y-%m-%d %H:%M") if item.published else "",
            item.lang or "?",
            item.tlp.value,
            str(analysis.priority) if analysis else "",
            ", ".join(item.sources),
            item.title,
            ", ".join(concepts[:6]),
        )
    out.print(table)


def _parse_date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since {value!r} is not a date; use YYYY-MM-DD") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


# -- drafting and review ----------------------------------------------------------------


def _workflow(ctx: typer.Context):
    from briefings.approval import Workflow
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    return Workflow(workspace, Store.for_workspace(workspace))


def _run_flow(ctx: typer.Context, message: str, runner: Any) -> Any:
    """Run a flow wrapper on the workspace with Prefect's console quiet and a spinner."""
    state: State = ctx.obj
    workspace = state.workspace()
    from flows.settings import quiet_prefect_console

    quiet_prefect_console(state.verbose)
    with err.status(message):
        return runner(workspace)


OfficerOption = Annotated[
    str, typer.Option("--officer", "-o", help="Your officer name from briefings.toml.")
]


@app.command()
def draft(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Draft digests, alerts and debunks from tagged items (flow draft-briefings)."""
    from flows.draft import run_drafting

    report = _run_flow(ctx, "Drafting briefings", run_drafting)
    if as_json:
        _print_json(report.to_json())
        return
    out.print(
        f"Drafts: {len(report.created)} new, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged, {len(report.kept)} kept as officers left them."
    )
    if report.untagged_items:
        out.print(f"{report.untagged_items} items are not tagged yet: run briefings tag first.")


@app.command()
def review(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """The review queue: every briefing with its state, approvals and why it is there."""
    workflow = _workflow(ctx)
    for note in workflow.sync():
        err.print(f"[yellow]changed:[/] {escape(note)}")
    rows = workflow.review_rows()
    if as_json:
        _print_json([row.to_json() for row in rows])
        return
    table = Table("id", "state", "kind", "prio", "tlp", "langs", "approvals", "title", "why")
    for row in rows:
        table.add_row(
            row.id, row.state, row.kind, str(row.priority), row.tlp, ",".join(row.languages),
            f"{row.approvals}/{row.approvals_required}", row.title, row.reason or "",
        )  # fmt: skip
    out.print(table)


@app.command()
def show(
    ctx: typer.Context, briefing_id: Annotated[str, typer.Argument(help="Briefing id.")]
) -> None:
    """Print a briefing's file, its state and its approvals."""
    workflow = _workflow(ctx)
    workflow.sync(briefing_id)
    record = workflow.record(briefing_id)
    document = workflow.document(briefing_id)
    approvals = workflow.store.approvals(record.id, record.lang)
    err.print(
        f"{record.id}: {record.state}{f' ({record.state_reason})' if record.state_reason else ''}"
    )
    for a in approvals:
        status = f"void: {a.void_reason}" if a.is_void else "valid"
        err.print(
            f"  approved by {a.officer} at {a.approved_at:%Y-%m-%d %H:%M}Z sha256 {a.sha256[:12]}… ({status})"
        )
    sys.stdout.write(document.raw.decode("utf-8"))


@app.command()
def diff(
    ctx: typer.Context, briefing_id: Annotated[str, typer.Argument(help="Briefing id.")]
) -> None:
    """What changed in a briefing's file since its last approved version."""
    text = _workflow(ctx).diff(briefing_id)
    sys.stdout.write(text or "No change since the last approved version.\n")


@app.command()
def approve(
    ctx: typer.Context,
    briefing_id: Annotated[str, typer.Argument(help="Briefing id.")],
    officer: OfficerOption,
    note: Annotated[
        str | None, typer.Option("--note", help="A note kept with the approval.")
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="Approve its translation into this language.")
    ] = None,
) -> None:
    """Approve the exact current bytes of a briefing, or of its translation with --lang."""
    workflow = _workflow(ctx)
    if lang and lang != workflow.record(briefing_id).lang:
        from briefings.translation.review import approve_translation

        result = approve_translation(workflow, briefing_id, lang, officer, note)
        state = "reviewed" if result.reviewed else f"{result.approvals}/{result.required} approvals"
        out.print(f"{briefing_id} ({lang}): approved by {officer}; {state}.")
        return
    record = workflow.approve(briefing_id, officer, note)
    out.print(f"{record.id}: approved by {officer}; state {record.state}.")


@app.command()
def reject(
    ctx: typer.Context,
    briefing_id: Annotated[str, typer.Argument(help="Briefing id.")],
    officer: OfficerOption,
    reason: Annotated[str, typer.Option("--reason", help="Why it is rejected.")],
) -> None:
    """Reject a briefing (its approvals become void)."""
    record = _workflow(ctx).reject(briefing_id, officer, reason)
    out.print(f"{record.id}: rejected by {officer}.")


@app.command()
def withdraw(
    ctx: typer.Context,
    briefing_id: Annotated[str, typer.Argument(help="Briefing id.")],
    officer: OfficerOption,
    reason: Annotated[
        str, typer.Option("--reason", help="Why it is withdrawn; shown in its notice.")
    ],
) -> None:
    """Withdraw an approved or published briefing; publishing leaves a notice in its place."""
    record = _workflow(ctx).withdraw(briefing_id, officer, reason)
    out.print(f"{record.id}: withdrawn by {officer}.")


@app.command()
def correct(
    ctx: typer.Context,
    briefing_id: Annotated[str, typer.Argument(help="Id of a published briefing.")],
    officer: OfficerOption,
) -> None:
    """Start a correction: a new version of a published briefing, to edit and approve."""
    record = _workflow(ctx).correct(briefing_id, officer)
    out.print(f"Correction {record.id} drafted in {record.path}: say what changed under 'changes'.")


@app.command()
def edit(
    ctx: typer.Context,
    briefing_id: Annotated[str, typer.Argument(help="Briefing id.")],
    officer: OfficerOption,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="Take the new content from this file instead of $EDITOR."),
    ] = None,
) -> None:
    """Edit a briefing as an officer (recorded for four-eyes; voids its approvals)."""
    workflow = _workflow(ctx)
    record = workflow.record(briefing_id)
    if from_file is not None:
        new = from_file.read_bytes()
    else:
        current = workflow.path_of(record).read_text("utf-8")
        edited = click.edit(current, extension=".md", require_save=True)
        if edited is None:
            out.print("No change.")
            return
        new = edited.encode("utf-8")
    changed = workflow.edit(briefing_id, officer, new)
    out.print(
        f"{briefing_id}: {'edited by ' + officer + '; approvals void' if changed else 'no change'}."
    )


audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Check the whole chain; exits 1 if an entry was changed, inserted or deleted."""
    from briefings.audit import AuditLog
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    store = Store.for_workspace(workspace)
    problems = AuditLog(store).verify()
    for problem in problems:
        err.print(f"[red]broken:[/] {escape(problem)}")
    count = len(store.audit_entries())
    if problems:
        raise typer.Exit(1)
    out.print(f"Audit log intact: {count} entries.")


@audit_app.command("show")
def audit_show(
    ctx: typer.Context,
    briefing_id: Annotated[str | None, typer.Argument(help="Only this briefing's history.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A briefing's history (or the whole log)."""
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    entries = Store.for_workspace(workspace).audit_entries(briefing_id)
    if briefing_id and not entries:
        raise WorkflowError(f"No audit entries for {briefing_id!r}")
    if as_json:
        _print_json([e.__dict__ for e in entries])
        return
    table = Table("#", "at", "actor", "action", "briefing", "lang", "sha256", "details")
    for e in entries:
        table.add_row(
            str(e.seq), e.at, e.actor, e.action, e.briefing_id or "", e.lang or "",
            (e.content_hash or "")[:12], json.dumps(e.details, ensure_ascii=False) if e.details else "",
        )  # fmt: skip
    out.print(table)


# -- publishing -------------------------------------------------------------------------


@app.command()
def publish(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Build, check, sign and switch every audience's site (flow publish-site)."""
    from flows.publish import run_publishing
    from flows.settings import quiet_prefect_console

    state: State = ctx.obj
    workspace = state.workspace()
    quiet_prefect_console(state.verbose)
    with _page_progress(disable=as_json) as listener, progress.listening(listener):
        report = run_publishing(workspace)
    if as_json:
        _print_json(report.to_json())
        return
    table = Table(
        "audience", "briefings", "withheld (TLP)", "files", "written", "unchanged", "output"
    )
    for a in report.audiences:
        table.add_row(
            a.name, str(a.briefings), str(a.excluded), str(a.files),
            str(a.written) if a.changed else "0", str(a.linked) if a.changed else str(a.files), a.output,
        )  # fmt: skip
    out.print(table)
    if report.published:
        out.print(f"Published for the first time: {', '.join(report.published)}")
    for note in report.skipped:
        err.print(f"[yellow]not published:[/] {escape(note)}")


keys_app = typer.Typer(help="The signing key of published sites.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("init")
def keys_init(ctx: typer.Context) -> None:
    """Make the workspace's Ed25519 signing key (keys/signing.key, keys/briefings.pub)."""
    from briefings.signing import create_key

    workspace = ctx.obj.workspace()
    key = create_key(workspace.root / "keys")
    out.print(
        f"Signing key {key.key_id[::-1].hex().upper()} created; public key: keys/briefings.pub"
    )


@app.command()
def verify(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="A published site folder, or one file from it.")],
    key: Annotated[
        Path | None,
        typer.Option("--key", help="Public key from a trusted channel (minisign format)."),
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option(
            "--manifest",
            help="The site's manifest.txt (or its folder, with manifest.txt.minisig beside it), "
            "for a file saved outside the site's folder.",
        ),
    ] = None,
) -> None:
    """Check a site or a downloaded file against the signed manifest; exit 1 on any mismatch."""
    from briefings.verification import verify_site

    result = verify_site(target, public_key=key, manifest_path=manifest)
    for problem in result.problems:
        err.print(f"[red]mismatch:[/] {escape(problem)}")
    if not result.ok:
        raise typer.Exit(1)
    out.print(f"OK: {result.checked} file(s) match the manifest signed with {result.key_source}.")
    out.print(f"Signed: {result.trusted_comment}")


@app.command()
def preview(
    ctx: typer.Context,
    audience: Annotated[
        str | None, typer.Option("--audience", "-a", help="Audience to serve.")
    ] = None,
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1.")] = 8000,
) -> None:
    """Serve an audience's published site on 127.0.0.1 for officers (Ctrl-C to stop)."""
    import functools
    import http.server

    workspace = ctx.obj.workspace()
    audiences = workspace.config.audiences
    if not audiences:
        raise ConfigError("No [[audiences]] in briefings.toml: nothing to preview")
    chosen = next((a for a in audiences if a.name == audience), None) if audience else audiences[0]
    if chosen is None:
        raise ConfigError(
            f"No audience {audience!r}; known: {', '.join(a.name for a in audiences)}"
        )
    root = workspace.resolve(chosen.output)
    if not root.exists():
        raise WorkflowError(f"{root} does not exist yet: run briefings publish first")
    # The symbolic link, not its target: a new publish shows up without a restart.
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    out.print(
        f"Serving {chosen.name} ({root}) on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


# -- whole runs ---------------------------------------------------------------------------


@app.command()
def run(
    ctx: typer.Context,
    no_publish: Annotated[
        bool, typer.Option("--no-publish", help="Stop before publishing.")
    ] = False,
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage", help="Only this stage (repeatable): ingest, tag, draft, translate, publish."
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            help="Seconds to wait for another run of this workspace to end (default: skip at once).",
        ),
    ] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Ingest, tag, draft, translate and publish (flow run-pipeline); never approves."""
    state: State = ctx.obj
    workspace = state.workspace()
    from flows.pipeline import requested_stages, run_pipeline
    from flows.settings import quiet_prefect_console

    requested_stages(stage or None)  # an unknown stage fails here, before any work
    quiet_prefect_console(state.verbose)
    with _stage_progress(disable=as_json) as listener, progress.listening(listener):
        report = run_pipeline(workspace, publish=not no_publish, stages=stage or None, wait=wait)
    if as_json:
        _print_json(report.to_json())
    else:
        _print_pipeline(report, verbose=state.verbose)
    if report.status == "failed":
        raise typer.Exit(1)


class _stage_progress(_source_progress):
    """One bar per stage: sources while ingesting, items while tagging, a timer otherwise."""

    def __enter__(self):
        self.bar.__enter__()
        tasks: dict[str, Any] = {}
        current: list[str] = []

        def listener(event: str, data: dict[str, Any]) -> None:
            if event == "stages":
                for name in data["names"]:
                    tasks[name] = self.bar.add_task(f"{name}: waiting", total=None, start=False)
            elif event == "stage-start" and data["stage"] in tasks:
                current[:] = [data["stage"]]
                self.bar.start_task(tasks[data["stage"]])
                self.bar.update(tasks[data["stage"]], description=f"{data['stage']}: running")
            elif event == "stage-done" and data["result"].name in tasks:
                result = data["result"]
                done = f"{result.name}: {result.status} ({result.seconds:.1f} s)"
                self.bar.update(tasks[result.name], description=done, total=1, completed=1)
            elif current and event in ("sources", "items"):
                self.bar.update(tasks[current[0]], total=data["total"])
            elif current and event == "source-done":
                self.bar.update(tasks[current[0]], advance=1)
            elif current and event == "items-tagged":
                self.bar.update(tasks[current[0]], advance=data["count"])

        return listener


_STATUS_STYLES = {
    "ok": "green", "partial": "yellow", "skipped": "dim", "failed": "bold red", "not-run": "dim",
}  # fmt: skip


def _print_pipeline(report, verbose: bool = False) -> None:
    if report.busy:
        err.print(
            f"[yellow]{escape(report.busy[0].upper() + report.busy[1:])}.[/] "
            "Use --wait SECONDS to wait for it instead."
        )
        return
    table = Table("stage", "status", "time", "what happened", title="Pipeline")
    for result in report.results:
        style = _STATUS_STYLES.get(result.status, "")
        if result.status in ("ok", "partial"):
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in result.counts.items() if v)
            what = counts or "nothing new"
            if result.problems:
                what += f"; {len(result.problems)} problem(s)"
        elif result.status == "failed":
            what = result.error or ""
        else:
            what = result.reason or ""
        seconds = f"{result.seconds:.1f} s" if result.status != "not-run" else ""
        table.add_row(result.name, f"[{style}]{result.status}[/]", seconds, escape(what))
    out.print(table)
    shown = report.results if verbose else [r for r in report.results if r.name != "publish"]
    for result in shown:
        for problem in result.problems[: None if verbose else 5]:
            err.print(f"[yellow]{result.name}:[/] {escape(problem)}")
    if report.failed:
        err.print(
            f"[red]Stage {report.failed} failed:[/] {escape(report.error or '')}; the stages "
            "after it did not run and the published site is unchanged."
            + ("" if verbose else " Run with --verbose for details.")
        )
    else:
        out.print(f"Run {report.run_id}: {report.status} in {report.seconds:.1f} s.")


DEMO_OFFICERS = ("demo-officer-1", "demo-officer-2")
DEMO_NOTE = "DEMONSTRATION: approved automatically by 'briefings demo', not by a person"


@app.command()
def demo(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help="Folder for the demo workspace (replaced).")
    ] = Path("briefings-demo"),
    example: Annotated[
        Path | None,
        typer.Option("--example", help="Example workspace to copy (default: the bundled one)."),
    ] = None,
) -> None:
    """The whole job on the bundled example: ingest, tag, draft, approve AS A DEMO, translate, publish."""
    import shutil

    state: State = ctx.obj
    source = example or Path(__file__).resolve().parent.parent / "examples" / "coalition"
    if not (source / "briefings.toml").exists():
        raise ConfigError(f"No example workspace at {source}; pass --example DIR")
    target = directory.resolve()
    if target.exists():
        if not (target / "briefings.toml").exists():
            raise ConfigError(f"{target} exists and is not a workspace; choose another folder")
        shutil.rmtree(target)
    shutil.copytree(
        source, target, ignore=shutil.ignore_patterns("state", "site", "keys", "packages")
    )
    out.print(f"Demo workspace: {target}")
    workspace = open_workspace(target)
    installed = _demo_install_models(workspace)
    from flows.pipeline import run_pipeline
    from flows.settings import quiet_prefect_console

    quiet_prefect_console(state.verbose)
    with err.status("Ingesting, tagging and drafting"):
        report = run_pipeline(workspace, publish=False)
    _print_pipeline(report)
    if report.failed:
        raise typer.Exit(1)
    approved = _demo_approve(workspace)
    out.print(
        f"approve: {approved} drafts approved by {' and '.join(DEMO_OFFICERS)} [yellow](demonstration)[/]"
    )
    if installed:
        from flows.translate import run_translation  # type: ignore[attr-defined]

        with _segment_progress(disable=False) as listener, progress.listening(listener):
            translated = run_translation(workspace)
        for code, row in sorted(translated.to_json().get("languages", {}).items()):
            out.print(
                f"translate {code}: {row.get('segments', 0)} segments "
                f"({row.get('from_memory', 0)} from memory, {row.get('translated', 0)} by the "
                f"model), {len(row.get('written') or [])} briefings written, "
                f"{len(row.get('needs_review') or [])} need a linguist's review"
            )
    from flows.publish import run_publishing

    with err.status("Publishing"):
        published = run_publishing(workspace)
    for a in published.audiences:
        out.print(
            f"publish: audience {a.name}: {a.briefings} briefings, {a.excluded} withheld by TLP -> {a.output}"
        )
    out.print(f"\nThe site is in {target / 'site'}. Preview it with:")
    out.print(f"  briefings -w {target} preview --audience public --port 8000")


def _demo_install_models(workspace: Workspace) -> bool:
    """Install the bundled small Argos packages, when the translation engine is present."""
    models = Path(__file__).resolve().parent.parent / "models"
    try:
        from briefings.translation.packages import install_package  # type: ignore[import-not-found]
    except ImportError:
        return False
    files = sorted(models.glob("*.argosmodel"))
    for path in files:
        install_package(workspace, path)
    return bool(files)


def _demo_approve(workspace: Workspace) -> int:
    from briefings.approval import Workflow
    from briefings.store import Store

    workflow = Workflow(workspace, Store.for_workspace(workspace))
    count = 0
    for row in workflow.review_rows():
        if row.state in ("draft", "in-review"):
            for officer in DEMO_OFFICERS:
                workflow.approve(row.id, officer, DEMO_NOTE)
            count += 1
    return count


@app.command()
def runs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    stats: Annotated[
        bool, typer.Option("--stats", help="Weekly medians of response times instead.")
    ] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="Only runs of this kind, e.g. pipeline.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many runs.")] = 20,
) -> None:
    """Past runs: status, duration and what each stage did; --stats for response times."""
    from briefings import metrics
    from briefings.store import Store

    workspace = ctx.obj.workspace()
    store = Store.for_workspace(workspace)
    if stats:
        weeks = metrics.weekly_medians(metrics.collect_briefing_times(store))
        if as_json:
            _print_json([week.to_json() for week in weeks])
            return
        langs = sorted({lang for week in weeks for lang in week.to_publication})
        table = Table(
            "week", "briefings", "to ingestion", "to approval",
            *(f"to publication ({lang})" for lang in langs),
            title="Weekly medians, from the first publication by a source",
        )  # fmt: skip
        duration = metrics.format_duration
        for week in weeks:
            table.add_row(
                week.week, str(week.briefings), duration(week.to_ingestion),
                duration(week.to_approval),
                *(duration(week.to_publication.get(lang)) for lang in langs),
            )  # fmt: skip
        out.print(table)
        if not weeks:
            out.print("No briefing has items with a publication date yet.")
        return
    records = store.list_runs(limit=100_000 if kind else limit)
    rows = metrics.run_rows(r for r in records if not kind or r["kind"] == kind)[:limit]
    if as_json:
        _print_json(rows)
        return
    table = Table("#", "kind", "started", "time", "status", "what happened", title="Runs")
    for row in rows:
        style = _STATUS_STYLES.get(row["status"], "")
        seconds = f"{row['seconds']:.1f} s" if row["seconds"] is not None else ""
        table.add_row(
            str(row["id"]), row["kind"], row["started_at"], seconds,
            f"[{style}]{row['status']}[/]" if style else row["status"], escape(row["line"]),
        )  # fmt: skip
    out.print(table)


@app.command()
def serve(
    ctx: typer.Context,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most this many runs at once.")
    ] = None,
) -> None:
    """Run the schedules of [schedules] in briefings.toml as Prefect deployments (Ctrl-C stops)."""
    workspace = ctx.obj.workspace()
    from flows.serve import plan_schedules, serve_workspace

    zone = workspace.config.schedules.timezone
    for planned in plan_schedules(workspace.config.schedules):
        out.print(f"{planned.name}: {' then '.join(planned.stages)} at '{planned.cron}' ({zone})")

    def started(url: str) -> None:
        out.print(f"Started a Prefect server for the schedules; its UI: {url.removesuffix('/api')}")

    serve_workspace(workspace, limit=limit, on_server=started)


# -- translation -------------------------------------------------------------------------


@app.command()
def translate(
    ctx: typer.Context,
    briefing_id: Annotated[str | None, typer.Argument(help="Only this briefing.")] = None,
    lang: Annotated[
        list[str] | None, typer.Option("--lang", help="Only this language (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Translate approved briefings offline into every configured language (flow translate-briefings)."""
    state: State = ctx.obj
    workspace = state.workspace()
    from flows.settings import quiet_prefect_console
    from flows.translate import run_translation

    quiet_prefect_console(state.verbose)
    with _segment_progress(disable=as_json) as listener, progress.listening(listener):
        report = run_translation(workspace, briefing_id=briefing_id, langs=lang or None)
    data = report.to_json()
    if as_json:
        _print_json(data)
        return
    table = Table(
        "language", "segments", "from memory", "translated", "findings", title="Translation"
    )
    for code, row in sorted(data.get("languages", {}).items()):
        table.add_row(
            code, str(row.get("segments", 0)), str(row.get("from_memory", 0)),
            str(row.get("translated", 0)), str(row.get("findings", 0)),
        )  # fmt: skip
    out.print(table)
    for code, row in sorted(data.get("languages", {}).items()):
        for problem in row.get("errors", []) or []:
            err.print(f"[yellow]{code}:[/] {escape(str(problem))}")


class _segment_progress(_source_progress):
    """One bar per target language, in segments (memory hits count as done)."""

    def __enter__(self):
        self.bar.__enter__()
        current: list[Any] = []

        def finish_current() -> None:
            if current:  # duplicates of a segment are translated once: fill the bar
                self.bar.update(current[0], completed=self.bar.tasks[current[0]].total or 0)

        def listener(event: str, data: dict[str, Any]) -> None:
            if event == "segments":
                finish_current()
                current[:] = [
                    self.bar.add_task(f"Translating into {data.get('lang')}", total=data["total"])
                ]
            elif event == "segments-translated" and current:
                self.bar.update(current[0], advance=data["count"])

        return listener


class _page_progress(_source_progress):
    """A bar for Markdown rendered ahead in worker processes, then one per audience, in
    briefing pages."""

    def __enter__(self):
        self.bar.__enter__()
        current: list[Any] = [self.bar.add_task("Publishing", total=None)]

        def start(what: str, total: int) -> None:
            self.bar.update(current[0], visible=False)
            current[:] = [self.bar.add_task(what, total=total)]

        def listener(event: str, data: dict[str, Any]) -> None:
            if event == "renders":
                start(f"Rendering Markdown ({data.get('processes')} processes)", data["total"])
            elif event == "pages":
                start(f"Building the {data.get('audience')} site", data["total"])
            elif event in ("renders-done", "pages-built") and current:
                self.bar.update(current[0], advance=data["count"])

        return listener


models_app = typer.Typer(
    help="Offline translation packages (Argos Translate).", no_args_is_help=True
)
app.add_typer(models_app, name="models")


@models_app.command("list")
def models_list(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Installed packages of the workspace."""
    from briefings.translation.packages import list_packages

    found = list_packages(ctx.obj.workspace())
    rows = [
        {
            "name": p.name,
            "from": p.from_code,
            "to": p.to_code,
            "version": p.version,
            "folder": p.folder,
        }
        for p in found
    ]
    if as_json:
        _print_json(rows)
        return
    table = Table("pair", "name", "version", "folder")
    for row in rows:
        table.add_row(f"{row['from']}-{row['to']}", row["name"], row["version"], row["folder"])
    out.print(table)


@models_app.command("install")
def models_install(
    ctx: typer.Context,
    file: Annotated[Path | None, typer.Argument(help="An .argosmodel file.")] = None,
    from_code: Annotated[
        str | None, typer.Option("--from", help="Source language (index install).")
    ] = None,
    to_code: Annotated[
        str | None, typer.Option("--to", help="Target language (index install).")
    ] = None,
) -> None:
    """Install a package from a file, or (only when asked, online) from the Argos index."""
    from briefings.translation.packages import install_from_index, install_package

    workspace = ctx.obj.workspace()
    if file is not None:
        package = install_package(workspace, file)
    elif from_code and to_code:
        package = install_from_index(workspace, from_code, to_code)
    else:
        raise ConfigError(
            "Give an .argosmodel FILE, or --from XX --to YY to download from the index"
        )
    out.print(
        f"Installed {package.name} {package.version} ({package.from_code}->{package.to_code})."
    )


@models_app.command("remove")
def models_remove(
    ctx: typer.Context, pair: Annotated[str, typer.Argument(help="A pair such as en-fr.")]
) -> None:
    """Remove the package(s) of a language pair."""
    from briefings.translation.packages import remove_package

    removed = remove_package(ctx.obj.workspace(), pair)
    out.print(f"Removed {', '.join(p.name for p in removed) or 'nothing'}.")


@models_app.command("verify")
def models_verify(ctx: typer.Context) -> None:
    """Check every installed package against the SHA-256 recorded at install; exit 1 on a mismatch."""
    from briefings.translation.packages import verify_packages

    checks = verify_packages(ctx.obj.workspace())
    for check in checks:
        style = "green" if check.status == "ok" else "red"
        out.print(
            f"[{style}]{check.status}[/] {check.pair or check.folder}: {escape(check.message)}"
        )
    if any(c.status != "ok" for c in checks):
        raise typer.Exit(1)


# -- review web page ---------------------------------------------------------------------


@app.command("review-ui")
def review_ui(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", "-p", help="Port on 127.0.0.1 (0 picks a free one).")
    ] = 8001,
) -> None:
    """Serve the review web page for officers and linguists on 127.0.0.1 (Ctrl-C to stop)."""
    from briefings.officers import PasswordFile, passwords_path
    from briefings.web import serve

    workspace = ctx.obj.workspace()
    if not workspace.config.officers:
        raise ConfigError("No [[officers]] in briefings.toml: nobody could sign in")
    if not PasswordFile(passwords_path(workspace)).names():
        err.print(
            "[yellow]warning:[/] no officer has a password yet: briefings officers passwd NAME"
        )

    def announce(url: str) -> None:
        out.print(f"Review page on {url} (Ctrl-C to stop)")

    with contextlib.suppress(KeyboardInterrupt):
        serve(workspace, port=port, announce=announce)


officers_app = typer.Typer(help="Officers' sign-in to the review web page.", no_args_is_help=True)
app.add_typer(officers_app, name="officers")


@officers_app.command("passwd")
def officers_passwd(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Officer name from briefings.toml.")],
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from standard input (one line)."),
    ] = False,
) -> None:
    """Set an officer's password for the review web page (an Argon2id hash in state/officers.json)."""
    import getpass

    from briefings.officers import PasswordFile, check_password_quality, passwords_path

    workspace = ctx.obj.workspace()
    workspace.config.officer(name)  # only officers of briefings.toml get a password
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"New password for {name}: ")
        check_password_quality(name, password)
        if getpass.getpass("Once more: ") != password:
            raise ConfigError("The two passwords differ; nothing was changed")
    path = passwords_path(workspace)
    PasswordFile(path).set(name, password)
    out.print(f"Password of {name} set in {path}; their open sessions end.")


# -- entry point ------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: run the app, mapping our errors to messages and exit codes."""
    verbose = any(
        arg in ("-v", "--verbose") for arg in (argv if argv is not None else sys.argv[1:])
    )
    try:
        # Without standalone mode click returns a typer.Exit's code instead of exiting.
        code = app(args=argv, standalone_mode=False)
    except BriefingsError as exc:
        if verbose:
            err.print_exception()
        _print_error(str(exc))
        return 2 if isinstance(exc, ConfigError) else 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err.print("Aborted.")
        return 130
    except Exception as exc:  # usage errors, then the unforeseen
        # Usage errors: typer raises them from its own copy of click, so match by shape.
        if hasattr(exc, "show") and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        if verbose:
            err.print_exception()
        _print_error(f"unexpected {type(exc).__name__}: {exc} (run with --verbose for details)")
        return 1
    return code if isinstance(code, int) else 0


def _print_error(message: str) -> None:
    err.print(f"[bold red]Error:[/] {escape(message)}", highlight=False)


if __name__ == "__main__":
    sys.exit(main())
