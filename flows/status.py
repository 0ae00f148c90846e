"""`seamline status`: each integration's health, read from the ops tables.

Everything is computed "as of" a clock (`now`), and only rows at or before it count, so tests can
move time forward and the weekly report can ask how things stood at the end of a past week.
The JSON shape is the source documents' status object, with a few extra keys.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flows import health
from seamline import settings
from seamline.database import Database
from seamline.ops import ensure_ops_schema

# flows that sync a source: a deployment of one of these, scheduled, is a next sync
_SYNC_ENTRYPOINT = "flows/sync.py:sync_flow"
_PIPELINE_ENTRYPOINT = "flows/pipeline.py:pipeline_flow"


def integration_status(db: Database, now: datetime | None = None, sources: list[str] | None = None,
                       specs: list[dict] | None = None) -> list[dict]:
    """One status object per integration (default: every installed source)."""
    if sources is None:
        from ingest.pipeline import available_sources

        sources = list(available_sources())
    if specs is None:
        from flows.deployments import load_specs

        specs = load_specs()
    ensure_ops_schema(db)
    now = now or datetime.now(timezone.utc)
    with db.cursor() as cur:
        has_quality = _table_exists(cur, "quality_scores")
        return [_one(cur, source, now, specs, has_quality) for source in sources]


def _table_exists(cur, table: str) -> bool:
    # ops.quality_scores belongs to the quality stage and exists only once it has run
    cur.execute("select to_regclass(%s) is not null", (f"{settings.schema(settings.OPS)}.{table}",))
    return cur.fetchone()[0]


def recent_runs(cur, source: str, now: datetime, limit: int = health.RECENT_RUNS) -> list[dict]:
    """The source's latest sync runs (one per run_id, resources summed), newest first."""
    ops = settings.schema(settings.OPS)
    cur.execute(f"""
        select run_id, min(started_at), max(finished_at),
               coalesce(max(duration_ms), (extract(epoch from max(finished_at) - min(started_at)) * 1000)::bigint),
               sum(rows_loaded), sum(errors), sum(api_calls),
               case when bool_and(status = 'success') then 'success'
                    when bool_or(status = 'failed') then 'failed' else min(status) end,
               string_agg(distinct error_message, '; ')
        from {ops}.sync_runs
        where source = %s and started_at <= %s and status <> 'busy'
        group by run_id
        order by min(started_at) desc, max(finished_at) desc nulls last
        limit %s
    """, (source, now, limit))
    keys = ("run_id", "started_at", "finished_at", "duration_ms", "rows", "errors", "api_calls", "status", "error")
    return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]


def _one(cur, source: str, now: datetime, specs: list[dict], has_quality: bool) -> dict:
    ops = settings.schema(settings.OPS)
    runs = recent_runs(cur, source, now)
    # the newest success: from the run record (as of `now`), or sync_state if older runs were pruned
    cur.execute(f"""
        select greatest(
            (select max(finished_at) from {ops}.sync_runs
             where source = %(s)s and status = 'success' and finished_at <= %(now)s),
            (select max(last_success_at) from {ops}.sync_state
             where source = %(s)s and last_success_at <= %(now)s)),
            (select coalesce(sum(rows_total), 0) from {ops}.sync_state where source = %(s)s)
    """, {"s": source, "now": now})
    last_success, rows_total = cur.fetchone()
    cur.execute(f"select count(*) from {ops}.alerts where integration = %s and opened_at <= %s "
                "and (resolved_at is null or resolved_at > %s)", (source, now, now))
    open_alerts = cur.fetchone()[0]
    quality = None
    if has_quality:
        cur.execute(f"select score from {ops}.quality_scores where integration = %s and dimension = 'overall' "
                    "and run_at <= %s order by run_at desc limit 1", (source, now))
        row = cur.fetchone()
        quality = float(row[0]) if row else None

    age = now - last_success if last_success else None
    colour = health.freshness(source, age)
    latest = runs[0] if runs else None
    inputs = health.HealthInputs(
        runs=len(runs), successful_runs=sum(r["status"] == "success" for r in runs),
        errors=sum(int(r["errors"] or 0) for r in runs), api_calls=sum(int(r["api_calls"] or 0) for r in runs),
        freshness=colour, quality=quality, open_alerts=open_alerts)
    upcoming = next_sync(source, specs, now, latest["started_at"] if latest else None)
    return {
        "integration": source,
        "status": _status(latest, colour),
        "last_sync": _iso(last_success),
        "metrics": {
            # the latest run's numbers, whatever its outcome
            "records_synced": int(latest["rows"] or 0) if latest else 0,
            "sync_duration_ms": int(latest["duration_ms"]) if latest and latest["duration_ms"] is not None else None,
            "errors": int(latest["errors"] or 0) if latest else 0,
            "next_sync": _iso(upcoming),
        },
        "health_score": health.score(inputs),
        "freshness": colour,
        "last_sync_age_s": int(age.total_seconds()) if age is not None else None,
        "last_run": None if latest is None else {
            "run_id": latest["run_id"], "status": latest["status"], "started_at": _iso(latest["started_at"]),
            "error": latest["error"]},
        "records_total": int(rows_total),
        "quality_score": quality,
        "open_alerts": open_alerts,
        "health": {k: None if v is None else round(v, 3) for k, v in health.components(inputs).items()},
    }


def _status(latest: dict | None, colour: str) -> str:
    if latest is None:
        return "never_synced"
    if latest["status"] == "failed":
        return "failing"
    if latest["status"] != "success" or colour == "red":  # stopped by a rate limit, or too stale
        return "degraded"
    return "operational"


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def next_sync(source: str, specs: list[dict], now: datetime, last_started: datetime | None) -> datetime | None:
    """The earliest upcoming run of a scheduled deployment that syncs this source.

    An interval schedule counts from the source's latest run (Prefect anchors intervals at the
    deployment's creation, which the database does not know); a cron schedule from its expression.
    """
    times = []
    for spec in specs:
        schedule = spec.get("schedule")
        if not schedule or not _syncs(spec, source):
            continue
        if "interval" in schedule:
            step = timedelta(seconds=float(schedule["interval"]))
            if last_started is None:
                times.append(now)  # due: the first tick of a served interval runs at once
            else:
                ticks = max(1, math.ceil((now - last_started) / step))
                times.append(last_started + ticks * step)
        elif "cron" in schedule:
            from croniter import croniter

            tz = ZoneInfo(schedule.get("timezone", "UTC"))
            times.append(croniter(schedule["cron"], now.astimezone(tz)).get_next(datetime))
    return min(times) if times else None


def _syncs(spec: dict, source: str) -> bool:
    params = spec.get("parameters") or {}
    if spec.get("entrypoint") == _SYNC_ENTRYPOINT:
        return params.get("source") == source
    if spec.get("entrypoint") == _PIPELINE_ENTRYPOINT:
        return not params.get("sources") or source in params["sources"]  # no list: every source
    return False


def age_text(seconds: float | None) -> str:
    """A short age an operator reads at a glance: 45 s, 12 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "never"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def strip_source(source: str, message: str | None) -> str:
    """A run's error without the "<source>: " it starts with, for lines that already name the source."""
    message = message or "no message"
    return message.removeprefix(f"{source}: ")


def _short_time(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "-"


def format_table(rows: list[dict]) -> str:
    """The human form of `seamline status`: one line per integration (times in UTC)."""
    header = ("integration", "status", "fresh", "last success (UTC)", "age", "records", "duration",
              "errors", "next sync (UTC)", "health")
    lines = [header]
    for r in rows:
        m = r["metrics"]
        duration = f"{m['sync_duration_ms'] / 1000:.1f} s" if m["sync_duration_ms"] is not None else "-"
        lines.append((r["integration"], r["status"], r["freshness"], _short_time(r["last_sync"]),
                      age_text(r["last_sync_age_s"]), str(m["records_synced"]), duration, str(m["errors"]),
                      _short_time(m["next_sync"]), str(r["health_score"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {5, 6, 7, 9}  # numbers line up on the right
    out = []
    for line in lines:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    errors = [f"  {r['integration']}: {strip_source(r['integration'], r['last_run']['error'])}" for r in rows
              if r["last_run"] and r["last_run"]["status"] != "success" and r["last_run"]["error"]]
    if errors:
        out += ["", "latest errors:", *errors]
    return "\n".join(out)


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2)
