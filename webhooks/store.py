"""`ops.webhook_events` (every accepted delivery, committed before the 2xx) and `ops.dead_letter`
(events the retry ladder gave up on, with the reason)."""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from seamline.database import Database
from seamline.ops import apply_ops_ddl, ops_schema
from webhooks.vendors import Delivery

_DDL = """
create schema if not exists {ops};

create table if not exists {ops}.webhook_events (
    event_id        bigserial   primary key,
    source          text        not null,
    dedupe_key      text        not null,
    topic           text        not null,
    resources       text[]      not null,
    body            bytea       not null,
    headers         jsonb       not null,
    received_at     timestamptz not null default clock_timestamp(),
    deliveries      integer     not null default 1,
    status          text        not null default 'pending',
    attempts        integer     not null default 0,
    next_attempt_at timestamptz not null default now(),
    processed_at    timestamptz,
    run_id          text,
    last_error      text,
    -- a vendor delivers at least once: the same delivery is recorded once, its repeats counted
    unique (source, dedupe_key)
);
create index if not exists webhook_events_open on {ops}.webhook_events (source, next_attempt_at)
    where status in ('pending', 'processing');

create table if not exists {ops}.dead_letter (
    dead_id         bigserial   primary key,
    event_id        bigint      not null references {ops}.webhook_events (event_id),
    source          text        not null,
    reason          text        not null,
    attempts        integer     not null,
    dead_at         timestamptz not null default now(),
    status          text        not null default 'open',
    replayed_at     timestamptz
);
"""

# never stored: credentials a proxy or client might add (the signatures themselves are kept)
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def ensure_tables(db: Database) -> None:
    with db.cursor() as cur:
        apply_ops_ddl(cur, _DDL)


class ConnectionPool:
    """A few autocommit connections shared by the receiver's worker threads; a caller waits for
    a free one rather than opening a connection per delivery."""

    def __init__(self, db: Database, size: int = 8):
        self.db = db
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = queue.Queue()
        for _ in range(size):
            self._slots.put(None)

    @contextmanager
    def cursor(self) -> Iterator:
        self._slots.get()
        try:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                conn = self.db.connect()
                conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    yield cur
            except Exception:
                conn.close()  # a broken connection is not given to the next caller
                raise
            self._idle.put(conn)
        finally:
            self._slots.put(None)

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


def record(pool: ConnectionPool, delivery: Delivery, body: bytes, headers: dict[str, str]) -> tuple[int, bool]:
    """Commit the delivery (autocommit: durable when this returns); (event id, first time seen)."""
    kept = {k: v for k, v in headers.items() if k.lower() not in _SECRET_HEADERS}
    with pool.cursor() as cur:
        cur.execute(
            f"insert into {ops_schema()}.webhook_events (source, dedupe_key, topic, resources, body, headers) "
            "values (%s, %s, %s, %s, %s, %s::jsonb) "
            "on conflict (source, dedupe_key) do update set deliveries = webhook_events.deliveries + 1 "
            "returning event_id, xmax = 0",
            (delivery.source, delivery.dedupe_key, delivery.topic, delivery.resources, body, json.dumps(kept)))
        event_id, inserted = cur.fetchone()
    return event_id, inserted


@dataclass
class DeadLetter:
    dead_id: int
    event_id: int
    source: str
    topic: str
    resources: list[str]
    reason: str
    attempts: int
    status: str


def dead_letters(db: Database, status: str | None = "open") -> list[DeadLetter]:
    ensure_tables(db)
    with db.cursor() as cur:
        cur.execute(f"select d.dead_id, d.event_id, d.source, e.topic, e.resources, d.reason, d.attempts, d.status "
                    f"from {ops_schema()}.dead_letter as d join {ops_schema()}.webhook_events as e using (event_id) "
                    "where %s is null or d.status = %s order by d.dead_id", (status, status))
        return [DeadLetter(*row) for row in cur.fetchall()]


def announced_ids(db: Database, source: str, resource: str) -> set[int]:
    """The record ids that the events a sync is working on now (status 'processing') name for
    `resource`, read from their bodies (`{"id": 17, ...}`). For a resource whose API cannot list
    what changed (WooCommerce customers), these say what to read. Empty without webhooks."""
    with db.cursor() as cur:
        cur.execute("select to_regclass(%s)", (f"{ops_schema()}.webhook_events",))
        if cur.fetchone()[0] is None:
            return set()
        cur.execute(f"select body from {ops_schema()}.webhook_events "
                    "where source = %s and status = 'processing' and %s = any(resources)", (source, resource))
        ids = set()
        for (body,) in cur.fetchall():
            try:
                value = json.loads(bytes(body)).get("id")
            except (ValueError, AttributeError):
                continue  # not a JSON object: it still started the sync
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                ids.add(value)
        return ids
