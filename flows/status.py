"""`seamline status`: each integration's last run and last success, from the ops tables."""

from __future__ import annotations

from datetime import datetime, timezone

from ingest.pipeline import available_sources
from seamline import settings
from seamline.database import Database
from seamline.ops import ensure_ops_schema


def integration_status(db: Database, now: datetime | None = None) -> list[dict]:
    ensure_ops_schema(db)
    now = now or datetime.now(timezone.utc)
    ops = settings.schema(settings.OPS)
    out = []
    with db.cursor() as cur:
        for source in available_sources():
            cur.execute(f"""
                select run_id, min(started_at), max(finished_at), sum(rows_loaded), sum(errors),
                       bool_and(status = 'success'), string_agg(distinct error_message, '; ')
                from {ops}.sync_runs where source = %s
                group by run_id order by min(started_at) desc limit 1
            """, (source,))
            last = cur.fetchone()
            cur.execute(f"select max(last_success_at) from {ops}.sync_state where source = %s", (source,))
            last_success = cur.fetchone()[0]
            if last is None:
                out.append({"integration": source, "status": "never_synced", "last_sync": None,
                            "metrics": {"records_synced": 0, "sync_duration_ms": None, "errors": 0}})
                continue
            _, started, finished, rows, errors, ok, message = last
            out.append({
                "integration": source,
                "status": "operational" if ok else "failing",
                "last_sync": last_success.isoformat() if last_success else None,
                "last_sync_age_s": int((now - last_success).total_seconds()) if last_success else None,
                "metrics": {
                    "records_synced": int(rows or 0),
                    "sync_duration_ms": int((finished - started).total_seconds() * 1000) if finished else None,
                    "errors": int(errors or 0),
                },
                "last_error": message,
            })
    return out
