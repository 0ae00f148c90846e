"""The one loop every outbound job runs: plan, skip what is mapped, write, log, map.

Guarantees:
- Each row has a deterministic idempotency key (keys.idempotency_key: job, local key, and the
  version of what is sent). A row whose key `ops.outbound_map` already holds is skipped.
- The key travels with the write (Xero's Idempotency-Key header, Klaviyo's unique_id, Finale's
  orderId; WooCommerce's status and stock writes set a value, so repeating them is harmless).
  A process killed after the vendor answered but before the map was written re-sends the same
  key on the next run, and the vendor answers with the object it made the first time.
- Every write lands in `ops.outbound_log` with a PII-free summary, the HTTP status and the
  remote id; the log row and the map row are written in one transaction.
- A vendor validation error (4xx) is not transient: the row is logged `rejected` with the
  vendor's message (PII masked), the job carries on, and the caller sends the rejection to the
  manual queue. A transient failure (the client gave up retrying a 5xx or a dropped connection)
  stops the job with `transient=True`, so the retry ladder runs it again; mapped rows are skipped.
  A 429 is waited out by the client (Retry-After); a limit that will not clear soon (Xero's day
  limit) stops the job cleanly (`stopped`), and the next run carries on.
- Dry run: the plan only (job, count, the first local keys); no vendor call, no ops rows.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import requests

from ingest.http import AuthError, RateLimitExhausted, RequestRejected, SourceError
from outbound.keys import idempotency_key, mask_pii, pii_free
from outbound.store import OutboundStore
from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError

log = logging.getLogger(__name__)

PLAN_SAMPLE = 5


class Rejected(Exception):
    """The vendor refused this row (a validation error): retrying cannot help, a person must."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class WriteFailed(SeamlineError):
    """A job stopped on a failure: transient ones climb the retry ladder."""

    def __init__(self, message: str, *, transient: bool):
        super().__init__(message)
        self.transient = transient


@dataclass
class Sent:
    remote_id: str | None
    status: int | None = None
    found: bool = False  # the vendor held it already (made by someone else): mapped, not written


@dataclass
class JobResult:
    job: str
    status: str = "success"  # success | rejected (some rows) | stopped (a day limit) | dry_run
    planned: int = 0
    written: int = 0
    found: int = 0  # already in the vendor's system, made by someone else: mapped, not written
    skipped: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (local key, vendor message)
    sample: list[str] = field(default_factory=list)  # the first local keys of the plan
    message: str = ""
    api_calls: int = 0
    retries: int = 0  # calls repeated after a 429, a 5xx or a dropped connection

    def line(self) -> str:
        head = f"{self.job}: {self.planned} to write"
        if self.status == "dry_run":
            keys = ", ".join(self.sample) + (", ..." if self.planned > len(self.sample) else "")
            return f"{head} (dry run){': ' + keys if keys else ''}"
        text = f"{head}, {self.written} written, {self.skipped} already done, {len(self.rejected)} rejected"
        if self.found:
            text += f", {self.found} found in the vendor's system"
        return f"{text} ({self.message})" if self.message else text


class Job:
    """One outbound job. Subclasses say where the rows come from and how one is sent."""

    name: str = ""
    vendor: str = ""
    model: str | None = None  # the outbound_* model in the marts schema
    local_key_column: str = ""  # the model's primary key: the row's local key
    order_by: str = ""  # a deterministic order for the writes
    batch_size: int = 1  # >1: send_batch gets up to this many rows at once

    def rows(self, ctx: Context) -> list[dict]:
        with ctx.db.cursor() as cur:
            cur.execute("select to_regclass(%s)", (f'"{settings.schema("marts")}"."{self.model}"',))
            if cur.fetchone()[0] is None:
                raise WriteFailed(f"{self.name}: the model {self.model} is not built (run `seamline transform`; "
                                  f"it needs {self.vendor} to have landed)", transient=False)
            cur.execute(f'select * from "{settings.schema("marts")}"."{self.model}" '
                        f"order by {self.order_by or self.local_key_column}")
            names = [c.name for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def local_key(self, row: dict) -> str:
        return str(row[self.local_key_column])

    def version(self, row: dict) -> str:
        """What makes a new write necessary: constant for a create (once is enough), the target
        value for a set (a new stock level is a new write)."""
        return ""

    def summary(self, row: dict) -> dict:
        """What the log keeps of the request: ids, counts and amounts, never personal data."""
        return {}

    def personal(self, row: dict) -> tuple[str | None, ...]:
        """The row's personal values, masked out of any vendor message."""
        return ()

    def send(self, ctx: Context, row: dict, key: str) -> Sent:
        raise NotImplementedError

    def send_batch(self, ctx: Context, batch: list[tuple[dict, str]]) -> list[Sent | Rejected]:
        return [self._one(ctx, row, key) for row, key in batch]

    def _one(self, ctx: Context, row: dict, key: str) -> Sent | Rejected:
        try:
            return self.send(ctx, row, key)
        except Rejected as exc:
            return exc


class Context:
    """What a job run shares: the database, the map and log, and the vendors' clients."""

    def __init__(self, db: Database, run_id: str | None = None, dry_run: bool = False):
        self.db = db
        self.dry_run = dry_run
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self._store: OutboundStore | None = None
        self._clients: dict[str, object] = {}
        self.memo: dict = {}  # what a job keeps for the run (e.g. lookups made ahead of its writes)

    @property
    def store(self) -> OutboundStore:
        if self._store is None:
            self._store = OutboundStore(self.db, self.run_id)
        return self._store

    def counts(self) -> tuple[int, int]:
        """(API calls, retries) of every client this run used."""
        stats = [r for c in self._clients.values() for r in c.stats.resources.values()]
        return sum(r.api_calls for r in stats), sum(r.retries for r in stats)

    def client(self, vendor: str):
        if vendor not in self._clients:
            from outbound import clients

            self._clients[vendor] = clients.make(vendor, self.db)
        return self._clients[vendor]


def plan(ctx: Context, job: Job, only: set[str] | None = None) -> tuple[list[tuple[dict, str, str]], int]:
    """(rows to write with their local and idempotency keys, rows skipped as already written)."""
    rows = job.rows(ctx)
    mapped = mapped_keys(ctx, job)
    todo, skipped = [], 0
    for row in rows:
        local = job.local_key(row)
        if only is not None and local not in only:
            continue
        key = idempotency_key(job.name, local, job.version(row))
        if mapped.get(local, (None,))[0] == key:
            skipped += 1
            continue
        todo.append((row, local, key))
    return todo, skipped


def mapped_keys(ctx: Context, job: Job) -> dict[str, tuple[str, str | None]]:
    """local key -> (idempotency key, remote id) the job has written; read without creating the
    table when it does not exist yet (a dry run creates nothing)."""
    from seamline.ops import ops_schema

    if ctx._store is None:
        with ctx.db.cursor() as cur:
            cur.execute("select to_regclass(%s)", (f'"{ops_schema()}".outbound_map',))
            if cur.fetchone()[0] is None:
                return {}
            cur.execute(f'select local_key, idempotency_key, remote_id from "{ops_schema()}".outbound_map '
                        "where job = %s", (job.name,))
            return {row[0]: (row[1], row[2]) for row in cur.fetchall()}
    return ctx.store.mapped(job.name)


def run_job(ctx: Context, job: Job, *, dry_run: bool = False, only: set[str] | None = None) -> JobResult:
    result = _run(ctx, job, dry_run, only)
    result.api_calls, result.retries = ctx.counts()
    return result


def _run(ctx: Context, job: Job, dry_run: bool, only: set[str] | None) -> JobResult:
    todo, skipped = plan(ctx, job, only)
    result = JobResult(job.name, planned=len(todo), skipped=skipped, sample=[local for _, local, _ in todo[:PLAN_SAMPLE]])
    if dry_run:
        result.status = "dry_run"
        return result
    store = ctx.store
    for batch in _batches(todo, job.batch_size):
        try:
            answers = job.send_batch(ctx, [(row, key) for row, _, key in batch])
        except RateLimitExhausted as exc:
            result.status, result.message = "stopped", str(exc)
            return result
        except WriteFailed:
            raise
        except AuthError as exc:  # refused credentials: waiting will not help
            raise WriteFailed(f"{job.name}: {exc}", transient=False) from None
        except (SourceError, requests.RequestException) as exc:
            row, local, key = batch[0]
            message = mask_pii(str(exc), job.personal(row))
            store.record_failed(job.name, key, local, pii_free(job.summary(row)), None, "failed", message)
            raise WriteFailed(f"{job.name}: {message}", transient=True) from None
        except SeamlineError as exc:  # a missing setting and the like: a person must act
            raise WriteFailed(f"{job.name}: {exc}", transient=False) from None
        for (row, local, key), answer in zip(batch, answers, strict=True):
            summary = pii_free(job.summary(row))
            if isinstance(answer, Rejected):
                message = mask_pii(str(answer), job.personal(row))
                store.record_failed(job.name, key, local, summary, answer.status, "rejected", message)
                result.rejected.append((local, message))
                log.warning("outbound %s: %s rejected: %s", job.name, local, message)
            else:
                outcome = "found" if answer.found else "written"
                store.record_written(job.name, key, local, summary, answer.status, answer.remote_id, outcome)
                result.found += answer.found
                result.written += not answer.found
    if result.rejected:
        result.status = "rejected"
    return result


def _batches(items: list, size: int) -> Iterator[list]:
    size = max(1, size)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def vendor_message(vendor: str, exc: RequestRejected) -> str:
    """The vendor's own words for a rejected request (Xero's ValidationErrors, Klaviyo's error
    details, WooCommerce's message), falling back on the client's one-line description."""
    body = exc.body
    found: list[str] = []
    if isinstance(body, dict):
        for element in body.get("Elements") or []:  # Xero
            for error in (element or {}).get("ValidationErrors") or []:
                if error.get("Message"):
                    found.append(str(error["Message"]))
        for error in body.get("errors") or []:  # Klaviyo (JSON:API)
            if isinstance(error, dict) and (error.get("detail") or error.get("title")):
                found.append(str(error.get("detail") or error.get("title")))
        if not found and (body.get("Message") or body.get("message")):
            found.append(str(body.get("Message") or body.get("message")))
    reasons = "; ".join(dict.fromkeys(found))
    return f"{vendor}: HTTP {exc.status_code}: {reasons}" if reasons else str(exc)
