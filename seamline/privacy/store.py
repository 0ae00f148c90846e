"""`ops.erasures` (one row per erasure, no PII) and the hashed identifiers that keep people out.

The email's sha256 is kept, with the hashes of the phones and vendor ids found on the person's
rows, only so that later syncs can recognise and drop the person again: the vendors still hold
them. No plain email, phone, name or address is stored.
"""

from __future__ import annotations

import json

import psycopg2.errors

from seamline.ops import apply_ops_ddl, ops_schema
from seamline.privacy.identity import Identity

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.erasures (
    erasure_id      text        primary key,
    erased_at       timestamptz not null default now(),
    email_sha256    text        not null,
    counts          jsonb       not null default '{{}}'::jsonb,
    dbt_status      text
);
create index if not exists erasures_email on {ops}.erasures (email_sha256);

create table if not exists {ops}.erasure_identifiers (
    kind            text        not null check (kind in ('email', 'phone', 'key')),
    scope           text        not null default '',
    value_sha256    text        not null,
    -- null: found by a later sync on a record of an already erased person
    erasure_id      text        references {ops}.erasures (erasure_id),
    found_at        timestamptz not null default now(),
    primary key (kind, scope, value_sha256)
);

-- how far later syncs have read the raw bodies kept in ops (seamline/privacy/payloads.py)
create table if not exists {ops}.erasure_watermarks (
    table_name      text        primary key,
    last_id         bigint      not null
);
"""


def ensure_tables(cur) -> None:
    apply_ops_ddl(cur, _DDL)


def record(cur, erasure_id: str, identity: Identity, counts: dict) -> None:
    (email_hash,) = identity.emails
    cur.execute(f"insert into {ops_schema()}.erasures (erasure_id, email_sha256, counts) values (%s, %s, %s)",
                (erasure_id, email_hash, json.dumps(counts, sort_keys=True)))
    save_identifiers(cur, identity, erasure_id)


def save_identifiers(cur, identity: Identity, erasure_id: str | None) -> None:
    for kind, scope, value in identity.rows():
        cur.execute(f"insert into {ops_schema()}.erasure_identifiers (kind, scope, value_sha256, erasure_id) "
                    "values (%s, %s, %s, %s) on conflict do nothing", (kind, scope, value, erasure_id))


def set_dbt_status(db, erasure_id: str, status: str) -> None:
    with db.cursor() as cur:
        cur.execute(f"update {ops_schema()}.erasures set dbt_status = %s where erasure_id = %s", (status, erasure_id))


def load(db) -> Identity:
    """Every erased person's hashes, in one query; empty when nobody was ever erased."""
    try:
        with db.cursor() as cur:
            cur.execute(f"select 'email', '', email_sha256 from {ops_schema()}.erasures "
                        f"union select kind, scope, value_sha256 from {ops_schema()}.erasure_identifiers")
            rows = cur.fetchall()
    except psycopg2.errors.UndefinedTable:  # no erasure ever: the tables come with the first one
        return Identity()
    return Identity.from_rows(rows)
