"""The `ops` schema: the run record every stage writes and `seamline status` reads."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

from seamline import settings
from seamline.database import Database

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.sync_runs (
    run_id          text        not null,
    source          text        not null,
    resource        text        not null,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    status          text        not null,
    rows_loaded     bigint      not null default 0,
    api_calls       integer     not null default 0,
    retries         integer     not null default 0,
    errors          integer     not null default 0,
    error_message   text,
    cursor_before   text,
    cursor_after    text,
    schema_changes  jsonb       not null default '[]'::jsonb,
    deletes_flagged integer     not null default 0,
    duration_ms     bigint,
    trigger         text        not null default 'manual',
    primary key (run_id, source, resource)
);
alter table {ops}.sync_runs add column if not exists deletes_flagged integer not null default 0;
create index if not exists sync_runs_source_started on {ops}.sync_runs (source, started_at desc);

create table if not exists {ops}.sync_state (
    source          text        not null,
    resource        text        not null,
    last_success_at timestamptz not null,
    last_run_id     text        not null,
    cursor_value    text,
    rows_total      bigint      not null default 0,
    primary key (source, resource)
);

create table if not exists {ops}.reconciliations (
    source          text        not null,
    resource        text        not null,
    reconciled_at   timestamptz not null,
    remote_count    bigint      not null,
    flagged         bigint      not null
);

create table if not exists {ops}.quarantine (
    quarantine_id   bigserial   primary key,
    run_id          text        not null,
    source          text        not null,
    resource        text        not null,
    url             text        not null,
    reason          text        not null,
    body            bytea       not null,
    seen_at         timestamptz not null default now()
);

create table if not exists {ops}.alerts (
    alert_id        bigserial   primary key,
    incident_key    text        not null,
    kind            text        not null,
    integration     text,
    message         text        not null,
    opened_at       timestamptz not null default now(),
    resolved_at     timestamptz,
    delivered       boolean     not null default false
);
alter table {ops}.alerts add column if not exists delivered boolean not null default false;
-- one open alert per incident: a condition that lasts does not repeat
create unique index if not exists alerts_one_open_per_incident on {ops}.alerts (incident_key)
    where resolved_at is null;

create table if not exists {ops}.manual_queue (
    item_id         bigserial   primary key,
    flow_name       text        not null,
    parameters      jsonb       not null,
    integration     text,
    error           text        not null,
    needs           text        not null,
    attempts        integer     not null default 1,
    status          text        not null default 'open',
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    closed_at       timestamptz
);

-- a source reloaded from scratch: the next dbt build must rebuild its incremental models too
create table if not exists {ops}.refresh_pending (
    source          text        primary key,
    requested_at    timestamptz not null default now()
);

create table if not exists {ops}.pipeline_runs (
    run_id          text        primary key,
    started_at      timestamptz not null,
    finished_at     timestamptz,
    status          text        not null,
    trigger         text        not null,
    stale_sources   text[]      not null default '{{}}',
    dbt_status      text,
    quality_status  text
);
"""


def ops_schema() -> str:
    return settings.schema(settings.OPS)


def apply_ops_ddl(cur, ddl: str) -> None:
    """Run a DDL template (`{ops}` = the ops schema) under the one lock all ops tables share: one
    migrator at a time, since concurrent `create ... if not exists` can still collide."""
    cur.execute("select pg_advisory_lock(hashtext('seamline.ops.ddl'))")
    try:
        cur.execute(ddl.format(ops=ops_schema()))
    finally:
        cur.execute("select pg_advisory_unlock(hashtext('seamline.ops.ddl'))")


def ensure_ops_schema(db: Database) -> None:
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class ResourceRun:
    """What one resource did in one sync run; written to ops.sync_runs."""

    source: str
    resource: str
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    status: str = "running"
    rows_loaded: int = 0
    api_calls: int = 0
    retries: int = 0
    errors: int = 0
    error_message: str | None = None
    cursor_before: str | None = None
    cursor_after: str | None = None
    schema_changes: list[dict] = field(default_factory=list)
    deletes_flagged: int = 0

    @property
    def duration_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


def record_sync_runs(db: Database, run_id: str, runs: list[ResourceRun], trigger: str) -> None:
    ops = settings.schema(settings.OPS)
    with db.cursor(autocommit=False) as cur:
        for r in runs:
            cur.execute(
                f"""
                insert into {ops}.sync_runs (run_id, source, resource, started_at, finished_at, status,
                    rows_loaded, api_calls, retries, errors, error_message, cursor_before, cursor_after,
                    schema_changes, deletes_flagged, duration_ms, trigger)
                values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
                on conflict (run_id, source, resource) do update set
                    finished_at = excluded.finished_at, status = excluded.status,
                    rows_loaded = excluded.rows_loaded, api_calls = excluded.api_calls,
                    retries = excluded.retries, errors = excluded.errors,
                    error_message = excluded.error_message, cursor_after = excluded.cursor_after,
                    schema_changes = excluded.schema_changes, deletes_flagged = excluded.deletes_flagged,
                    duration_ms = excluded.duration_ms
                """,
                (
                    run_id, r.source, r.resource, r.started_at, r.finished_at, r.status,
                    r.rows_loaded, r.api_calls, r.retries, r.errors, r.error_message,
                    r.cursor_before, r.cursor_after, json.dumps(r.schema_changes), r.deletes_flagged,
                    r.duration_ms, trigger,
                ),
            )
            if r.status == "success":
                cur.execute(
                    f"""
                    insert into {ops}.sync_state (source, resource, last_success_at, last_run_id,
                        cursor_value, rows_total)
                    values (%s, %s, %s, %s, %s, %s)
                    on conflict (source, resource) do update set
                        last_success_at = excluded.last_success_at, last_run_id = excluded.last_run_id,
                        cursor_value = excluded.cursor_value,
                        rows_total = {ops}.sync_state.rows_total + excluded.rows_total
                    """,
                    (r.source, r.resource, r.finished_at, run_id, r.cursor_after, r.rows_loaded),
                )


def quarantine(db: Database, run_id: str, source: str, resource: str, url: str, reason: str, body: bytes) -> None:
    """Keep an unreadable response as it came, with why, for replay or a vendor ticket."""
    ops = settings.schema(settings.OPS)
    with db.cursor() as cur:
        cur.execute(f"insert into {ops}.quarantine (run_id, source, resource, url, reason, body) "
                    "values (%s, %s, %s, %s, %s, %s)", (run_id, source, resource, url, reason, body))
