"""`ops.outbound_map` (local key -> remote id, under the idempotency key that made it) and
`ops.outbound_log` (every write, with a PII-free request summary)."""

from __future__ import annotations

import json

from seamline.database import Database
from seamline.ops import apply_ops_ddl, ops_schema

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.outbound_map (
    job             text        not null,
    local_key       text        not null,
    idempotency_key text        not null,
    remote_id       text,
    mapped_at       timestamptz not null default now(),
    primary key (job, local_key)
);

create table if not exists {ops}.outbound_log (
    log_id          bigserial   primary key,
    run_id          text        not null,
    job             text        not null,
    idempotency_key text        not null,
    local_key       text        not null,
    request         jsonb       not null,
    response_status integer,
    outcome         text        not null,
    remote_id       text,
    error_message   text,
    logged_at       timestamptz not null default now()
);
create index if not exists outbound_log_job_at on {ops}.outbound_log (job, logged_at desc);
"""


def ensure_outbound_tables(db: Database) -> None:
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


class OutboundStore:
    """The map and the log of one job run."""

    def __init__(self, db: Database, run_id: str):
        self.db = db
        self.run_id = run_id
        ensure_outbound_tables(db)

    def mapped(self, job: str) -> dict[str, tuple[str, str | None]]:
        """local key -> (idempotency key, remote id) of what the job has written before."""
        with self.db.cursor() as cur:
            cur.execute(f"select local_key, idempotency_key, remote_id from {ops_schema()}.outbound_map "
                        "where job = %s", (job,))
            return {row[0]: (row[1], row[2]) for row in cur.fetchall()}

    def remote_id(self, job: str, local_key: str) -> str | None:
        with self.db.cursor() as cur:
            cur.execute(f"select remote_id from {ops_schema()}.outbound_map where job = %s and local_key = %s",
                        (job, local_key))
            row = cur.fetchone()
        return row[0] if row else None

    def record_written(self, job: str, key: str, local_key: str, request: dict, status: int | None,
                       remote_id: str | None, outcome: str = "written") -> None:
        """The log row and the map row in one transaction: both or neither. `found`: the vendor
        held the object already, and it is mapped instead of made."""
        ops = ops_schema()
        with self.db.cursor(autocommit=False) as cur:
            self._log(cur, job, key, local_key, request, status, outcome, remote_id, None)
            cur.execute(
                f"insert into {ops}.outbound_map (job, local_key, idempotency_key, remote_id) values (%s, %s, %s, %s) "
                "on conflict (job, local_key) do update set idempotency_key = excluded.idempotency_key, "
                f"remote_id = coalesce(excluded.remote_id, {ops}.outbound_map.remote_id), mapped_at = now()",
                (job, local_key, key, remote_id))

    def record_failed(self, job: str, key: str, local_key: str, request: dict, status: int | None,
                      outcome: str, error: str) -> None:
        """A write the vendor rejected (`rejected`) or that never got an answer (`failed`)."""
        with self.db.cursor() as cur:
            self._log(cur, job, key, local_key, request, status, outcome, None, error)

    def _log(self, cur, job, key, local_key, request, status, outcome, remote_id, error) -> None:
        cur.execute(
            f"insert into {ops_schema()}.outbound_log (run_id, job, idempotency_key, local_key, request, "
            "response_status, outcome, remote_id, error_message) values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (self.run_id, job, key, local_key, json.dumps(request, default=str), status, outcome, remote_id, error))
