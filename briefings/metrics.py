"""Run records and response metrics: how long the coalition takes to detect and respond.

Run records are rows of the store's ``runs`` table: one per flow run (``ingest``,
``tag``, ``translate``, ``pipeline``), with a JSON summary (a pipeline's holds
each stage's status, duration, counts and errors). This module turns them into
lines for people and closes the records of runs that died.

Response times, per briefing, from the first publication by a source (the
earliest ``published`` of its items):

- *to ingestion*: until its first item was stored (time to detect);
- *to approval*: until the approval that made it approved (the audit log's
  ``state:approved`` entry, the last one before its first publication);
- *to publication*, per language: until the audit log's first ``publish``
  entry in that language.

Weekly medians group briefings by the ISO week of that first publication.
The status page (:func:`status_page`) draws them as inline SVG bar charts: no
JavaScript, no external assets. Everything here but :func:`collect_briefing_times`
and :func:`close_interrupted_runs` is pure.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from briefings.models import AuditEntry, BriefingRecord
from briefings.store import Store

# -- run records ---------------------------------------------------------------------------

INTERRUPTED = "interrupted"


def close_interrupted_runs(
    store: Store, kind: str, at: datetime, *, keep: int | None = None, scan: int = 500
) -> list[int]:
    """Mark the ``running`` records of ``kind`` as interrupted; returns their ids.

    Call it only while holding the lock that every run of ``kind`` holds: then
    no record of ``kind`` still ``running`` (but ``keep``, the caller's own) has
    a live process behind it; it was killed or crashed.
    """
    closed = []
    for run in store.list_runs(limit=scan):
        if run["kind"] == kind and run["status"] == "running" and run["id"] != keep:
            store.finish_run(
                run["id"],
                INTERRUPTED,
                {"error": "the process running it stopped (killed or crashed)"},
                at,
            )
            closed.append(run["id"])
    return closed


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def run_seconds(run: dict[str, Any]) -> float | None:
    """Wall-clock seconds of a finished run record."""
    if run.get("status") == INTERRUPTED:
        return None  # it was closed by a later run, not when it stopped
    start, end = _parse(run.get("started_at")), _parse(run.get("finished_at"))
    summary = run.get("summary") or {}
    if isinstance(summary.get("seconds"), int | float):
        return float(summary["seconds"])
    return (end - start).total_seconds() if start and end else None


def run_line(run: dict[str, Any]) -> str:
    """One line saying what a run did, from its summary."""
    summary = run.get("summary") or {}
    kind = run.get("kind", "")
    if kind == "pipeline" and "stages" in summary:
        parts = []
        for name, stage in summary["stages"].items():
            status = stage.get("status")
            if status in ("ok", "partial"):
                counts = ", ".join(
                    f"{k.replace('_', ' ')} {v}" for k, v in stage.get("counts", {}).items() if v
                )
                parts.append(f"{name}: {counts or 'nothing new'}")
            elif status == "failed":
                parts.append(f"{name}: FAILED ({stage.get('error') or ''})")
            elif status == "skipped":
                parts.append(f"{name}: skipped ({stage.get('reason') or ''})")
        if summary.get("skipped"):
            parts.append(str(summary["skipped"]))
        return "; ".join(parts)
    if kind == "ingest" and "totals" in summary:
        t = summary["totals"]
        return (
            f"{t['sources']} sources ({t['errors']} failed), {t['new']} new, {t['updated']} updated"
        )
    if kind == "tag" and "tagged" in summary:
        return f"{summary['tagged']} items tagged, {len(summary.get('errors', []))} problems"
    if "error" in summary:
        return str(summary["error"])
    if "skipped" in summary:
        return f"skipped: {summary['skipped']}"
    return ""


def run_rows(runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Run records as flat rows for a table or JSON: id, kind, times, seconds, status, line."""
    return [
        {
            "id": run["id"],
            "kind": run["kind"],
            "started_at": run["started_at"],
            "finished_at": run.get("finished_at"),
            "seconds": run_seconds(run),
            "status": run["status"],
            "line": run_line(run),
            "summary": run.get("summary"),
        }
        for run in runs
    ]


# -- response times ---------------------------------------------------------------------------


@dataclass
class BriefingTimes:
    """When things happened to one briefing (UTC); None where they have not (yet)."""

    briefing_id: str
    lang: str
    first_published: datetime | None
    ingested: datetime | None
    approved: datetime | None = None
    published: dict[str, datetime] = field(default_factory=dict)

    def _since_source(self, moment: datetime | None) -> float | None:
        if moment is None or self.first_published is None:
            return None
        return max((moment - self.first_published).total_seconds(), 0.0)

    @property
    def to_ingestion(self) -> float | None:
        return self._since_source(self.ingested)

    @property
    def to_approval(self) -> float | None:
        return self._since_source(self.approved)

    def to_publication(self, lang: str) -> float | None:
        return self._since_source(self.published.get(lang))

    def to_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None

        return {
            "briefing": self.briefing_id,
            "lang": self.lang,
            "first_published": iso(self.first_published),
            "ingested": iso(self.ingested),
            "approved": iso(self.approved),
            "published": {lang: iso(at) for lang, at in sorted(self.published.items())},
            "seconds": {
                "to_ingestion": self.to_ingestion,
                "to_approval": self.to_approval,
                "to_publication": {
                    lang: self.to_publication(lang) for lang in sorted(self.published)
                },
            },
        }


TIMED_ACTIONS = ("state:approved", "publish")  # the entries times_from_audit reads


def times_from_audit(
    briefing_id: str,
    lang: str,
    first_published: datetime | None,
    ingested: datetime | None,
    entries: Iterable[AuditEntry],
) -> BriefingTimes:
    """A briefing's times from its item times and its audit entries (in log order)."""
    times = BriefingTimes(briefing_id, lang, first_published, ingested)
    approvals: list[datetime] = []
    for entry in entries:
        at = _parse(entry.at)
        if at is None:
            continue
        if entry.action == "state:approved":
            approvals.append(at)
        elif entry.action == "publish":
            times.published.setdefault(entry.lang or lang, at)
    first_publication = min(times.published.values(), default=None)
    before = [a for a in approvals if first_publication is None or a <= first_publication]
    if before:
        times.approved = before[-1] if first_publication else before[0]
    elif approvals:
        times.approved = approvals[0]
    return times


def collect_briefing_times(
    store: Store,
    briefing_ids: Iterable[str] | None = None,
    *,
    pending: dict[str, datetime] | None = None,
    records: list[BriefingRecord] | None = None,
    audit: list[AuditEntry] | None = None,
) -> list[BriefingTimes]:
    """Every briefing's times (or those named), from the store and its audit log.

    ``pending`` maps briefings about to be published (in their own language) to the
    time that publication will be recorded with: the publishing stage draws the status
    page before it records what it published, and the page must not change when the
    next run finds the record. ``records``: every briefing record, ``audit``: the audit
    log's entries of :data:`TIMED_ACTIONS` in log order, when the caller has just read
    them."""
    records = store.list_briefings() if records is None else records
    if briefing_ids is not None:
        wanted = set(briefing_ids)
        records = [r for r in records if r.id in wanted]
    item_times = store.briefing_item_times([r.id for r in records])
    by_briefing: dict[str, list[AuditEntry]] = {}
    # Only what times_from_audit reads: a long log is mostly edits and drafts.
    for entry in store.audit_entries(actions=TIMED_ACTIONS) if audit is None else audit:
        if entry.briefing_id and entry.action in TIMED_ACTIONS:
            by_briefing.setdefault(entry.briefing_id, []).append(entry)
    langs = {r.id: r.lang for r in records}
    for briefing_id, at in (pending or {}).items():
        if briefing_id in langs:
            stamp = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
            by_briefing.setdefault(briefing_id, []).append(
                AuditEntry(
                    0, stamp, "", "publish", briefing_id, langs[briefing_id], None, {}, "", ""
                )
            )
    out = []
    for record in records:
        first_published, ingested = item_times.get(record.id, (None, None))
        out.append(
            times_from_audit(
                record.id,
                record.lang,
                first_published,
                ingested,
                by_briefing.get(record.id, []),
            )
        )
    return out


# -- weekly medians ---------------------------------------------------------------------------


@dataclass
class WeekStats:
    """Medians (seconds) of the briefings whose first source publication fell in ``week``."""

    week: str  # ISO week, e.g. 2026-W45
    briefings: int
    to_ingestion: float | None
    to_approval: float | None
    to_publication: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # how many values each median has

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def _median(values: list[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def weekly_medians(times: Iterable[BriefingTimes]) -> list[WeekStats]:
    """Weekly medians, oldest week first; briefings with no source date are left out."""
    weeks: dict[str, list[BriefingTimes]] = {}
    for t in times:
        if t.first_published is not None:
            weeks.setdefault(iso_week(t.first_published), []).append(t)
    stats = []
    for week, group in sorted(weeks.items()):
        ingest = [v for t in group if (v := t.to_ingestion) is not None]
        approve = [v for t in group if (v := t.to_approval) is not None]
        langs = sorted({lang for t in group for lang in t.published})
        publish = {
            lang: [v for t in group if (v := t.to_publication(lang)) is not None] for lang in langs
        }
        stats.append(
            WeekStats(
                week=week,
                briefings=len(group),
                to_ingestion=_median(ingest),
                to_approval=_median(approve),
                to_publication={lang: m for lang, v in publish.items() if (m := _median(v))},
                counts={
                    "to_ingestion": len(ingest),
                    "to_approval": len(approve),
                    **{f"to_publication.{lang}": len(v) for lang, v in publish.items()},
                },
            )
        )
    return stats


def format_duration(seconds: float | None) -> str:
    """A short human duration: 45 s, 12 min, 3 h 20 min, 2 d 4 h; a dash for none."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


# -- the status page ----------------------------------------------------------------------------

BAR_COLOUR = "#1f5f99"
MISSING_COLOUR = "#b0b0b0"


def svg_bar_chart(
    title: str,
    bars: list[tuple[str, float | None]],
    *,
    width: int = 640,
    bar_height: int = 22,
    label_width: int = 90,
) -> str:
    """A horizontal bar chart of durations as inline SVG, readable without colour or script.

    Each bar is labelled with its value; a week without a value shows a dash.
    The chart carries a ``<title>`` and ``role="img"`` with an ``aria-label``
    for screen readers.
    """
    value_width = 110
    plot = max(width - label_width - value_width, 50)
    top = 8
    height = top + len(bars) * (bar_height + 6) + 4
    largest = max((v for _, v in bars if v), default=0.0)
    label = escape(title, quote=True)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{label}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (name, value) in enumerate(bars):
        y = top + i * (bar_height + 6)
        text_y = y + bar_height * 0.7
        out.append(
            f'<text x="{label_width - 6}" y="{text_y:.1f}" text-anchor="end" '
            f'font-size="13" font-family="sans-serif">{escape(name)}</text>'
        )
        length = (value / largest * plot) if value and largest else 0.0
        if value is None:
            out.append(
                f'<rect x="{label_width}" y="{y}" width="2" height="{bar_height}" '
                f'fill="{MISSING_COLOUR}"/>'
            )
        else:
            out.append(
                f'<rect x="{label_width}" y="{y}" width="{max(length, 1.0):.1f}" '
                f'height="{bar_height}" fill="{BAR_COLOUR}"/>'
            )
        out.append(
            f'<text x="{label_width + length + 6:.1f}" y="{text_y:.1f}" font-size="13" '
            f'font-family="sans-serif">{escape(format_duration(value))}</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


CHARTS = (
    ("to_ingestion", "From first publication by a source to ingestion (time to detect)"),
    ("to_approval", "From first publication by a source to approval"),
)


def status_fragment(stats: list[WeekStats], *, languages: Iterable[str] = ()) -> str:
    """The charts and a table of weekly medians, as an HTML fragment (a ``<section>``)."""
    langs = list(dict.fromkeys([*languages, *(lang for s in stats for lang in s.to_publication)]))
    parts = ['<section class="status">']
    if not stats:
        parts.append("<p>No briefings with a known source publication date yet.</p>")
        parts.append("</section>")
        return "\n".join(parts)
    charts = [(title, [(s.week, getattr(s, key)) for s in stats]) for key, title in CHARTS] + [
        (
            f"From first publication by a source to publication in {lang}",
            [(s.week, s.to_publication.get(lang)) for s in stats],
        )
        for lang in langs
    ]
    for title, bars in charts:
        parts.append(f"<figure>\n<figcaption>{escape(title)} (weekly median)</figcaption>")
        parts.append(svg_bar_chart(title, bars))
        parts.append("</figure>")
    head = "".join(f"<th scope=\"col\">{escape(h)}</th>" for h in (
        "Week", "Briefings", "To ingestion", "To approval", *(f"To publication ({lang})" for lang in langs),
    ))  # fmt: skip
    parts.append(f"<table>\n<caption>Weekly medians</caption>\n<thead><tr>{head}</tr></thead>")
    parts.append("<tbody>")
    for s in stats:
        cells = [
            format_duration(s.to_ingestion),
            format_duration(s.to_approval),
            *(format_duration(s.to_publication.get(lang)) for lang in langs),
        ]
        row = "".join(f"<td>{escape(c)}</td>" for c in cells)
        parts.append(f'<tr><th scope="row">{escape(s.week)}</th><td>{s.briefings}</td>{row}</tr>')
    parts.append("</tbody>\n</table>\n</section>")
    return "\n".join(parts)


def latest_event(times: Iterable[BriefingTimes]) -> datetime | None:
    """The latest moment in ``times``: what a status page of them is up to date with."""
    moments = [
        moment
        for t in times
        for moment in (t.first_published, t.ingested, t.approved, *t.published.values())
        if moment is not None
    ]
    return max(moments, default=None)


def status_page(
    stats: list[WeekStats],
    *,
    title: str,
    generated: datetime | None,
    languages: Iterable[str] = (),
    stylesheet: str | None = "style.css",
    home: str | None = None,
    banner: str | None = None,
) -> str:
    """A whole ``status.html``: the fragment in a minimal page (the site's own stylesheet).

    ``generated`` is the moment the figures are up to date with; a published site passes
    its data's latest event (:func:`latest_event`), not the clock, so that the page only
    changes when its figures do. ``home`` links back to the site; ``banner`` is a
    notice shown above everything (the demonstration's)."""
    link = (
        f'<link rel="stylesheet" href="{escape(stylesheet, quote=True)}">\n' if stylesheet else ""
    )
    stamp = generated.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if generated else "–"
    back = f'<p><a href="{escape(home, quote=True)}">{escape(title)}</a></p>\n' if home else ""
    if banner:
        back = f'<p class="demo-banner" role="note">{escape(banner)}</p>\n{back}'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en" dir="ltr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{escape(title)}: response times</title>\n{link}</head>\n<body>\n{back}<main>\n"
        f"<h1>{escape(title)}: response times</h1>\n"
        "<p>How long briefings took, from the first publication by a source, "
        "as weekly medians.</p>\n"
        f"{status_fragment(stats, languages=languages)}\n"
        f"<p><small>Figures as of {escape(stamp)}.</small></p>\n"
        "</main>\n</body>\n</html>\n"
    )
