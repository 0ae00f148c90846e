"""The quality history in Postgres: ops.quality_results (one row per expectation per run) and
ops.quality_scores (one row per integration and dimension per run, plus 'overall')."""

from __future__ import annotations

import json
from datetime import datetime

from psycopg2.extras import execute_values

from expectations.result import Outcome
from expectations.scoring import ScoreRow
from seamline import settings
from seamline.database import Database
from seamline.ops import apply_ops_ddl

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.quality_results (
    run_id           text        not null,
    run_at           timestamptz not null,
    integration      text        not null,
    suite            text        not null,
    expectation_type text        not null,
    column_name      text        not null default '',
    dimension        text        not null,
    success          boolean     not null,
    observed         jsonb,
    unexpected_count bigint,
    details          text
);
create index if not exists quality_results_run on {ops}.quality_results (run_id);
create index if not exists quality_results_integration_run_at
    on {ops}.quality_results (integration, run_at desc);

create table if not exists {ops}.quality_scores (
    run_id      text         not null,
    run_at      timestamptz  not null,
    integration text         not null,
    dimension   text         not null,
    passed      integer      not null,
    total       integer      not null,
    score       numeric(5,2) not null,
    primary key (run_id, integration, dimension)
);
create index if not exists quality_scores_integration_run_at
    on {ops}.quality_scores (integration, run_at desc);
"""


def ensure_tables(db: Database) -> None:
    """Create the quality tables if missing; also the first proof that the database answers."""
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


def write_run(
    db: Database,
    run_id: str,
    run_at: datetime,
    outcomes: list[Outcome],
    scores: list[ScoreRow],
) -> None:
    """Append one run; a rerun under the same run_id (a retried flow) replaces its earlier rows."""
    ops = settings.schema(settings.OPS)
    with db.cursor(autocommit=False) as cur:
        cur.execute(f"delete from {ops}.quality_results where run_id = %s", (run_id,))
        cur.execute(f"delete from {ops}.quality_scores where run_id = %s", (run_id,))
        execute_values(
            cur,
            f"""
            insert into {ops}.quality_results (run_id, run_at, integration, suite, expectation_type,
                column_name, dimension, success, observed, unexpected_count, details)
            values %s
            """,
            [
                (run_id, run_at, o.integration, o.suite, o.expectation_type, o.column, o.dimension, o.success,
                 None if o.observed is None else json.dumps(o.observed), o.unexpected_count, o.details)
                for o in outcomes
            ],
        )
        execute_values(
            cur,
            f"""
            insert into {ops}.quality_scores (run_id, run_at, integration, dimension, passed, total, score)
            values %s
            """,
            [(run_id, run_at, integration, dimension, passed, total, round(score, 2))
             for integration, dimension, passed, total, score in scores],
        )
