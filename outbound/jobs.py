"""The outbound jobs, in the order a full run takes them, and running them by name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from outbound.delivery_status import DeliveryStatus
from outbound.finale_sales_orders import FinaleSalesOrders
from outbound.klaviyo_placed_orders import KlaviyoPlacedOrders
from outbound.klaviyo_profiles import KlaviyoProfiles
from outbound.woocommerce_stock import WooCommerceStock
from outbound.writer import Context, Job, JobResult, run_job
from outbound.xero_invoices import XeroInvoices
from outbound.xero_voids import XeroVoids
from seamline import settings
from seamline.database import Database
from seamline.errors import SeamlineError

# invoices before voids (a cancelled order is invoiced, then voided, in one run); web sales reach
# Finale before stock is pushed from it
JOBS: dict[str, Job] = {job.name: job for job in (
    XeroInvoices(), XeroVoids(), KlaviyoProfiles(), KlaviyoPlacedOrders(), FinaleSalesOrders(),
    WooCommerceStock(), DeliveryStatus(),
)}


def get(name: str) -> Job:
    try:
        return JOBS[name]
    except KeyError:
        raise SeamlineError(f"unknown outbound job {name!r} (jobs: {', '.join(JOBS)})") from None


def enabled(db: Database) -> list[str]:
    """The jobs a run without names takes: those whose model is built (their vendor has landed),
    and the delivery job when a delivery feed is configured."""
    from outbound.clients import setting

    names = []
    with db.cursor() as cur:
        for name, job in JOBS.items():
            if job.model is None:
                if setting("delivery", "base_url", default="") or setting("delivery", "drop_dir", default=""):
                    names.append(name)
                continue
            cur.execute("select to_regclass(%s)", (f'"{settings.schema("marts")}"."{job.model}"',))
            if cur.fetchone()[0] is not None:
                names.append(name)
    return names


@contextlib.contextmanager
def job_lock(db: Database, name: str) -> Iterator[bool]:
    """One run of a job at a time (across processes): a second one finds it busy."""
    conn = db.connect()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("select pg_try_advisory_lock(hashtext(%s))",
                        (f"seamline.outbound.{settings.schema_prefix()}{name}",))
            yield cur.fetchone()[0]
    finally:
        conn.close()  # ends the session, which releases the lock


def run_named(db: Database, name: str, *, dry_run: bool = False, only: list[str] | None = None,
              run_id: str | None = None) -> JobResult:
    job = get(name)
    ctx = Context(db, run_id, dry_run=dry_run)
    if dry_run:
        return run_job(ctx, job, dry_run=True, only=set(only) if only else None)
    with job_lock(db, name) as mine:
        if not mine:
            return JobResult(name, status="busy", message="another run of this job is writing; skipped")
        return run_job(ctx, job, only=set(only) if only else None)
