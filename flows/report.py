"""`seamline report`: the weekly integration health report of the source documents.

    INTEGRATION HEALTH REPORT / Active integrations / Overall health / By integration /
    Issues (with their resolution) / Changes (new integrations, schema changes)

Weeks are ISO weeks in UTC (Monday 00:00 to Monday 00:00). The report for the current week covers
the week so far. Written as Markdown and HTML (default SEAMLINE_HOME/reports/).
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from flows.status import age_text, integration_status, strip_source
from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError


@dataclass
class IntegrationWeek:
    integration: str
    status: str
    health_score: int
    last_sync: str | None
    last_sync_age_s: int | None
    runs: int = 0
    failed_runs: int = 0
    rows: int = 0
    errors: int = 0


@dataclass
class WeeklyReport:
    week: str
    start: datetime
    end: datetime
    as_of: datetime
    integrations: list[IntegrationWeek]
    issues: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)

    @property
    def active(self) -> list[IntegrationWeek]:
        """Integrations with at least one successful sync in the week."""
        return [i for i in self.integrations if i.runs > i.failed_runs]

    @property
    def overall_health(self) -> int | None:
        """Mean health score of the integrations that had synced by the end of the week."""
        scored = [i.health_score for i in self.integrations if i.status != "never_synced"]
        return round(sum(scored) / len(scored)) if scored else None


def parse_week(text: str | None, now: datetime) -> tuple[str, datetime, datetime]:
    """'2024-W03' (default: the week of `now`) -> (label, Monday 00:00 UTC, next Monday 00:00 UTC)."""
    if text is None:
        year, week, _ = now.astimezone(timezone.utc).isocalendar()
    else:
        m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.IGNORECASE)
        if not m:
            raise SeamlineError(f"--week must look like 2024-W03, got {text!r}")
        year, week = int(m[1]), int(m[2])
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise SeamlineError(f"{year} has no ISO week {week}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=timezone.utc)
    return f"{year}-W{week:02d}", start, start + timedelta(days=7)


def build_report(db: Database, week: str | None = None, now: datetime | None = None,
                 sources: list[str] | None = None, specs: list[dict] | None = None) -> WeeklyReport:
    now = now or datetime.now(timezone.utc)
    label, start, end = parse_week(week, now)
    if start > now:
        raise SeamlineError(f"week {label} has not started yet")
    as_of = min(now, end)
    statuses = integration_status(db, now=as_of, sources=sources, specs=specs)
    report = WeeklyReport(label, start, end, as_of, [
        IntegrationWeek(s["integration"], s["status"], s["health_score"], s["last_sync"], s["last_sync_age_s"])
        for s in statuses])
    names = [i.integration for i in report.integrations]
    ops = settings.schema(settings.OPS)
    window = {"names": names, "start": start, "end": as_of}
    with db.cursor() as cur:
        _week_numbers(cur, ops, window, report)
        report.issues = _failed_runs(cur, ops, window) + _alerts(cur, ops, window) + _queue(cur, ops, window)
        report.changes = _new_integrations(cur, ops, window) + _schema_changes(cur, ops, window)
    return report


def _week_numbers(cur, ops: str, window: dict, report: WeeklyReport) -> None:
    cur.execute(f"""
        select source, count(distinct run_id), count(distinct run_id) filter (where status <> 'success'),
               coalesce(sum(rows_loaded), 0), coalesce(sum(errors), 0)
        from {ops}.sync_runs
        where source = any(%(names)s) and started_at >= %(start)s and started_at < %(end)s and status <> 'busy'
        group by source
    """, window)
    by_name = {i.integration: i for i in report.integrations}
    for source, runs, failed, rows, errors in cur.fetchall():
        i = by_name[source]
        i.runs, i.failed_runs, i.rows, i.errors = runs, failed, int(rows), int(errors)


def _at(value: datetime | None) -> str:
    return value.astimezone(timezone.utc).strftime("%a %d %b %H:%M") if value else "-"


def _failed_runs(cur, ops: str, window: dict) -> list[str]:
    """Per integration: its failed syncs in the week and whether a later sync recovered."""
    cur.execute(f"""
        with failed as (
            select source, run_id, min(started_at) as started_at, string_agg(distinct error_message, '; ') as error
            from {ops}.sync_runs
            where source = any(%(names)s) and started_at >= %(start)s and started_at < %(end)s and status <> 'success'
              and status <> 'busy'
            group by source, run_id
        ), last_failed as (
            select distinct on (source) source, started_at, error from failed order by source, started_at desc
        )
        select f.source, (select count(*) from failed x where x.source = f.source), f.started_at, f.error,
               (select min(s.finished_at) from {ops}.sync_runs s where s.source = f.source and s.status = 'success'
                and s.started_at > f.started_at and s.finished_at <= %(end)s)
        from last_failed f order by f.source
    """, window)
    issues = []
    for source, count, last_at, error, recovered in cur.fetchall():
        runs = "sync" if count == 1 else "syncs"
        outcome = (f"Resolved: the next sync succeeded {_at(recovered)}, "
                   f"{age_text((recovered - last_at).total_seconds())} later." if recovered
                   else "Unresolved: no successful sync since.")
        issues.append(f"{source}: {count} failed {runs} (the last {_at(last_at)}: {strip_source(source, error)}). "
                      f"{outcome}")
    return issues


def _alerts(cur, ops: str, window: dict) -> list[str]:
    cur.execute(f"""
        select kind, integration, message, opened_at, resolved_at from {ops}.alerts
        where (opened_at >= %(start)s and opened_at < %(end)s) or (resolved_at >= %(start)s and resolved_at < %(end)s)
        order by opened_at, alert_id
    """, window)
    issues = []
    for kind, integration, message, opened, resolved in cur.fetchall():
        if resolved is not None and resolved < window["end"]:
            outcome = f"Resolved {_at(resolved)}, after {age_text((resolved - opened).total_seconds())}."
        else:
            outcome = "Still open."
        issues.append(f"alert {kind.replace('_', ' ')} on {integration or 'all'} (opened {_at(opened)}): "
                      f"{strip_source(integration or '', message)}. {outcome}")
    return issues


def _queue(cur, ops: str, window: dict) -> list[str]:
    cur.execute(f"""
        select item_id, flow_name, parameters, error, needs, attempts, status, created_at, closed_at
        from {ops}.manual_queue
        where (created_at >= %(start)s and created_at < %(end)s) or (closed_at >= %(start)s and closed_at < %(end)s)
        order by item_id
    """, window)
    issues = []
    for item_id, flow, params, error, needs, attempts, status, created, closed in cur.fetchall():
        if status == "closed" and closed is not None and closed < window["end"]:
            outcome = f"Resolved: replayed and closed {_at(closed)}."
        else:
            outcome = f"Open, needs: {needs}."
        issues.append(f"manual queue #{item_id}: {flow} {json.dumps(params, sort_keys=True)} queued "
                      f"{_at(created)} after {attempts} attempt(s): {error.rstrip('.')}. {outcome}")
    return issues


def _new_integrations(cur, ops: str, window: dict) -> list[str]:
    cur.execute(f"""
        select source, min(started_at) from {ops}.sync_runs where source = any(%(names)s) and status <> 'busy'
        group by source having min(started_at) >= %(start)s and min(started_at) < %(end)s order by 2
    """, window)
    return [f"new integration: {source}, first synced {_at(first)}" for source, first in cur.fetchall()]


def _schema_changes(cur, ops: str, window: dict) -> list[str]:
    cur.execute(f"""
        select source, min(started_at), change from {ops}.sync_runs, jsonb_array_elements(schema_changes) as change
        where source = any(%(names)s) and started_at >= %(start)s and started_at < %(end)s
        group by source, change order by 2, 1
    """, window)
    out = []
    for source, at, change in cur.fetchall():
        what = change.get("change", "change").replace("_", " ")
        where = f"{change.get('table', '?')}.{change['column']}" if change.get("column") else change.get("table", "?")
        out.append(f"schema change in {source}: {what} {where} ({_at(at)})")
    return out


def to_markdown(r: WeeklyReport) -> str:
    health = f"{r.overall_health}%" if r.overall_health is not None else "n/a (nothing has synced)"
    lines = [
        f"# INTEGRATION HEALTH REPORT, week {r.week}",
        "",
        f"{r.start:%Y-%m-%d} to {r.end - timedelta(days=1):%Y-%m-%d} (UTC), as of {r.as_of:%Y-%m-%d %H:%M} UTC",
        "",
        f"Active integrations: {len(r.active)} of {len(r.integrations)}",
        f"Overall health: {health}",
        "",
        "## By integration",
        "",
        "| Integration | Status | Last Sync | Errors | Syncs | Failed | Rows | Health |",
        "|-------------|--------|-----------|--------|-------|--------|------|--------|",
    ]
    for i in r.integrations:
        last = f"{age_text(i.last_sync_age_s)} ago" if i.last_sync_age_s is not None else "never"
        lines.append(f"| {i.integration} | {i.status} | {last} | {i.errors} | {i.runs} | {i.failed_runs} "
                     f"| {i.rows} | {i.health_score} |")
    lines += ["", "## Issues", ""] + [f"- {issue}" for issue in r.issues or ["None."]]
    lines += ["", "## Changes", ""] + [f"- {change}" for change in r.changes or ["None."]]
    return "\n".join(lines) + "\n"


def to_html(r: WeeklyReport) -> str:
    """The same report as a standalone page (no external assets: it is mailed and archived)."""
    e = html.escape
    health = f"{r.overall_health}%" if r.overall_health is not None else "n/a"
    rows = "".join(
        f"<tr><td>{e(i.integration)}</td><td class='{e(i.status)}'>{e(i.status)}</td>"
        f"<td>{e(age_text(i.last_sync_age_s) + ' ago' if i.last_sync_age_s is not None else 'never')}</td>"
        f"<td class='n'>{i.errors}</td><td class='n'>{i.runs}</td><td class='n'>{i.failed_runs}</td>"
        f"<td class='n'>{i.rows}</td><td class='n'>{i.health_score}</td></tr>"
        for i in r.integrations)

    def items(values: list[str]) -> str:
        return "".join(f"<li>{e(v)}</li>" for v in values) or "<li>None.</li>"

    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Integration health report {e(r.week)}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #1d2330; }}
table {{ border-collapse: collapse; width: 100%; }} th, td {{ border-bottom: 1px solid #d8dce4; padding: .35rem .6rem;
text-align: left; }} td.n {{ text-align: right; }} .failing {{ color: #b3261e; }} .degraded {{ color: #8a6100; }}
.summary strong {{ font-size: 1.3rem; }}
</style></head><body>
<h1>Integration health report, week {e(r.week)}</h1>
<p>{r.start:%Y-%m-%d} to {(r.end - timedelta(days=1)):%Y-%m-%d} (UTC), as of {r.as_of:%Y-%m-%d %H:%M} UTC</p>
<p class="summary">Active integrations: <strong>{len(r.active)}</strong> of {len(r.integrations)}
&nbsp; Overall health: <strong>{e(health)}</strong></p>
<h2>By integration</h2>
<table><tr><th>Integration</th><th>Status</th><th>Last sync</th><th>Errors</th><th>Syncs</th><th>Failed</th>
<th>Rows</th><th>Health</th></tr>{rows}</table>
<h2>Issues</h2><ul>{items(r.issues)}</ul>
<h2>Changes</h2><ul>{items(r.changes)}</ul>
</body></html>
"""


def write_report(r: WeeklyReport, out_dir: Path | None = None) -> tuple[Path, Path]:
    out_dir = Path(out_dir) if out_dir else settings.home() / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / f"integration-health-{r.week}.md"
    page = out_dir / f"integration-health-{r.week}.html"
    md.write_text(to_markdown(r))
    page.write_text(to_html(r))
    return md, page
