"""The outbound part of `seamline demo`: run every enabled job against the served sandbox, sync
Xero back, rebuild, and say what changed (the reconciliation mart should show no missing invoice)."""

from __future__ import annotations

from outbound.jobs import enabled, run_named
from outbound.writer import JobResult, WriteFailed
from seamline import settings
from seamline.database import Database

NOUNS = {
    "xero_invoices": "invoices created in Xero",
    "xero_voids": "invoices voided or credited in Xero",
    "klaviyo_profiles": "Klaviyo profiles created or updated",
    "klaviyo_placed_orders": "Placed Order events sent to Klaviyo",
    "finale_sales_orders": "web orders sent to Finale as sales orders",
    "woocommerce_stock": "WooCommerce stock levels set from Finale",
    "delivery_status": "delivery updates written to WooCommerce orders",
}


def show_outbound(db: Database, world=None) -> list[str]:
    """Summary lines; `world` (the sandbox world being served) is not needed to write, only kept
    so the demo can pass what it has."""
    from flows.dbt import run_dbt
    from flows.outbound import queue_rejections
    from ingest.sync import sync_source

    results: dict[str, JobResult] = {}
    problems: list[str] = []
    # the jobs act on the marts: bring Xero's copy up to the world's latest first (the webhook step
    # moved the store on, and the bookkeeping integration with it)
    sync_source("xero", db=db)
    run_dbt(db, "build")
    for name in enabled(db):
        try:
            results[name] = run_named(db, name)
        except WriteFailed as exc:
            problems.append(f"outbound: {exc}")
            continue
        if results[name].rejected:
            items = queue_rejections(db, name, results[name])
            problems.append(f"outbound: {name}: {len(items)} row(s) rejected, in the manual queue")
    synced = sync_source("xero", db=db)
    build = run_dbt(db, "build")
    missing = _missing_invoices(db)
    invoices = results.get("xero_invoices")
    lines = [f"outbound: {invoices.written if invoices else 0} {NOUNS['xero_invoices']}, "
             f"{missing if missing is not None else 'unknown'} web orders without an invoice "
             "(fct_order_invoice_reconciliation)"]
    others = [f"{r.written} {NOUNS[name]}" for name, r in results.items() if name != "xero_invoices"]
    if others:
        lines.append("outbound: " + ", ".join(others))
    if synced.status != "success" or not build.success:
        lines.append(f"outbound: the xero sync ({synced.status}) or dbt build ({'ok' if build.success else 'failed'}) "
                     "after the writes did not finish cleanly")
    return lines + problems


def _missing_invoices(db: Database) -> int | None:
    with db.cursor() as cur:
        table = f'"{settings.schema("marts")}".fct_order_invoice_reconciliation'
        cur.execute("select to_regclass(%s)", (table,))
        if cur.fetchone()[0] is None:
            return None
        cur.execute(f"select count(*) from {table} where reconciliation_status = 'missing_invoice'")
        return cur.fetchone()[0]
