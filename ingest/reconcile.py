"""Key reconciliation: find records a vendor deleted without a trace and flag them.

Some deletes leave nothing to sync (a WooCommerce force-delete simply vanishes). Every so
often a source lists the keys the vendor still holds; rows we hold that are not among them
are flagged `is_deleted`, keeping their last known values and their child rows.
"""

from __future__ import annotations

from datetime import timedelta

from psycopg2.extras import execute_values

from seamline import settings
from seamline.database import Database
from seamline.ops import utcnow


def is_due(db: Database, source: str, resource: str, interval: timedelta) -> bool:
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"select max(reconciled_at) from {ops}.reconciliations where source = %s and resource = %s",
                    (source, resource))
        last = cur.fetchone()[0]
    return last is None or utcnow() - last >= interval


def flag_missing(db: Database, source: str, resource: str, remote_keys: set[int], key: str = "id") -> list[int]:
    """Flag rows of `raw_<source>.<resource>` whose key the vendor no longer has; return their keys."""
    table = f'"{settings.raw_schema(source)}"."{resource}"'
    ops = settings.schema(settings.OPS)
    with db.cursor(autocommit=False) as cur:
        cur.execute("create temporary table remote_keys (k bigint primary key) on commit drop")
        execute_values(cur, "insert into remote_keys (k) values %s", [(k,) for k in remote_keys], page_size=5000)
        cur.execute(f"""
            update {table} as t set is_deleted = true, deleted_seen_at = now()
            where not coalesce(t.is_deleted, false)
              and not exists (select 1 from remote_keys as r where r.k = t.{key})
            returning t.{key}
        """)
        flagged = sorted(row[0] for row in cur.fetchall())
        cur.execute(f"insert into {ops}.reconciliations (source, resource, reconciled_at, remote_count, flagged) "
                    "values (%s, %s, now(), %s, %s)", (source, resource, len(remote_keys), len(flagged)))
    return flagged


def mark_reconciled(db: Database, source: str, resource: str) -> None:
    """A full load just read every listing: it counts as a reconciliation."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"insert into {ops}.reconciliations (source, resource, reconciled_at, remote_count, flagged) "
                    f'select %s, %s, now(), count(*), 0 from "{settings.raw_schema(source)}"."{resource}"',
                    (source, resource))
