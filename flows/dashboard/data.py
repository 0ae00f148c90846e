"""What the dashboard shows beyond `seamline status`: chart series, the sync history, queue counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from seamline import settings
from seamline.database import Database

HISTORY_PAGE_SIZE = 25
# where the conflict-resolution stage may keep its review queue; it may not exist yet
REVIEW_QUEUE_TABLES = (("ops", "review_queue"), ("marts", "review_queue"), ("intermediate", "review_queue"))


def _ops() -> str:
    return settings.schema(settings.OPS)


def chart_series(db: Database, sources: list[str], now: datetime, days: int) -> dict[str, dict]:
    """Per chart, per integration: (time, value) points over the last `days` days."""
    since = now - timedelta(days=days)
    rows: dict[str, list] = {s: [] for s in sources}
    error_rate: dict[str, list] = {s: [] for s in sources}
    quality: dict[str, list] = {s: [] for s in sources}
    with db.cursor() as cur:
        cur.execute(f"""
            select source, min(started_at), sum(rows_loaded), sum(errors), sum(api_calls)
            from {_ops()}.sync_runs
            where source = any(%s) and started_at > %s and started_at <= %s and status <> 'busy'
            group by source, run_id order by 2
        """, (list(sources), since, now))
        for source, at, loaded, errors, calls in cur.fetchall():
            rows[source].append((at, float(loaded or 0)))
            # a run that failed before any call counts as wholly failed
            rate = errors / calls if calls else (1.0 if errors else 0.0)
            error_rate[source].append((at, 100.0 * min(rate, 1.0)))
        cur.execute("select to_regclass(%s) is not null", (f"{_ops()}.quality_scores",))
        if cur.fetchone()[0]:
            cur.execute(f"""
                select integration, run_at, score from {_ops()}.quality_scores
                where integration = any(%s) and dimension = 'overall' and run_at > %s and run_at <= %s
                order by run_at
            """, (list(sources), since, now))
            for integration, at, score in cur.fetchall():
                quality[integration].append((at, float(score)))
    return {"rows": rows, "error_rate": error_rate, "quality": quality}


def sync_history(db: Database, sources: list[str], now: datetime, page: int) -> tuple[list[dict], int]:
    """One page of every sync run (newest first) and the number of pages."""
    with db.cursor() as cur:
        cur.execute(f"select count(distinct (source, run_id)) from {_ops()}.sync_runs "
                    "where source = any(%s) and started_at <= %s", (list(sources), now))
        total = cur.fetchone()[0]
        pages = max(1, -(-total // HISTORY_PAGE_SIZE))
        page = min(max(page, 1), pages)
        cur.execute(f"""
            select source, run_id, min(started_at), max(finished_at), max(duration_ms), count(*),
                   case when bool_and(status = 'success') then 'success'
                        when bool_or(status = 'failed') then 'failed' else min(status) end,
                   sum(rows_loaded), sum(api_calls), sum(retries), sum(errors), min(trigger),
                   string_agg(distinct error_message, '; ')
            from {_ops()}.sync_runs
            where source = any(%s) and started_at <= %s
            group by source, run_id
            order by min(started_at) desc, source
            limit %s offset %s
        """, (list(sources), now, HISTORY_PAGE_SIZE, (page - 1) * HISTORY_PAGE_SIZE))
        keys = ("source", "run_id", "started_at", "finished_at", "duration_ms", "resources", "status", "rows",
                "api_calls", "retries", "errors", "trigger", "error")
        return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()], pages


def open_counts(db: Database) -> dict[str, int | None]:
    """Open manual-queue items and open conflicts (None: there is no review queue yet)."""
    with db.cursor() as cur:
        cur.execute(f"select count(*) from {_ops()}.manual_queue where status = 'open'")
        manual = cur.fetchone()[0]
        conflicts = None
        for schema, table in REVIEW_QUEUE_TABLES:
            cur.execute("select exists (select 1 from information_schema.columns where table_schema = %s "
                        "and table_name = %s and column_name = 'status'), to_regclass(%s) is not null",
                        (settings.schema(schema), table, f"{settings.schema(schema)}.{table}"))
            has_status, exists = cur.fetchone()
            if exists:
                where = " where status = 'open'" if has_status else ""
                cur.execute(f"select count(*) from {settings.schema(schema)}.{table}{where}")
                conflicts = cur.fetchone()[0]
                break
    return {"manual_queue": manual, "conflicts": conflicts}
