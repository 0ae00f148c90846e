"""The manual queue: where a run lands when the retry ladder is exhausted or retrying cannot help.

Each item says what failed, why, what a person must do, and how to replay it
(`seamline retry <id>` runs the same flow with the same parameters and closes the item).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError
from seamline.ops import ensure_ops_schema


@dataclass
class QueueItem:
    item_id: int
    flow_name: str
    parameters: dict
    integration: str | None
    error: str
    needs: str
    attempts: int
    status: str


def _ops() -> str:
    return settings.schema(settings.OPS)


def enqueue(db: Database, flow_name: str, parameters: dict, error: str, needs: str,
            integration: str | None = None) -> int:
    """Add an item, or count another attempt on the open item for the same flow and parameters."""
    ensure_ops_schema(db)
    params = json.dumps(parameters, sort_keys=True)
    with db.cursor(autocommit=False) as cur:
        cur.execute("select pg_advisory_xact_lock(hashtext(%s))", ("seamline.manual_queue",))
        cur.execute(f"select item_id from {_ops()}.manual_queue where flow_name = %s and parameters = %s::jsonb "
                    "and status = 'open'", (flow_name, params))
        row = cur.fetchone()
        if row:
            cur.execute(f"update {_ops()}.manual_queue set error = %s, needs = %s, attempts = attempts + 1, "
                        "updated_at = now() where item_id = %s", (error, needs, row[0]))
            return row[0]
        cur.execute(f"insert into {_ops()}.manual_queue (flow_name, parameters, integration, error, needs) "
                    "values (%s, %s::jsonb, %s, %s, %s) returning item_id",
                    (flow_name, params, integration, error, needs))
        return cur.fetchone()[0]


def get(db: Database, item_id: int) -> QueueItem:
    ensure_ops_schema(db)
    with db.cursor() as cur:
        cur.execute(f"select item_id, flow_name, parameters, integration, error, needs, attempts, status "
                    f"from {_ops()}.manual_queue where item_id = %s", (item_id,))
        row = cur.fetchone()
    if row is None:
        raise SeamlineError(f"no manual-queue item {item_id}")
    return QueueItem(*row)


def open_items(db: Database) -> list[QueueItem]:
    ensure_ops_schema(db)
    with db.cursor() as cur:
        cur.execute(f"select item_id, flow_name, parameters, integration, error, needs, attempts, status "
                    f"from {_ops()}.manual_queue where status = 'open' order by item_id")
        return [QueueItem(*row) for row in cur.fetchall()]


def close(db: Database, item_id: int) -> None:
    with db.cursor() as cur:
        cur.execute(f"update {_ops()}.manual_queue set status = 'closed', closed_at = now(), updated_at = now() "
                    "where item_id = %s", (item_id,))


def record_failed_replay(db: Database, item_id: int, error: str) -> None:
    with db.cursor() as cur:
        cur.execute(f"update {_ops()}.manual_queue set error = %s, attempts = attempts + 1, updated_at = now() "
                    "where item_id = %s", (error, item_id))
